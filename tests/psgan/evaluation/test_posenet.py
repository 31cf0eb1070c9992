"""The evaluation keypoint detector (psgan/evaluation/posenet.py): shapes, heatmap decoding, the split by pose,
files, training on learnable stick figures, and `psgan posenet train`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from helpers.stick_figures import stick_data_and_detector, write_stick_dataset

from datagen.format import open_dataset
from psgan.cli import main
from psgan.evaluation.posenet import (
    PoseNet,
    PoseNetConfig,
    PoseNetError,
    decode_heatmaps,
    heatmap_loss,
    load_posenet,
    pose_groups,
    predict_keypoints,
    save_posenet,
    split_by_pose,
)


@pytest.fixture(scope="session")
def sticks(tmp_path_factory) -> tuple[Path, Path]:
    return stick_data_and_detector(tmp_path_factory.getbasetemp())


@pytest.mark.parametrize("res,stride", [(16, 2), (32, 2), (64, 2), (128, 4)])
def test_heatmap_shapes(res, stride):
    net = PoseNet(PoseNetConfig(num_keypoints=20, resolution=res, width=8, stride=stride)).eval()
    out = net(torch.zeros(2, 3, res, res))
    assert out.shape == (2, 20, res // stride, res // stride)


def test_bad_resolution_is_one_line_error():
    with pytest.raises(PoseNetError, match="power of two"):
        PoseNet(PoseNetConfig(num_keypoints=3, resolution=48))


def test_decode_recovers_sub_pixel_positions():
    h = w = 16
    stride = 2
    truth = torch.tensor([[[5.3, 20.7], [17.0, 9.1], [22.2, 13.9]]])          # input pixels, (1, 3, 2)
    c = truth / stride - 0.5
    gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    logits = -((gx - c[..., :1, None]) ** 2 + (gy - c[..., 1:, None]) ** 2) / (2 * 0.8 ** 2)
    xy, conf = decode_heatmaps(logits, stride)
    assert torch.allclose(xy, truth, atol=0.15), xy
    assert conf.shape == (1, 3) and (conf > 0).all()


def test_heatmap_loss_is_lowest_at_the_target():
    stride = 2
    target = torch.tensor([[[9.0, 13.0]]])
    c = target / stride - 0.5
    gy, gx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    good = -((gx - c[..., :1, None]) ** 2 + (gy - c[..., 1:, None]) ** 2) / 2
    bad = torch.roll(good, 3, dims=-1)
    mask = torch.ones(1, 1, dtype=torch.bool)
    assert heatmap_loss(good, target, mask, stride, 1.0) < heatmap_loss(bad, target, mask, stride, 1.0)
    assert heatmap_loss(bad, target, ~mask, stride, 1.0) == 0.0                 # masked out


def test_split_by_pose_never_straddles(tmp_path):
    data = write_stick_dataset(tmp_path / "s.h5", poses=20, costumes=3, size=16)
    with open_dataset(data) as r:
        groups, rule = pose_groups(r)
        frame = r.read("meta/frame")
    assert rule == "meta/clip+meta/frame" and len(np.unique(groups)) == 20
    train, held = split_by_pose(groups, 0.25, seed=1)
    assert len(train) + len(held) == 60 and len(held) == 15
    assert not set(frame[train]) & set(frame[held])
    again = split_by_pose(groups, 0.25, seed=1)
    assert np.array_equal(again[1], held)


def test_imported_data_splits_by_row_unless_keypoints_repeat(imported_file):
    with open_dataset(imported_file) as r:
        groups, rule = pose_groups(r)
        n = r.n
    assert rule == "identical keypoints" and len(np.unique(groups)) == n
    g = np.array([0, 0, 1, 2, 2, 3])                                            # rows 0-1 and 3-4 repeat
    for seed in range(5):
        _, held = split_by_pose(g, 0.5, seed=seed)
        assert all((g[held] == x).sum() in (0, (g == x).sum()) for x in range(4))


def test_single_pose_cannot_be_split():
    with pytest.raises(PoseNetError, match="single pose"):
        split_by_pose(np.zeros(5, int), 0.1, 0)


def test_save_and_load_round_trip(tmp_path):
    cfg = PoseNetConfig(num_keypoints=4, resolution=16, width=8, training={"note": "x"})
    net = PoseNet(cfg).eval()
    path = save_posenet(tmp_path / "p.pt", net, cfg)
    blob = torch.load(path, weights_only=True)                                   # plain data only
    assert blob["format"] == "psgan-posenet"
    net2, cfg2 = load_posenet(path)
    assert cfg2 == cfg
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(net(x), net2(x))


def test_load_rejects_other_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(PoseNetError, match="junk.pt"):
        load_posenet(tmp_path / "junk.pt")
    torch.save({"format": "psgan-checkpoint"}, tmp_path / "ck.pt")
    with pytest.raises(PoseNetError, match="not a posenet file"):
        load_posenet(tmp_path / "ck.pt")
    with pytest.raises(PoseNetError, match="no such file"):
        load_posenet(tmp_path / "missing.pt")


def test_trained_detector_finds_held_out_keypoints(sticks):
    data, det = sticks
    model, cfg = load_posenet(det)
    held = np.asarray(cfg.training["heldout_rows"])
    assert cfg.training["split_rule"] == "meta/clip+meta/frame"
    assert cfg.training["heldout"]["pck@0.1"] > 0.8
    with open_dataset(data) as r:
        images = r.images()[:][held]
        xy = r.xy[held]
        frames = r.read("meta/frame")
    train_frames = set(frames) - set(frames[held])
    assert not set(frames[held]) & train_frames                                   # no pose straddles
    pred, conf = predict_keypoints(model, images)
    err = np.linalg.norm(pred - xy, axis=-1)
    assert np.mean(err <= 0.1 * 32) > 0.8
    # Resolution handling: the same images at twice the size give coordinates at twice the scale.
    big = np.repeat(np.repeat(images, 2, 1), 2, 2)
    pred2, _ = predict_keypoints(model, big)
    assert np.median(np.abs(pred2 / 2 - pred)) < 0.5


def test_cli_posenet_train(tmp_path):
    data = write_stick_dataset(tmp_path / "s.h5", poses=10, costumes=2, size=16)
    out = tmp_path / "det.pt"
    res = CliRunner().invoke(main, ["posenet", "train", str(data), "-o", str(out), "--res", "16",
                                    "--steps", "3", "--width", "8", "--holdout", "0.2"])
    assert res.exit_code == 0, res.output
    assert "held-out PCK@0.05" in res.output
    _, cfg = load_posenet(out)
    assert cfg.resolution == 16 and cfg.training["steps_done"] == 3
    assert len(cfg.training["heldout_rows"]) == 4                                # 2 poses x 2 costumes


def test_cli_posenet_train_names_a_bad_file(tmp_path):
    res = CliRunner().invoke(main, ["posenet", "train", str(tmp_path / "none.h5"), "-o", str(tmp_path / "x.pt")])
    assert res.exit_code == 1 and "none.h5" in res.output
