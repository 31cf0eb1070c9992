"""Any keypoint set from a rig: landmark sources (pure) and coco18/body25 renders of the default avatar
checked against an independent evaluation and projection in Blender (docs/rigs.md, "Landmarks")."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.format.keypoint_sets import AVATAR20, BODY25, COCO18
from datagen.pose.bone_mapping import JointSource, RigError
from datagen.pose.landmarks import empty_name, eye_bones, fallback_points, plan_landmarks

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "rigs"))

BODY = {k: JointSource(k) for k in AVATAR20.names}
AVATAR_EMPTIES = [empty_name(lm) for lm in BODY25.landmarks if lm not in AVATAR20.landmarks and lm != "mid_hip"]


def test_empty_names_follow_openpose():
    assert empty_name("nose") == "kp_Nose" and empty_name("left_eye") == "kp_LEye"
    assert empty_name("right_heel") == "kp_RHeel" and empty_name("left_small_toe") == "kp_LSmallToe"


def test_body25_sources_on_a_rig_with_the_empties():
    src = plan_landmarks(BODY25, BODY, AVATAR_EMPTIES, {})
    assert str(src["RShoulder"]) == "RightUpperArm" and str(src["LAnkle"]) == "LeftFoot"
    assert str(src["MidHip"]) == "midpoint of LeftUpperLeg and RightUpperLeg"
    assert str(src["LBigToe"]) == "empty kp_LBigToe" and str(src["Nose"]) == "empty kp_Nose"


def test_eye_bones_and_fallbacks_without_empties():
    bones = list(AVATAR20.names) + ["mixamorig:LeftEye", "mixamorig:RightEye"]
    eyes = eye_bones(bones)
    assert eyes == {"left_eye": "mixamorig:LeftEye", "right_eye": "mixamorig:RightEye"}
    assert eye_bones(["eye.L", "eye.R", "eyelid.L"]) == {"left_eye": "eye.L", "right_eye": "eye.R"}
    assert eye_bones(["J_Bip_C_Head", "Eye"], {"LeftEye": "Eye"}) == {"left_eye": "Eye"}
    src = plan_landmarks(COCO18, BODY, [], eyes)
    assert str(src["LEye"]) == "mixamorig:LeftEye"
    assert str(src["Nose"]) == "fallback: offset from bone Head" and str(src["REar"]).startswith("fallback")
    with pytest.raises(RigError, match="missing Nose, REye, LEye, REar, LEar"):
        plan_landmarks(COCO18, BODY, [], {}, allow_fallback=False)


def test_a_rig_that_cannot_give_the_set_is_refused_with_the_missing_list():
    body = {k: v for k, v in BODY.items() if k not in ("Head", "LeftFoot", "RightFoot")}
    with pytest.raises(RigError) as e:
        plan_landmarks(BODY25, body, [], {}, rig="robot.glb")
    msg = str(e.value)
    assert msg.startswith("robot.glb: cannot give keypoint set body25: missing ")
    missing = msg.split("missing ")[1].split(" (")[0].split(", ")
    assert missing == ["Nose", "RAnkle", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
                       "LHeel", "RBigToe", "RSmallToe", "RHeel"]
    assert "kp_Nose" in msg and "\n" not in msg


def test_fallbacks_land_near_the_avatars_own_landmarks():
    from avatar.landmarks import landmark_points
    from avatar.skeleton import BONES

    rest = {b.name: (np.array(b.head), np.array(b.tail)) for b in BONES}
    fb = fallback_points(rest)
    lm_of = dict(zip(BODY25.names, BODY25.landmarks))
    for name, (_, p) in landmark_points().items():
        err = np.linalg.norm(fb[lm_of[name[3:]]] - p)
        assert err < 0.04, (name, err)  # within 4 cm on a 1.6 m character


# -- Blender -----------------------------------------------------------------------------------------

def _render(*args):
    from datagen.cli import main

    r = CliRunner().invoke(main, ["render", "--quiet", *map(str, args)], catch_exceptions=False)
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def avatar_renders(tmp_path_factory):
    from datagen.render import DEFAULT_RIG
    from datagen.render.blender.rig import load_rig

    d = tmp_path_factory.mktemp("landmarks")
    costume = load_rig(DEFAULT_RIG).costumes[0].name
    out = {}
    for kps in ("coco18", "body25"):
        out[kps] = d / f"{kps}.h5"
        code, text = _render("--keypoints", kps, "--frames", "3", "--size", "64", "--costumes", costume,
                             "-o", out[kps])
        assert code == 0, text
    return out


@pytest.mark.blender
@pytest.mark.parametrize("name", ["coco18", "body25"])
def test_rendered_landmarks_equal_an_independent_projection(avatar_renders, name):
    """Blender evaluates the kp_ empties and bones itself here; world_to_camera_view projects them."""
    from helpers import blender_rigs
    import bpy

    from datagen.format import open_dataset
    from datagen.format.keypoint_sets import get_keypoint_set
    from datagen.format.validate import validate_dataset
    from datagen.render import DEFAULT_RIG

    kps = get_keypoint_set(name)
    path = avatar_renders[name]
    assert validate_dataset(path) == 3
    with open_dataset(path) as ds:
        assert ds.keypoint_set.name == name
        xy, xyz, vis = ds.xy, ds.read("pose/xyz"), ds.visibility
        E, clip, frame = ds.read("camera/extrinsics"), ds.read("meta/clip"), ds.read("meta/frame")
        clips, config = ds.names("clip"), ds.config
    assert config["keypoint_set"] == name
    assert config["keypoint_bones"]["LEye"] == "empty kp_LEye"
    assert (vis[:, kps.index("Nose")] > 0).all()
    bpy.ops.wm.open_mainfile(filepath=str(DEFAULT_RIG), load_ui=False, use_scripts=False)
    scene = bpy.context.scene
    arm = bpy.data.objects["Avatar"]
    check = blender_rigs.CheckCamera(scene, 64)
    joint_bone = dict(zip(AVATAR20.landmarks, AVATAR20.names))
    for row in range(3):
        action = bpy.data.actions[clips[clip[row]]]
        arm.animation_data.action = action
        t = action.frame_range[0] + frame[row]
        scene.frame_set(int(t), subframe=float(t - int(t)))
        dg = bpy.context.evaluated_depsgraph_get()
        ev = arm.evaluated_get(dg)
        head = lambda b: np.array(ev.matrix_world @ ev.pose.bones[b].head)  # noqa: E731
        truth = []
        for n, lm in zip(kps.names, kps.landmarks):
            if lm in joint_bone:
                truth.append(head(joint_bone[lm]))
            elif lm == "mid_hip":
                truth.append((head("LeftUpperLeg") + head("RightUpperLeg")) / 2)
            else:
                truth.append(np.array(bpy.data.objects["kp_" + n].evaluated_get(dg).matrix_world.translation))
        truth = np.array(truth)
        np.testing.assert_allclose(xyz[row], truth, atol=2e-5)
        np.testing.assert_allclose(xy[row], check.project(E[row], truth)[0], atol=2e-3)


@pytest.mark.blender
def test_a_rig_without_the_landmarks_is_refused_and_leaves_no_file(tmp_path):
    from helpers import blender_rigs

    snake = blender_rigs.build_snake(tmp_path / "snake.blend")
    out = tmp_path / "x.h5"
    code, text = _render("--rig", snake, "--keypoints", "coco18", "--frames", "2", "--size", "64", "-o", out)
    assert code == 1 and "cannot give keypoint set coco18: missing Nose, Neck, RShoulder" in text
    assert len(text.strip().splitlines()) == 1 and not out.exists()
    assert not (tmp_path / "x.h5.partial").exists()


@pytest.mark.blender
def test_a_rig_without_empties_uses_the_fallbacks_and_marks_them_in_the_config(tmp_path):
    from helpers.synthetic import SHARED_ASSETS
    from datagen.format import open_dataset

    out = tmp_path / "robot.h5"
    code, text = _render("--rig", SHARED_ASSETS / "rigs" / "RobotExpressive.glb", "--keypoints", "body25",
                         "--frames", "2", "--size", "64", "--clips", "Idle", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        bones = ds.config["keypoint_bones"]
        xyz = ds.read("pose/xyz")
    assert bones["Nose"] == "fallback: offset from bone Head" and bones["LHeel"] == "fallback: offset from bone FootL"
    assert bones["MidHip"] == "midpoint of UpperLegL and UpperLegR" and bones["LShoulder"] == "UpperArmL"
    assert np.isfinite(xyz).all()
    nose, neck = xyz[:, BODY25.index("Nose")], xyz[:, BODY25.index("Neck")]
    heel, ankle = xyz[:, BODY25.index("LHeel")], xyz[:, BODY25.index("LAnkle")]
    assert (nose[:, 2] > neck[:, 2]).all() and (heel[:, 2] < ankle[:, 2] + 1e-6).all()  # face up, heel low
