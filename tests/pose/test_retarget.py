"""datagen.pose.retarget (numpy) and datagen.render.blender.retarget_bpy: CMU 131_01 onto the avatar and onto
RobotExpressive (different rest pose, rolls, scale, feet parented to an IK root); limb directions match
the BVH's within a few degrees over the clip, the feet stay near the floor."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.synthetic import SHARED_ASSETS
from datagen.pose import retarget as rt
from datagen.pose import rotations as rot
from datagen.pose.bvh import load_bvh

BVH = SHARED_ASSETS / "motion" / "131_01.bvh"
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"
AVATAR = Path(__file__).resolve().parents[2] / "rigs" / "avatar.blend"
MAX_DEG = 3.0


@pytest.fixture(scope="module")
def source() -> rt.SourcePose:
    return rt.resample(rt.source_pose(load_bvh(BVH)), 30)


def _front(points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The source turned like retarget(face_front=True) turns it."""
    lat = points["LeftUpperLeg"][0] - points["RightUpperLeg"][0]
    a = -np.arctan2(lat[1], lat[0])
    Rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    return {k: v @ Rz.T for k, v in points.items()}


def _direction_errors(src_points, posed, skip=()) -> dict[str, float]:
    """Worst angle (deg) over frames between each target bone and the source bone it follows."""
    out = {}
    for k, c in rt.BONE_DIRECTIONS:
        if k in skip or k not in posed or c not in posed:
            continue
        a = posed[c] - posed[k]
        d = src_points[c][: len(a)] - src_points[k][: len(a)]
        cos = np.sum(a * d, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(d, axis=1)
        out[k] = float(np.degrees(np.arccos(np.clip(cos, -1, 1))).max())
    return out


def _numpy_avatar_rig() -> rt.TargetRig:
    import sys
    sys.path.insert(0, str(AVATAR.parent))
    from avatar.skeleton import BONE_NAMES, BONES
    rng = np.random.default_rng(0)
    rest = np.array([rot.matrix_from_quat(q) for q in rng.normal(size=(len(BONES), 4))])  # any rolls
    return rt.TargetRig(list(BONE_NAMES), np.array([BONE_NAMES.index(b.parent) if b.parent else -1 for b in BONES]),
                  np.array([b.head for b in BONES]), np.array([b.tail for b in BONES]), rest,
                  {k: BONE_NAMES.index(k) for k in rt.KEYPOINTS})


def test_cmu_joint_map_knows_both_namings(source):
    b = load_bvh(BVH)
    jm = rt.cmu_joint_map(b)
    assert b.names[jm["LeftUpperArm"]] == "LeftShoulder"  # 3dsMax naming: LeftShoulder is the humerus
    assert b.names[jm["LeftShoulder"]] == "LeftCollar"
    assert b.names[jm["LeftUpperLeg"]] == "LeftHip" and b.names[jm["LeftToes"]] == "LeftToe"
    mb = []
    for n in b.names:  # the MotionBuilder-friendly naming of the same skeleton
        for side in ("Left", "Right"):
            for a, c in (("Shoulder", "Arm"), ("Collar", "Shoulder"), ("Elbow", "ForeArm"), ("Wrist", "Hand"),
                         ("Hip", "UpLeg"), ("Knee", "Leg"), ("Ankle", "Foot"), ("Toe", "ToeBase")):
                if n == side + a:
                    n = side + c
                    break
        mb.append(n)
    b.names = mb
    jm2 = rt.cmu_joint_map(b)
    assert jm2["LeftUpperArm"] == jm["LeftUpperArm"] and jm2["LeftShoulder"] == jm["LeftShoulder"]


def test_rotation_helpers():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    R = rot.rotation_between(a, b)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", R, a / np.linalg.norm(a, axis=1, keepdims=True)),
                               b / np.linalg.norm(b, axis=1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(R), 1, atol=1e-9)
    R2 = rot.rotation_between(np.array([[0, 0, 1.0]]), np.array([[0, 0, -1.0]]))
    np.testing.assert_allclose(R2[0] @ [0, 0, 1], [0, 0, -1], atol=1e-9)
    q = rng.normal(size=(100, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.sign(q[:, :1])
    np.testing.assert_allclose(rot.quat_from_matrix(rot.matrix_from_quat(q)), q, atol=1e-9)


def test_resample_keeps_duration(source):
    b = load_bvh(BVH)
    full = rt.source_pose(b)
    assert source.fps == 30 and len(source.points["Hips"]) == int((b.num_frames - 1) / b.fps * 30) + 1
    np.testing.assert_allclose(source.points["Head"][0], full.points["Head"][0])
    np.testing.assert_allclose(source.points["Head"][10], full.points["Head"][40], atol=1e-3)


def test_numpy_retarget_directions_and_floor(source):
    rig = _numpy_avatar_rig()
    res = rt.retarget(source, rig)
    posed = rt.posed_keypoints(rig, res)
    err = _direction_errors(_front(source.points), posed)
    assert len(err) == 20 and max(err.values()) < 1e-3, err
    ankle0 = rig.keypoint_rest("LeftFoot")[2]
    low = np.minimum(posed["LeftFoot"][:, 2], posed["RightFoot"][:, 2])
    assert np.percentile(np.abs(low - ankle0), 90) < 0.05 and low.min() > ankle0 - 0.04
    # heading normalised: the first frame faces -Y
    lat = posed["LeftUpperLeg"][0] - posed["RightUpperLeg"][0]
    assert lat[0] > 0 and abs(lat[1]) < 0.02 * np.linalg.norm(lat)


def test_unmappable_rig_is_rejected(source):
    rig = _numpy_avatar_rig()
    del rig.bone_map["LeftLowerArm"]
    with pytest.raises(rt.DatagenError, match="LeftLowerArm"):
        rt.retarget(source, rig)


# ---- in Blender -------------------------------------------------------------------------------

def _evaluated(arm, rig: rt.TargetRig, act, frames) -> dict[str, np.ndarray]:
    """Keypoints (world) of the evaluated pose at the given frames."""
    import bpy
    out: dict[str, list] = {}
    m = rig.bone_map
    for f in frames:
        bpy.context.scene.frame_set(f)
        mw = np.array(arm.matrix_world)
        pb = arm.pose.bones

        def w(v):
            return (mw @ np.append(np.array(v), 1.0))[:3]
        vals = {k: w(pb[rig.names[b]].head) for k, b in m.items()}
        vals["HeadTop"] = w(pb[rig.names[m["Head"]]].tail)
        for s in ("Left", "Right"):
            vals.setdefault(s + "Hand", w(pb[rig.names[m[s + "LowerArm"]]].tail))
            vals.setdefault(s + "Toes", w(pb[rig.names[m[s + "Foot"]]].tail))
            if s + "Hand" in m:
                vals[s + "HandEnd"] = w(pb[rig.names[m[s + "Hand"]]].tail)
            if s + "Toes" in m:
                vals[s + "ToesEnd"] = w(pb[rig.names[m[s + "Toes"]]].tail)
        for k, v in vals.items():
            out.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.blender
def test_bvh_on_avatar_in_blender(source):
    import bpy
    from datagen.render.blender.retarget_bpy import add_bvh_action, rig_from_armature
    bpy.ops.wm.open_mainfile(filepath=str(AVATAR), load_ui=False, use_scripts=False)
    arm = bpy.data.objects["Avatar"]
    act = add_bvh_action(arm, BVH, fps=30)
    assert act.name == "131_01" and arm.animation_data.action == act
    assert act.slots[0].identifier == "OB" + arm.name and arm.animation_data.action_slot == act.slots[0]
    n = len(source.points["Hips"])
    assert tuple(act.frame_range) == (1, n)
    frames = list(range(1, n + 1, 6))
    posed = _evaluated(arm, rig_from_armature(arm), act, frames)
    src = {k: v[np.array(frames) - 1] for k, v in _front(source.points).items()}
    err = _direction_errors(src, posed)
    assert len(err) == 20 and max(err.values()) < MAX_DEG, err
    low = np.minimum(posed["LeftToesEnd"][:, 2], posed["RightToesEnd"][:, 2])  # toe tips near the floor
    assert np.percentile(np.abs(low - 0.022), 90) < 0.06 and low.min() > -0.04, low


@pytest.mark.blender
def test_bvh_on_robot_in_blender(source):
    import bpy
    from datagen.render.blender.retarget_bpy import add_bvh_action, rig_from_armature
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(ROBOT), bone_heuristic="TEMPERANCE")
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    before = len(bpy.data.actions)
    act = add_bvh_action(arm, BVH, fps=30, name="mocap")
    assert len(bpy.data.actions) == before + 1 and act.name == "mocap"
    rig = rig_from_armature(arm)
    assert "LeftHand" not in rig.bone_map and "LeftToes" not in rig.bone_map  # the robot has none
    frames = list(range(1, len(source.points["Hips"]) + 1, 6))
    posed = _evaluated(arm, rig, act, frames)
    src = {k: v[np.array(frames) - 1] for k, v in _front(source.points).items()}
    err = _direction_errors(src, posed)
    assert len(err) >= 14 and max(err.values()) < MAX_DEG, err
    ankle0 = rig.keypoint_rest("LeftFoot")[2]
    low = np.minimum(posed["LeftFoot"][:, 2], posed["RightFoot"][:, 2])
    leg = np.linalg.norm(rig.keypoint_rest("LeftUpperLeg") - rig.keypoint_rest("LeftFoot"))
    assert np.percentile(np.abs(low - ankle0), 90) < 0.1 * leg, (low, ankle0)
