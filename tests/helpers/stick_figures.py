"""Tiny learnable datasets for the evaluation tests: stick figures drawn from their avatar20 keypoints.

Each pose is a random 2D skeleton; each costume draws it with another background and line width, and
each limb in the keypoint set's colour (so left and right differ, as on a real character). Rows of
one pose share /meta/clip and /meta/frame, like a rendered dataset's costumes.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from datagen.format import DatasetHeader, DatasetWriter
from datagen.format.keypoint_sets import AVATAR20

_BACKGROUNDS = [(235, 235, 235), (60, 60, 70), (200, 220, 240), (240, 225, 200)]


def random_poses(n: int, size: int, seed: int = 0) -> np.ndarray:
    """(n, 20, 2) float32 avatar20 keypoints in pixels of a size x size image (all inside)."""
    rng = np.random.default_rng(seed)
    idx = {name: i for i, name in enumerate(AVATAR20.names)}
    out = np.zeros((n, AVATAR20.size, 2), np.float64)
    for p in range(n):
        pts = {}
        u = size / 13.0 * rng.uniform(0.75, 1.1)  # one body unit: the figure's size varies
        hips = np.array([size / 2 + rng.uniform(-3, 3) * u, size * 0.55 + rng.uniform(-1.5, 1.5) * u])
        lean = rng.uniform(-0.5, 0.5)
        up = np.array([np.sin(lean), -np.cos(lean)])
        pts["Hips"] = hips
        pts["Spine"] = hips + 1.5 * u * up
        pts["Neck"] = pts["Spine"] + 1.5 * u * up
        pts["Head"] = pts["Neck"] + 1.2 * u * up
        side = np.array([np.cos(lean), np.sin(lean)])
        for s, sign in (("Left", 1.0), ("Right", -1.0)):
            pts[f"{s}Shoulder"] = pts["Neck"] + sign * 0.6 * u * side
            pts[f"{s}UpperArm"] = pts["Neck"] + sign * 1.3 * u * side
            a = rng.uniform(-1.2, 1.6)                       # arm angle from straight down, outwards
            d = np.array([sign * np.sin(a), np.cos(a)])
            pts[f"{s}LowerArm"] = pts[f"{s}UpperArm"] + 1.6 * u * d
            a2 = a + rng.uniform(-1.2, 1.2)
            pts[f"{s}Hand"] = pts[f"{s}LowerArm"] + 1.5 * u * np.array([sign * np.sin(a2), np.cos(a2)])
            pts[f"{s}UpperLeg"] = hips + sign * 0.8 * u * side
            b = rng.uniform(-0.2, 0.6)
            pts[f"{s}LowerLeg"] = pts[f"{s}UpperLeg"] + 2.0 * u * np.array([sign * np.sin(b), np.cos(b)])
            b2 = b + rng.uniform(-0.6, 0.2)
            pts[f"{s}Foot"] = pts[f"{s}LowerLeg"] + 2.0 * u * np.array([sign * np.sin(b2), np.cos(b2)])
            pts[f"{s}Toes"] = pts[f"{s}Foot"] + 0.7 * u * np.array([sign, 0.3])
        for name, v in pts.items():
            out[p, idx[name]] = v
    return np.clip(out, 0.5, size - 0.5).astype(np.float32)


def draw(xy: np.ndarray, size: int, costume: int) -> np.ndarray:
    """One (size, size, 3) uint8 image of the skeleton xy (20, 2) in costume ``costume``."""
    img = np.full((size, size, 3), _BACKGROUNDS[costume % len(_BACKGROUNDS)], np.uint8)
    width = max(1, int(round(size / 32 * (1 + costume % 2))))
    shift = 4  # cv2 fixed-point: sub-pixel accurate lines
    pts = np.round((xy - 0.5) * (1 << shift)).astype(np.int32)  # pixel centre i + 0.5 -> cv2 coord i
    for (a, b), colour in zip(AVATAR20.edges, AVATAR20.colors):
        cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), colour, width,
                 cv2.LINE_AA, shift)
    head = pts[AVATAR20.index("Head")]
    cv2.circle(img, tuple(int(v) for v in head), (width + 1) << shift, (255, 0, 170), -1,
               cv2.LINE_AA, shift)
    return img


def write_stick_dataset(path: Path, poses: int = 96, costumes: int = 2, size: int = 32,
                        seed: int = 0) -> Path:
    """A rendered-style dataset of ``poses`` x ``costumes`` rows (clip 0, frame = pose index)."""
    xy = random_poses(poses, size, seed)
    rows_xy = np.repeat(xy, costumes, axis=0)
    costume = np.tile(np.arange(costumes), poses).astype(np.int32)
    images = np.stack([draw(p, size, c) for p, c in zip(rows_xy, costume)])
    n = len(rows_xy)
    header = DatasetHeader("avatar20", size, config={"test": "stick figures"},
                           costume_names=[f"costume{i}" for i in range(costumes)], clip_names=["sticks"])
    with DatasetWriter(path, header, segment_rows=256) as w:
        w.append({"images": images, "pose/xy": rows_xy, "pose/visibility": np.full((n, 20), 2, np.uint8),
                  "meta/costume": costume, "meta/clip": np.zeros(n, np.int32),
                  "meta/frame": np.repeat(np.arange(poses), costumes).astype(np.float32)})
    return path


def stick_data_and_detector(base: Path, size: int = 32) -> tuple[Path, Path]:
    """A stick-figure dataset and a detector trained on it, made once per test session under
    ``base`` (tmp_path_factory.getbasetemp()) and shared by the test modules that need them."""
    from psgan.evaluation.posenet import PoseNetTrainConfig, save_posenet, train_posenet

    data = base / f"sticks{size}.h5"
    det = base / f"sticks{size}.posenet.pt"
    if not data.exists():
        write_stick_dataset(data, poses=96, costumes=2, size=size, seed=0)
    if not det.exists():
        with one_thread():
            model, cfg = train_posenet(data, PoseNetTrainConfig(resolution=size, steps=200, batch=32, width=16,
                                                                holdout=0.2, seed=0), progress=False)
        save_posenet(det, model, cfg)
    return data, det


@contextmanager
def one_thread():
    """Run torch on one thread: small convolutions gain nothing from more, and on a shared machine
    the extra threads only wait on each other (a 200-step run took 10x longer with two)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
