"""The metrics `psgan eval --metrics` picks by name (a registry, as stylegan3's ``metric_main``): each is one
function of the shared evaluation context that returns its part of a model's results.

    pck        pose consistency: the detector's PCK on generated images against a floor and a ceiling,
               per joint group, and the verdict (docs/evaluation.md)
    fid        image quality: FID and KID against the real images (Inception features)
    diversity  mean pairwise distance between latents at a fixed pose, beside the real one

Adding a metric is one decorated function; the command line's choices read this registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from psgan.evaluation.metrics.diversity import mean_pairwise_distance
from psgan.evaluation.metrics.fid import fid_from_features, kid_from_features
from psgan.evaluation.metrics.pck import group_masks, pck, pck_groups, pck_person, verdict
from psgan.evaluation.posenet import PoseNet, predict_keypoints


@dataclass
class MetricContext:
    """What every metric of one model's evaluation may use (built by psgan.evaluation.evaluate)."""

    source: Any              # the ImageSource evaluated: (xy, visibility, seeds) -> (N, r, r, 3) uint8
    data: Any                # the shared dataset pieces (targets, floor poses, real levels, seeds)
    posenet: PoseNet
    cfg: Any                 # EvalConfig
    features: Callable[[np.ndarray], np.ndarray] | None   # FID features, or None (skipped)
    real_features: dict      # real FID features per resolution, shared across models
    step: Callable[[str], None]   # progress: the name of the step starting


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    fn: Callable[[MetricContext], dict]


METRICS: dict[str, Metric] = {}


def register(name: str, description: str):
    def wrap(fn: Callable[[MetricContext], dict]) -> Callable[[MetricContext], dict]:
        METRICS[name] = Metric(name, description, fn)
        return fn
    return wrap


def parse_metrics(text: str) -> list[str]:
    """'pck,fid' -> ['pck', 'fid'] in registry order; ValueError naming an unknown name."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise ValueError(f"{text!r}: unknown metric {unknown[0]!r}" if unknown else f"{text!r}: no metric named")
    return [m for m in METRICS if m in names]


def _pose_scores(ctx: MetricContext, images: np.ndarray, xy: np.ndarray, mask: np.ndarray, r: int) -> dict:
    pred, conf = predict_keypoints(ctx.posenet, images, device=ctx.cfg.device)
    out = pck(pred, xy, mask, r)
    out.update(pck_person(pred, xy, mask))
    out["groups"] = pck_groups(pred, xy, mask, group_masks(ctx.data.landmarks))
    out["confidence"] = float(conf[mask].mean()) if mask.any() else float("nan")
    return out


@register("pck", "pose consistency against a floor and a ceiling, per joint group, with a verdict")
def pose_consistency(ctx: MetricContext) -> dict:
    data, r = ctx.data, ctx.source.resolution
    tx = data.targets
    target_xy = np.nan_to_num(data.xy[tx]) * (r / data.s)
    mask = data.mask[tx]
    ctx.step("pose: generated")
    gen = ctx.source(data.xy[tx], data.vis[tx], data.seeds)
    pose = {"generated": _pose_scores(ctx, gen, target_xy, mask, r)}
    ctx.step("pose: ceiling")
    real = data.level(r)["targets"]
    pose["ceiling"] = _pose_scores(ctx, real, target_xy, mask, r)
    ctx.step("pose: floor")
    floor = ctx.source(data.xy[data.others], data.vis[data.others], data.seeds)
    pose["floor"] = _pose_scores(ctx, floor, target_xy, mask, r)
    pose["poses"] = int(len(tx))
    pose["floor_rule"] = "the held-out pose farthest from each target (person-normalised)"
    return {"pose": pose, "verdict": verdict(pose), "samples": data.samples(gen, floor, real)}


@register("fid", "FID and KID of generated against real images (Inception features)")
def quality(ctx: MetricContext) -> dict:
    data, cfg, r = ctx.data, ctx.cfg, ctx.source.resolution
    if ctx.features is None or data.fid_pose_rows is None:
        return {"quality": {"fid": None, "kid": None, "images": 0}}
    ctx.step("quality: features")
    if r not in ctx.real_features:
        ctx.real_features[r] = ctx.features(data.level(r)["fid"])
    rows = data.fid_pose_rows
    seeds = 7_000_003 + cfg.seed * 1_000_003 + np.arange(len(rows))
    fake = ctx.features(ctx.source(data.xy[rows], data.vis[rows], seeds))
    real = ctx.real_features[r]
    return {"quality": {"fid": fid_from_features(fake, real), "kid": kid_from_features(fake, real, seed=cfg.seed),
                        "images": int(len(rows)), "real_images": int(len(real))}}


@register("diversity", "mean pairwise distance between latents at a fixed pose, beside the real one")
def diversity(ctx: MetricContext) -> dict:
    data, cfg = ctx.data, ctx.cfg
    ctx.step("diversity")
    groups = []
    n = cfg.diversity_latents
    for j, row in enumerate(data.div_rows):
        seeds = 9_000_001 + cfg.seed * 1_000_003 + j * n + np.arange(n)
        groups.append(ctx.source(np.repeat(data.xy[row:row + 1], n, 0), np.repeat(data.vis[row:row + 1], n, 0),
                                 seeds))
    return {"diversity": {"generated": mean_pairwise_distance(groups),
                          "real_same_pose": mean_pairwise_distance(data.level(ctx.source.resolution)["same_pose"]),
                          "poses": int(len(groups)), "latents": n}}
