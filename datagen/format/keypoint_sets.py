"""Keypoint sets as data: names, skeleton edges, mirror partners, drawing colours and landmarks.

One registry (:data:`KEYPOINT_SETS`) holds every set the toolkit knows (docs/format.md):

* ``avatar20`` -- the 20 body bones of a Unity-style humanoid (the PSGAN paper's "20 keypoints based on
  the location of the bones"; this symmetric set is our reading of it). Each keypoint is the head
  (joint) position of the bone of that name.
* ``coco18`` -- OpenPose's COCO-18 body order, used for DeepFashion.
* ``body25`` -- OpenPose's BODY_25 order: COCO-18 plus MidHip, big and small toes and heels.
* ``coco17`` -- the COCO person keypoints (``person_keypoints_*.json``): the order, names and skeleton
  of the COCO dataset, whose standard OKS sigmas (:data:`COCO17_SIGMAS`) ``COCOeval`` assumes.

Conversion between sets goes through **landmarks**: each keypoint names the anatomical point it marks
in one shared vocabulary (``left_shoulder`` is the shoulder joint, ``left_clavicle`` the shoulder bone's
root), so :func:`convert_keypoints` maps any set to any other by name, with no table per pair of
sets. A new set is one :func:`register_keypoint_set` call.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from datagen.errors import DatasetError


@dataclass(frozen=True)
class KeypointSet:
    """A named keypoint layout. ``flip[k]`` is the mirror partner of keypoint k (k itself for centre joints);
    ``landmarks[k]`` is the anatomical point keypoint k marks (the shared vocabulary of conversions)."""

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip: tuple[int, ...]
    colors: tuple[tuple[int, int, int], ...]  # RGB per edge, for drawing
    landmarks: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        k = len(self.names)
        assert len(set(self.names)) == k, self.name
        assert len(self.flip) == k and sorted(self.flip) == list(range(k)), self.name
        assert all(self.flip[self.flip[i]] == i for i in range(k)), self.name
        assert len(self.colors) == len(self.edges), self.name
        assert all(0 <= a < k and 0 <= b < k for a, b in self.edges), self.name
        assert len(self.landmarks) == k and len(set(self.landmarks)) == k, self.name

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
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    for a, b in (("Left", "Right"), ("Right", "Left"), ("L", "R"), ("R", "L")):
        if name.startswith(a) and name[len(a):len(a) + 1].isupper():
            return b + name[len(a):]
    return name


def _build(name: str, names: list[str], edges: list[tuple[str, str]], colors: list[tuple[int, int, int]],
           landmarks: list[str], description: str) -> KeypointSet:
    idx = {n: i for i, n in enumerate(names)}
    return KeypointSet(
        name=name,
        names=tuple(names),
        edges=tuple((idx[a], idx[b]) for a, b in edges),
        flip=tuple(idx[_mirror_name(n)] for n in names),
        colors=tuple(colors),
        landmarks=tuple(landmarks),
        description=description,
    )


def _hue_sweep(n: int) -> list[tuple[int, int, int]]:
    """n saturated colours around the hue circle, red first (OpenPose draws its limbs this way)."""
    return [tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(i / n, 1.0, 1.0)) for i in range(n)]


_LIMB_LEFT = [(255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0)]
_LIMB_RIGHT = [(0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255)]
_SPINE = [(255, 0, 0), (255, 0, 85), (255, 0, 170)]

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
    _SPINE + _LIMB_LEFT + _LIMB_RIGHT + _LIMB_LEFT + _LIMB_RIGHT,
    # A bone's keypoint is its head: the UpperArm's head is the shoulder joint, the Shoulder bone's head
    # the clavicle's root, the UpperLeg's head the hip joint, the Foot's head the ankle. Hips is the
    # pelvis root, not the midpoint of the hip joints (BODY_25's MidHip), so the two are not mapped.
    ["pelvis", "spine", "neck", "head",
     "left_clavicle", "left_shoulder", "left_elbow", "left_wrist",
     "right_clavicle", "right_shoulder", "right_elbow", "right_wrist",
     "left_hip", "left_knee", "left_ankle", "left_toes",
     "right_hip", "right_knee", "right_ankle", "right_toes"],
    "20 humanoid bones (Unity/VRM naming), each the head of its bone; the PSGAN paper's set",
)

_COCO18_NAMES = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
                 "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]
_COCO18_EDGES = [("Neck", "RShoulder"), ("Neck", "LShoulder"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"),
                 ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("Neck", "RHip"), ("RHip", "RKnee"),
                 ("RKnee", "RAnkle"), ("Neck", "LHip"), ("LHip", "LKnee"), ("LKnee", "LAnkle"),
                 ("Neck", "Nose"), ("Nose", "REye"), ("REye", "REar"), ("Nose", "LEye"), ("LEye", "LEar")]
_OPENPOSE_LANDMARKS = {
    "Nose": "nose", "Neck": "neck", "MidHip": "mid_hip",
    "RShoulder": "right_shoulder", "RElbow": "right_elbow", "RWrist": "right_wrist",
    "LShoulder": "left_shoulder", "LElbow": "left_elbow", "LWrist": "left_wrist",
    "RHip": "right_hip", "RKnee": "right_knee", "RAnkle": "right_ankle",
    "LHip": "left_hip", "LKnee": "left_knee", "LAnkle": "left_ankle",
    "REye": "right_eye", "LEye": "left_eye", "REar": "right_ear", "LEar": "left_ear",
    "LBigToe": "left_big_toe", "LSmallToe": "left_small_toe", "LHeel": "left_heel",
    "RBigToe": "right_big_toe", "RSmallToe": "right_small_toe", "RHeel": "right_heel",
}

# OpenPose's COCO-18 order and its limb colours (the palette OpenPose draws with).
COCO18 = _build(
    "coco18", _COCO18_NAMES, _COCO18_EDGES,
    [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
     (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
     (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170)],
    [_OPENPOSE_LANDMARKS[n] for n in _COCO18_NAMES],
    "OpenPose COCO-18 body order (DeepFashion, OpenPose COCO model)",
)

# OpenPose's BODY_25 order (poseParameters.cpp, POSE_BODY_25_BODY_PARTS) and its limbs.
_BODY25_NAMES = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
                 "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
                 "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"]
_BODY25_EDGES = [("Neck", "MidHip"), ("Neck", "RShoulder"), ("Neck", "LShoulder"), ("RShoulder", "RElbow"),
                 ("RElbow", "RWrist"), ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("MidHip", "RHip"),
                 ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("MidHip", "LHip"), ("LHip", "LKnee"),
                 ("LKnee", "LAnkle"), ("Neck", "Nose"), ("Nose", "REye"), ("REye", "REar"), ("Nose", "LEye"),
                 ("LEye", "LEar"), ("LAnkle", "LBigToe"), ("LBigToe", "LSmallToe"), ("LAnkle", "LHeel"),
                 ("RAnkle", "RBigToe"), ("RBigToe", "RSmallToe"), ("RAnkle", "RHeel")]
BODY25 = _build(
    "body25", _BODY25_NAMES, _BODY25_EDGES, _hue_sweep(len(_BODY25_EDGES)),
    [_OPENPOSE_LANDMARKS[n] for n in _BODY25_NAMES],
    "OpenPose BODY_25 order: COCO-18 plus MidHip, big and small toes and heels",
)

# The COCO person category as in person_keypoints_val2017.json: names, and the skeleton (1-based there).
_COCO17_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                 "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                 "left_knee", "right_knee", "left_ankle", "right_ankle"]
_COCO17_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                    [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
COCO17 = _build(
    "coco17", _COCO17_NAMES,
    [(_COCO17_NAMES[a - 1], _COCO17_NAMES[b - 1]) for a, b in _COCO17_SKELETON],
    _hue_sweep(len(_COCO17_SKELETON)),
    list(_COCO17_NAMES),  # COCO's names are the landmark vocabulary's
    "COCO person keypoints (the COCO dataset's order, names and skeleton; COCOeval's default sigmas)",
)
# Per-keypoint OKS falloff of COCO's evaluation (pycocotools COCOeval's kpt_oks_sigmas), in COCO order.
COCO17_SIGMAS = (0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                 0.107, 0.107, 0.087, 0.087, 0.089, 0.089)

KEYPOINT_SETS: dict[str, KeypointSet] = {}


def register_keypoint_set(kps: KeypointSet) -> KeypointSet:
    """Add a set to the registry (its name must be new); every command then accepts it by name."""
    if kps.name in KEYPOINT_SETS:
        raise ValueError(f"keypoint set {kps.name!r} is already registered")
    KEYPOINT_SETS[kps.name] = kps
    return kps


for _kps in (AVATAR20, COCO18, BODY25, COCO17):
    register_keypoint_set(_kps)


def get_keypoint_set(name: str) -> KeypointSet:
    try:
        return KEYPOINT_SETS[name]
    except (KeyError, TypeError):
        raise DatasetError(f"unknown keypoint set {name!r} (known: {', '.join(KEYPOINT_SETS)})") from None


def shared_keypoints(src: KeypointSet, dst: KeypointSet) -> dict[str, str]:
    """Keypoint name in ``src`` -> the name in ``dst`` that marks the same landmark (the name table)."""
    by_landmark = dict(zip(dst.landmarks, dst.names))
    return {n: by_landmark[lm] for n, lm in zip(src.names, src.landmarks) if lm in by_landmark}


def conversion_index(src: KeypointSet | str, dst: KeypointSet | str) -> np.ndarray:
    """(K_dst,) intp: for each keypoint of ``dst`` its index in ``src``, -1 where ``src`` lacks it."""
    src, dst = _as_set(src), _as_set(dst)
    pos = {lm: i for i, lm in enumerate(src.landmarks)}
    return np.asarray([pos.get(lm, -1) for lm in dst.landmarks], dtype=np.intp)


def convert_keypoints(xy: np.ndarray, visibility: np.ndarray, src: KeypointSet | str,
                      dst: KeypointSet | str) -> tuple[np.ndarray, np.ndarray]:
    """Re-order keypoints of set ``src`` into set ``dst`` by landmark.

    xy: (..., K_src, C) (C = 2 or 3), visibility: (..., K_src) -> xy (..., K_dst, C) float32 with NaN for
    points ``src`` lacks, visibility (..., K_dst) uint8 with 0 for them.
    """
    idx = conversion_index(src, dst)
    xy = np.asarray(xy)
    visibility = np.asarray(visibility)
    have = idx >= 0
    out_xy = np.full(xy.shape[:-2] + (len(idx), xy.shape[-1]), np.nan, dtype=np.float32)
    out_vis = np.zeros(visibility.shape[:-1] + (len(idx),), dtype=np.uint8)
    out_xy[..., have, :] = xy[..., idx[have], :]
    out_vis[..., have] = visibility[..., idx[have]]
    return out_xy, out_vis


def _as_set(kps: KeypointSet | str) -> KeypointSet:
    return kps if isinstance(kps, KeypointSet) else get_keypoint_set(kps)
