"""Driving a trained model with motion from outside its dataset (docs/animation.md).

``psgan generate CKPT --poses DIR`` reads a folder of OpenPose JSON (one video: COCO-18 or BODY_25, any
JSON version), converts the tracked person to the model's keypoint set by landmark, normalises every
frame to the training data (Everybody Dance Now's global pose normalisation, statistics from the
model's training file) and optionally smooths it in time. ``--poses clip.bvh --rig R`` takes the same
road through a pose-only render (``datagen poses``, run as a subprocess because it needs Blender).

The result is a :class:`SequenceSource`, which :mod:`psgan.generation.generate` animates like the rows of a dataset.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from datagen.format import get_keypoint_set, open_dataset
from datagen.format.draw import draw_skeleton
from datagen.format.openpose_json import OpenPoseError
from psgan.data import present_mask
from psgan.errors import PsganError
from psgan.generation.pose_sequence import normalise_sequence, one_euro, pose_stats, read_openpose_folder

VISIBLE = 2  # a driving point is drawn into the pose map as a visible keypoint


@dataclass
class TrainingPoses:
    """What the normalisation needs of a model's training file."""

    path: str
    keypoint_set: str
    image_size: int
    stats: object  # psgan.generation.pose_sequence.PoseStats

    @classmethod
    def read(cls, path: str | os.PathLike) -> "TrainingPoses":
        p = Path(path)
        if not p.is_file():
            raise PsganError(f"{p}: the model's training file is missing; give it with --data")
        with open_dataset(p) as r:
            xy = np.asarray(r.xy, dtype=np.float64)
            vis = np.asarray(r.visibility)
            s = r.image_size
            kps = r.keypoint_set.name
        stats = pose_stats(xy, present_mask(xy, vis, s), kps)
        return cls(str(p), kps, s, stats)


class SequenceSource:
    """Poses of a driving sequence in the model's keypoint set and image frame, with the attributes
    :func:`psgan.generation.generate.animate` reads of a dataset's rows (``rows``, ``xy``, ``vis``, ``data``)."""

    @dataclass
    class Info:
        path: str
        image_size: int
        keypoint_set: str
        num_keypoints: int

    def __init__(self, xy: np.ndarray, present: np.ndarray, training: TrainingPoses, origin: str) -> None:
        self.rows = list(range(len(xy)))
        self.xy = torch.as_tensor(np.nan_to_num(xy), dtype=torch.float32)
        self.vis = torch.as_tensor(np.where(present, VISIBLE, 0), dtype=torch.uint8)
        self.data = self.Info(origin, training.image_size, training.keypoint_set, int(xy.shape[1]))

    def check(self, G) -> None:
        if G.cfg.use_pose and G.cfg.num_keypoints != self.data.num_keypoints:
            raise PsganError(f"{self.data.path}: the training file has {self.data.num_keypoints} keypoints, "
                             f"the model {G.cfg.num_keypoints}")

    def drawing(self, j: int, size: int) -> np.ndarray:
        return draw_skeleton(self.xy[j].numpy(), self.vis[j].numpy(), get_keypoint_set(self.data.keypoint_set), size,
                             self.data.image_size)

    def label(self, j: int) -> str:
        return f"frame {j}"


def drive_from_openpose(folder: str | os.PathLike, training: TrainingPoses, smooth: bool = False,
                        fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """A folder of OpenPose JSON -> (xy (T, K, 2) in the training image's pixels, NaN where missing;
    present (T, K) bool), in the training file's keypoint set."""
    try:
        seq = read_openpose_folder(folder, training.keypoint_set)
        xy = normalise_sequence(seq.xy, seq.present, training.keypoint_set, training.stats)
    except OpenPoseError as e:
        raise PsganError(f"{folder}: {e}" if str(folder) not in str(e) else str(e)) from None
    present = seq.present
    if smooth:
        xy = one_euro(xy, present, fps)
    return xy, present


def drive_from_bvh(clip: str | os.PathLike, rig: str | os.PathLike | None, training: TrainingPoses,
                   frames: int, smooth: bool = False, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """A BVH clip retargeted onto ``rig`` and projected by a pose-only render (``datagen poses``), then
    normalised like OpenPose input."""
    if importlib.util.find_spec("bpy") is None:
        raise PsganError(f"{clip}: driving from BVH renders poses with Blender, which this install lacks: "
                         f"pip install 'psgan-toolkit[render]'")
    with tempfile.TemporaryDirectory(prefix="psgan-bvh-") as tmp:
        out = Path(tmp) / "poses.h5"
        cmd = [sys.executable, "-m", "datagen.cli", "poses", "--motion", str(clip), "--keypoints",
               training.keypoint_set, "--frames", str(frames), "--size", str(training.image_size), "-o", str(out)]
        if rig is not None:
            cmd += ["--rig", str(rig)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["datagen poses failed"])[-1]
            raise PsganError(f"{clip}: {last.removeprefix('Error: ')}")
        with open_dataset(out) as reader:
            xy = np.asarray(reader.xy, dtype=np.float64)
            present = np.asarray(reader.visibility) > 0
    try:
        xy = normalise_sequence(xy, present, training.keypoint_set, training.stats)
    except OpenPoseError as e:
        raise PsganError(f"{clip}: {e}") from None
    if smooth:
        xy = one_euro(xy, present, fps)
    return xy, present


def is_driving_input(poses: str | os.PathLike) -> bool:
    """A folder (OpenPose JSON) or a .bvh clip, rather than a dataset file."""
    p = Path(poses)
    return p.is_dir() or p.suffix.lower() == ".bvh"


def driving_source(poses: str | os.PathLike, training_file: str | os.PathLike, *, rig: str | os.PathLike | None = None,
                   frames: int = 48, smooth: bool = False, fps: float = 30.0) -> SequenceSource:
    """The poses of an OpenPose folder or a BVH clip, ready to animate a model trained on ``training_file``."""
    training = TrainingPoses.read(training_file)
    if Path(poses).is_dir():
        xy, present = drive_from_openpose(poses, training, smooth=smooth, fps=fps)
    elif Path(poses).suffix.lower() == ".bvh":
        xy, present = drive_from_bvh(poses, rig, training, frames, smooth=smooth, fps=fps)
    else:
        raise PsganError(f"{poses}: driving poses are a folder of OpenPose JSON or a .bvh clip")
    return SequenceSource(xy, present, training, str(poses))
