"""`datagen render` and `datagen merge` end to end, with Blender, at 64x64 (issue 3's test list)."""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import blender_rigs
from helpers.compare import assert_same_dataset, datasets
from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.keypoint_sets import AVATAR20
from datagen.render import DEFAULT_RIG
from datagen.render.plan import sample_poses
from datagen.format.validate import validate_dataset

pytestmark = pytest.mark.blender
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"
KP = {n: i for i, n in enumerate(AVATAR20.names)}


@pytest.fixture(scope="session")
def rigs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("rigs")
    return {"boxman": blender_rigs.build_boxman(d / "boxman.blend"),
            "markers": blender_rigs.build_markers(d / "markers.blend"),
            "snake": blender_rigs.build_snake(d / "snake.blend")}


def render(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["render", "--quiet", *map(str, args)], catch_exceptions=False)
    return res.exit_code, res.output


BOX_ARGS = ("--frames", "4", "--size", "64")


@pytest.fixture(scope="session")
def boxman_run(rigs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("box") / "one.h5"
    code, text = render("--rig", rigs["boxman"], *BOX_ARGS, "-o", out)
    assert code == 0, text
    assert "12 rows = 4 poses x 3 costumes over 2 clips" in text
    return out


# -- the rows ----------------------------------------------------------------------------------------

def test_boxman_file_is_valid_with_tables_and_times(boxman_run):
    assert validate_dataset(boxman_run) == 12
    with open_dataset(boxman_run) as ds:
        assert ds.names("costume") == ["red", "blue", "bare"]
        assert ds.names("clip") == ["ArmBehind", "Idle"]  # "Ignored" carries datagen_ignore
        costume, clip, frame = ds.read("meta/costume"), ds.read("meta/clip"), ds.read("meta/frame")
        config = ds.config
    # Pose-major rows; clips of 4 and 10 frames, 4 poses spread over them (1 and 3, golden-ratio phases).
    assert costume.tolist() == [0, 1, 2] * 4
    want_clip, want_time = sample_poses([4.0, 10.0], 4)
    np.testing.assert_array_equal(clip, np.repeat(want_clip, 3))
    np.testing.assert_allclose(frame, np.repeat(want_time, 3))
    np.testing.assert_allclose(want_time, [1.236068, 3.090170, 5.450850, 9.270510], atol=1e-5)
    assert config["render"]["engine"] == "workbench" and config["render"]["look"] == "rig"
    assert config["render"]["view_transform"] == "Standard" and config["size"] == 64
    assert config["keypoint_bones"]["LeftHand"] == "LeftHand"


def test_keypoints_equal_an_independent_projection(boxman_run, rigs):
    """Evaluate the rig in Blender here and project with Blender's own world_to_camera_view."""
    import bpy

    with open_dataset(boxman_run) as ds:
        xy, xyz = ds.xy, ds.read("pose/xyz")
        E, clip, frame = ds.read("camera/extrinsics"), ds.read("meta/clip"), ds.read("meta/frame")
        clip_names = ds.names("clip")
    bpy.ops.wm.open_mainfile(filepath=str(rigs["boxman"]), use_scripts=False)
    scene = bpy.context.scene
    arm = bpy.data.objects["Armature"]
    check = blender_rigs.CheckCamera(scene, 64)
    for row in range(0, 12, 3):
        action = bpy.data.actions[clip_names[clip[row]]]
        arm.animation_data.action = action
        t = action.frame_range[0] + frame[row]
        scene.frame_set(int(t), subframe=float(t - int(t)))
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        heads = np.array([ev.matrix_world @ ev.pose.bones[n].head for n in AVATAR20.names])
        np.testing.assert_allclose(xyz[row], heads, atol=1e-5)
        pixels, depth = check.project(E[row], heads)
        assert (depth > 0).all()
        np.testing.assert_allclose(xy[row], pixels, atol=2e-3)


def test_background_is_exactly_white_and_mask_marks_the_character(boxman_run):
    with open_dataset(boxman_run) as ds:
        images, masks = ds.images()[:], ds.read("masks/64")
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    assert (border == 255).all()
    assert 0 < ((masks > 0) & (masks < 255)).mean() < 0.2  # coverage: partial on the anti-aliased rim (thin limbs at 64 px)
    assert (masks[:, 0] == 0).all() and (masks[:, :, -1] == 0).all()
    assert ((masks == 0) <= (images == 255).all(-1)).all()  # not covered at all: exactly white
    on = masks >= 128  # the binary silhouette at 50% coverage
    assert on.mean() > 0.03
    white = (images == 255).all(-1)
    assert not (white & on).any()  # the boxman has no white
    # Off the character everything is white except the anti-aliased rim (the filter is ~2 px wide).
    near = on.copy()
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            near |= np.roll(on, (dy, dx), axis=(1, 2))
    assert (white | near).all()


def test_costumes_render_differently_with_palettes(boxman_run):
    with open_dataset(boxman_run) as ds:
        images = ds.images()[:]
    red, blue, bare = images[0].astype(int), images[1].astype(int), images[2].astype(int)
    hat_red = (red[..., 0] > 200) & (red[..., 1] < 60) & (red[..., 2] < 60)
    hat_blue = (blue[..., 2] > 200) & (blue[..., 0] < 60)
    assert hat_red.sum() > 10 and (hat_red == hat_blue).mean() > 0.99  # the same hat, recoloured
    assert not ((bare[..., 0] > 200) & (bare[..., 1] < 60)).any()  # no hat


def test_occlusion_of_an_arm_behind_the_body(boxman_run):
    with open_dataset(boxman_run) as ds:
        vis, clip = ds.visibility, ds.read("meta/clip")
    behind = vis[clip == 0]  # ArmBehind: the left arm hangs behind the back, the camera is in front
    assert (behind[:, KP["LeftLowerArm"]] == 1).all() and (behind[:, KP["LeftHand"]] == 1).all()
    for name in ("Hips", "Head", "Neck", "RightHand", "RightLowerArm", "LeftFoot", "RightToes"):
        assert (behind[:, KP[name]] == 2).all(), name
    assert (vis[clip == 1] == 2).all()  # Idle: arms out, everything in view


def test_keypoints_sit_on_the_rendered_joints(rigs, tmp_path):
    """Spheres at each joint: their rendered centroids match the keypoints (pixel convention,
    fractional frames) to a quarter pixel at 256x256. (Workbench's 8-sample anti-aliasing shifts the
    image by ~0.12 px up-left, see docs/rendering.md; the keypoints are the exact projection.)"""
    out = tmp_path / "m.h5"
    code, text = render("--rig", rigs["markers"], "--frames", "3", "--size", "256", "--clips", "Idle",
                        "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        images, xy, vis, frame = ds.images()[:], ds.xy, ds.visibility, ds.read("meta/frame")
    assert (frame % 1 != 0).any()  # 10 frames / 3 poses: fractional times
    assert (vis == 2).all()
    ys, xs = np.mgrid[:256, :256] + 0.5
    for img, pts in zip(images, xy):
        ink = 255.0 - img.mean(-1)
        gap = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(len(pts)) * 1e9
        alone = gap.min(1) > 14  # markers are ~3 px in radius; skip those touching a neighbour's window
        assert alone.sum() >= 8
        for x, y in pts[alone]:
            w = ink * ((xs - x) ** 2 + (ys - y) ** 2 < 7 ** 2)
            c = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()
            np.testing.assert_allclose(c, [x, y], atol=0.25)


def test_points_outside_a_tight_frame_are_absent(rigs, tmp_path):
    tight = tmp_path / "t.h5"
    code, text = render("--rig", rigs["markers"], "--frames", "1", "--size", "64", "--clips", "Idle",
                        "--margin", "-0.6", "-o", tight)
    assert code == 0, text
    with open_dataset(tight) as ds:
        xy, vis = ds.xy[0], ds.visibility[0]
    inside = ((xy >= 0) & (xy < 64)).all(-1)
    assert not inside.all() and inside.any()
    assert ((vis == 0) == ~inside).all()


def test_robot_expressive_glb(tmp_path):
    out = tmp_path / "robot.h5"
    code, text = render("--rig", ROBOT, "--frames", "3", "--size", "64", "--clips", "Wave,Walking", "-o", out)
    assert code == 0, text
    assert validate_dataset(out) == 3
    with open_dataset(out) as ds:
        config, images = ds.config, ds.images()[:]
        assert ds.names("clip") == ["Walking", "Wave"] and ds.names("costume") == ["default"]
    bones = config["keypoint_bones"]
    assert bones["LeftHand"] == "LowerArmL (tail)" and bones["RightToes"] == "FootR (tail)"
    assert bones["Spine"] == "Abdomen"
    assert config["render"]["look"] == "default" and config["render"]["show_object_outline"] is True
    assert (images[:, 0] == 255).all() and (images[:, :, -1] == 255).all()
    res = CliRunner().invoke(main, ["render", "--rig", str(ROBOT), "--list"])
    assert res.exit_code == 0
    assert "costumes (1): default" in res.output and "Wave [0-44]" in res.output
    assert "LeftHand=LowerArmL (tail)" in res.output


def test_vrm_humanoid_table_is_used(tmp_path):
    """A .vrm is a glTF binary with a humanoid table; it overrides the name rules."""
    data = ROBOT.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20:20 + length])
    node = {n["name"]: i for i, n in enumerate(doc["nodes"])}
    doc.setdefault("extensions", {})["VRM"] = {"humanoid": {"humanBones": [
        {"bone": "hips", "node": node["Hips"]}, {"bone": "spine", "node": node["Torso_1"]}]}}
    raw = json.dumps(doc).encode()
    raw += b" " * (-len(raw) % 4)
    rest = data[20 + length:]
    vrm = tmp_path / "robot.vrm"
    vrm.write_bytes(b"glTF" + struct.pack("<II", 2, 20 + len(raw) + len(rest)) +
                    struct.pack("<II", len(raw), 0x4E4F534A) + raw + rest)
    out = tmp_path / "vrm.h5"
    code, text = render("--rig", vrm, "--frames", "1", "--size", "16", "--clips", "Idle", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        assert ds.config["keypoint_bones"]["Spine"] == "Torso_1"


def test_fbx_with_mixamo_names(rigs, tmp_path):
    import bpy

    names = {"Shoulder": "Shoulder", "UpperArm": "Arm", "LowerArm": "ForeArm", "Hand": "Hand",
             "UpperLeg": "UpLeg", "LowerLeg": "Leg", "Foot": "Foot", "Toes": "ToeBase"}
    bpy.ops.wm.open_mainfile(filepath=str(rigs["boxman"]), use_scripts=False)
    arm = bpy.data.objects["Armature"]
    for b in arm.data.bones:
        side = next((s for s in ("Left", "Right") if b.name.startswith(s)), "")
        b.name = "mixamorig:" + side + names.get(b.name[len(side):], b.name[len(side):])
    fbx = tmp_path / "mixamo.fbx"
    bpy.ops.export_scene.fbx(filepath=str(fbx), bake_anim=True, add_leaf_bones=False)
    out = tmp_path / "fbx.h5"
    code, text = render("--rig", fbx, "--frames", "2", "--size", "16", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        bones = ds.config["keypoint_bones"]
    assert bones["LeftUpperArm"] == "mixamorig:LeftArm" and bones["RightLowerLeg"] == "mixamorig:RightLeg"


def test_motion_capture_replaces_the_clips(rigs, tmp_path):
    bvh = SHARED_ASSETS / "motion" / "131_01.bvh"
    out = tmp_path / "mocap.h5"
    code, text = render("--rig", rigs["boxman"], "--motion", bvh, "--frames", "3", "--size", "32",
                        "--costumes", "bare", "--framing", "follow", "-o", out)
    assert code == 0, text
    assert validate_dataset(out) == 3
    with open_dataset(out) as ds:
        assert ds.names("clip") == ["131_01"]
        assert ds.config["motions"] == [str(bvh)] and len(ds.config["motions_sha256"][0]) == 64
        xyz = ds.read("pose/xyz")
    assert np.ptp(xyz[:, KP["Hips"], :2], axis=0).max() > 0.1  # the mocap moves the character


# -- rejections ----------------------------------------------------------------------------------------

def test_non_humanoid_rig_is_rejected_and_leaves_no_file(rigs, tmp_path):
    out = tmp_path / "snake.h5"
    res = CliRunner().invoke(main, ["render", "--rig", str(rigs["snake"]), "--frames", "2", "--size", "16",
                                    "-o", str(out)])
    assert res.exit_code == 1
    line = res.output.strip()
    assert "\n" not in line and line.startswith("Error: ")
    assert "cannot map keypoints Hips, Spine, Neck, Head, LeftShoulder" in line
    assert "the rig's bones are Bone, Bone.001, Bone.002, Bone.003, Bone.004" in line
    assert list(tmp_path.iterdir()) == []


def test_unknown_costume_and_shard_options_are_one_line_errors(rigs, tmp_path):
    res = CliRunner().invoke(main, ["render", "--rig", str(rigs["boxman"]), "--costumes", "pink", "-o",
                                    str(tmp_path / "x.h5")])
    assert res.exit_code == 1 and "no costume named 'pink' (the rig has: red, blue, bare)" in res.output
    res = CliRunner().invoke(main, ["render", "--rig", str(rigs["boxman"]), "--shard", "2/2", "-o",
                                    str(tmp_path / "x.h5")])
    assert res.exit_code == 1 and "--shard '2/2'" in res.output
    res = CliRunner().invoke(main, ["render", "--rig", str(rigs["boxman"]), "--size", "48"])
    assert res.exit_code == 2 and "48 is not a power of two" in res.output
    assert list(tmp_path.iterdir()) == []


def test_blend_auto_run_script_is_never_run(rigs, tmp_path):
    marker = tmp_path / "ran.txt"
    evil = blender_rigs.add_autorun_script(rigs["boxman"], tmp_path / "evil.blend", marker)
    # Control: the crafted file really runs its script when scripts are trusted.
    subprocess.run([sys.executable, "-c", "import bpy, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1], "
                    "use_scripts=True)", str(evil)], check=True, capture_output=True)
    assert marker.exists()
    marker.unlink()
    code, text = render("--rig", evil, "--frames", "1", "--size", "16", "-o", tmp_path / "e.h5")
    assert code == 0, text
    assert not marker.exists()


# -- scale: shards, workers, resume -------------------------------------------------------------------

def test_shards_merged_equal_one_run(boxman_run, rigs, tmp_path):
    parts = []
    for k in range(3):
        p = tmp_path / f"part{k}.h5"
        code, text = render("--rig", rigs["boxman"], *BOX_ARGS, "--shard", f"{k}/3", "-o", p)
        assert code == 0 and f"(shard {k}/3): 4 rows" in text, text
        parts.append(p)
    res = CliRunner().invoke(main, ["merge", str(parts[2]), str(parts[0]), str(parts[1]), "-o", str(tmp_path / "m.h5")])
    assert res.exit_code == 0, res.output
    assert_same_dataset(tmp_path / "m.h5", boxman_run)
    res = CliRunner().invoke(main, ["merge", str(parts[0]), str(parts[2]), "-o", str(tmp_path / "bad.h5")])
    assert res.exit_code == 1 and "missing shard 1/3" in res.output
    assert not (tmp_path / "bad.h5").exists()


def test_workers_equal_one_run(boxman_run, rigs, tmp_path):
    out = tmp_path / "w.h5"
    code, text = render("--rig", rigs["boxman"], *BOX_ARGS, "--workers", "2", "-o", out)
    assert code == 0, text
    assert_same_dataset(out, boxman_run)


def test_kill_and_resume_equal_one_run(rigs, tmp_path):
    args = ["--rig", str(rigs["boxman"]), "--frames", "10", "--size", "64", "--costumes", "red,bare"]
    out = tmp_path / "k.h5"
    proc = subprocess.Popen([sys.executable, "-m", "datagen.cli", "render", "--quiet", *args, "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    partial = tmp_path / "k.h5.partial"
    deadline = time.time() + 120
    while len(list(partial.glob("chunk-*.partial/seg-*.h5"))) < 2:
        assert proc.poll() is None and time.time() < deadline, "the render ended before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()
    code, text = render(*args, "--resume", "-o", out)
    assert code == 0, text
    assert "from the earlier run" in text
    ref = tmp_path / "ref.h5"
    code, text = render(*args, "-o", ref)
    assert code == 0, text
    assert_same_dataset(out, ref)
    assert not partial.exists()


def test_resume_with_other_settings_is_refused(rigs, tmp_path):
    out = tmp_path / "r.h5"
    partial = tmp_path / "r.h5.partial"
    partial.mkdir()
    (partial / "run.json").write_text(json.dumps({"config": {"frames": 99}, "shard": [0, 1], "chunk_rows": 1}))
    code, text = render("--rig", rigs["boxman"], "--frames", "1", "--size", "16", "--resume", "-o", out)
    assert code == 1 and "cannot resume, it was started with other settings" in text
    assert partial.exists() and not out.exists()


def test_resume_with_other_engine_settings_is_refused(rigs, tmp_path, monkeypatch):
    """A partial run started with other render settings as applied (e.g. before an anti-aliasing change)
    is not continued: one file never mixes two ways of rendering."""
    import datagen.render.run as run_mod

    def broken(*a, **k):
        raise RuntimeError("killed")
    monkeypatch.setattr(run_mod, "run_workers", broken)
    out = tmp_path / "e.h5"
    args = ["--rig", rigs["boxman"], "--frames", "2", "--size", "16", "--costumes", "red", "-o", out]
    with pytest.raises(RuntimeError, match="killed"):
        render(*args)
    assert (tmp_path / "e.h5.partial" / "run.json").exists()
    monkeypatch.undo()
    state = json.loads((tmp_path / "e.h5.partial" / "run.json").read_text())
    assert state["render"]["engine"] == "workbench"
    state["render"]["samples"] = "8"  # as if started by another anti-aliasing path
    (tmp_path / "e.h5.partial" / "run.json").write_text(json.dumps(state))
    code, text = render(*args, "--resume")
    assert code == 1 and "cannot resume, it was started with other settings" in text
    assert not out.exists()


# -- the default avatar ----------------------------------------------------------------------------------

def test_default_avatar(tmp_path):
    from datagen.render.blender.rig import load_rig

    rig = load_rig(DEFAULT_RIG)
    costumes = [c.name for c in rig.costumes][:2]
    clips = [c.name for c in rig.clips]
    out = tmp_path / "avatar.h5"
    code, text = render("--frames", "3", "--size", "64", "--costumes", ",".join(costumes), "-o", out)
    assert code == 0, text
    assert validate_dataset(out) == 3 * len(costumes)
    with open_dataset(out) as ds:
        assert ds.names("costume") == costumes and ds.names("clip") == clips
        config, images, masks, vis = ds.config, ds.images()[:], ds.read("masks/64"), ds.visibility
    assert config["render"]["look"] == "rig"
    assert all(config["keypoint_bones"][k] == k for k in AVATAR20.names)  # bones named like the keypoints
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    assert (border == 255).all() and (masks.reshape(len(masks), -1) >= 128).mean(1).min() > 0.03
    assert (vis == 2).mean() > 0.6  # mostly visible from the front
    if len(costumes) == 2:
        assert not np.array_equal(images[0], images[1])  # costumes look different
    again = tmp_path / "again.h5"
    code, text = render("--frames", "3", "--size", "64", "--costumes", ",".join(costumes), "-o", again)
    assert code == 0, text
    assert_same_dataset(out, again)  # deterministic: the same rows, byte for byte


# -- anti-aliasing: jittered renders (the default) against Workbench's own (issue 11) --------------------

EXACT = ("pose/xy", "pose/visibility", "pose/xyz", "camera/intrinsics", "camera/extrinsics", "meta/costume",
         "meta/clip", "meta/frame")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def test_default_antialiasing_is_close_to_workbench_32_samples(boxman_run, rigs, tmp_path):
    ref = tmp_path / "ref.h5"
    code, text = render("--rig", rigs["boxman"], *BOX_ARGS, "--engine", "workbench-taa", "--samples", "32", "-o", ref)
    assert code == 0, text
    new, old = datasets(boxman_run), datasets(ref)
    for name in EXACT:
        assert np.array_equal(new[name], old[name]), name
    with open_dataset(boxman_run) as ds:
        render_settings = ds.config["render"]
    assert render_settings["samples"] == 2 and render_settings["render_aa"] == "OFF"
    assert render_settings["antialiasing"] == "2 jittered renders" and len(render_settings["sample_offsets"]) == 2
    aliased = tmp_path / "off.h5"
    code, text = render("--rig", rigs["boxman"], *BOX_ARGS, "--samples", "1", "-o", aliased)
    assert code == 0, text
    off = datasets(aliased)
    img, ref_img, off_img = new["images/64"], old["images/64"], off["images/64"]
    # At 64x64 the box-man's limbs are 1-2 px wide, so 2 samples are much further from 32 than at
    # 1024 (38.5 dB here; 48 dB on the avatar at 1024, docs/benchmarks.md), yet far closer than none.
    assert psnr(img, ref_img) > 37 and psnr(img, ref_img) > psnr(off_img, ref_img) + 4
    # The silhouettes (coverage >= 1/2) differ only on the anti-aliased rim, where coverage is near 1/2 (they
    # are identical where the samples are: test_one_sample_is_the_same_as_workbench_without_antialiasing).
    m, m_ref = new["masks/64"] >= 128, old["masks/64"] >= 128
    rim = (img != 255).any(-1) & (img != ref_img).any(-1)
    assert not ((m != m_ref) & ~rim).any() and (m & m_ref).sum() / (m | m_ref).sum() > 0.85


def test_one_sample_is_the_same_as_workbench_without_antialiasing(boxman_run, rigs, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out, engine in ((a, "workbench"), (b, "workbench-taa")):
        code, text = render("--rig", rigs["boxman"], "--frames", "2", "--size", "64", "--samples", "1",
                            "--engine", engine, "-o", out)
        assert code == 0, text
    da, db = datasets(a), datasets(b)
    da.pop("attrs"), db.pop("attrs")  # the configs name different engines
    assert sorted(da) == sorted(db)
    for name in da:
        assert np.array_equal(da[name], db[name], equal_nan=da[name].dtype.kind == "f"), name


def test_samples_choose_the_jitter_pattern(rigs, tmp_path):
    out = tmp_path / "s4.h5"
    code, text = render("--rig", rigs["boxman"], "--frames", "1", "--size", "64", "--samples", "4", "-o", out)
    assert code == 0, text
    with open_dataset(out) as ds:
        settings = ds.config["render"]
    assert settings["samples"] == 4 and sorted(map(tuple, settings["sample_offsets"])) == [
        (-0.25, -0.25), (-0.25, 0.25), (0.25, -0.25), (0.25, 0.25)]
