"""psgan generate --poses DIR: a model driven by OpenPose JSON of a video (docs/animation.md)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.psgan_data import train_tiny_run
from helpers.synthetic import SHARED_ASSETS
from PIL import Image
from test_pose_sequence import walking_person

from datagen.format.keypoint_sets import COCO18
from datagen.format.openpose_json import from_format, write_openpose
from psgan.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data, ckpt, _ = train_tiny_run(tmp_path_factory.mktemp("drive"))
    return data, ckpt


@pytest.fixture
def video(tmp_path):
    """Seven frames of OpenPose 1.3 COCO-18 JSON, one of them empty."""
    folder = tmp_path / "video"
    folder.mkdir()
    xy = walking_person(7, COCO18)
    for i in range(7):
        people = from_format(xy[i:i + 1], np.ones((1, 18))) if i != 4 else np.zeros((0, 18, 3))
        write_openpose(folder / f"dance_{i:012d}_keypoints.json", people)
    return folder


def _gen(*args):
    return CliRunner().invoke(main, ["generate", *map(str, args)])


def test_generates_one_frame_per_json_file(run, video, tmp_path):
    _, ckpt = run
    r = _gen(ckpt, "--poses", video, "-o", tmp_path / "dance.gif", "--with-pose", "--smooth", "--size", "32")
    assert r.exit_code == 0, r.output
    im = Image.open(tmp_path / "dance.gif")
    assert im.n_frames == 7 and im.size == (2 * (32 + 2) + 2, 13 + 32 + 4)   # a label band on top
    r = _gen(ckpt, "--poses", video, "-o", tmp_path / "frames", "--size", "16")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [f"frame_{i:05d}.png" for i in range(7)]


def test_driven_poses_sit_in_the_training_frame(run, video):
    from psgan.generation.drive import TrainingPoses, drive_from_openpose

    data, _ = run
    training = TrainingPoses.read(data)
    assert training.keypoint_set == "avatar20" and training.image_size == 16
    xy, present = drive_from_openpose(video, training)
    assert xy.shape == (7, 20, 2) and not present[4].any()
    head = [i for i, n in enumerate(("Hips", "Spine", "Neck", "Head")) if n == "Neck"]
    assert present[0, 2] and not present[0, 3]  # Neck converted from COCO-18; Head is no OpenPose point
    assert head == [2]
    inside = xy[present]
    assert (inside > -8).all() and (inside < 24).all()  # the 16 px training frame (its poses spread wide)


def test_real_openpose_video_drives_the_model(run, tmp_path):
    _, ckpt = run
    r = _gen(ckpt, "--poses", SHARED_ASSETS / "openpose" / "body25_v1.3", "-o", tmp_path / "v", "--with-pose")
    assert r.exit_code == 0, r.output
    frames = sorted((tmp_path / "v").iterdir())
    assert len(frames) == 4
    poses = [np.asarray(Image.open(f))[:, :128] for f in frames]  # the drawn (normalised) skeletons
    assert all((p < 250).any() for p in poses) and not np.array_equal(poses[0], poses[3])


def test_bad_driving_input_is_one_line(run, tmp_path):
    data, ckpt = run
    (tmp_path / "empty").mkdir()
    r = _gen(ckpt, "--poses", tmp_path / "empty", "-o", tmp_path / "x.gif")
    assert r.exit_code == 1 and "no OpenPose JSON" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()
    r = _gen(ckpt, "--poses", tmp_path / "empty", "--data", tmp_path / "gone.h5", "-o", tmp_path / "x.gif")
    assert r.exit_code != 0
    r = _gen(ckpt, "--poses", tmp_path / "empty", "--rows", "0:3", "-o", tmp_path / "x.gif")
    assert r.exit_code == 2 and "--rows" in r.output


def test_bvh_without_blender_is_a_one_line_error(run, tmp_path, monkeypatch):
    import importlib.util

    _, ckpt = run
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bpy" else real(name, *a))
    r = _gen(ckpt, "--poses", SHARED_ASSETS / "motion" / "131_01.bvh", "-o", tmp_path / "m.gif")
    assert r.exit_code == 1 and "psgan-toolkit[render]" in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.blender
def test_a_bvh_clip_drives_the_model_through_a_pose_only_render(run, tmp_path):
    _, ckpt = run
    r = _gen(ckpt, "--poses", SHARED_ASSETS / "motion" / "131_01.bvh", "--frames", "6", "-o", tmp_path / "m",
             "--size", "16", "--with-pose")
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "m").iterdir())) == 6


def test_eval_scores_the_pose_consistency_of_a_driven_sequence(run, video, tmp_path):
    import json

    data, ckpt = run
    det = tmp_path / "pn.pt"
    r = CliRunner().invoke(main, ["posenet", "train", str(data), "-o", str(det), "--res", "16", "--steps", "3",
                                  "--width", "4", "--batch", "4"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "seq.json"
    r = CliRunner().invoke(main, ["eval", str(ckpt), "--data", str(data), "--sequence", str(video),
                                  "--posenet", str(det), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "pck@0.1" in r.output and "floor" in r.output
    res = json.loads(out.read_text())
    assert res["frames"] == 7 and res["resolution"] == 8
    g = res["generated"]
    assert 0 <= g["pck@0.05"] <= g["pck@0.1"] <= 1 and g["keypoints"] > 0
    # the scored points are the driving points inside the frame: never more than the present ones
    from psgan.generation.drive import TrainingPoses, drive_from_openpose
    _, present = drive_from_openpose(video, TrainingPoses.read(data))
    assert g["keypoints"] <= present.sum()
