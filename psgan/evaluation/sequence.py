"""Pose consistency of a driven animation (``psgan eval CKPT --data D --sequence DIR|clip.bvh``).

The frames generated for a driving sequence (:mod:`psgan.generation.drive`: OpenPose video or BVH clip, normalised
to the training data) go through the evaluation's keypoint detector (:mod:`psgan.evaluation.posenet`) and are
scored against the normalised input poses they were asked for: PCK@0.05, PCK@0.1 and the mean error,
over the points the input has inside the frame. Beside it the floor: the same frames scored against
the sequence's poses half a sequence away (a model that ignored its input would score the same on both).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from psgan.checkpoint import load_generator
from psgan.data import present_mask
from psgan.errors import PsganError
from psgan.evaluation.evaluate import get_posenet
from psgan.evaluation.metrics.pck import pck
from psgan.evaluation.posenet import predict_keypoints
from psgan.generation.drive import driving_source
from psgan.generation.generate import generate_images, latents


def evaluate_sequence(ckpt: str | os.PathLike, data: str | os.PathLike | None, sequence: str | os.PathLike,
                      posenet: str | os.PathLike | None = None, *, rig: str | os.PathLike | None = None,
                      frames: int = 48, smooth: bool = False, fps: float = 30.0, seed: int = 0,
                      batch: int = 16, device: str = "cpu") -> dict:
    """Scores of the animation driven by ``sequence`` (see the module docstring) as a JSON-able dict."""

    G, cfg = load_generator(ckpt, device)
    data = Path(data or cfg.data)
    src = driving_source(sequence, data, rig=rig, frames=frames, smooth=smooth, fps=fps)
    xy = np.where(src.vis.numpy()[..., None] > 0, src.xy.numpy(), np.nan)
    src.check(G)
    t, s, r = len(xy), src.data.image_size, int(G.resolution)
    model, _, detector = get_posenet(data, posenet, r, device, progress=False)
    z = latents([seed], G.cfg.latent).repeat(t, 1)
    images = generate_images(G, src.xy, src.vis, s, z, batch)
    target = np.nan_to_num(xy) * (r / s)
    mask = present_mask(xy, src.vis.numpy(), s)
    if not mask.any():
        raise PsganError(f"{sequence}: no driving point falls inside the training frame")
    pred, conf = predict_keypoints(model, images, device=device)
    shifted = np.roll(np.arange(t), t // 2)
    generated = pck(pred, target, mask, r)
    generated["confidence"] = float(conf[mask].mean())
    floor = pck(pred, target[shifted], mask[shifted], r) if t > 1 else None
    return {"model": str(ckpt), "sequence": str(sequence), "data": str(data), "detector": str(detector),
            "frames": t, "resolution": r, "smoothed": smooth, "generated": generated, "floor": floor}


def format_sequence(res: dict) -> str:
    """A small table of :func:`evaluate_sequence`'s scores."""
    lines = [f"{res['sequence']}: {res['frames']} frames at {res['resolution']}x{res['resolution']}"
             f"{' (smoothed)' if res['smoothed'] else ''}, {res['generated']['keypoints']} keypoints scored"]
    for key in ("pck@0.05", "pck@0.1", "mean_error_px"):
        floor = res["floor"][key] if res["floor"] else float("nan")
        lines.append(f"  {key:<14} generated {res['generated'][key]:7.3f}   floor {floor:7.3f}")
    return "\n".join(lines)
