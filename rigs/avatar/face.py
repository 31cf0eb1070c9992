"""The anime face as thin decals on the head: large eyes (white, iris, pupil, highlights, upper lash),
brows, mouth and blush, drawn as 2D shapes in the front (x, z) plane and projected along +Y onto the
head surface, each layer lifted a little further off the skin so they stack without z-fighting.
"""
from __future__ import annotations

import numpy as np

from . import sdf
from .body import head_field

# material name -> default colour (linear RGB)
MATERIALS = {
    "Eye_White": (0.97, 0.97, 0.97),
    "Eye_Iris": (0.10, 0.25, 0.65),
    "Eye_Pupil": (0.02, 0.03, 0.08),
    "Eye_Highlight": (1.0, 1.0, 1.0),
    "Lash": (0.05, 0.03, 0.03),
    "Brow": (0.18, 0.10, 0.06),
    "Mouth": (0.55, 0.12, 0.12),
    "Blush": (0.98, 0.55, 0.55),
}
_ORDER = list(MATERIALS)


def _disc(cx: float, cz: float, rx: float, rz: float, rings: int = 3, seg: int = 24):
    """Filled ellipse as triangles: (P (N,2), tris (T,3))."""
    pts = [(cx, cz)]
    for r in range(1, rings + 1):
        a = np.linspace(0, 2 * np.pi, seg, endpoint=False)
        pts += list(zip(cx + rx * r / rings * np.cos(a), cz + rz * r / rings * np.sin(a)))
    P = np.array(pts)
    tris = []
    for j in range(seg):
        tris.append((0, 1 + j, 1 + (j + 1) % seg))
    for r in range(1, rings):
        o0, o1 = 1 + (r - 1) * seg, 1 + r * seg
        for j in range(seg):
            a, b = o0 + j, o0 + (j + 1) % seg
            c, d = o1 + j, o1 + (j + 1) % seg
            tris += [(a, c, d), (a, d, b)]
    return P, np.array(tris)


def _arc_band(cx, cz, rx, rz, a0, a1, w0, w1, seg=16):
    """A band along an elliptic arc from angle a0 to a1 (radians), width tapering w0 -> w1 -> w0."""
    a = np.linspace(a0, a1, seg + 1)
    t = np.linspace(0, 1, seg + 1)
    w = w0 + (w1 - w0) * np.sin(np.pi * t)
    inner = np.stack([cx + rx * np.cos(a), cz + rz * np.sin(a)], 1)
    normal = np.stack([np.cos(a) / rx, np.sin(a) / rz], 1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    outer = inner + normal * w[:, None]
    P = np.concatenate([inner, outer])
    n = seg + 1
    tris = []
    for j in range(seg):
        tris += [(j, j + 1, n + j + 1), (j, n + j + 1, n + j)]
    return P, np.array(tris)


def _shapes():
    """(2D points, tris, material, lift in metres) for every face part."""
    out = []
    for s in (1, -1):
        ex, ez = s * 0.041, 1.438
        out.append((*_disc(ex, ez, 0.021, 0.025), "Eye_White", 0.0012))
        out.append((*_disc(ex + s * 0.001, ez - 0.002, 0.0165, 0.0225), "Eye_Iris", 0.0022))
        out.append((*_disc(ex + s * 0.001, ez - 0.003, 0.0085, 0.012), "Eye_Pupil", 0.0030))
        out.append((*_disc(ex - s * 0.006, ez + 0.009, 0.0048, 0.0048, 2, 12), "Eye_Highlight", 0.0038))
        out.append((*_disc(ex + s * 0.007, ez - 0.012, 0.0025, 0.0025, 1, 10), "Eye_Highlight", 0.0038))
        a0, a1 = (np.radians(10), np.radians(175)) if s > 0 else (np.radians(5), np.radians(170))
        out.append((*_arc_band(ex, ez - 0.002, 0.0215, 0.024, a0, a1, 0.0025, 0.0045), "Lash", 0.0042))
        out.append((*_arc_band(ex + s * 0.002, ez + 0.004, 0.020, 0.034, np.radians(50), np.radians(130),
                               0.0012, 0.0028), "Brow", 0.0015))
        out.append((*_disc(s * 0.060, 1.405, 0.013, 0.0055, 2, 16), "Blush", 0.0008))
    out.append((*_arc_band(0.0, 1.392, 0.011, 0.006, np.radians(200), np.radians(340), 0.0012, 0.0022),
                 "Mouth", 0.0015))
    return out


def face_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """-> vertices (V,3), triangles (T,3), material index per triangle, {material: colour} in index order."""
    f = head_field()
    verts, tris, mats = [], [], []
    n = 0
    for P, T, mat, lift in _shapes():
        # march along +Y from in front of the face to the head surface
        p = np.stack([P[:, 0], np.full(len(P), -0.30), P[:, 1]], axis=1)
        for _ in range(60):
            p[:, 1] += np.maximum(f(p), 0.0) * 0.9
        p = sdf.project(f, p, iters=2)
        g = sdf.gradient(f, p)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        verts.append(p + g * lift)
        tris.append(T + n)
        mats.append(np.full(len(T), _ORDER.index(mat)))
        n += len(P)
    return np.concatenate(verts), np.concatenate(tris), np.concatenate(mats), dict(MATERIALS)
