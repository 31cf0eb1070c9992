"""Resampling stored images and masks to another power-of-two size (``datagen combine --size``).

Images: a smaller size is a level of the pyramid itself (the 2x2 box average, level by level), a larger
one a bilinear upsampling; either way the levels below are the pyramid of the new full size
(:func:`datagen.format.pyramid.build_pyramid`). Masks stay 0/255: box-averaged and thresholded at half
when shrinking, nearest-neighbour when growing.
"""
from __future__ import annotations

import cv2
import numpy as np

from datagen.format.pyramid import build_pyramid, downsample2x


def resample_images(images: np.ndarray, size: int) -> dict[int, np.ndarray]:
    """(N, S, S, 3) uint8 -> the pyramid {size: ..., size/2: ..., 4: ...} of the images at ``size``."""
    cur = images
    while cur.shape[1] > size:
        cur = downsample2x(cur)
    if cur.shape[1] < size:
        cur = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_LINEAR) for im in cur]) \
            if len(cur) else np.zeros((0, size, size, 3), np.uint8)
    return build_pyramid(cur)


def resample_masks(masks: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S) uint8 0/255 -> (N, size, size) uint8 0/255."""
    cur = masks
    if cur.shape[1] > size:
        while cur.shape[1] > size:
            cur = downsample2x(cur[..., None])[..., 0]
        return np.where(cur >= 128, 255, 0).astype(np.uint8)
    if cur.shape[1] < size:
        f = size // cur.shape[1]
        cur = np.repeat(np.repeat(cur, f, axis=1), f, axis=2)
    return cur
