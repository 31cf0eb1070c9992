"""Evaluation of a PSGAN checkpoint against a dataset (definitions in docs/evaluation.md).

* Pose consistency: images generated for held-out target poses -> keypoint detector
  (:mod:`psgan.evaluation.posenet`) -> PCK against the targets, relative to the image (PCK@0.05, @0.1) and to the
  person (``pck_person@0.1``, ``@0.2``: the target's keypoint box, as PCK@bbox), per joint group (head,
  torso, arms, legs) and the mean pixel error; beside the same detector on the real held-out images
  (the ceiling) and on images generated for the held-out poses farthest from each target, scored
  against the target (the floor). A ``verdict`` says whether the model follows the pose.
* Image quality: FID and KID between generated and real images of the same resolution
  (:mod:`psgan.evaluation.metrics.fid`; needs the optional Inception weights).
* Diversity: mean pairwise RMS pixel distance between samples of different latents at a fixed pose
  (:mod:`psgan.evaluation.metrics.diversity`), beside real images of one pose in different costumes.

Everything random (rows, latents, subsets) derives from :attr:`EvalConfig.seed`, so two checkpoints
evaluated with one config see the same poses, latents and real images.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch
from tqdm import tqdm

from datagen.format import open_dataset
from psgan.checkpoint import load_generator
from psgan.data import present_mask
from psgan.errors import PsganError
from psgan.evaluation.metrics.fid import default_feature_extractor
from psgan.evaluation.metrics.pck import normalised_poses, pose_distance
from psgan.evaluation.metrics.registry import METRICS, MetricContext
from psgan.evaluation.posenet import (PoseNet, PoseNetConfig, PoseNetTrainConfig, dataset_fingerprint, load_posenet,
                                      pose_groups, save_posenet, split_by_pose, steps_for_rows, train_posenet)
from psgan.evaluation.report import model_label
from psgan.generation.generate import generate_images, latents
from psgan.nets.device import resolve_device

log = logging.getLogger(__name__)

FeatureFn = Callable[[np.ndarray], np.ndarray]  # (N, H, W, 3) uint8 -> (N, D) features


# Below this many real rows FID/KID are skipped (with a warning): docs/evaluation.md.
MIN_FID_IMAGES = 100


class EvaluationError(PsganError):
    """An evaluation that cannot run as asked (one line naming the file or option)."""


@dataclass
class EvalConfig:
    """Sample counts and seed of an evaluation (the CLI's options)."""

    poses: int = 500              # held-out target poses scored (at most all held-out rows)
    fid_images: int = 500         # generated and real images each for FID/KID (0: skip)
    diversity_poses: int = 16     # fixed poses for diversity
    diversity_latents: int = 8    # latents per fixed pose
    seed: int = 0
    batch: int = 16
    device: str = "cpu"
    metrics: tuple[str, ...] = ("pck", "fid", "diversity")   # names in psgan.evaluation.metrics.registry


class ImageSource(Protocol):
    """What is evaluated: images for keypoints and latent seeds."""

    name: str
    resolution: int
    use_pose: bool

    def __call__(self, xy: np.ndarray, visibility: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """(N, K, 2) pixels of the dataset's S x S image, (N, K) visibility, (N,) latent seeds
        -> (N, r, r, 3) uint8 images at :attr:`resolution`."""


class CheckpointSource:
    """A checkpoint's EMA generator as an :class:`ImageSource`."""

    def __init__(self, path: str | os.PathLike, image_size: int, device: torch.device, batch: int = 16) -> None:

        self.G, self.config = load_generator(path, device)
        self.name = str(path)
        self.resolution = int(self.G.resolution)
        self.use_pose = bool(self.G.cfg.use_pose)
        self.image_size = image_size
        self.batch = batch

    def __call__(self, xy: np.ndarray, visibility: np.ndarray, seeds: np.ndarray) -> np.ndarray:

        z = latents([int(s) for s in seeds], self.G.cfg.latent)
        with torch.no_grad():
            return generate_images(self.G, torch.as_tensor(np.nan_to_num(xy), dtype=torch.float32),
                                   torch.as_tensor(visibility), self.image_size, z, self.batch)


# -- the detector ----------------------------------------------------------------------------------

def default_posenet_path(data: str | os.PathLike, resolution: int) -> Path:
    """Where ``psgan eval`` keeps the detector it trains when none is given: beside the data."""
    data = Path(data)
    return data.with_name(f"{data.stem}.posenet-{resolution}.pt")


def get_posenet(data: str | os.PathLike, posenet: str | os.PathLike | None, resolution: int,
                device: str = "cpu", progress: bool = True,
                train_cfg: PoseNetTrainConfig | None = None) -> tuple[PoseNet, PoseNetConfig, Path]:
    """The detector of ``posenet``; or, when None, the one cached beside the data for this data and
    resolution; or a new one trained with the default settings and cached there."""
    if posenet is not None:
        model, cfg = load_posenet(posenet, device)
        return model, cfg, Path(posenet)
    path = default_posenet_path(data, resolution)
    with open_dataset(data) as reader:
        fp = dataset_fingerprint(reader)
        groups, _ = pose_groups(reader)
    if path.exists():
        model, cfg = load_posenet(path, device)
        if cfg.training.get("fingerprint") == fp and cfg.resolution == resolution:
            log.info("using the detector %s", path)
            return model, cfg, path
        log.warning("%s was trained on other data; training a new one", path)
    if train_cfg is None:
        tcfg = PoseNetTrainConfig(resolution=resolution, device=device)
        train_rows, _ = split_by_pose(groups, tcfg.holdout, tcfg.seed)
        tcfg.steps = steps_for_rows(tcfg.steps, len(train_rows), tcfg.batch)
    else:
        tcfg = train_cfg
    log.warning("no --posenet given: training a keypoint detector on %s at %dx%d (%d steps; "
                "`psgan posenet train` makes one ahead of time)", data, resolution, resolution, tcfg.steps)
    model, cfg = train_posenet(data, tcfg, progress=progress)
    try:
        save_posenet(path, model, cfg)
        log.info("saved the detector to %s for later evaluations", path)
    except OSError as e:
        log.warning("could not keep the detector at %s (%s)", path, e.strerror)
    return model, cfg, path


def heldout_rows(reader, pcfg: PoseNetConfig) -> np.ndarray:
    """The rows the detector never saw: its own held-out rows when it was trained on this data, else
    this data's split by pose with the detector's fraction and seed."""
    t = pcfg.training
    if t.get("fingerprint") == dataset_fingerprint(reader) and "heldout_rows" in t:
        return np.asarray(t["heldout_rows"], dtype=np.int64)
    log.warning("the detector was trained on other data: scoring on this data's own held-out split")
    groups, _ = pose_groups(reader)
    return split_by_pose(groups, float(t.get("holdout", 0.1)), int(t.get("seed", 0)))[1]


# -- one model -------------------------------------------------------------------------------------

class _Data:
    """The dataset pieces every evaluated model shares (read once for --compare)."""

    def __init__(self, path: str | os.PathLike, pcfg: PoseNetConfig, cfg: EvalConfig) -> None:
        self.path = Path(path)
        reader = open_dataset(path)
        self.reader = reader
        self.s = reader.image_size
        self.xy = reader.xy.astype(np.float32)
        self.vis = reader.visibility
        self.mask = present_mask(self.xy, self.vis, self.s)
        self.groups, _ = pose_groups(reader)
        rng = np.random.default_rng(cfg.seed)
        held = heldout_rows(reader, pcfg)
        if len(held) == 0:
            raise EvaluationError(f"{path}: no held-out rows to evaluate on")
        self.targets = np.sort(rng.choice(held, min(cfg.poses, len(held)), replace=False))
        # Floor: for each target, the held-out pose farthest from it (person-normalised): a model that
        # ignores the pose scores there, however alike the data's poses are.
        self.others = farthest_poses(self.xy, self.mask, self.targets, held, self.groups)
        self.landmarks = tuple(reader.keypoint_set.landmarks)
        self.seeds = cfg.seed * 1_000_003 + np.arange(len(self.targets))
        n_fid = cfg.fid_images
        self.fid_real_rows = np.sort(rng.choice(reader.n, min(n_fid, reader.n), replace=False)) if n_fid else None
        self.fid_pose_rows = rng.integers(0, reader.n, n_fid) if n_fid else None
        # Diversity: target rows of distinct poses.
        _, first = np.unique(self.groups[self.targets], return_index=True)
        self.div_rows = self.targets[rng.permutation(np.sort(first))[:cfg.diversity_poses]]
        self._levels: dict[int, dict] = {}

    def level(self, r: int) -> dict:
        """Real images at resolution r (targets, the FID set, same-pose groups), read once."""
        if r not in self._levels:
            if r not in self.reader.resolutions:
                raise EvaluationError(f"{self.path}: has no {r}x{r} images (levels {self.reader.resolutions}); "
                                      "evaluate on data of at least the model's resolution")
            imgs = self.reader.images(r)
            lv = {"targets": imgs[self.targets]}
            if self.fid_real_rows is not None:
                lv["fid"] = imgs[self.fid_real_rows]
            lv["same_pose"] = [imgs[np.sort(rows)] for rows in self._same_pose_groups()]
            self._levels[r] = lv
        return self._levels[r]

    def samples(self, gen: np.ndarray, floor: np.ndarray, real: np.ndarray, n: int = 8) -> dict:
        """A few targets for the sample sheet, distinct poses first."""
        _, first = np.unique(self.groups[self.targets], return_index=True)
        pick = np.concatenate([np.sort(first), np.setdiff1d(np.arange(len(self.targets)), first)])[:n]
        tx, ox = self.targets[pick], self.others[pick]
        return {"generated": gen[pick], "floor": floor[pick], "real": real[pick],
                "target_xy": self.xy[tx], "target_vis": self.vis[tx], "floor_xy": self.xy[ox],
                "floor_vis": self.vis[ox], "image_size": self.s, "keypoint_set": self.reader.keypoint_set}

    def _same_pose_groups(self, limit: int = 16, per: int = 8) -> list[np.ndarray]:
        """Rows of poses that appear more than once (e.g. in several costumes): real diversity."""
        ids, counts = np.unique(self.groups, return_counts=True)
        multi = ids[counts >= 2][:limit]
        return [np.flatnonzero(self.groups == g)[:per] for g in multi]


def farthest_poses(xy: np.ndarray, mask: np.ndarray, targets: np.ndarray, pool: np.ndarray,
                   groups: np.ndarray) -> np.ndarray:
    """For each target row, the row of ``pool`` (another pose) whose person-normalised pose is farthest
    from it: the floor's poses."""
    a = normalised_poses(xy[targets], mask[targets])
    b = normalised_poses(xy[pool], mask[pool])
    d = pose_distance(a, b)                                          # (T, P)
    d[groups[targets][:, None] == groups[pool][None, :]] = -1.0     # never the same pose
    d[~np.isfinite(d)] = -1.0
    return pool[np.argmax(d, 1)]


def evaluate_source(source: ImageSource, data: _Data, posenet: PoseNet, cfg: EvalConfig,
                    features: FeatureFn | None = None, real_features: dict | None = None,
                    progress: bool = True) -> dict:
    """The metrics ``cfg.metrics`` of one :class:`ImageSource` (psgan.evaluation.metrics.registry).
    ``real_features`` caches the real FID features per resolution across models."""
    t0 = time.perf_counter()
    step = _Steps(progress, source.name, steps=sum(METRIC_STEPS[m] for m in cfg.metrics))
    ctx = MetricContext(source, data, posenet, cfg, features, {} if real_features is None else real_features, step)
    out: dict = {"model": source.name, "resolution": source.resolution, "use_pose": source.use_pose,
                 "metrics": list(cfg.metrics)}
    for name in cfg.metrics:
        out.update(METRICS[name].fn(ctx))
    step.close()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


# How many progress steps each metric reports (its ``ctx.step`` calls).
METRIC_STEPS = {"pck": 3, "fid": 1, "diversity": 1}


class _Steps:
    """A one-line progress display over the named steps of an evaluation."""

    def __init__(self, enabled: bool, name: str, steps: int = 5) -> None:
        self.bar = tqdm(total=steps, desc=f"eval {model_label(name)}", disable=None if enabled else True,
                        leave=False)   # None: no bar when not a terminal
        self.started = False

    def __call__(self, label: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        self.bar.update(1)
        self.bar.close()


# -- the whole evaluation ------------------------------------------------------------------------

def evaluate(sources: list[ImageSource], data: str | os.PathLike, posenet: PoseNet, posenet_cfg: PoseNetConfig,
             cfg: EvalConfig, features: FeatureFn | None = None, features_note: str = "",
             posenet_path: str | os.PathLike | None = None, progress: bool = True) -> dict:
    """Evaluate each source on the same poses, latents and real images; the results as a JSON-able
    dict (``samples`` holds a few images per model as arrays, for :func:`psgan.evaluation.report.write_sample_sheet`)."""
    shared = _Data(data, posenet_cfg, cfg)
    real_features: dict = {}
    models = []
    for src in sources:
        if src.resolution != posenet_cfg.resolution:
            log.warning("the detector works at %dx%d, %s makes %dx%d images: they are resized for it",
                        posenet_cfg.resolution, posenet_cfg.resolution, src.name, src.resolution, src.resolution)
        models.append(evaluate_source(src, shared, posenet, cfg, features, real_features, progress))
    shared.reader.close()
    return {
        "format": "psgan-eval", "version": 1, "data": str(data),
        "posenet": {"path": str(posenet_path) if posenet_path else None, "resolution": posenet_cfg.resolution,
                    "trained_on": posenet_cfg.training.get("dataset"),
                    "split_rule": posenet_cfg.training.get("split_rule")},
        "fid_features": None if features is None else getattr(features, "name", type(features).__name__),
        "fid_note": features_note, "settings": asdict(cfg), "models": models,
    }


def evaluate_checkpoints(ckpts: list[str | os.PathLike], data: str | os.PathLike,
                         posenet: str | os.PathLike | None, cfg: EvalConfig, progress: bool = True) -> dict:
    """``psgan eval``: load the checkpoints and the detector (training one if needed), then evaluate."""

    dev = resolve_device(cfg.device)
    cfg.device = str(dev)
    with open_dataset(data) as reader:
        s, rows = reader.image_size, reader.n
        k, kset = reader.keypoint_set.size, reader.keypoint_set.name
    fid_note = None
    if "fid" in cfg.metrics and cfg.fid_images and rows < MIN_FID_IMAGES:
        # Inception features are 2048-dimensional: from a few dozen images their covariance, and so FID,
        # says nothing, and computing them costs a minute on a CPU.
        fid_note = f"skipped: {data} has {rows} rows, fewer than the {MIN_FID_IMAGES} real images FID needs"
        log.warning("%s: %d rows: FID/KID skipped (they need %d real images at least)", data, rows, MIN_FID_IMAGES)
        cfg.fid_images = 0
    elif "fid" in cfg.metrics and cfg.fid_images > rows:
        log.warning("%s: %d rows: FID/KID compare %d generated and %d real images (not --fid-images %d); "
                    "with so few images they are noisy", data, rows, rows, rows, cfg.fid_images)
        cfg.fid_images = rows
    sources = [CheckpointSource(c, s, dev, cfg.batch) for c in ckpts]
    for src in sources:
        if src.use_pose and src.G.cfg.num_keypoints != k:
            raise EvaluationError(f"{src.name}: the model takes {src.G.cfg.num_keypoints} keypoints, {data} "
                                  f"has {k} ({kset})")
    # The detector needs 16 px at least; smaller images are upsampled for it.
    model, pcfg, ppath = get_posenet(data, posenet, max(16, sources[0].resolution), cfg.device, progress)
    if pcfg.num_keypoints != k:
        raise EvaluationError(f"{ppath}: the detector finds {pcfg.num_keypoints} keypoints, {data} has {k} ({kset})")
    features, note = (None, fid_note or ("skipped (--fid-images 0)" if "fid" in cfg.metrics
                                         else "not asked (--metrics)"))
    if cfg.fid_images and "fid" in cfg.metrics:
        features, note = default_feature_extractor(dev)
    return evaluate(sources, data, model, pcfg, cfg, features, note, ppath, progress)
