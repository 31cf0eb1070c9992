"""The avatar's body as one signed distance field: a smooth union of round cones and ellipsoids.

Anime proportions (skeleton.py): a large round head (1/6 of the height) on a thin neck, narrow
shoulders, long legs, small hands and feet. The feet are cut flat at z = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import sdf
from .skeleton import (ANKLE_L, ARM_DIR_L, BALL_L, ELBOW_L, HIP_L, KNEE_L, SHOULDER_L, TOETIP_L,
                       WRIST_L, mirror_x)

# The head: cranium and jaw, shared with hair, hats and the face decals.
CRANIUM_C = np.array([0.0, 0.010, 1.488])
CRANIUM_R = np.array([0.102, 0.104, 0.112])


def head_field() -> sdf.Field:
    cranium = sdf.ellipsoid(CRANIUM_C, CRANIUM_R)
    jaw = sdf.round_cone((0, -0.004, 1.458), (0, -0.058, 1.356), 0.086, 0.020)
    return sdf.union([cranium, jaw], 0.03)


def _arm(side: int) -> sdf.Field:
    m = (lambda v: np.asarray(v, float)) if side > 0 else mirror_x
    d = ARM_DIR_L * np.array([side, 1, 1])
    S, E, W = m(SHOULDER_L), m(ELBOW_L), m(WRIST_L)
    upper = sdf.round_cone(S - 0.01 * d, E, 0.040, 0.031)
    fore = sdf.round_cone(E, W, 0.031, 0.021)
    normal = np.array([np.sin(np.radians(30)) * side, 0.0, np.cos(np.radians(30))])
    axes = np.stack([d, np.array([0.0, 1.0, 0.0]), normal], axis=1)
    palm = sdf.ellipsoid(W + 0.055 * d, (0.058, 0.036, 0.016), axes)
    fingers = sdf.ellipsoid(W + 0.110 * d, (0.040, 0.032, 0.011), axes)
    thumb = sdf.round_cone(W + 0.02 * d - 0.028 * axes[:, 1], W + 0.075 * d - 0.048 * axes[:, 1], 0.012, 0.009)
    hand = sdf.union([palm, fingers, thumb], 0.015)
    return sdf.union([sdf.union([upper, fore], 0.02), hand], 0.012)


def _leg(side: int) -> sdf.Field:
    m = (lambda v: np.asarray(v, float)) if side > 0 else mirror_x
    H, K, A, B, T = m(HIP_L), m(KNEE_L), m(ANKLE_L), m(BALL_L), m(TOETIP_L)
    thigh = sdf.round_cone(H + np.array([0.012 * side, 0, 0.03]), K, 0.068, 0.046)
    shin = sdf.round_cone(K, A + np.array([0, 0, 0.01]), 0.045, 0.030)
    calf = sdf.ellipsoid(m((0.088, 0.018, 0.330)), (0.043, 0.044, 0.110))
    heel = A + np.array([0, 0.012, -0.045])
    foot = sdf.round_cone(heel, B + np.array([0, 0, 0.000]), 0.034, 0.030)
    toes = sdf.round_cone(B, T + np.array([0, 0.012, 0.0]), 0.030, 0.020)
    ankle = sdf.round_cone(A + np.array([0, 0, 0.02]), heel + np.array([0, 0, 0.015]), 0.030, 0.032)
    lower = sdf.union([shin, calf], 0.03)
    f = sdf.union([sdf.union([thigh, lower], 0.03), sdf.union([ankle, foot, toes], 0.02)], 0.02)
    return f


def torso_field() -> sdf.Field:
    chest = sdf.ellipsoid((0, 0.008, 1.160), (0.115, 0.078, 0.120))
    bust = sdf.union([sdf.sphere((0.048, -0.045, 1.145), 0.046), sdf.sphere((-0.048, -0.045, 1.145), 0.046)], 0.02)
    waist = sdf.ellipsoid((0, 0.010, 1.010), (0.098, 0.068, 0.100))
    pelvis = sdf.ellipsoid((0, 0.012, 0.880), (0.138, 0.092, 0.105))
    bottom = sdf.union([sdf.sphere((0.055, 0.040, 0.850), 0.075), sdf.sphere((-0.055, 0.040, 0.850), 0.075)], 0.03)
    shoulders = sdf.round_cone(mirror_x(SHOULDER_L) + np.array([0.01, 0, -0.005]),
                               SHOULDER_L + np.array([-0.01, 0, -0.005]), 0.046, 0.046)
    neck = sdf.round_cone((0, 0.012, 1.240), (0, 0.006, 1.400), 0.036, 0.032)
    core = sdf.union([chest, waist, pelvis], 0.07)
    core = sdf.union([core, sdf.union([bust, bottom], 0.0)], 0.03)
    core = sdf.union([core, shoulders], 0.06)
    return sdf.union([core, neck], 0.03)


def body_field() -> sdf.Field:
    """The whole body, feet cut flat at the floor."""
    torso = torso_field()
    limbs = [_arm(1), _arm(-1), _leg(1), _leg(-1)]
    head = head_field()
    floor = sdf.plane((0, 0, 0), (0, 0, -1))

    def f(p):
        t = torso(p)
        a = np.minimum(limbs[0](p), limbs[1](p))
        out = sdf.smin(t, a, 0.025)
        legs = np.minimum(limbs[2](p), limbs[3](p))
        out = sdf.smin(out, legs, 0.04)
        out = sdf.smin(out, head(p), 0.02)
        return np.maximum(out, floor(p))
    return f


BODY_BOX = (np.array([-0.80, -0.30, -0.02]), np.array([0.80, 0.30, 1.72]))
CELL = 0.01
GARMENT_CELL = 0.0125  # body-following garments are polygonised on this coarser lattice
BAND = 0.09  # the sampled field is exact this close to the skin (garments grow at most this far)


@dataclass
class BodyModel:
    """The body field, its samples on the build lattice, its mesh and skin weights."""

    field: sdf.Field
    lo: np.ndarray
    h: float
    values: np.ndarray  # field on the lattice lo + h * index
    verts: np.ndarray  # (V,3)
    quads: np.ndarray  # (F,4)
    weights: np.ndarray  # (V,B)
    lattices: dict  # cell size -> field samples on the lattice lo + h * index (values above included)

    @classmethod
    def build(cls) -> "BodyModel":
        from .skinning import bone_weights
        f = body_field()
        lo, hi = BODY_BOX
        n = sdf.lattice_shape(lo, hi, CELL)
        F = sdf.sample(f, lo, CELL, n, band=BAND)
        v, q = sdf.surface_nets(f, lo, hi, CELL, values=F)
        G = sdf.sample(f, lo, GARMENT_CELL, sdf.lattice_shape(lo, hi, GARMENT_CELL), band=BAND)
        return cls(f, lo, CELL, F, v, q, bone_weights(v, q), {CELL: F, GARMENT_CELL: G})

    def window(self, lo, hi, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A sub-box snapped to the lattice of cell h: (lo', hi', field values there)."""
        V = self.lattices[h]
        i0 = np.maximum(np.floor((np.asarray(lo) - self.lo) / h).astype(int), 0)
        i1 = np.minimum(np.ceil((np.asarray(hi) - self.lo) / h).astype(int), np.array(V.shape) - 1)
        return self.lo + h * i0, self.lo + h * i1, V[i0[0]:i1[0] + 1, i0[1]:i1[1] + 1, i0[2]:i1[2] + 1]

    def nearest_vertex(self, p: np.ndarray, reach: int = 3) -> np.ndarray:
        """Index of the (approximately) nearest body vertex to each point of p (N,3) within reach cells."""
        shape = np.array(self.values.shape)
        cell = np.clip(np.floor((self.verts - self.lo) / self.h).astype(int), 0, shape - 1)
        grid = -np.ones(tuple(shape), dtype=np.int64)
        grid[cell[:, 0], cell[:, 1], cell[:, 2]] = np.arange(len(self.verts))
        c = np.floor((p - self.lo) / self.h).astype(int)
        r = np.arange(-reach, reach + 1)
        off = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
        best = np.full(len(p), -1, dtype=np.int64)
        best_d = np.full(len(p), np.inf)
        for o in off:
            cc = np.clip(c + o, 0, shape - 1)
            cand = grid[cc[:, 0], cc[:, 1], cc[:, 2]]
            ok = cand >= 0
            d = np.full(len(p), np.inf)
            d[ok] = np.sum((self.verts[cand[ok]] - p[ok]) ** 2, axis=1)
            better = d < best_d
            best[better] = cand[better]
            best_d[better] = d[better]
        for i in np.nonzero(best < 0)[0]:  # far from the skin (rare): brute force
            best[i] = np.argmin(((self.verts - p[i]) ** 2).sum(1))
        return best
