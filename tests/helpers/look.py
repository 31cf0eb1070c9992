"""How a render looks, in numbers (engine comparisons): the figure's mean colour, its share of
near-black pixels, and PSNR between two renders of the same rows."""
from __future__ import annotations

import numpy as np

# A figure pixel whose brightest channel is below this is "near black": an unlit surface or an outline.
NEAR_BLACK = 48


def figure_stats(images: np.ndarray, masks: np.ndarray) -> dict:
    """Images (N, S, S, 3) uint8 composited on white + masks (N, S, S) (> 0 on the figure) ->
    {"mean_rgb": [r, g, b] over the figure's pixels, "near_black": fraction of them below
    NEAR_BLACK in every channel, "pixels": their count}."""
    fig = np.asarray(images)[np.asarray(masks) > 0].astype(np.float64)          # (M, 3)
    if not len(fig):
        return {"mean_rgb": [float("nan")] * 3, "near_black": float("nan"), "pixels": 0}
    return {"mean_rgb": fig.mean(0).round(2).tolist(), "near_black": float((fig.max(1) < NEAR_BLACK).mean()),
            "pixels": int(len(fig))}


def psnr(images: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB over all pixels and channels (inf when equal)."""
    mse = np.mean((np.asarray(images, np.float64) - np.asarray(reference, np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")
