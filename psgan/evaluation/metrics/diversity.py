"""Diversity at a fixed pose: the mean pairwise distance between samples of different latents.

The distance is the root-mean-square pixel difference of two RGB images with pixels scaled to [0, 1]
(so 0 = identical, 1 = black vs white everywhere). It is feature-free on purpose: it needs no
downloaded network and means the same at every resolution. A generator that ignores its latent
(mode collapse) scores 0; real images of one pose in different costumes give the reference value.
"""
from __future__ import annotations

import numpy as np


def pairwise_rms(images: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 (or float in [0, 1]) -> (n*(n-1)/2,) RMS distances of all unordered pairs."""
    x = np.asarray(images)
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    n = x.shape[0]
    flat = x.reshape(n, -1)
    sq = (flat ** 2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0) / flat.shape[1]
    iu = np.triu_indices(n, k=1)
    return np.sqrt(d2[iu])


def mean_pairwise_distance(groups: list[np.ndarray]) -> float:
    """Mean over groups (one group = the samples of one pose) of the mean pairwise RMS distance.

    Groups with fewer than two images are skipped; NaN when none has two.
    """
    means = [pairwise_rms(g).mean() for g in groups if len(g) >= 2]
    return float(np.mean(means)) if means else float("nan")
