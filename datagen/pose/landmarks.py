"""Where each keypoint of any keypoint set comes from on a rig (docs/rigs.md, "Landmarks").

Pure Python/numpy: decides sources from names and rest positions; the Blender side
(:mod:`datagen.render.blender.landmarks`) evaluates them. For each keypoint's landmark, in this order:

1. a body joint: the bone end of the avatar20 keypoint that marks the same landmark (``left_shoulder``
   is the head of LeftUpperArm), through :func:`~datagen.pose.bone_mapping.map_bones`;
2. a derived point: ``mid_hip`` (BODY_25's MidHip) is the midpoint of the two hip joints;
3. the artist convention: an empty named ``kp_<OpenPose name>`` (``kp_Nose``, ``kp_LEye``, ``kp_REar``,
   ``kp_LBigToe``, ``kp_LHeel``, ...) parented to a bone;
4. for the eyes, a VRM ``leftEye``/``rightEye`` humanoid bone or an eye bone by name (Mixamo's
   ``mixamorig:LeftEye``, ``eye.L``): its head;
5. for the face points, the head's own geometry where the Head bone deforms a mesh
   (:mod:`datagen.pose.face_geometry`);
6. a documented fallback: a fixed offset in the frame of the Head bone (face points) or of the Foot
   and Toes bones (heels and toes), scaled by the bone's length (:func:`fallback_points`); the dataset
   config names every keypoint that used one.

A keypoint none of these gives makes the set impossible for that rig: :func:`plan_landmarks` raises
one RigError listing them all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from datagen.format.keypoint_sets import AVATAR20, BODY25, KeypointSet
from datagen.pose.bone_mapping import JointSource, RigError

EMPTY_PREFIX = "kp_"
# landmark -> the avatar20 keypoint (bone) that marks it
BODY_LANDMARKS = dict(zip(AVATAR20.landmarks, AVATAR20.names))
DERIVED = {"mid_hip": ("left_hip", "right_hip")}
# landmark -> the OpenPose name used in the empty's name (kp_LEye); BODY_25 names every OpenPose point
OPENPOSE_NAMES = dict(zip(BODY25.landmarks, BODY25.names))
EYES = {"left_eye": "Left", "right_eye": "Right"}
FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
FEET = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
_EYE_TOKENS = re.compile(r"(?i)(left|right|\bl\b|\br\b|_l\b|_r\b|\.l\b|\.r\b)")


def empty_name(landmark: str) -> str:
    """The empty that marks ``landmark`` by the artist convention: ``kp_`` + its OpenPose name."""
    return EMPTY_PREFIX + OPENPOSE_NAMES.get(landmark, landmark)


@dataclass(frozen=True)
class LandmarkSource:
    """How one keypoint is computed: the mean of bone ends (``joints``: one, or two for a midpoint),
    an empty (``empty``), a point measured on the mesh a bone deforms (``head_mesh``: the bone), or a
    fallback offset from a bone (``fallback``: the bone)."""

    kind: str  # "joint", "mid", "empty", "eye_bone", "head_mesh", "fallback"
    joints: tuple[JointSource, ...] = ()
    empty: str | None = None
    fallback: str | None = None

    def __str__(self) -> str:
        if self.kind in ("joint", "eye_bone"):
            return str(self.joints[0])
        if self.kind == "mid":
            return "midpoint of " + " and ".join(map(str, self.joints))
        if self.kind == "empty":
            return f"empty {self.empty}"
        if self.kind == "head_mesh":
            return f"head geometry: the mesh of bone {self.fallback}"
        return f"fallback: offset from bone {self.fallback}"


def eye_bones(bones: Sequence[str], humanoid: Mapping[str, str] | None = None) -> dict[str, str]:
    """landmark (left_eye/right_eye) -> an eye bone: VRM humanoid leftEye/rightEye, else by name."""
    out = {}
    for lm, side in EYES.items():
        b = (humanoid or {}).get(side + "Eye")
        if b in bones:
            out[lm] = b
    for b in bones:
        base = re.split(r"[:|]", b)[-1]
        low = base.lower()
        if "eye" not in low or any(w in low for w in ("lid", "brow", "lash", "target", "end", "highlight")):
            continue
        m = _EYE_TOKENS.search(base)
        if m is None:
            continue
        side = "left" if m.group(1).strip("._").lower() in ("left", "l") else "right"
        out.setdefault(f"{side}_eye", b)
    return out


def plan_landmarks(kps: KeypointSet, body: Mapping[str, JointSource | None], empties: Sequence[str],
                   eyes: Mapping[str, str], *, rig: str = "rig", allow_fallback: bool = True,
                   head_mesh: bool = False) -> dict[str, LandmarkSource | None]:
    """keypoint name -> its source (None: unmapped on purpose by --keymap), or RigError listing every
    keypoint the rig cannot give.

    body: avatar20 keypoint -> bone end (a partial :func:`map_bones`); empties: names of the empties
    parented to the armature's bones; eyes: :func:`eye_bones`; head_mesh: the Head bone deforms enough
    of a mesh to measure the face on (:func:`datagen.pose.face_geometry.face_points`).
    """
    empties = set(empties)
    out: dict[str, LandmarkSource | None] = {}
    missing = []
    for name, lm in zip(kps.names, kps.landmarks):
        src = _source(lm, body, empties, eyes, allow_fallback, head_mesh)
        if src is False:
            missing.append(name)
        else:
            out[name] = src
    if missing:
        raise RigError(f"{rig}: cannot give keypoint set {kps.name}: missing {', '.join(missing)} (give the "
                       f"bones, or empties {', '.join(empty_name(kps.landmarks[kps.index(m)]) for m in missing)} "
                       f"parented to bones; docs/rigs.md)")
    return out


def _source(lm: str, body, empties, eyes, allow_fallback, head_mesh=False):
    if lm in BODY_LANDMARKS and BODY_LANDMARKS[lm] in body:
        j = body[BODY_LANDMARKS[lm]]
        return None if j is None else LandmarkSource("joint", (j,))
    if lm in DERIVED:
        parts = [body.get(BODY_LANDMARKS[p]) for p in DERIVED[lm]]
        return LandmarkSource("mid", tuple(parts)) if all(parts) else False
    if empty_name(lm) in empties:
        return LandmarkSource("empty", empty=empty_name(lm))
    if lm in eyes:
        return LandmarkSource("eye_bone", (JointSource(eyes[lm]),))
    if allow_fallback and lm in FALLBACK_BONE:
        bone_kp = FALLBACK_BONE[lm]
        need = [bone_kp] + (["LeftUpperArm", "RightUpperArm"] if lm in FACE else [])
        if all(body.get(k) is not None for k in need):
            kind = "head_mesh" if head_mesh and lm in FACE else "fallback"
            return LandmarkSource(kind, fallback=body[bone_kp].bone)
    return False


# The fallbacks, as rest-pose points in the frame of a bone: face points from the Head bone (head H at
# the skull base, tail T at the crown, L = |T - H|), toes and heels from the Foot bone (ankle A to ball
# B, d = B - A) and the character's side axis. Proportions read off the default avatar and checked
# against OpenPose's points on people: eyes a little above half the head, nose in front between eyes
# and mouth, ears on the sides at eye height.
FALLBACK_BONE = {"nose": "Head", "left_eye": "Head", "right_eye": "Head", "left_ear": "Head",
                 "right_ear": "Head", "left_big_toe": "LeftFoot", "left_small_toe": "LeftFoot",
                 "left_heel": "LeftFoot", "right_big_toe": "RightFoot", "right_small_toe": "RightFoot",
                 "right_heel": "RightFoot"}
# (up, forward, side) in units of the head bone's length; side > 0 is the character's left
_FACE_OFFSETS = {"nose": (0.20, 0.45, 0.0), "left_eye": (0.30, 0.40, 0.18), "right_eye": (0.30, 0.40, -0.18),
                 "left_ear": (0.30, 0.0, 0.45), "right_ear": (0.30, 0.0, -0.45)}
# (along the foot d, lateral in units of |d|, unused); lateral > 0 is away from the body's centre
_FOOT_OFFSETS = {"big_toe": (1.45, -0.10, 0.0), "small_toe": (1.25, 0.22, 0.0), "heel": (-0.35, 0.0, 0.0)}


def fallback_points(rest: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Rest-pose positions (armature space) of every fallback landmark from the rest heads and tails of
    the avatar20 bones in ``rest`` (keypoint name -> (head (3,), tail (3,))); landmarks whose bones are
    absent are left out."""
    out: dict[str, np.ndarray] = {}
    up_world = np.array([0.0, 0.0, 1.0])
    side = None
    if "LeftUpperArm" in rest and "RightUpperArm" in rest:
        side = np.asarray(rest["LeftUpperArm"][0], float) - np.asarray(rest["RightUpperArm"][0], float)
    if "Head" in rest and side is not None:
        h, t = (np.asarray(v, float) for v in rest["Head"])
        length = float(np.linalg.norm(t - h)) or 1.0
        up = (t - h) / length
        s = side - up * (side @ up)
        s /= np.linalg.norm(s)
        fwd = np.cross(s, up)
        for lm, (a, b, c) in _FACE_OFFSETS.items():
            out[lm] = h + length * (a * up + b * fwd + c * s)
    for prefix, sign in (("Left", 1.0), ("Right", -1.0)):
        if prefix + "Foot" not in rest:
            continue
        ankle, ball = (np.asarray(v, float) for v in rest[prefix + "Foot"])
        d = ball - ankle
        n = float(np.linalg.norm(d)) or 1.0
        dz = float(d @ up_world)
        if side is not None:  # away from the body's centre line
            s = side / np.linalg.norm(side)
            lateral = sign * (s - (s @ d) * d / n ** 2)
        else:
            lateral = -sign * np.cross(d / n, up_world)
        lateral /= np.linalg.norm(lateral) or 1.0
        low = prefix.lower() + "_"
        for part, (along, lat, _) in _FOOT_OFFSETS.items():
            if part == "heel":  # behind the ankle, down at the ball's height (the sole)
                out[low + part] = ankle + along * (d - dz * up_world) + dz * up_world
            else:
                out[low + part] = ankle + along * d + lat * n * lateral
    return out
