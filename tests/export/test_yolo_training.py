"""The YOLO pose export read by Ultralytics itself: its dataset check accepts data.yaml, its loader reads
our labels back, and a pose model built from its yaml config trains one short epoch on the CPU, offline."""
from __future__ import annotations

import os

import numpy as np
import pytest

from helpers.synthetic import write_synthetic
from datagen.format.keypoint_sets import AVATAR20
from datagen.io.exporters import export_dataset

pytestmark = pytest.mark.export


@pytest.fixture
def offline_ultralytics(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_OFFLINE", "1")  # no downloads, no online checks
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo-config"))  # settings.json under tmp_path
    monkeypatch.chdir(tmp_path)


@pytest.mark.slow
def test_ultralytics_validates_and_trains(tmp_path, offline_ultralytics, capfd):
    src = write_synthetic(tmp_path / "r.h5", n=16, size=64)
    export_dataset(src, "yolo", tmp_path / "yolo")
    from ultralytics import YOLO
    from ultralytics.data.utils import check_det_dataset

    data = check_det_dataset("yolo/data.yaml")  # relative, as a user types it
    assert data["kpt_shape"] == [20, 3] and data["flip_idx"] == list(AVATAR20.flip)
    model = YOLO("yolov8n-pose.yaml")  # built from the config: no .pt weights
    model.train(data="yolo/data.yaml", epochs=1, imgsz=64, batch=4, device="cpu", workers=0, plots=False,
                amp=False, project=str(tmp_path / "runs"), name="t", exist_ok=True)
    loaded = model.trainer.train_loader.dataset
    n_val = len(list((tmp_path / "yolo" / "images" / "val").iterdir()))
    assert len(loaded.labels) == 16 - n_val and n_val >= 1  # none refused as corrupt
    label = loaded.labels[0]
    ours = np.loadtxt(tmp_path / "yolo" / "labels" / "train" / (os.path.basename(label["im_file"])[:-4] + ".txt"))
    np.testing.assert_allclose(label["keypoints"][0].reshape(-1), ours[5:], atol=1e-6)
    import csv

    with open(tmp_path / "runs" / "t" / "results.csv") as f:
        epoch = next(csv.DictReader(f))  # the epoch's losses, as Ultralytics records them
    assert np.isfinite(float(epoch["train/pose_loss"])) and float(epoch["train/pose_loss"]) > 0
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").exists()
    out = capfd.readouterr()
    assert "Downloading" not in out.out + out.err
