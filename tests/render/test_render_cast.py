"""Several characters in one dataset (`datagen render --rig a --rig b`, `--rig FOLDER`) and `--list`, with
Blender at 64x64: five coloured copies of a test rig, the default avatar, RobotExpressive."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import blender_rigs
from datagen.render.workers import CRASH_ENV
from helpers.compare import assert_same_dataset
from helpers.cli_checks import check_one_line_error, snapshot
from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.validate import validate_dataset
from datagen.render import DEFAULT_RIG

pytestmark = pytest.mark.blender
ROBOT = SHARED_ASSETS / "rigs" / "RobotExpressive.glb"
BVH = SHARED_ASSETS / "motion" / "131_01.bvh"
COLOURS = {"amber": (1.0, 0.6, 0.0), "blue": (0.0, 0.2, 1.0), "green": (0.0, 0.8, 0.1), "pink": (1.0, 0.3, 0.7),
           "teal": (0.0, 0.7, 0.7)}


@pytest.fixture(scope="module")
def outfits(tmp_path_factory) -> Path:
    """Five copies of one rig in five colours, as a character exported in five outfits."""
    d = tmp_path_factory.mktemp("outfits")
    for name, rgb in COLOURS.items():
        blender_rigs.build_plain(d / f"{name}.blend", rgb)
    return d


@pytest.fixture(scope="module")
def five(outfits, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("five") / "five.h5"
    code, text = render("--rig", outfits, "--frames", "2", "-o", out)
    assert code == 0, text
    assert "10 rows = 2 poses x 5 costumes over 2 clips" in text
    return out


def render(*args) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["render", "--quiet", "--size", "64", *map(str, args)], catch_exceptions=False)
    return r.exit_code, r.output


def test_five_files_are_one_five_costume_dataset(five, outfits):
    assert validate_dataset(five) == 10
    with open_dataset(five) as ds:
        assert ds.names("costume") == list(COLOURS)
        assert list(ds.read("meta/costume_rigs")) == [str(outfits / f"{n}.blend") for n in COLOURS]
        assert ds.names("clip") == ["ArmBehind", "Idle"]
        costume, clip, frame = ds.read("meta/costume"), ds.read("meta/clip"), ds.read("meta/frame")
        images, masks, xyz = ds.images()[:], ds.read("masks/64"), ds.read("pose/xyz")
        config = ds.config
    # Rig after rig, each pose-major: the same poses (clip, time) for every rig.
    assert costume.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert clip.tolist() == [0, 1] * 5 and np.allclose(frame.reshape(5, 2), frame[:2])
    np.testing.assert_allclose(xyz.reshape(5, 2, 20, 3), np.broadcast_to(xyz[:2], (5, 2, 20, 3)), atol=1e-6)
    assert config["rig"] == [str(outfits / f"{n}.blend") for n in COLOURS] and len(config["rig_sha256"]) == 5
    assert set(config["keypoint_bones"]) == set(COLOURS) and set(config["render"]) == set(COLOURS)
    # Each costume in its own colour: the mean body colour is nearest its rig's material colour (in sRGB).
    linear = np.array(list(COLOURS.values()))
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    unit = srgb / np.linalg.norm(srgb, axis=1, keepdims=True)
    for i, name in enumerate(COLOURS):
        mean = images[2 * i][masks[2 * i] == 255].mean(0)
        assert np.argmax(unit @ (mean / np.linalg.norm(mean))) == i, (name, mean)


@pytest.mark.slow
def test_workers_shards_and_resume_equal_one_run(five, outfits, tmp_path, monkeypatch):
    out = tmp_path / "w.h5"
    code, text = render("--rig", outfits, "--frames", "2", "--workers", "2", "-o", out)
    assert code == 0, text
    assert_same_dataset(out, five)
    parts = []
    for k in range(2):
        parts.append(tmp_path / f"part{k}.h5")
        code, text = render("--rig", outfits, "--frames", "2", "--shard", f"{k}/2", "-o", parts[-1])
        assert code == 0, text
    r = CliRunner().invoke(main, ["merge", *map(str, parts), "-o", str(tmp_path / "m.h5")])
    assert r.exit_code == 0, r.output
    assert_same_dataset(tmp_path / "m.h5", five)
    # Its Blender crashes at row 7 (mid-rig) with no retry left, then the run is resumed: the same file.
    monkeypatch.setenv(CRASH_ENV, "7:99")
    resumed = tmp_path / "r.h5"
    code, text = render("--rig", outfits, "--frames", "2", "--attempts", "1", "-o", resumed)
    assert code == 1 and "Blender crashed" in text, text
    monkeypatch.delenv(CRASH_ENV)
    assert not resumed.exists() and (tmp_path / "r.h5.partial").exists()
    code, text = render("--rig", outfits, "--frames", "2", "--resume", "-o", resumed)
    assert code == 0 and "from the earlier run" in text, text
    assert_same_dataset(resumed, five)


@pytest.mark.slow
def test_avatar_robot_and_a_test_rig_share_a_motion(outfits, tmp_path):
    out = tmp_path / "cast.h5"
    code, text = render("--rig", DEFAULT_RIG, "--rig", ROBOT, "--rig", outfits / "teal.blend", "--motion", BVH,
                        "--frames", "2", "--costumes", "schoolgirl_1", "-o", out)
    assert code == 0, text
    assert "6 rows = 2 poses x 3 costumes over 1 clips" in text
    assert validate_dataset(out) == 6
    with open_dataset(out) as ds:
        assert ds.names("costume") == ["avatar/schoolgirl_1", "RobotExpressive", "teal"]
        assert ds.names("clip") == ["131_01"] and (ds.read("meta/clip") == 0).all()
        assert list(ds.read("meta/costume_rigs")) == [str(DEFAULT_RIG), str(ROBOT), str(outfits / "teal.blend")]
        render_cfg, vis = ds.config["render"], ds.visibility
    assert render_cfg["avatar"]["look"] == "rig" and render_cfg["RobotExpressive"]["look"] == "default"
    assert (vis == 2).mean() > 0.5


def test_clips_every_rig_has_and_the_rig_that_lacks_one(outfits, tmp_path):
    out = tmp_path / "idle.h5"
    code, text = render("--rig", outfits / "amber.blend", "--rig", ROBOT, "--frames", "2", "-o", out)
    assert code == 0, text
    assert "note: clips not in every rig are left out: ArmBehind, Dance," in text
    with open_dataset(out) as ds:
        assert ds.names("clip") == ["Idle"] and ds.names("costume") == ["amber", "RobotExpressive"]
    before = snapshot(tmp_path)
    code, text = render("--rig", outfits / "amber.blend", "--rig", ROBOT, "--frames", "2", "--dry-run",
                        "-o", tmp_path / "dry.h5")
    assert code == 0, text
    assert "plan: 4 rows = 2 poses x 2 costumes" in text and "Nothing was written (--dry-run)" in text
    assert snapshot(tmp_path) == before
    r = CliRunner().invoke(main, ["render", "--rig", str(outfits / "amber.blend"), "--rig", str(ROBOT), "--clips",
                                  "Wave", "--size", "64", "-o", str(tmp_path / "wave.h5")])
    check_one_line_error(r, 1, "amber.blend: no clip named 'Wave' (the rig has: ArmBehind, Idle)", before, tmp_path)


def test_a_rig_without_clips_points_at_motion_and_lists(tmp_path):
    bare = blender_rigs.build_plain(tmp_path / "bare.blend", clips=False)
    before = snapshot(tmp_path)
    r = CliRunner().invoke(main, ["render", "--rig", str(bare), "--frames", "1", "--size", "16",
                                  "-o", str(tmp_path / "x.h5")])
    check_one_line_error(r, 1, "bare.blend: has no Action", before, tmp_path)
    assert "--motion FILE.bvh" in r.output
    r = CliRunner().invoke(main, ["render", "--rig", str(bare), "--list"])
    assert r.exit_code == 0, r.output
    assert "clips (0): none of its own; play motion capture on it with --motion FILE.bvh" in r.output
    r = CliRunner().invoke(main, ["render", "--rig", str(bare), "--rig", str(ROBOT), "--motion", str(BVH), "--list"])
    assert r.exit_code == 0, r.output
    text = r.output
    assert text.count("--motion clips (1): 131_01 [") == 2
    assert "rig " + str(ROBOT) in text and "Wave [0-44]" in text and "in the dataset: RobotExpressive" in text
    assert "fallbacks (4): LeftHand, RightHand, LeftToes, RightToes" in text  # tails of the forearm and foot
    assert "guessed from bone names (16):" in text and "guessed from bone names (20):" in text  # robot, bare
