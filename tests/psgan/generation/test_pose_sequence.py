"""Driving poses (psgan.generation.pose_sequence): OpenPose folders, person tracking, EDN normalisation,
One-Euro smoothing."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from helpers.synthetic import SHARED_ASSETS

from datagen.format.keypoint_sets import BODY25, COCO18
from datagen.format.openpose_json import OpenPoseError, from_format, read_openpose, write_openpose
from psgan.generation.pose_sequence import choose_track, normalise_sequence, one_euro, pose_stats, read_openpose_folder

VIDEO = SHARED_ASSETS / "openpose" / "body25_v1.3"
COCO_V10 = SHARED_ASSETS / "openpose" / "coco18_v1.0"


def walking_person(t: int, kps=COCO18, x0=300.0, feet=700.0, height=500.0, seed=0) -> np.ndarray:
    """(T, K, 2) a stick person of ``height`` px whose feet move down the image (walks towards the
    camera, growing), points placed by landmark."""
    rng = np.random.default_rng(seed)
    rel = {"nose": (0, -0.95), "neck": (0, -0.82), "left_eye": (0.03, -0.97), "right_eye": (-0.03, -0.97),
           "left_ear": (0.06, -0.95), "right_ear": (-0.06, -0.95), "left_shoulder": (0.12, -0.8),
           "right_shoulder": (-0.12, -0.8), "left_elbow": (0.15, -0.6), "right_elbow": (-0.15, -0.6),
           "left_wrist": (0.16, -0.45), "right_wrist": (-0.16, -0.45), "left_hip": (0.08, -0.48),
           "right_hip": (-0.08, -0.48), "mid_hip": (0, -0.48), "left_knee": (0.09, -0.25),
           "right_knee": (-0.09, -0.25), "left_ankle": (0.09, -0.03), "right_ankle": (-0.09, -0.03),
           "left_heel": (0.08, 0.0), "right_heel": (-0.08, 0.0), "left_big_toe": (0.1, 0.0),
           "right_big_toe": (-0.1, 0.0), "left_small_toe": (0.13, 0.0), "right_small_toe": (-0.13, 0.0)}
    out = np.empty((t, kps.size, 2))
    for i in range(t):
        s = height * (1 + 0.3 * i / max(t - 1, 1))
        f = feet + 80 * i / max(t - 1, 1)
        for k, lm in enumerate(kps.landmarks):
            dx, dy = rel[lm]
            out[i, k] = (x0 + 20 * np.sin(i) + dx * s, f + dy * s)
    return out + rng.normal(0, 0.5, out.shape)


def test_reads_a_real_openpose_video_folder_and_converts_by_name():
    seq = read_openpose_folder(VIDEO, "coco18")
    assert len(seq) == 4 and seq.xy.shape == (4, 18, 2)
    raw = read_openpose(VIDEO / "video_000000000000_keypoints.json", BODY25)[0]
    nose = COCO18.index("Nose")
    assert seq.xy[0, nose] == pytest.approx(raw[BODY25.index("Nose"), :2] + 0.5)  # format-v1 pixels
    assert not seq.present[:, COCO18.index("RAnkle")].any()  # an upper-body video: no legs
    b25 = read_openpose_folder(VIDEO, "body25")
    assert b25.xy.shape == (4, 25, 2) and b25.present.sum() == seq.present.sum()  # no point lost either way


def test_reads_the_old_json_version_and_picks_the_most_complete_person(tmp_path):
    shutil.copy(COCO_V10 / "random_keypoints.json", tmp_path / "f_000_keypoints.json")
    seq = read_openpose_folder(tmp_path, "coco18")
    people = read_openpose(COCO_V10 / "random_keypoints.json", COCO18)
    best = int(np.argmax((people[..., 2] > 0).sum(-1)))
    assert np.allclose(seq.confidence[0], people[best, :, 2])


def test_one_person_is_followed_when_another_appears(tmp_path):
    a = walking_person(6, x0=200.0)
    b = walking_person(6, x0=900.0, seed=1)
    for i in range(6):
        conf = np.ones((6, 18))[i]
        people = [from_format(a[i], conf)]
        if i >= 2:  # the second person enters, more complete (all points) and listed first
            people.insert(0, from_format(b[i], conf * 1.0 + 0.5))
        write_openpose(tmp_path / f"clip_{i:012d}_keypoints.json", np.stack(people))
    seq = read_openpose_folder(tmp_path, "coco18")
    assert np.allclose(seq.xy, a, atol=1e-3)


def test_track_skips_empty_frames():
    p = np.ones((1, 18, 3))
    assert choose_track([np.zeros((0, 18, 3)), p, np.zeros((0, 18, 3)), p]) == [None, 0, None, 0]


def test_empty_folder_and_no_people_are_one_line_errors(tmp_path):
    with pytest.raises(OpenPoseError, match="no OpenPose JSON"):
        read_openpose_folder(tmp_path, "coco18")
    write_openpose(tmp_path / "a_keypoints.json", np.zeros((0, 18, 3)))
    with pytest.raises(OpenPoseError, match="no person"):
        read_openpose_folder(tmp_path, "coco18")


@pytest.mark.parametrize("kps", [COCO18, BODY25])
def test_normalisation_is_invariant_to_scale_and_translation_of_the_input(kps):
    target_xy = walking_person(40, kps, x0=128, feet=230, height=180, seed=3)
    target = pose_stats(target_xy, np.ones(target_xy.shape[:2], bool), kps)
    src = walking_person(12, kps, seed=4)
    present = np.ones(src.shape[:2], bool)
    present[3, 0] = False
    base = normalise_sequence(src, present, kps, target)
    for scale, shift in [(0.37, (12.0, -40.0)), (2.5, (-300.0, 77.0))]:
        moved = src * scale + np.array(shift)
        assert np.allclose(normalise_sequence(moved, present, kps, target), base, atol=1e-9, equal_nan=True)
    assert np.isnan(base[3, 0]).all()


def test_normalisation_puts_the_feet_and_height_where_the_training_data_has_them():
    kps = COCO18
    target_xy = walking_person(40, kps, x0=128, feet=200, height=150, seed=3)
    target = pose_stats(target_xy, np.ones(target_xy.shape[:2], bool), kps)
    src = walking_person(20, kps, x0=500, feet=600, height=400, seed=4)
    out = normalise_sequence(src, np.ones(src.shape[:2], bool), kps, target)
    out_stats = pose_stats(out, np.ones(out.shape[:2], bool), kps)
    assert out_stats.far == pytest.approx(target.far, abs=1.0)
    assert out_stats.close == pytest.approx(target.close, abs=1.0)
    assert out_stats.height_close == pytest.approx(target.height_close, rel=0.02)
    assert out_stats.hip_x == pytest.approx(target.hip_x, abs=2.0)


def test_upper_body_input_is_fitted_to_the_mean_pose():
    kps = COCO18
    target_xy = walking_person(30, kps, x0=128, feet=230, height=180, seed=3)
    target = pose_stats(target_xy, np.ones(target_xy.shape[:2], bool), kps)
    seq = read_openpose_folder(VIDEO, kps)
    out = normalise_sequence(seq.xy, seq.present, kps, target)
    both = seq.present[0] & np.isfinite(target.mean).all(-1)
    assert np.isfinite(out[seq.present]).all() and np.isnan(out[~seq.present]).all()
    # the fitted pose's centre is the target's mean centre over the shared points, at the right scale
    assert np.nanmean(out[:, both], axis=(0, 1)) == pytest.approx(target.mean[both].mean(0), abs=15)
    moved = normalise_sequence(seq.xy * 3 + 10, seq.present, kps, target)
    assert np.allclose(moved, out, equal_nan=True)


def test_one_euro_removes_jitter_and_follows_fast_moves_and_gaps():
    rng = np.random.default_rng(0)
    t = np.arange(200) / 30.0
    clean = np.stack([100 + 50 * np.sin(t), 100 + 0 * t], -1)[:, None, :]
    noisy = clean + rng.normal(0, 2.0, clean.shape)
    present = np.ones((200, 1), bool)
    present[100:103] = False
    out = one_euro(noisy, present, fps=30.0)
    assert np.isnan(out[100:103]).all() and out[103] == pytest.approx(noisy[103])  # restarts after a gap
    ok = present[:, 0]
    rms = lambda a: float(np.sqrt(np.mean((a[ok] - clean[ok]) ** 2)))  # noqa: E731
    assert rms(out) < 0.7 * rms(noisy)
