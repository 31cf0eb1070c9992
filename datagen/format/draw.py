"""Drawing keypoints as a coloured skeleton (the image/pose pairs of the PSGAN paper's Fig. 3)."""
from __future__ import annotations

import cv2
import numpy as np

from datagen.format.keypoint_sets import KeypointSet


def draw_skeleton(xy: np.ndarray, visibility: np.ndarray, kps: KeypointSet, size: int,
                  source_size: int | None = None, canvas: np.ndarray | None = None) -> np.ndarray:
    """Draw one pose. xy (K, 2) in pixels of a ``source_size`` image, visibility (K,).

    Returns (size, size, 3) uint8 RGB: the skeleton on white (or on ``canvas``). Occluded keypoints
    (visibility 1) are drawn hollow; absent ones (0) are not drawn.
    """
    scale = size / (source_size or size)
    img = np.full((size, size, 3), 255, np.uint8) if canvas is None else canvas.copy()
    shift = 4  # cv2 draws sub-pixel positions in fixed point with this many fractional bits
    # The format's pixel i covers [i, i+1); cv2's pixel centres are at integers.
    pts = np.round((np.asarray(xy, np.float64) * scale - 0.5) * (1 << shift))
    thick = max(1, round(size / 96))
    for (a, b), color in zip(kps.edges, kps.colors):
        if visibility[a] > 0 and visibility[b] > 0 and np.isfinite(pts[[a, b]]).all():
            cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), color, thick,
                     cv2.LINE_AA, shift)
    for j in range(kps.size):
        if visibility[j] > 0 and np.isfinite(pts[j]).all():
            color = kps.colors[next((e for e, ed in enumerate(kps.edges) if j in ed), 0)]
            cv2.circle(img, tuple(int(v) for v in pts[j]), (thick + 1) << shift, color,
                       -1 if visibility[j] == 2 else max(1, thick // 2), cv2.LINE_AA, shift)
    return img


def resize_image(img: np.ndarray, size: int) -> np.ndarray:
    """Resize an (r, r, 3) uint8 image to (size, size, 3): area filter down, nearest up."""
    if img.shape[0] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_NEAREST
    return cv2.resize(img, (size, size), interpolation=interp)


def grid(tiles: list[np.ndarray], cols: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Lay equal-sized (h, w, 3) tiles out in a grid with ``pad`` pixels between them."""
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // cols)
    out = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad, 3), fill, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = t
    return out
