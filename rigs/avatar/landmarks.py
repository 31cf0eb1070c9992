"""The avatar's face and foot landmarks (docs/avatar.md): the points OpenPose's COCO-18 and BODY_25
sets mark beyond the joints, placed on the avatar's own surface and carried by empties ``kp_<Name>``
parented to bones (the artist convention of docs/rigs.md)."""
from __future__ import annotations

import numpy as np

from . import sdf
from .body import head_field
from .skeleton import ANKLE_L

EYE_X, EYE_Z = 0.041, 1.438  # the eye decals' centres (face.py)
NOSE_Z = 1.415  # between the eyes and the mouth (an anime face draws no nose)
EAR_Y, EAR_Z = 0.010, 1.440


def _march(f: sdf.Field, start: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The first surface point of field ``f`` along a ray (sphere tracing, then a projection)."""
    p = np.array(start, float)[None]
    d = np.asarray(direction, float)
    for _ in range(80):
        p += d * max(float(f(p)[0]), 0.0) * 0.9
    return sdf.project(f, p, iters=2)[0]


def landmark_points() -> dict[str, tuple[str, np.ndarray]]:
    """Empty name -> (parent bone, rest position in metres), for both sides."""
    f = head_field()
    out: dict[str, tuple[str, np.ndarray]] = {
        "kp_Nose": ("Head", _march(f, (0.0, -0.3, NOSE_Z), (0, 1, 0))),
    }
    heel = ANKLE_L + np.array([0.0, 0.046, -0.060])   # the back of the heel's round cone, near the sole
    big = np.array([0.078, -0.146, 0.018])             # the inner front of the toe cap
    small = np.array([0.108, -0.124, 0.016])           # its outer front
    for side, s in (("L", 1.0), ("R", -1.0)):
        bone = "Left" if s > 0 else "Right"
        m = np.array([s, 1.0, 1.0])
        out[f"kp_{side}Eye"] = ("Head", _march(f, (s * EYE_X, -0.3, EYE_Z), (0, 1, 0)))
        out[f"kp_{side}Ear"] = ("Head", _march(f, (s * 0.3, EAR_Y, EAR_Z), (-s, 0, 0)))
        out[f"kp_{side}Heel"] = (bone + "Foot", heel * m)
        out[f"kp_{side}BigToe"] = (bone + "Toes", big * m)
        out[f"kp_{side}SmallToe"] = (bone + "Toes", small * m)
    return {k: (b, np.round(p, 5)) for k, (b, p) in sorted(out.items())}
