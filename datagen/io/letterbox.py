"""Letterboxing: fit an image of any size into an S x S square by scaling and white padding.

The keypoints go through exactly the transform the pixels go through. Coordinates are in the pixel
convention of dataset format v1 (docs/format.md): pixel i covers [i, i+1), so its centre is i + 0.5.
In that convention a resize from W to W' pixels maps every coordinate u to u * W'/W (OpenCV's
``resize`` samples destination pixel centre j + 0.5 at source position (j + 0.5) * W/W'), and padding
by p pixels adds p. See docs/importers.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 255  # white, like the backgrounds of DeepFashion's shop photos


@dataclass(frozen=True)
class Letterbox:
    """The transform from a ``width`` x ``height`` image into a ``size`` x ``size`` square.

    The image is scaled so that its long side is ``size`` (to ``new_width`` x ``new_height``,
    rounded to whole pixels; the two axes use their own exact factors) and placed at
    (``pad_x``, ``pad_y``) on a white square.
    """

    width: int
    height: int
    size: int
    new_width: int
    new_height: int
    pad_x: int
    pad_y: int

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): the exact per-axis factors the resize applies."""
        return self.new_width / self.width, self.new_height / self.height

    @property
    def is_identity(self) -> bool:
        return self.width == self.height == self.size

    def apply_points(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) source-image coordinates -> (..., 2) float64 coordinates in the S x S square."""
        sx, sy = self.scale
        xy = np.asarray(xy, dtype=np.float64)
        return xy * np.array([sx, sy]) + np.array([self.pad_x, self.pad_y], dtype=np.float64)

    def invert_points(self, xy: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`apply_points`."""
        sx, sy = self.scale
        xy = np.asarray(xy, dtype=np.float64)
        return (xy - np.array([self.pad_x, self.pad_y], dtype=np.float64)) / np.array([sx, sy])

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """(height, width, C) uint8 -> (size, size, C) uint8; the input itself when nothing changes."""
        assert image.shape[:2] == (self.height, self.width), (image.shape, self)
        if self.is_identity:
            return image
        if (self.new_width, self.new_height) != (self.width, self.height):
            # Area averaging when shrinking (no aliasing), bilinear when enlarging; both sample in the
            # pixel-centre convention, so the points transform as apply_points says.
            shrink = self.new_width < self.width
            image = cv2.resize(image, (self.new_width, self.new_height),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            if image.ndim == 2:
                image = image[:, :, None]
        out = np.full((self.size, self.size, image.shape[2]), PAD_VALUE, dtype=np.uint8)
        out[self.pad_y:self.pad_y + self.new_height, self.pad_x:self.pad_x + self.new_width] = image
        return out


def letterbox_for(width: int, height: int, size: int) -> Letterbox:
    """The letterbox of a ``width`` x ``height`` image into ``size`` x ``size`` (long side = size)."""
    if width < 1 or height < 1 or size < 1:
        raise ValueError(f"bad letterbox {width}x{height} -> {size}")
    long_side = max(width, height)
    new_w = width if long_side == size else max(1, round(width * size / long_side))
    new_h = height if long_side == size else max(1, round(height * size / long_side))
    return Letterbox(width, height, size, new_w, new_h, (size - new_w) // 2, (size - new_h) // 2)


def letterbox_image(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """(H, W, C) uint8 -> ((size, size, C) uint8, the transform applied)."""
    box = letterbox_for(image.shape[1], image.shape[0], size)
    return box.apply_image(image), box
