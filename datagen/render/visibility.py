"""Keypoint visibility decisions (COCO's 0/1/2, docs/format.md) from ray casts against the character.

Pure numpy. The renderer casts, for every joint, one ray from the camera centre towards the joint
against the evaluated geometry of what is rendered; this module turns the hit distances into flags.
A joint lies *inside* its own limb, so the first surface on the ray is normally the limb's skin just
in front of the joint: a hit counts as an occluder only when it is farther than the joint's radius
from the joint. The radius of each joint is measured once on the rig, in the rest pose, with the
same kind of ray from many directions (:func:`joint_radii`).
"""
from __future__ import annotations

import numpy as np

HIDDEN, OUTSIDE, VISIBLE = 1, 0, 2


def view_directions(per_ring: int = 16, elevations_deg: tuple[float, ...] = (-20.0, 0.0, 20.0)) -> np.ndarray:
    """(R * per_ring, 3) unit vectors in rings around the world up axis (Z), deterministic.

    These are the directions a camera looks at a standing character from (the camera is roughly
    level with it), so the distance from a joint to the skin along them is what a camera ray to the
    joint crosses.
    """
    az = 2 * np.pi * (np.arange(per_ring) + 0.5) / per_ring
    out = []
    for el in np.radians(elevations_deg):
        out.append(np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full(per_ring, np.sin(el))], 1))
    return np.concatenate(out)


def joint_radii(surface_depth: np.ndarray, tolerance: float, percentile: float = 75.0) -> np.ndarray:
    """Per-joint radius (K,) from the depth of skin in front of each joint seen from M directions.

    surface_depth: (K, M), measured in the rest pose (0 where nothing covers the joint). The radius
    is a high percentile over the directions: it covers the joint's own limb seen from most sides,
    while the few directions where another part is in the way (along a limb, across the body) do
    not count. ``tolerance`` (metres) is added for clothing over the skin.
    """
    d = np.asarray(surface_depth, dtype=np.float64)
    return np.percentile(d, percentile, axis=1) + tolerance


def visibility_flags(xy: np.ndarray, depth: np.ndarray, size: int, joint_distance: np.ndarray,
                     hit_distance: np.ndarray, radius: np.ndarray, mapped: np.ndarray | None = None) -> np.ndarray:
    """COCO visibility (K,) uint8 of one view.

    xy: (K, 2) projected pixels; depth: (K,) camera z (<= 0 behind the camera); size: S;
    joint_distance: (K,) distance camera centre -> joint; hit_distance: (K,) distance to the first
    surface on the ray camera -> joint (inf when nothing is hit before the joint);
    radius: (K,) per-joint radius; mapped: (K,) bool (False: the rig has no such joint).

    0: unmapped, behind the camera or outside [0, S) x [0, S); 1: something is hit farther than the
    radius in front of the joint; 2: visible.
    """
    xy = np.asarray(xy, dtype=np.float64)
    inside = (np.asarray(depth) > 0) & np.isfinite(xy).all(-1) & (xy >= 0).all(-1) & (xy < size).all(-1)
    if mapped is not None:
        inside &= np.asarray(mapped, dtype=bool)
    occluded = np.asarray(hit_distance) < np.asarray(joint_distance) - np.asarray(radius)
    return np.where(inside, np.where(occluded, HIDDEN, VISIBLE), OUTSIDE).astype(np.uint8)
