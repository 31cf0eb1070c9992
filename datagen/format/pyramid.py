"""The image pyramid of dataset format v1: each level is the 2x2 box average of the level above.

Progressive GAN's dataset tool builds its levels the same way; we round each level in integer
arithmetic, ``(a + b + c + d + 2) // 4``, so that every stored level is exactly reproducible from the
stored level above it (docs/format.md).
"""
from __future__ import annotations

import cv2
import numpy as np


def pyramid_sizes(size: int) -> list[int]:
    """[size, size/2, ..., 4] for a power of two ``size`` >= 4."""
    assert size >= 4 and size & (size - 1) == 0, size
    out = []
    while size >= 4:
        out.append(size)
        size //= 2
    return out


def downsample2x_reference(images: np.ndarray) -> np.ndarray:
    """(N, r, r, C) uint8 -> (N, r/2, r/2, C) uint8: the definition, in plain numpy."""
    x = images.astype(np.uint16)
    s = x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def downsample2x(images: np.ndarray) -> np.ndarray:
    """(N, r, r, C) uint8 -> (N, r/2, r/2, C) uint8, rounded 2x2 box average.

    OpenCV's INTER_AREA at exactly half size computes the same ``(a + b + c + d + 2) >> 2`` (tested
    against :func:`downsample2x_reference`) about 25x faster, which matters at 1024x1024 per frame.
    """
    n, r = images.shape[:2]
    out = np.empty((n, r // 2, r // 2) + images.shape[3:], np.uint8)
    for i in range(n):
        out[i] = cv2.resize(images[i], (r // 2, r // 2), interpolation=cv2.INTER_AREA).reshape(out.shape[1:])
    return out


def build_pyramid(images: np.ndarray) -> dict[int, np.ndarray]:
    """(N, S, S, C) uint8 -> {S: images, S/2: ..., ..., 4: ...}."""
    levels = {images.shape[1]: images}
    cur = images
    for r in pyramid_sizes(images.shape[1])[1:]:
        cur = downsample2x(cur)
        levels[r] = cur
    return levels
