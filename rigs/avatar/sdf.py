"""Signed distance fields and their polygonisation (naive surface nets), in pure numpy.

The avatar's body and garments are smooth unions of a few dozen primitives (Inigo Quilez's
exact SDFs and polynomial smooth minimum); ``surface_nets`` turns a field into one watertight quad
mesh, then projects its vertices back onto the zero level set so the surface is smooth.
A field is any callable ``f(P (N,3) float64) -> (N,) float64``, negative inside.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Field = Callable[[np.ndarray], np.ndarray]


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (blend radius ``k`` metres); k=0 is the plain union."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def sphere(c, r: float) -> Field:
    c = np.asarray(c, float)
    return lambda p: np.linalg.norm(p - c, axis=1) - r


def ellipsoid(c, radii, axes=None) -> Field:
    """Ellipsoid centred at c with semi-axes ``radii`` along the columns of ``axes`` (3x3, default I).

    Uses IQ's bound ``k0 * (k0 - 1) / k1``, close to the true distance near the surface.
    """
    c = np.asarray(c, float)
    r = np.asarray(radii, float)
    R = np.eye(3) if axes is None else np.asarray(axes, float)

    def f(p):
        q = (p - c) @ R
        k0 = np.linalg.norm(q / r, axis=1)
        k1 = np.linalg.norm(q / (r * r), axis=1)
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)
    return f


def round_cone(a, b, ra: float, rb: float) -> Field:
    """Capsule from a (radius ra) to b (radius rb) with tangent-continuous sides (IQ's sdRoundCone)."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    ba = b - a
    l2 = float(ba @ ba)
    rr = ra - rb
    a2 = l2 - rr * rr
    il2 = 1.0 / l2

    def f(p):
        pa = p - a
        y = pa @ ba
        z = y - l2
        xv = pa * l2 - y[:, None] * ba
        x2 = np.einsum("ij,ij->i", xv, xv)
        y2 = y * y * l2
        z2 = z * z * l2
        k = np.sign(rr) * rr * rr * x2
        out = (np.sqrt(x2 * a2 * il2) + y * rr) * il2 - ra
        m1 = np.sign(z) * a2 * z2 > k
        m2 = np.sign(y) * a2 * y2 < k
        out = np.where(m1, np.sqrt(x2 + z2) * il2 - rb, out)
        out = np.where(m2 & ~m1, np.sqrt(x2 + y2) * il2 - ra, out)
        return out
    return f


def plane(point, normal) -> Field:
    """Half space on the side of ``normal`` is outside (positive)."""
    p0 = np.asarray(point, float)
    n = np.asarray(normal, float)
    n = n / np.linalg.norm(n)
    return lambda p: (p - p0) @ n


def union(fields, k: float = 0.0) -> Field:
    def f(p):
        out = fields[0](p)
        for g in fields[1:]:
            out = smin(out, g(p), k)
        return out
    return f


def gradient(f: Field, p: np.ndarray, eps: float = 1e-4, f0: np.ndarray | None = None) -> np.ndarray:
    """Forward-difference gradient (N,3); pass f0 = f(p) when already known."""
    if f0 is None:
        f0 = f(p)
    g = np.empty_like(p)
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        g[:, i] = (f(p + d) - f0) / eps
    return g


def project(f: Field, v: np.ndarray, iters: int = 4) -> np.ndarray:
    """Newton-project points onto the zero level set of f."""
    v = v.copy()
    for _ in range(iters):
        d = f(v)
        g = gradient(f, v, f0=d)
        g2 = np.maximum(np.einsum("ij,ij->i", g, g), 1e-8)
        v -= (d / g2)[:, None] * g
    return v


def surface_nets(f: Field, lo, hi, h: float, smooth: int = 2,
                 values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Polygonise the zero level set of f inside the box [lo, hi] with cell size h.

    Returns (vertices (V,3) float64, quads (F,4) int64), quads wound counter-clockwise seen from outside.
    One vertex per surface cell (mean of its edge crossings); one quad per grid edge that crosses the
    surface. The vertices are then relaxed (``smooth`` Laplacian passes) and projected onto f = 0.
    ``values``: f already sampled on this lattice (shape ``lattice_shape(lo, hi, h)``).
    """
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    n = lattice_shape(lo, hi, h)
    F = sample(f, lo, h, n) if values is None else values
    F = np.where(F == 0, 1e-9, F)  # no exact zeros: every crossing is strict
    inside = F < 0

    ncell = n - 1
    acc = np.zeros(tuple(ncell) + (3,))
    cnt = np.zeros(tuple(ncell))
    quads = []
    for ax in range(3):
        sl0 = [slice(None)] * 3
        sl1 = [slice(None)] * 3
        sl0[ax] = slice(0, -1)
        sl1[ax] = slice(1, None)
        f0 = F[tuple(sl0)]
        f1 = F[tuple(sl1)]
        cross = (f0 < 0) != (f1 < 0)
        idx = np.argwhere(cross)  # edge start grid index
        if len(idx) == 0:
            continue
        t = f0[cross] / (f0[cross] - f1[cross])
        pt = lo + h * idx.astype(float)
        pt[:, ax] += t * h
        o1, o2 = [a for a in range(3) if a != ax]
        # the four cells sharing this edge
        cells = []
        for d1, d2 in ((0, 0), (1, 0), (1, 1), (0, 1)):
            c = idx.copy()
            c[:, o1] -= d1
            c[:, o2] -= d2
            cells.append(c)
        for c in cells:
            ok = np.all((c >= 0) & (c < ncell), axis=1)
            np.add.at(acc, (c[ok, 0], c[ok, 1], c[ok, 2]), pt[ok])
            np.add.at(cnt, (c[ok, 0], c[ok, 1], c[ok, 2]), 1)
        ok = np.all([np.all((c >= 0) & (c < ncell), axis=1) for c in cells], axis=0)
        q = np.stack([c[ok] for c in cells], axis=1)  # (E,4,3)
        # the cycle (o1, o2) above winds around +ax for ax = 0, 2 and around -ax for ax = 1; the
        # outward normal is +ax when the edge starts inside
        flip = ~inside[tuple(idx[ok].T)] ^ (ax == 1)
        quads.append((q, flip, ax))

    active = cnt > 0
    vid = -np.ones(tuple(ncell), dtype=np.int64)
    vid[active] = np.arange(int(active.sum()))
    verts = acc[active] / cnt[active][:, None]
    faces = []
    for q, flip, ax in quads:
        fi = vid[q[:, :, 0], q[:, :, 1], q[:, :, 2]]
        # orientation: (o1, o2) order gives normal along +ax; the outward normal points from inside to outside
        fi = np.where(flip[:, None], fi[:, ::-1], fi)
        faces.append(fi)
    faces = np.concatenate(faces, axis=0)

    for _ in range(smooth):
        verts = 0.5 * verts + 0.5 * _neighbour_mean(verts, faces)
        verts = project(f, verts, iters=2)
    verts = project(f, verts, iters=3)
    return verts, faces


def lattice_shape(lo, hi, h: float) -> np.ndarray:
    return np.ceil((np.asarray(hi, float) - np.asarray(lo, float)) / h - 1e-9).astype(int) + 1


def grid_points(lo: np.ndarray, h: float, n) -> np.ndarray:
    axes = [lo[i] + h * np.arange(n[i]) for i in range(3)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)


def sample(f: Field, lo: np.ndarray, h: float, n: np.ndarray, stride: int = 4,
           band: float | None = None) -> np.ndarray:
    """f on the grid lo + h * index, evaluated exactly only near the surface (coarse-to-fine).

    A coarse grid of spacing stride*h is sampled first; fine points whose nearest coarse sample is
    farther from the surface than the coarse cell diagonal keep that coarse value (its sign is right,
    the fields being close to distance fields); the others (within ``band``) are evaluated.
    """
    nc = (n - 1) // stride + 2
    Fc = f(grid_points(lo, h * stride, nc)).reshape(nc)
    idx = [np.minimum((np.arange(n[i]) + stride // 2) // stride, nc[i] - 1) for i in range(3)]
    Fn = Fc[np.ix_(*idx)]
    near = np.abs(Fn) < (band if band is not None else 1.5 * stride * h * np.sqrt(3))
    P = grid_points(lo, h, n).reshape(tuple(n) + (3,))[near]
    F = Fn.copy()
    F[near] = f(P)
    return F


def _neighbour_mean(v: np.ndarray, quads: np.ndarray) -> np.ndarray:
    a = np.concatenate([quads[:, i] for i in range(4)])
    b = np.concatenate([quads[:, (i + 1) % 4] for i in range(4)])
    s = np.zeros_like(v)
    c = np.zeros(len(v))
    np.add.at(s, a, v[b])
    np.add.at(c, a, 1)
    np.add.at(s, b, v[a])
    np.add.at(c, b, 1)
    return s / np.maximum(c, 1)[:, None]
