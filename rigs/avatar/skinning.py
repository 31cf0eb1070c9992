"""Smooth automatic skin weights in numpy: nearest bone (by distance over bone thickness), smooth
blends across each joint, then Laplacian smoothing over the mesh so no weight jumps between faces.

The blend widths are a few centimetres, so a 90-degree elbow or knee folds as one continuous surface.
"""
from __future__ import annotations

import numpy as np

from .skeleton import BONES, BONE_NAMES

# Thickness of the body around each bone (m): distances are divided by it to pick the nearest bone.
RADIUS = {"Hips": 0.13, "Spine": 0.10, "Chest": 0.11, "Neck": 0.034, "Head": 0.10,
          "Shoulder": 0.045, "UpperArm": 0.038, "LowerArm": 0.027, "Hand": 0.030,
          "UpperLeg": 0.066, "LowerLeg": 0.042, "Foot": 0.032, "Toes": 0.024}
# Half width (m) of the blend across the joint at each bone's head.
BLEND = {"Hips": 0.0, "Spine": 0.05, "Chest": 0.06, "Neck": 0.03, "Head": 0.03,
         "Shoulder": 0.03, "UpperArm": 0.045, "LowerArm": 0.04, "Hand": 0.025,
         "UpperLeg": 0.07, "LowerLeg": 0.055, "Foot": 0.035, "Toes": 0.015}


def _kind(name: str) -> str:
    return name.replace("Left", "").replace("Right", "")


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def bone_weights(verts: np.ndarray, quads: np.ndarray, smooth_iters: int = 12,
                 max_influences: int = 4) -> np.ndarray:
    """(V,3) vertices, (F,4) quads -> (V, B) weights in BONES order, rows summing to 1."""
    heads = np.array([b.head for b in BONES])
    tails = np.array([b.tail for b in BONES])
    B = len(BONES)
    V = len(verts)
    seg = tails - heads
    L = np.linalg.norm(seg, axis=1)
    u = seg / L[:, None]
    rel = verts[:, None, :] - heads[None]  # (V,B,3)
    s = np.einsum("vbk,bk->vb", rel, u)  # metres along the bone
    sc = np.clip(s, 0, L[None])
    d = np.linalg.norm(rel - sc[..., None] * u[None], axis=2)
    radius = np.array([RADIUS[_kind(b.name)] for b in BONES])
    own = np.argmin(d / radius[None], axis=1)

    parent = np.array([BONE_NAMES.index(b.parent) if b.parent else -1 for b in BONES])
    # the chain child: the child whose head is this bone's tail
    chain = -np.ones(B, dtype=int)
    for i, b in enumerate(BONES):
        if b.parent:
            p = parent[i]
            if np.linalg.norm(heads[i] - tails[p]) < 1e-3:
                chain[p] = i
    blend = np.array([BLEND[_kind(b.name)] for b in BONES])

    W = np.zeros((V, B))
    rows = np.arange(V)
    so = s[rows, own]
    w_own = np.ones(V)
    # towards the parent across this bone's head
    p = parent[own]
    z = blend[own]
    has_p = (p >= 0) & (z > 0)
    t_head = np.where(has_p, _smoothstep((so + z) / np.maximum(2 * z, 1e-9)), 1.0)
    # towards the chain child across this bone's tail
    c = chain[own]
    zc = np.where(c >= 0, blend[np.maximum(c, 0)], 0.0)
    has_c = (c >= 0) & (zc > 0)
    t_tail = np.where(has_c, _smoothstep((so - L[own] + zc) / np.maximum(2 * zc, 1e-9)), 0.0)
    w_own = t_head * (1 - t_tail)
    W[rows, own] += w_own
    W[rows[has_p], p[has_p]] += (1 - t_head)[has_p]
    W[rows[has_c], c[has_c]] += (t_head * t_tail)[has_c]

    W = smooth_weights(W, quads, smooth_iters)
    return limit_influences(W, max_influences)


def smooth_weights(W: np.ndarray, quads: np.ndarray, iters: int) -> np.ndarray:
    a = np.concatenate([quads[:, i] for i in range(4)])
    b = np.concatenate([quads[:, (i + 1) % 4] for i in range(4)])
    deg = np.bincount(np.concatenate([a, b]), minlength=len(W)).astype(float)
    for _ in range(iters):
        acc = np.zeros_like(W)
        np.add.at(acc, a, W[b])
        np.add.at(acc, b, W[a])
        W = 0.5 * W + 0.5 * acc / np.maximum(deg, 1)[:, None]
    return W


def limit_influences(W: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest weights per vertex (ties broken by bone order), renormalise, round to 1e-4."""
    order = np.argsort(-W, axis=1, kind="stable")
    keep = np.zeros_like(W, dtype=bool)
    np.put_along_axis(keep, order[:, :k], True, axis=1)
    W = np.where(keep & (W > 1e-3), W, 0.0)
    W = W / W.sum(axis=1, keepdims=True)
    return np.round(W, 4)
