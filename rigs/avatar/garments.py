"""Garment parts as signed distance fields: tops, bottoms, skirts, dresses, shoes, hair, hats, ribbons, capes.

Body-following garments are the body field grown outward by a few millimetres and cut by a region
(planes across the limbs, a slab in z); their cut caps lie inside the body, so only the hem ring shows.
Skirts and dresses flare away from the legs as elliptic cones; their bottom cap is removed
(``open_below``) so the legs show from below. Each garment names its material and how it is skinned:
``transfer`` (weights of the nearest body vertex), ``skirt`` (hips blended into the legs towards the
hem), ``hair`` (head, blended into the chest below the nape) or ``rigid:<bone>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import sdf
from .body import CRANIUM_C, CRANIUM_R, GARMENT_CELL
from .skeleton import ARM_DIR_L, SHOULDER_L


@dataclass(frozen=True)
class Garment:
    name: str
    material: str
    color: tuple[float, float, float]
    field: Callable  # Cut, or (BodyModel) -> Field
    box: tuple[tuple[float, float, float], tuple[float, float, float]]
    skinning: str = "transfer"
    open_below: float | None = None  # remove the downward cap at this hem height
    cell: float = 0.010  # for fields of their own; body-following (Cut) garments use GARMENT_CELL


def _slab(zmin: float, zmax: float) -> sdf.Field:
    return lambda p: np.maximum(zmin - p[:, 2], p[:, 2] - zmax)


def _sleeves(s_cut: float, reach: float = 0.09) -> sdf.Field:
    """Outside beyond the planes across both arms at s_cut metres from the shoulder joints, within
    ``reach`` of the arm's axis (so the plane never cuts the torso below the armpit)."""
    out = []
    for side in (1, -1):
        d = ARM_DIR_L * np.array([side, 1, 1])
        s = SHOULDER_L * np.array([side, 1, 1])

        def f(p, d=d, s=s):
            t = (p - s) @ d
            axis = s + np.clip(t, 0.0, 0.60)[:, None] * d
            return np.minimum(t - s_cut, reach - np.linalg.norm(p - axis, axis=1))
        out.append(f)
    return lambda p: np.maximum(out[0](p), out[1](p))


def _sleeveless() -> sdf.Field:
    n = np.array([0.9, 0.0, 0.44])
    n /= np.linalg.norm(n)
    nr = n * np.array([-1, 1, 1])
    a, b = np.array([0.118, 0, 1.2]), np.array([-0.118, 0, 1.2])
    return lambda p: np.maximum((p - a) @ n, (p - b) @ nr)


def _neckline(z: float = 1.29, scoop: float = 0.35, radius: float = 0.068) -> sdf.Field:
    """Outside inside a vertical elliptic cylinder around the neck above a plane tilted down at the front
    (by ``scoop``): the collar hole of a top, leaving the shoulders covered."""
    n = np.array([0.0, -scoop, 1.0])
    n /= np.linalg.norm(n)
    c = np.array([0.0, 0.0, z])

    def f(p):
        r = np.sqrt(p[:, 0] ** 2 + ((p[:, 1] - 0.012) / 1.15) ** 2)
        return np.minimum(radius - r, (p - c) @ n)
    return f


def _narrow(xmax: float) -> sdf.Field:
    return lambda p: np.abs(p[:, 0]) - xmax


class Cut:
    """A body-following garment: the body grown by ``offset`` (metres, or a function of the points),
    intersected with ``regions`` and optionally smooth-joined (k = 1 cm) with ``extra`` (a skirt)."""

    def __init__(self, offset, *regions: sdf.Field, extra: sdf.Field | None = None):
        self.offset = offset
        self.regions = regions
        self.extra = extra

    def _grow(self, p):
        return self.offset(p) if callable(self.offset) else self.offset

    def _combine(self, p, body_values):
        out = body_values - self._grow(p)
        for r in self.regions:
            out = np.maximum(out, r(p))
        if self.extra is not None:
            out = sdf.smin(out, self.extra(p), 0.01)
        return out

    def __call__(self, bm) -> sdf.Field:
        return lambda p: self._combine(p, bm.field(p))

    def lattice_values(self, bm, lo, hi, h):
        lo2, hi2, F = bm.window(lo, hi, h)
        P = sdf.grid_points(lo2, h, F.shape)
        return lo2, hi2, self._combine(P, F.ravel()).reshape(F.shape)


def _skirt(z_top: float, z_hem: float, r_top=(0.118, 0.088), r_hem=(0.25, 0.21), pleats: float = 0.0,
           yc: float = 0.012) -> sdf.Field:
    def f(p):
        u = np.clip((z_top - p[:, 2]) / (z_top - z_hem), 0.0, 1.0)
        rx = r_top[0] + (r_hem[0] - r_top[0]) * u
        ry = r_top[1] + (r_hem[1] - r_top[1]) * u
        if pleats:
            wave = 1.0 + pleats * u * np.cos(16 * np.arctan2(p[:, 1] - yc, p[:, 0]))
            rx, ry = rx * wave, ry * wave
        e = np.sqrt((p[:, 0] / rx) ** 2 + ((p[:, 1] - yc) / ry) ** 2) - 1.0
        return np.maximum(e * np.minimum(rx, ry), np.maximum(p[:, 2] - z_top, z_hem - p[:, 2]))
    return f


def _dress(offset, sleeve_region, z_hem, r_hem, pleats=0.0) -> Cut:
    return Cut(offset, _slab(z_hem, 1.335), sleeve_region, _neckline(), _narrow(0.40),
               extra=_skirt(1.0, z_hem, r_hem=r_hem, pleats=pleats))


# ---- hair --------------------------------------------------------------------------------------

def _scaled(f: sdf.Field, s) -> sdf.Field:
    s = np.asarray(s, float)
    return lambda p: f(p / s) * s.min()


def _hair_cap(back_to: float = 1.40) -> sdf.Field:
    shell = sdf.ellipsoid(CRANIUM_C, CRANIUM_R + 0.014)
    face = lambda p: np.maximum.reduce([p[:, 1] + 0.03, p[:, 2] - 1.515, np.abs(p[:, 0]) - 0.092])  # noqa: E731
    bangs = [sdf.round_cone((0.8 * x, -0.080, 1.585), (x, -0.116, 1.475 + 0.25 * abs(x)), 0.026, 0.005)
             for x in (-0.075, -0.05, -0.025, 0.0, 0.025, 0.05, 0.075)]
    locks = [sdf.round_cone((s * 0.088, -0.035, 1.50), (s * 0.094, -0.055, 1.37), 0.024, 0.007) for s in (1, -1)]
    fringe = sdf.union(bangs, 0.006)
    sides = sdf.union(locks, 0.0)

    def f(p):
        cap = np.maximum(shell(p), -face(p))
        cap = np.maximum(cap, back_to - p[:, 2])
        return sdf.smin(sdf.smin(cap, fringe(p), 0.008), sides(p), 0.01)
    return f


def _hair(style: str) -> Callable:
    def make(bm=None):
        cap = _hair_cap(1.40 if style in ("short", "ponytail", "twintails") else 1.36)
        parts = []
        if style == "bob":
            bulk = sdf.ellipsoid((0, 0.02, 1.455), (0.124, 0.120, 0.128))
            parts.append(lambda p: np.maximum.reduce([bulk(p), 1.355 - p[:, 2], -(p[:, 1] + 0.03)]))
        if style == "long":
            bulk = sdf.ellipsoid((0, 0.02, 1.455), (0.122, 0.120, 0.128))
            parts.append(lambda p: np.maximum(bulk(p), -(p[:, 1] + 0.03)))
            parts.append(_scaled(sdf.round_cone((0, 0.115 / 0.45, 1.40), (0, 0.135 / 0.45, 0.98), 0.12, 0.10),
                                 (1.0, 0.45, 1.0)))
        if style == "twintails":
            for s in (1, -1):
                parts.append(sdf.union([sdf.sphere((s * 0.108, 0.060, 1.545), 0.034),
                                        sdf.round_cone((s * 0.150, 0.125, 1.47), (s * 0.165, 0.150, 1.22), 0.055, 0.045),
                                        sdf.round_cone((s * 0.165, 0.150, 1.22), (s * 0.150, 0.150, 1.00), 0.045, 0.012)], 0.04))
        if style == "ponytail":
            parts.append(sdf.union([sdf.sphere((0, 0.105, 1.53), 0.036),
                                    sdf.round_cone((0, 0.150, 1.47), (0, 0.175, 1.30), 0.050, 0.042),
                                    sdf.round_cone((0, 0.175, 1.30), (0, 0.165, 1.10), 0.042, 0.010)], 0.04))
        if style == "short":
            spikes = [sdf.round_cone((s * 0.07, 0.06, 1.56), (s * 0.125, 0.09, 1.46), 0.03, 0.006) for s in (1, -1)]
            parts.extend(spikes)

        def f(p):
            out = cap(p)
            for g in parts:
                out = sdf.smin(out, g(p), 0.02)
            return out
        return f
    return make


def _beret(bm=None) -> sdf.Field:
    tilt = np.radians(12)
    ax = np.array([[np.cos(tilt), 0, -np.sin(tilt)], [0, 1, 0], [np.sin(tilt), 0, np.cos(tilt)]])
    return sdf.union([sdf.ellipsoid((0.02, 0.02, 1.605), (0.135, 0.13, 0.042), ax),
                      sdf.sphere((0.03, 0.02, 1.652), 0.010)], 0.01)


def _sunhat(bm=None) -> sdf.Field:
    crown = sdf.ellipsoid((0, 0.012, 1.580), (0.138, 0.142, 0.085))
    brim = sdf.ellipsoid((0, 0.012, 1.545), (0.25, 0.25, 0.009))
    return lambda p: sdf.smin(np.maximum(crown(p), 1.55 - p[:, 2]), brim(p), 0.015)


def _bow(c, size: float = 1.0, axis: str = "x") -> sdf.Field:
    c = np.asarray(c, float)
    s = size
    loops = [sdf.ellipsoid(c + np.array([k * 0.045 * s, 0.0, 0.008 * s]), (0.045 * s, 0.014 * s, 0.030 * s))
             for k in (1, -1)]
    tails = [sdf.round_cone(c, c + np.array([k * 0.025 * s, 0.0, -0.06 * s]), 0.012 * s, 0.008 * s)
             for k in (1, -1)]
    knot = sdf.sphere(c, 0.016 * s)
    return sdf.union([sdf.union(loops + tails, 0.0), knot], 0.006)


def _cape() -> Cut:
    return Cut(lambda p: 0.016 + 0.10 * np.clip(1.28 - p[:, 2], 0, None),
               lambda p: -p[:, 1], _slab(0.86, 1.33), _narrow(0.24), _sleeves(0.06))


def _collar() -> Cut:
    return Cut(0.018, _slab(1.12, 1.31), lambda p: -(p[:, 1] + 0.01), _narrow(0.135), _sleeves(0.0))


TORSO_BOX = ((-0.40, -0.20, 0.80), (0.40, 0.20, 1.42))
LEGS_BOX = ((-0.30, -0.20, -0.02), (0.30, 0.20, 1.06))
HEAD_BOX = ((-0.30, -0.16, 0.90), (0.30, 0.30, 1.70))

GARMENTS: tuple[Garment, ...] = (
    # tops
    Garment("Top_TShirt", "Top_TShirt", (0.95, 0.95, 0.95),
            Cut(0.007, _slab(0.96, 1.335), _sleeves(0.10), _neckline()), TORSO_BOX),
    Garment("Top_Blouse", "Top_Blouse", (0.85, 0.90, 1.0),
            Cut(0.008, _slab(0.93, 1.335), _sleeves(0.40), _neckline(1.30, 0.2)), ((-0.75, -0.2, 0.8), (0.75, 0.2, 1.42))),
    Garment("Top_Tank", "Top_Tank", (0.9, 0.3, 0.3),
            Cut(0.007, _slab(0.98, 1.335), _sleeveless(), _neckline(1.27, 0.5)), TORSO_BOX),
    Garment("Top_Hoodie", "Top_Hoodie", (0.4, 0.45, 0.6),
            Cut(0.014, _slab(0.86, 1.335), _sleeves(0.42), _neckline(1.31, 0.2)), ((-0.75, -0.2, 0.78), (0.75, 0.21, 1.42))),
    Garment("Top_Sailor", "Top_Sailor", (0.97, 0.97, 0.97),
            Cut(0.008, _slab(0.94, 1.335), _sleeves(0.11), _neckline(1.30, 0.6)), TORSO_BOX),
    Garment("Collar_Sailor", "Collar_Sailor", (0.12, 0.16, 0.38), _collar(), TORSO_BOX),
    # bottoms
    Garment("Bottom_Shorts", "Bottom_Shorts", (0.25, 0.35, 0.6),
            Cut(0.008, _slab(0.70, 1.005), _narrow(0.26)), LEGS_BOX),
    Garment("Bottom_Pants", "Bottom_Pants", (0.2, 0.2, 0.25),
            Cut(0.009, _slab(0.09, 1.005), _narrow(0.26)), LEGS_BOX),
    # skirts and dresses
    Garment("Skirt_Mini", "Skirt_Mini", (0.2, 0.25, 0.5), Cut(0.010, _slab(0.70, 1.005), _narrow(0.26), extra=_skirt(1.005, 0.70, pleats=0.05)),
            ((-0.32, -0.3, 0.66), (0.32, 0.3, 1.04)), skinning="skirt", open_below=0.70),
    Garment("Skirt_Long", "Skirt_Long", (0.5, 0.3, 0.4), Cut(0.010, _slab(0.42, 1.005), _narrow(0.26), extra=_skirt(1.005, 0.42, r_hem=(0.30, 0.27))),
            ((-0.36, -0.34, 0.38), (0.36, 0.34, 1.04)), skinning="skirt", open_below=0.42),
    Garment("Dress_Short", "Dress_Short", (0.9, 0.5, 0.6), _dress(0.008, _sleeves(0.09), 0.66, (0.26, 0.22)),
            ((-0.40, -0.3, 0.62), (0.40, 0.3, 1.42)), skinning="transfer+skirt", open_below=0.66),
    Garment("Dress_Sundress", "Dress_Sundress", (1.0, 0.9, 0.5), _dress(0.007, _sleeveless(), 0.50, (0.30, 0.27), 0.04),
            ((-0.40, -0.34, 0.46), (0.40, 0.34, 1.42)), skinning="transfer+skirt", open_below=0.50),
    # legwear and shoes
    Garment("Socks_Knee", "Socks_Knee", (0.95, 0.95, 0.95), Cut(0.004, _slab(0.0, 0.50), _narrow(0.26)),
            ((-0.3, -0.2, -0.02), (0.3, 0.2, 0.54))),
    Garment("Shoes_Sneakers", "Shoes_Sneakers", (0.9, 0.3, 0.3),
            Cut(0.010, _slab(0.0, 0.10), _narrow(0.26)), ((-0.3, -0.2, -0.02), (0.3, 0.2, 0.14))),
    Garment("Shoes_Boots", "Shoes_Boots", (0.35, 0.22, 0.15),
            Cut(0.012, _slab(0.0, 0.40), _narrow(0.26)), ((-0.3, -0.2, -0.02), (0.3, 0.2, 0.44))),
    # hair
    Garment("Hair_Bob", "Hair", (0.35, 0.2, 0.12), _hair("bob"), HEAD_BOX, skinning="hair", cell=0.012),
    Garment("Hair_Long", "Hair", (0.35, 0.2, 0.12), _hair("long"), HEAD_BOX, skinning="hair", cell=0.012),
    Garment("Hair_Twintails", "Hair", (0.35, 0.2, 0.12), _hair("twintails"), HEAD_BOX, skinning="hair", cell=0.012),
    Garment("Hair_Ponytail", "Hair", (0.35, 0.2, 0.12), _hair("ponytail"), HEAD_BOX, skinning="hair", cell=0.012),
    Garment("Hair_Short", "Hair", (0.35, 0.2, 0.12), _hair("short"), HEAD_BOX, skinning="hair", cell=0.012),
    # hats, ribbons, capes
    Garment("Hat_Beret", "Hat_Beret", (0.7, 0.15, 0.2), _beret, ((-0.2, -0.16, 1.5), (0.2, 0.2, 1.7)), "rigid:Head"),
    Garment("Hat_Sun", "Hat_Sun", (0.95, 0.88, 0.65), _sunhat, ((-0.28, -0.28, 1.5), (0.28, 0.28, 1.7)), "rigid:Head"),
    Garment("Ribbon_Head", "Ribbon_Head", (0.9, 0.2, 0.3), lambda bm: _bow((0.0, 0.10, 1.585), 1.2),
            ((-0.14, 0.0, 1.45), (0.14, 0.2, 1.68)), "rigid:Head", cell=0.006),
    Garment("Ribbon_Neck", "Ribbon_Neck", (0.85, 0.15, 0.2), lambda bm: _bow((0.0, -0.088, 1.235), 0.75),
            ((-0.1, -0.14, 1.15), (0.1, -0.04, 1.3)), "rigid:Chest", cell=0.004),
    Garment("Cape_Short", "Cape_Short", (0.6, 0.1, 0.15), _cape(), ((-0.34, -0.22, 0.82), (0.34, 0.26, 1.42))),
)


def _skirt_weights(v: np.ndarray) -> np.ndarray:
    """Skirt skinning: the hips at the waist, blending into the nearer thigh towards the hem."""
    from .skeleton import BONE_NAMES
    W = np.zeros((len(v), len(BONE_NAMES)))
    u = np.clip((1.0 - v[:, 2]) / 0.45, 0.0, 1.0)
    leg = 0.75 * u * u * (3 - 2 * u)
    side = 1.0 / (1.0 + np.exp(-v[:, 0] / 0.03))  # 1 on the left (+x)
    W[:, BONE_NAMES.index("Hips")] = 1 - leg
    W[:, BONE_NAMES.index("LeftUpperLeg")] = leg * side
    W[:, BONE_NAMES.index("RightUpperLeg")] = leg * (1 - side)
    return W


def _hair_weights(v: np.ndarray) -> np.ndarray:
    from .skeleton import BONE_NAMES
    W = np.zeros((len(v), len(BONE_NAMES)))
    t = np.clip((1.38 - v[:, 2]) / 0.14, 0.0, 1.0)
    t = t * t * (3 - 2 * t)
    W[:, BONE_NAMES.index("Head")] = 1 - t
    W[:, BONE_NAMES.index("Chest")] = t
    return W


def garment_mesh(g: Garment, bm):
    """-> (vertices (V,3), quads (F,4), weights (V,B)) of garment g over the body model bm."""
    from .skinning import limit_influences
    f = g.field(bm)
    cell = g.cell
    if isinstance(g.field, Cut):
        cell = GARMENT_CELL
        lo, hi, F = g.field.lattice_values(bm, *g.box, cell)
        v, q = sdf.surface_nets(f, lo, hi, cell, smooth=1, values=F)
    else:
        v, q = sdf.surface_nets(f, *g.box, g.cell, smooth=1)
    centre = v[q].mean(axis=1)
    keep = bm.field(centre) > -0.002  # caps hidden inside the body
    if g.open_below is not None:
        a, b, c = v[q[:, 0]], v[q[:, 1]], v[q[:, 2]]
        n = np.cross(b - a, c - a)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        keep &= ~((centre[:, 2] < g.open_below + 0.6 * cell) & (n[:, 2] < -0.5))
    if not keep.all():
        q = q[keep]
        used = np.unique(q)
        remap = -np.ones(len(v), dtype=np.int64)
        remap[used] = np.arange(len(used))
        v, q = v[used], remap[q]
    if g.open_below is not None:  # a straight hem: the open boundary near the hem goes onto its plane
        e = np.sort(np.stack([q, np.roll(q, -1, axis=1)], axis=2).reshape(-1, 2), axis=1)
        edges, count = np.unique(e, axis=0, return_counts=True)
        rim = np.unique(edges[count == 1])
        rim = rim[v[rim, 2] < g.open_below + 1.5 * cell]
        v[rim, 2] = g.open_below
    if g.skinning == "transfer":
        W = bm.weights[bm.nearest_vertex(v)]
    elif g.skinning == "skirt":
        W = _skirt_weights(v)
    elif g.skinning == "transfer+skirt":
        t = np.clip((1.0 - v[:, 2]) / 0.06, 0.0, 1.0)[:, None]  # bodice above the waist, skirt below
        W = t * _skirt_weights(v)
        top = t[:, 0] < 1
        W[top] += (1 - t[top]) * bm.weights[bm.nearest_vertex(v[top])]
    elif g.skinning == "hair":
        W = _hair_weights(v)
    else:
        assert g.skinning.startswith("rigid:"), g.skinning
        from .skeleton import BONE_NAMES
        W = np.zeros((len(v), len(BONE_NAMES)))
        W[:, BONE_NAMES.index(g.skinning.split(":")[1])] = 1.0
    return v, q, limit_influences(W, 4)
