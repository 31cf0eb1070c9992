"""Direction-based motion retargeting in numpy: BVH (CMU naming) -> any humanoid armature.

After normalising scale (leg length) and root height (the source's standing ankle height lands on the
target's rest ankle height), each mapped target bone is rotated, parents first, so that its world
direction equals the source's bone direction (the minimal rotation from where its parent carried it).
The hips and the spine also match the source's left-right axis (hip line, shoulder line), which fixes
the heading and the torso twist. Joint positions then follow the mocap whatever the rest poses and bone
rolls of the two skeletons. Unmapped bones keep their rest pose relative to their parent.

Frames: the BVH's Y-up frame (CMU actors face +Z, left = +X) becomes Blender's Z-up frame with the
actor facing -Y, left = +X: (x, y, z) -> (x, -z, y). Target quantities are in armature space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.pose.bvh import BVH
from datagen.pose.rotations import continuous_quats, frame, quat_from_matrix, rotation_between
from datagen.errors import DatagenError

KEYPOINTS = ("Hips", "Spine", "Neck", "Head",
             "LeftShoulder", "LeftUpperArm", "LeftLowerArm", "LeftHand",
             "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand",
             "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes",
             "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes")

# Candidate source joint names per keypoint, in priority order. CMU BVH files come in two namings:
# the 3dsMax-friendly one (LeftCollar, LeftShoulder = upper arm, LeftElbow, LeftWrist, LeftHip, LeftKnee,
# LeftAnkle, LeftToe, Chest, Chest2) and the MotionBuilder-friendly one (LeftShoulder = clavicle,
# LeftArm, LeftForeArm, LeftHand, LeftUpLeg, LeftLeg, LeftFoot, LeftToeBase, Spine, Spine1); the ASF
# names (lclavicle, lhumerus, ...) are accepted as well. The naming is told apart by LeftCollar/LeftArm.
_LEGS = {
    "UpperLeg": ("{L}UpLeg", "{L}Hip", "{l}femur", "{L}Thigh"),
    "LowerLeg": ("{L}Leg", "{L}Knee", "{l}tibia", "{L}Shin"),
    "Foot": ("{L}Foot", "{L}Ankle", "{l}foot"),
    "Toes": ("{L}ToeBase", "{L}Toe", "{l}toes", "{L}Toes"),
}
_ARMS_MAX = {"Shoulder": ("{L}Collar",), "UpperArm": ("{L}Shoulder",), "LowerArm": ("{L}Elbow",),
             "Hand": ("{L}Wrist",)}
_ARMS_MB = {"Shoulder": ("{L}Shoulder", "{l}clavicle", "{L}Clavicle"),
            "UpperArm": ("{L}Arm", "{l}humerus", "{L}UpperArm"),
            "LowerArm": ("{L}ForeArm", "{l}radius", "{L}LowerArm", "{L}Forearm"),
            "Hand": ("{L}Hand", "{l}wrist")}
_BVH_CENTRE_JOINTS = {"Hips": ("Hips", "hip", "root", "Pelvis"),
           "Spine": ("Spine", "Chest", "upperback", "Spine1", "LowerBack"),
           "Neck": ("Neck", "lowerneck", "Neck1"),
           "Head": ("Head", "head")}


@dataclass
class SourcePose:
    """Keypoint trajectories of the source in Blender's frame and metres-agnostic units: (F,3) each.

    ``points`` holds the 20 keypoints plus the end points HeadTop, LeftHandEnd, RightHandEnd,
    LeftToesEnd, RightToesEnd. ``fps`` is the frame rate.
    """
    points: dict[str, np.ndarray]
    fps: float
    leg_length: float  # rest hip-knee-ankle length, source units


def _find(names: list[str], candidates) -> int | None:
    low = {n.lower(): i for i, n in enumerate(names)}
    for c in candidates:
        if c.lower() in low:
            return low[c.lower()]
    return None


def cmu_joint_map(bvh: BVH) -> dict[str, int]:
    """avatar20 keypoint -> BVH joint index, for CMU-style (and MotionBuilder-style) skeletons."""
    names = bvh.names
    lower = {n.lower() for n in names}
    arms = _ARMS_MAX if "leftcollar" in lower else _ARMS_MB
    out: dict[str, int] = {}
    for k, cands in _BVH_CENTRE_JOINTS.items():
        j = _find(names, cands)
        if j is not None:
            out[k] = j
    for side, l in (("Left", "l"), ("Right", "r")):
        for part, cands in {**_LEGS, **arms}.items():
            j = _find(names, [c.format(L=side, l=l) for c in cands])
            if j is not None:
                out[side + part] = j
    missing = [k for k in KEYPOINTS if k not in out]
    # without clavicles the shoulder keypoint is the spine top (the arm still retargets)
    for side in ("Left", "Right"):
        if side + "Shoulder" in missing and "Neck" in out:
            out[side + "Shoulder"] = out["Neck"]
            missing.remove(side + "Shoulder")
    if missing:
        raise DatagenError(f"BVH skeleton lacks joints for {', '.join(missing)} "
                           f"(joints: {', '.join(names)})")
    return out


def _end_point(bvh: BVH, j: int, GP: np.ndarray, GR: np.ndarray) -> np.ndarray:
    """Position past joint j: its End Site, else the farthest descendant on its first child chain."""
    while True:
        if j in bvh.end_sites:
            return GP[:, j] + np.einsum("fij,j->fi", GR[:, j], bvh.end_sites[j])
        kids = bvh.children(j)
        if not kids:
            return GP[:, j]
        nxt = max(kids, key=lambda c: np.linalg.norm(bvh.offsets[c]))
        if np.linalg.norm(bvh.offsets[nxt]) > 1e-9:
            return GP[:, nxt]
        j = nxt


BVH_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def source_pose(bvh: BVH) -> SourcePose:
    """Keypoint trajectories of a BVH clip, converted to Blender's Z-up frame."""
    jm = cmu_joint_map(bvh)
    GP, GR = bvh.forward_kinematics()
    pts = {k: GP[:, j] for k, j in jm.items()}
    pts["HeadTop"] = _end_point(bvh, jm["Head"], GP, GR)
    for s in ("Left", "Right"):
        pts[s + "HandEnd"] = _end_point(bvh, jm[s + "Hand"], GP, GR)
        pts[s + "ToesEnd"] = _end_point(bvh, jm[s + "Toes"], GP, GR)
    pts = {k: v @ BVH_TO_BLENDER.T for k, v in pts.items()}
    rest = bvh.rest_positions()
    leg = np.mean([np.linalg.norm(rest[jm[s + "UpperLeg"]] - rest[jm[s + "LowerLeg"]])
                   + np.linalg.norm(rest[jm[s + "LowerLeg"]] - rest[jm[s + "Foot"]]) for s in ("Left", "Right")])
    return SourcePose(pts, bvh.fps, float(leg))


def resample(src: SourcePose, fps: float) -> SourcePose:
    """Linear resampling of the trajectories to ``fps`` (same duration, first frame kept)."""
    n = next(iter(src.points.values())).shape[0]
    duration = (n - 1) / src.fps
    m = int(np.floor(duration * fps + 1e-9)) + 1
    t = np.arange(m) / fps * src.fps  # in source frames
    i0 = np.minimum(np.floor(t).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (t - i0)[:, None]
    return SourcePose({k: v[i0] * (1 - w) + v[i1] * w for k, v in src.points.items()}, float(fps), src.leg_length)


# ---- target rig --------------------------------------------------------------------------------

@dataclass
class TargetRig:
    """A target armature's rest pose in armature space.

    names/parents: bones, parents before children (-1 = none); heads, tails (B,3); rest (B,3,3) the
    bones' rest rotations (Blender's ``bone.matrix_local`` 3x3); bone_map: keypoint -> bone index for the
    mapped avatar20 keypoints (Hand and Toes may be absent: their parent's tail stands in).
    """
    names: list[str]
    parents: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    rest: np.ndarray
    bone_map: dict[str, int]

    def keypoint_rest(self, k: str) -> np.ndarray:
        """Rest position of keypoint k (or of the end points HeadTop, <side>HandEnd, <side>ToesEnd)."""
        m = self.bone_map
        if k in m:
            return self.heads[m[k]]
        if k == "HeadTop":
            return self.tails[m["Head"]]
        for side in ("Left", "Right"):
            if k == side + "Hand":
                return self.tails[m[side + "LowerArm"]]
            if k == side + "Toes":
                return self.tails[m[side + "Foot"]]
            if k == side + "HandEnd":
                return self.tails[m[side + "Hand"]] if side + "Hand" in m else self.tails[m[side + "LowerArm"]]
            if k == side + "ToesEnd":
                return self.tails[m[side + "Toes"]] if side + "Toes" in m else self.tails[m[side + "Foot"]]
        raise KeyError(k)


REQUIRED = ("Hips", "Spine", "Neck", "Head", "LeftUpperArm", "LeftLowerArm", "RightUpperArm", "RightLowerArm",
            "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "RightUpperLeg", "RightLowerLeg", "RightFoot")

# bone keypoint -> the keypoint its direction points to
_CHILD = {"Spine": "Neck", "Neck": "Head", "Head": "HeadTop"}
for _s in ("Left", "Right"):
    _CHILD.update({_s + "Shoulder": _s + "UpperArm", _s + "UpperArm": _s + "LowerArm",
                   _s + "LowerArm": _s + "Hand", _s + "Hand": _s + "HandEnd",
                   _s + "UpperLeg": _s + "LowerLeg", _s + "LowerLeg": _s + "Foot",
                   _s + "Foot": _s + "Toes", _s + "Toes": _s + "ToesEnd"})


def parents_first(parents: np.ndarray, extra: dict[int, int] | None = None) -> list[int]:
    """Bone indices ordered so that every parent (and ``extra[b]``, another bone b depends on) comes
    before b."""
    order, seen = [], set()
    extra = extra or {}

    def visit(b):
        if b in seen:
            return
        seen.add(b)
        if parents[b] >= 0:
            visit(int(parents[b]))
        if b in extra:
            visit(extra[b])
        order.append(b)
    for b in range(len(parents)):
        visit(b)
    return order


@dataclass
class Retargeted:
    """Per-frame pose of the target: local quaternions (F,B,4 wxyz) and location channels (F,B,3, in
    each bone's rest frame: zero except the hips' root motion and heads moved onto the keypoint chain),
    world rotation deltas (F,B,3,3) and posed bone heads (F,B,3) in the rig's frame."""
    quats: np.ndarray
    locations: np.ndarray
    deltas: np.ndarray
    heads: np.ndarray
    fps: float



def retarget(src: SourcePose, rig: TargetRig, face_front: bool = True) -> Retargeted:
    """Retarget source keypoint trajectories onto ``rig`` (see the module docstring)."""
    missing = [k for k in REQUIRED if k not in rig.bone_map]
    if missing:
        raise DatagenError(f"cannot retarget: the rig has no bone for {', '.join(missing)}")
    P = {k: v.copy() for k, v in src.points.items()}
    F = P["Hips"].shape[0]
    B = len(rig.names)

    if face_front:  # turn about Z so that the first frame's hip line runs along +X (facing -Y)
        lat = P["LeftUpperLeg"][0] - P["RightUpperLeg"][0]
        ang = np.arctan2(lat[1], lat[0])
        c, s = np.cos(-ang), np.sin(-ang)
        Rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        P = {k: v @ Rz.T for k, v in P.items()}

    tgt_leg = np.mean([np.linalg.norm(rig.keypoint_rest(s + "UpperLeg") - rig.keypoint_rest(s + "LowerLeg"))
                       + np.linalg.norm(rig.keypoint_rest(s + "LowerLeg") - rig.keypoint_rest(s + "Foot"))
                       for s in ("Left", "Right")])
    scale = tgt_leg / src.leg_length
    ankles = np.minimum(P["LeftFoot"][:, 2], P["RightFoot"][:, 2])
    src_floor = np.percentile(ankles, 5)  # the source's standing ankle height
    tgt_ankle = 0.5 * (rig.keypoint_rest("LeftFoot")[2] + rig.keypoint_rest("RightFoot")[2])
    hips0 = rig.keypoint_rest("Hips")
    root = np.empty((F, 3))
    root[:, :2] = hips0[:2] + scale * (P["Hips"][:, :2] - P["Hips"][0, :2])
    root[:, 2] = tgt_ankle + scale * (P["Hips"][:, 2] - src_floor)

    D = np.broadcast_to(np.eye(3), (F, B, 3, 3)).copy()
    inv_map = {b: k for k, b in rig.bone_map.items()}
    kp = rig.keypoint_rest
    for b in parents_first(rig.parents):
        p = rig.parents[b]
        Dp = D[:, p] if p >= 0 else np.broadcast_to(np.eye(3), (F, 3, 3))
        k = inv_map.get(b)
        if k is None:
            D[:, b] = Dp
            continue
        if k in ("Hips", "Spine"):
            top = "Spine" if k == "Hips" else "Neck"
            pair = ("LeftUpperLeg", "RightUpperLeg") if k == "Hips" else ("LeftUpperArm", "RightUpperArm")
            up_r = np.broadcast_to(kp(top) - kp(k), (F, 3))
            up_s = P[top] - P[k]
            if k == "Hips" and (np.linalg.norm(up_r[0]) < 1e-3 * tgt_leg
                                or np.linalg.norm(up_s[0]) < 1e-3 * src.leg_length):
                # Hips and spine start at one point (MMD's 下半身 and 上半身): the pelvis' up is then
                # from between the thighs to the hips.
                up_r = np.broadcast_to(kp(k) - 0.5 * (kp(pair[0]) + kp(pair[1])), (F, 3))
                up_s = P[k] - 0.5 * (P[pair[0]] + P[pair[1]])
            lat_r = np.broadcast_to(kp(pair[0]) - kp(pair[1]), (F, 3))
            cur = frame(np.einsum("fij,fj->fi", Dp, up_r), np.einsum("fij,fj->fi", Dp, lat_r))
            want = frame(up_s, P[pair[0]] - P[pair[1]])
            D[:, b] = want @ np.swapaxes(cur, 1, 2) @ Dp
            continue
        child = _CHILD.get(k)
        if child is None:
            D[:, b] = Dp
            continue
        d_rest = kp(child) - kp(k)
        d_cur = np.einsum("fij,j->fi", Dp, d_rest)
        d_src = P[child] - P[k]
        ok = np.linalg.norm(d_src, axis=1) > 1e-9  # coincident source joints: keep the parent's
        S = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        if ok.any():
            S[ok] = rotation_between(d_cur[ok], d_src[ok])
        D[:, b] = S @ Dp

    # Bone heads follow their parents; a mapped bone whose head lands away from where the keypoint chain
    # puts it (e.g. feet parented to an IK root instead of the shin) gets a location offset that moves it
    # there. The hips get the root motion; its height is then corrected so that the lower ankle is as
    # high above the target's floor as the source's lower ankle is above the source's (scaled), which
    # keeps the feet on the floor whatever the two skeletons' leg proportions.
    H, locs = _place(rig, D, root, inv_map, tgt_leg)
    lf, rf = rig.bone_map["LeftFoot"], rig.bone_map["RightFoot"]
    src_low = np.minimum(P["LeftFoot"][:, 2], P["RightFoot"][:, 2])
    root[:, 2] += tgt_ankle + scale * (src_low - src_floor) - np.minimum(H[:, lf, 2], H[:, rf, 2])
    H, locs = _place(rig, D, root, inv_map, tgt_leg)

    # local rotations: L_b = Rest_b^T Dp^T D_b Rest_b
    Q = np.empty((F, B, 4))
    for b in range(B):
        p = rig.parents[b]
        rel = D[:, b] if p < 0 else np.swapaxes(D[:, p], 1, 2) @ D[:, b]
        L = rig.rest[b].T @ rel @ rig.rest[b]
        Q[:, b] = quat_from_matrix(L)
    Q = continuous_quats(Q)
    return Retargeted(Q, locs, D, H, src.fps)


def _place(rig: TargetRig, D: np.ndarray, root: np.ndarray, inv_map: dict[int, str], tgt_leg: float):
    """Posed heads (F,B,3) and location channels (F,B,3) for rotations D and the hips at ``root``."""
    F, B = D.shape[:2]
    H = np.zeros((F, B, 3))
    locs = np.zeros((F, B, 3))
    after = {b: rig.bone_map[_KP_PARENT[k]] for k, b in rig.bone_map.items() if k != "Hips"}
    for b in parents_first(rig.parents, after):
        p = rig.parents[b]
        if p < 0:
            H[:, b] = rig.heads[b]
            Dp = np.broadcast_to(np.eye(3), (F, 3, 3))
        else:
            H[:, b] = H[:, p] + np.einsum("fij,j->fi", D[:, p], rig.heads[b] - rig.heads[p])
            Dp = D[:, p]
        k = inv_map.get(b)
        if k is None:
            continue
        if k == "Hips":
            want = root
        else:
            q = rig.bone_map[_KP_PARENT[k]]
            want = H[:, q] + np.einsum("fij,j->fi", D[:, q], rig.heads[b] - rig.heads[q])
        off = want - H[:, b]
        if k == "Hips" or np.abs(off).max() > 1e-6 * tgt_leg:
            locs[:, b] = np.einsum("ji,fj->fi", rig.rest[b], np.einsum("fji,fj->fi", Dp, off))
            H[:, b] = want
    return H, locs


_KP_PARENT = {"Spine": "Hips", "Neck": "Spine", "Head": "Neck"}
for _s in ("Left", "Right"):
    _KP_PARENT.update({_s + "Shoulder": "Spine", _s + "UpperArm": _s + "Shoulder", _s + "LowerArm": _s + "UpperArm",
                       _s + "Hand": _s + "LowerArm", _s + "UpperLeg": "Hips", _s + "LowerLeg": _s + "UpperLeg",
                       _s + "Foot": _s + "LowerLeg", _s + "Toes": _s + "Foot"})


def posed_keypoints(rig: TargetRig, res: Retargeted) -> dict[str, np.ndarray]:
    """Keypoint (and end point) positions (F,3) of the retargeted pose."""
    heads, deltas = res.heads, res.deltas
    out = {k: heads[:, b] for k, b in rig.bone_map.items()}

    def tail(b):
        return heads[:, b] + np.einsum("fij,j->fi", deltas[:, b], rig.tails[b] - rig.heads[b])
    m = rig.bone_map
    out["HeadTop"] = tail(m["Head"])
    for s in ("Left", "Right"):
        out.setdefault(s + "Hand", tail(m[s + "LowerArm"]))
        out.setdefault(s + "Toes", tail(m[s + "Foot"]))
        out[s + "HandEnd"] = tail(m[s + "Hand"]) if s + "Hand" in m else out[s + "Hand"]
        out[s + "ToesEnd"] = tail(m[s + "Toes"]) if s + "Toes" in m else out[s + "Toes"]
    return out


BONE_DIRECTIONS = tuple(_CHILD.items()) + (("Hips", "Spine"),)
