"""MMD models and motions end to end with Blender at 64x64: a PMX/PMD written by tests/helpers/mmd_files.py
renders with exact keypoints, dances a VMD with keypoints on its (D-bone skinned) limbs, holds a VPD pose
with an occluded hand; a VMD retargets onto the default avatar and RobotExpressive; --list."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import blender_rigs, mmd_files
from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.keypoint_sets import AVATAR20
from datagen.format.validate import validate_dataset
from datagen.mmd.model import to_blender

pytestmark = [pytest.mark.blender, pytest.mark.slow]
KP = {n: i for i, n in enumerate(AVATAR20.names)}
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"


def render(*args) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["render", "--quiet", *map(str, args)], catch_exceptions=False)
    return res.exit_code, res.output


def behind_back_pose() -> list:
    """左腕 down and back, 左ひじ bent across the back: the left hand hides behind the torso."""
    from datagen.pose.rotations import quat_from_matrix, rotation_between

    def q(a, b):
        w, x, y, z = quat_from_matrix(rotation_between(np.array([a], float), np.array([b], float)))[0]
        return (x, y, z, w)
    c, s = np.cos(mmd_files.ARM_DOWN), np.sin(mmd_files.ARM_DOWN)
    arm = np.array([c, -s, 0.0])
    down_back = np.array([0.0, -0.8, 0.6])
    fore = np.array([-0.55, 0.0, 0.83])  # across the back, the hand behind the spine
    R_arm = rotation_between(arm[None], down_back[None])[0]
    return [("左腕", (0, 0, 0), q(arm, down_back)), ("左ひじ", (0, 0, 0), q(R_arm @ arm, fore))]


@pytest.fixture(scope="module")
def mmd(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("mmd")
    return {"pmx": mmd_files.write_pmx(d / "ミク.pmx"), "pmd": mmd_files.write_pmd(d / "古い" / "ミク.pmd"),
            "vmd": mmd_files.write_vmd(d / "踊り.vmd", mmd_files.dance_keys(30)),
            "vpd": mmd_files.write_vpd(d / "後ろ手.vpd", behind_back_pose())}


@pytest.fixture(scope="module")
def dance(mmd, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dance") / "dance.h5"
    code, text = render("--rig", mmd["pmx"], "--motion", mmd["vmd"], "--frames", "3", "--size", "64", "-o", out)
    assert code == 0, text
    return out


def _project(E: np.ndarray, points: np.ndarray) -> np.ndarray:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    return blender_rigs.CheckCamera(bpy.context.scene, 64).project(E, points)[0]


@pytest.mark.parametrize("kind", ["pmx", "pmd"])
def test_the_model_renders_at_rest_with_exact_keypoints_and_its_colours(mmd, kind, tmp_path):
    out = tmp_path / "rest.h5"
    code, text = render("--rig", mmd[kind], "--frames", "1", "--size", "64", "-o", out)
    assert code == 0, text
    assert validate_dataset(out) == 1
    with open_dataset(out) as ds:
        xy, xyz, vis, E, image = ds.xy[0], ds.read("pose/xyz")[0], ds.visibility[0], ds.read("camera/extrinsics")[0], \
            ds.images()[0]
        assert ds.names("clip") == ["rest"]
        bones = ds.config["keypoint_bones"]
    legs = "左足D" if kind == "pmx" else "左足"
    assert bones["LeftUpperLeg"] == legs and bones["Hips"] == "下半身" and bones["RightHand"] == "右手首"
    heads = {n: h for n, _en, h, _t, _p in mmd_files.skeleton(d_bones=kind == "pmx")}
    want = to_blender([heads[bones[k]] for k in AVATAR20.names])
    np.testing.assert_allclose(xyz, want, atol=1e-5)
    np.testing.assert_allclose(xy, _project(E, want), atol=0.01)
    assert (vis == 2).sum() >= 16
    # the head wears the skin texture (warm), the body the blue cloth
    px = lambda k: image[int(xy[KP[k], 1]), int(xy[KP[k], 0])].astype(int)  # noqa: E731
    top = np.round(xy[KP["Head"]] + (xy[KP["Head"]] - xy[KP["Neck"]])).astype(int)
    head = image[top[1], top[0]].astype(int)
    assert head[0] > head[2] + 30, head
    body = px("LeftLowerLeg")
    assert body[2] > body[0] + 30, body


def test_the_dance_keypoints_follow_the_skinned_limbs(mmd, dance):
    """Each limb box is skinned to one deforming bone (the D legs, as in real models): its evaluated
    centroid must sit midway between the two keypoints it spans, in every row, and the keypoints must be
    the projection of the posed bones (0.01 px)."""
    from datagen.render.blender.session import BlenderSession

    with open_dataset(dance) as ds:
        xy, xyz, E, clip, frame = ds.xy, ds.read("pose/xyz"), ds.read("camera/extrinsics"), ds.read("meta/clip"), \
            ds.read("meta/frame")
        assert ds.names("clip") == ["踊り"]
        bones = ds.config["keypoint_bones"]
    s = BlenderSession(mmd["pmx"], motions=[str(mmd["vmd"])])
    mesh = next(o for o in s.scene.objects if o.type == "MESH")
    boxes = list(mmd_files._boxes(True))
    spans = {"左足D": ("LeftUpperLeg", "LeftLowerLeg"), "左ひざD": ("LeftLowerLeg", "LeftFoot"),
             "右ひざD": ("RightLowerLeg", "RightFoot"), "右ひじ": ("RightLowerArm", "RightHand"),
             "左ひじ": ("LeftLowerArm", "LeftHand")}
    moved = []
    for row in range(len(xy)):
        s.go_to(int(clip[row]), s.clips[int(clip[row])].start + float(frame[row]))
        dg = s.depsgraph
        ev = mesh.evaluated_get(dg)
        co = np.array([tuple(ev.matrix_world @ v.co) for v in ev.data.vertices])
        for box, (a, b) in spans.items():
            k = boxes.index(box)
            np.testing.assert_allclose(co[8 * k:8 * k + 8].mean(0), (xyz[row, KP[a]] + xyz[row, KP[b]]) / 2, atol=1e-4)
        arm = s.rig.armature.evaluated_get(dg)
        heads = np.array([tuple(arm.matrix_world @ arm.pose.bones[bones[k]].head) for k in AVATAR20.names])
        np.testing.assert_allclose(xyz[row], heads, atol=1e-5)
        moved.append(xyz[row, KP["LeftFoot"], 2])
    s.close()
    np.testing.assert_allclose(xy[-1], _project(E[-1], xyz[-1]), atol=0.01)
    # the left leg IK lifts the foot by 3 MMD units over the clip
    assert moved[-1] - moved[0] > 0.5 * 3 * 0.08


def test_a_vpd_pose_hides_the_hand_behind_the_back(mmd, tmp_path):
    out = tmp_path / "pose.h5"
    code, text = render("--rig", mmd["pmx"], "--motion", mmd["vpd"], "--frames", "1", "--size", "64", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        vis, xyz = ds.visibility[0], ds.read("pose/xyz")[0]
    assert xyz[KP["LeftHand"], 1] > xyz[KP["Spine"], 1]  # behind the back (the model faces -Y)
    assert vis[KP["LeftHand"]] == 1
    for k in ("Head", "Neck", "RightHand", "RightLowerArm", "LeftFoot", "RightFoot"):
        assert vis[KP[k]] == 2, k


@pytest.mark.parametrize("rig,extra", [(None, ("--costumes", "casual_1")), (ROBOT, ())], ids=["avatar", "robot"])
def test_a_vmd_retargets_onto_other_rigs(mmd, tmp_path, rig, extra):
    out = tmp_path / "r.h5"
    code, text = render(*(("--rig", rig) if rig else ()), "--motion", mmd["vmd"], *extra, "--frames", "2",
                        "--size", "64", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        xyz, clips = ds.read("pose/xyz"), ds.names("clip")
    assert clips == ["踊り"] and np.isfinite(xyz).all()
    # the dance raises the left arm: the left hand climbs relative to the shoulder
    rise = lambda r: xyz[r, KP["LeftHand"], 2] - xyz[r, KP["LeftUpperArm"], 2]  # noqa: E731
    assert rise(1) - rise(0) > 0.1


def test_a_vmd_for_another_model_warns_once_and_renders(mmd, tmp_path, caplog):
    vmd = mmd_files.write_vmd(tmp_path / "他.vmd", mmd_files.dance_keys(10) + [("謎のボーン", 0, (0, 0, 0), (0, 0, 0, 1))])
    res = CliRunner().invoke(main, ["render", "--quiet", "--rig", str(mmd["pmx"]), "--motion", str(vmd), "--frames",
                                    "1", "--size", "64", "-o", str(tmp_path / "o.h5")])
    assert res.exit_code == 0, res.output
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "他.vmd" in warned[0] and "skipped 1 bone(s)" in warned[0] and "謎のボーン" in warned[0]


def test_a_missing_or_unreadable_texture_is_a_warning(tmp_path, caplog):
    missing = mmd_files.write_pmx(tmp_path / "a" / "ミク.pmx", write_texture=False)
    broken = mmd_files.write_pmx(tmp_path / "b" / "ミク.pmx", write_texture=False)
    (tmp_path / "b" / "tex").mkdir()
    (tmp_path / "b" / "tex" / "肌.png").write_bytes(b"\x89PNG not really")
    for model, what in ((missing, "missing"), (broken, "cannot be read")):
        caplog.clear()
        out = model.parent / "o.h5"
        res = CliRunner().invoke(main, ["render", "--quiet", "--rig", str(model), "--frames", "1", "--size", "64",
                                        "-o", str(out)])
        assert res.exit_code == 0, res.output
        warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warned) == 1 and "肌.png" in warned[0] and what in warned[0], warned
        assert validate_dataset(out) == 1


def test_list_shows_what_the_model_brings(mmd):
    res = CliRunner().invoke(main, ["render", "--rig", str(mmd["pmx"]), "--list"])
    assert res.exit_code == 0, res.output
    assert "clips (1): rest" in res.output and "costumes (1): default" in res.output
    assert "LeftUpperLeg=左足D" in res.output and "Neck=首" in res.output
    assert "guessed from bone names" not in res.output and "from MMD's standard bone names" in res.output
    assert "textures (1): tex/肌.png" in res.output and "2 materials" in res.output


def test_keymap_works_for_mmd_bones(mmd, tmp_path):
    keymap = tmp_path / "k.json"
    keymap.write_text('{"LeftToes": "左つま先", "RightToes": null}', encoding="utf-8")
    res = CliRunner().invoke(main, ["render", "--rig", str(mmd["pmx"]), "--list", "--keymap", str(keymap)])
    assert res.exit_code == 0, res.output
    assert "LeftToes=左つま先" in res.output and "RightToes=-" in res.output
