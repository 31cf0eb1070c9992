"""The avatar's skeleton: avatar20 bones (plus Chest) in a light A-pose, metres, Z up, facing -Y.

Each bone is (name, parent, head, tail). Keypoint k of avatar20 is the head of the bone named k.
The character's left is +X. Proportions: 1.60 m tall, head 0.26 m (about 1/6), legs 0.86 m.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARM_DOWN_DEG = 30.0  # rest arms this far below horizontal
ARM_DIR_L = np.array([np.cos(np.radians(ARM_DOWN_DEG)), 0.0, -np.sin(np.radians(ARM_DOWN_DEG))])

SHOULDER_L = np.array([0.150, 0.010, 1.265])
ELBOW_L = SHOULDER_L + 0.235 * ARM_DIR_L
WRIST_L = ELBOW_L + 0.215 * ARM_DIR_L
FINGERTIP_L = WRIST_L + 0.150 * ARM_DIR_L
HIP_L = np.array([0.085, 0.005, 0.860])
KNEE_L = np.array([0.088, 0.000, 0.480])
ANKLE_L = np.array([0.090, 0.025, 0.080])
BALL_L = np.array([0.090, -0.085, 0.022])
TOETIP_L = np.array([0.090, -0.140, 0.022])


@dataclass(frozen=True)
class Bone:
    name: str
    parent: str | None
    head: tuple[float, float, float]
    tail: tuple[float, float, float]


def mirror_x(v) -> np.ndarray:
    """Mirror a left-side point to the right (x -> -x)."""
    v = np.asarray(v, float)
    return np.array([-v[0], v[1], v[2]])


def _bones() -> tuple[Bone, ...]:
    t = lambda v: tuple(float(round(x, 6)) for x in v)  # noqa: E731
    centre = [
        ("Hips", None, (0, 0.005, 0.920), (0, 0.005, 1.020)),
        ("Spine", "Hips", (0, 0.005, 1.020), (0, 0.005, 1.120)),
        ("Chest", "Spine", (0, 0.005, 1.120), (0, 0.010, 1.280)),
        ("Neck", "Chest", (0, 0.010, 1.280), (0, 0.005, 1.370)),
        ("Head", "Neck", (0, 0.005, 1.370), (0, 0.005, 1.600)),
    ]
    left = [
        ("LeftShoulder", "Chest", (0.025, 0.005, 1.245), SHOULDER_L),
        ("LeftUpperArm", "LeftShoulder", SHOULDER_L, ELBOW_L),
        ("LeftLowerArm", "LeftUpperArm", ELBOW_L, WRIST_L),
        ("LeftHand", "LeftLowerArm", WRIST_L, FINGERTIP_L),
        ("LeftUpperLeg", "Hips", HIP_L, KNEE_L),
        ("LeftLowerLeg", "LeftUpperLeg", KNEE_L, ANKLE_L),
        ("LeftFoot", "LeftLowerLeg", ANKLE_L, BALL_L),
        ("LeftToes", "LeftFoot", BALL_L, TOETIP_L),
    ]
    out = [Bone(n, p, t(h), t(tl)) for n, p, h, tl in centre]
    for n, p, h, tl in left:
        out.append(Bone(n, p, t(h), t(tl)))
    for n, p, h, tl in left:
        out.append(Bone(n.replace("Left", "Right"), p.replace("Left", "Right"), t(mirror_x(h)), t(mirror_x(tl))))
    return tuple(out)


BONES: tuple[Bone, ...] = _bones()
BONE_NAMES: tuple[str, ...] = tuple(b.name for b in BONES)


def bone(name: str) -> Bone:
    return BONES[BONE_NAMES.index(name)]
