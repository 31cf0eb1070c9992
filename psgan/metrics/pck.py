"""PCK (percentage of correct keypoints) and mean keypoint error, the pose-consistency scores of
docs/evaluation.md.

A predicted keypoint is correct when it lies within ``t * image_size`` pixels of the target. Only the
keypoints present in the target count: visibility > 0 (COCO's rule, which also scores occluded but
labelled points) with finite coordinates inside the frame.
"""
from __future__ import annotations

import numpy as np

THRESHOLDS = (0.05, 0.1)


def present_mask(xy: np.ndarray, visibility: np.ndarray, image_size: float) -> np.ndarray:
    """(N, K) bool: visibility > 0, finite, and inside [0, image_size] in both axes."""
    xy = np.asarray(xy, dtype=np.float64)
    finite = np.isfinite(xy).all(-1)
    safe = np.nan_to_num(xy)
    inside = ((safe >= 0) & (safe <= image_size)).all(-1)
    return (np.asarray(visibility) > 0) & finite & inside


def pck(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, image_size: float,
        thresholds: tuple[float, ...] = THRESHOLDS) -> dict[str, float]:
    """Score predicted keypoints against targets.

    pred, target: (N, K, 2) pixels of an ``image_size`` square image; mask: (N, K) bool, the target
    keypoints that count (see :func:`present_mask`). Returns ``{"pck@0.05": .., "pck@0.1": ..,
    "mean_error_px": .., "keypoints": count}``; PCK in [0, 1], the error in pixels of ``image_size``.
    A non-finite prediction counts as wrong (infinite error is left out of the mean, counted in PCK).
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    assert pred.shape == target.shape and pred.shape[:2] == mask.shape, (pred.shape, target.shape, mask.shape)
    err = np.linalg.norm(pred - np.nan_to_num(target), axis=-1)[mask]        # (M,)
    out: dict[str, float] = {}
    n = int(err.size)
    for t in thresholds:
        out[f"pck@{t:g}"] = float(np.mean(err <= t * image_size)) if n else float("nan")
    finite = err[np.isfinite(err)]
    out["mean_error_px"] = float(finite.mean()) if finite.size else float("nan")
    out["keypoints"] = n
    return out
