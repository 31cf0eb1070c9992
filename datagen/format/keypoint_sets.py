"""Keypoint sets as data: names, skeleton edges, mirror partners and drawing colours.

Two sets are defined (docs/format.md):

* ``avatar20`` -- the 20 body bones of a Unity-style humanoid (the PSGAN paper's "20 keypoints based on
  the location of the bones"; this symmetric set is our reading of it). Each keypoint is the head
  (joint) position of the bone of that name.
* ``coco18`` -- OpenPose's COCO-18 body order, used for DeepFashion.

``AVATAR20_TO_COCO18`` maps the joints that exist in both sets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.errors import DatasetError


@dataclass(frozen=True)
class KeypointSet:
    """A named keypoint layout. ``flip[k]`` is the mirror partner of keypoint k (k itself for centre joints)."""

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip: tuple[int, ...]
    colors: tuple[tuple[int, int, int], ...]  # RGB per edge, for drawing

    def __post_init__(self) -> None:
        k = len(self.names)
        assert len(self.flip) == k and sorted(self.flip) == list(range(k)), self.name
        assert all(self.flip[self.flip[i]] == i for i in range(k)), self.name
        assert len(self.colors) == len(self.edges), self.name
        assert all(0 <= a < k and 0 <= b < k for a, b in self.edges), self.name

    @property
    def size(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def edges_array(self) -> np.ndarray:
        """(E, 2) int32."""
        return np.asarray(self.edges, dtype=np.int32).reshape(-1, 2)

    def flip_array(self) -> np.ndarray:
        """(K,) int32."""
        return np.asarray(self.flip, dtype=np.int32)


def _mirror_name(name: str) -> str:
    for a, b in (("Left", "Right"), ("Right", "Left"), ("L", "R"), ("R", "L")):
        if name.startswith(a) and name[len(a):len(a) + 1].isupper():
            return b + name[len(a):]
    return name


def _build(name: str, names: list[str], edges: list[tuple[str, str]],
           colors: list[tuple[int, int, int]]) -> KeypointSet:
    idx = {n: i for i, n in enumerate(names)}
    return KeypointSet(
        name=name,
        names=tuple(names),
        edges=tuple((idx[a], idx[b]) for a, b in edges),
        flip=tuple(idx[_mirror_name(n)] for n in names),
        colors=tuple(colors),
    )


_LIMB_LEFT = [(255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0)]
_LIMB_RIGHT = [(0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255)]
_CENTRE = [(255, 0, 0), (255, 0, 85), (255, 0, 170)]

AVATAR20 = _build(
    "avatar20",
    ["Hips", "Spine", "Neck", "Head",
     "LeftShoulder", "LeftUpperArm", "LeftLowerArm", "LeftHand",
     "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand",
     "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes",
     "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes"],
    [("Hips", "Spine"), ("Spine", "Neck"), ("Neck", "Head"),
     ("Neck", "LeftShoulder"), ("LeftShoulder", "LeftUpperArm"),
     ("LeftUpperArm", "LeftLowerArm"), ("LeftLowerArm", "LeftHand"),
     ("Neck", "RightShoulder"), ("RightShoulder", "RightUpperArm"),
     ("RightUpperArm", "RightLowerArm"), ("RightLowerArm", "RightHand"),
     ("Hips", "LeftUpperLeg"), ("LeftUpperLeg", "LeftLowerLeg"),
     ("LeftLowerLeg", "LeftFoot"), ("LeftFoot", "LeftToes"),
     ("Hips", "RightUpperLeg"), ("RightUpperLeg", "RightLowerLeg"),
     ("RightLowerLeg", "RightFoot"), ("RightFoot", "RightToes")],
    _CENTRE + _LIMB_LEFT + _LIMB_RIGHT + _LIMB_LEFT + _LIMB_RIGHT,
)

# OpenPose's COCO-18 order and its limb colours (the palette OpenPose draws with).
COCO18 = _build(
    "coco18",
    ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
     "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"],
    [("Neck", "RShoulder"), ("Neck", "LShoulder"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"),
     ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("Neck", "RHip"), ("RHip", "RKnee"),
     ("RKnee", "RAnkle"), ("Neck", "LHip"), ("LHip", "LKnee"), ("LKnee", "LAnkle"),
     ("Neck", "Nose"), ("Nose", "REye"), ("REye", "REar"), ("Nose", "LEye"), ("LEye", "LEar")],
    [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
     (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
     (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170)],
)

KEYPOINT_SETS: dict[str, KeypointSet] = {s.name: s for s in (AVATAR20, COCO18)}

# avatar20 joint -> the coco18 point at the same place. A COCO "shoulder" is the shoulder *joint*,
# which is the head of the UpperArm bone; elbow = LowerArm head, wrist = Hand head, hip = UpperLeg
# head, knee = LowerLeg head, ankle = Foot head. Nose, eyes and ears have no avatar20 bone.
AVATAR20_TO_COCO18: dict[str, str] = {
    "Neck": "Neck",
    "RightUpperArm": "RShoulder", "RightLowerArm": "RElbow", "RightHand": "RWrist",
    "LeftUpperArm": "LShoulder", "LeftLowerArm": "LElbow", "LeftHand": "LWrist",
    "RightUpperLeg": "RHip", "RightLowerLeg": "RKnee", "RightFoot": "RAnkle",
    "LeftUpperLeg": "LHip", "LeftLowerLeg": "LKnee", "LeftFoot": "LAnkle",
}


def get_keypoint_set(name: str) -> KeypointSet:
    try:
        return KEYPOINT_SETS[name]
    except KeyError:
        raise DatasetError(f"unknown keypoint set {name!r} (known: {', '.join(KEYPOINT_SETS)})") from None


def avatar20_to_coco18(xy: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert avatar20 keypoints to coco18 by AVATAR20_TO_COCO18.

    xy: (..., 20, 2), visibility: (..., 20) -> xy (..., 18, 2) with NaN for points avatar20 lacks,
    visibility (..., 18) with 0 for them.
    """
    out_xy = np.full(xy.shape[:-2] + (COCO18.size, 2), np.nan, dtype=np.float32)
    out_vis = np.zeros(visibility.shape[:-1] + (COCO18.size,), dtype=np.uint8)
    for a, c in AVATAR20_TO_COCO18.items():
        out_xy[..., COCO18.index(c), :] = xy[..., AVATAR20.index(a), :]
        out_vis[..., COCO18.index(c)] = visibility[..., AVATAR20.index(a)]
    return out_xy, out_vis
