"""The real OpenPose files of shared/assets with generated photos of the right sizes, for importer tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers.synthetic import SHARED_ASSETS

OPENPOSE = SHARED_ASSETS / "openpose"
TABLE = SHARED_ASSETS / "deepfashion" / "fasion-annotation-test-head300.csv"
# Image sizes that hold every detected point of the real files (the video frames are 1280x720).
OPENPOSE_IMAGES = {"random": (800, 700, ".jpg"), **{f"video_00000000000{i}": (1280, 720, ".png") for i in range(4)}}


def photo(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A smooth colour image (RGB) with some texture, like a photograph."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(1, w - 1), yy * 255 // max(1, h - 1), (xx + yy) % 256], -1)
    img = img + rng.integers(0, 20, (h, w, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_image(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path


@pytest.fixture
def openpose_dirs(tmp_path):
    """The real OpenPose files in keypoints/ and generated images of the right sizes in images/."""
    kp, img = tmp_path / "keypoints", tmp_path / "images"
    kp.mkdir()
    img.mkdir()
    for f in OPENPOSE.glob("*/*_keypoints.json"):
        shutil.copy(f, kp / f.name)
    for i, (stem, (w, h, ext)) in enumerate(OPENPOSE_IMAGES.items()):
        write_image(img / f"{stem}{ext}", photo(w, h, i))
    return img, kp
