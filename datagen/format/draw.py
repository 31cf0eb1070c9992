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


def text_band(text: str, width: int, height: int | None = None) -> np.ndarray:
    """(height, width, 3) uint8: ``text`` in black on white, cut to fit (``~`` marks a cut); the height
    defaults to what the font needs at a scale that grows slowly with the width."""
    scale = max(0.3, min(0.5, width / 400))
    h = height or int(round(22 * scale / 0.5))
    band = np.full((h, width, 3), 255, np.uint8)
    while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 4:
        text = text[:-2] + "~" if len(text) > 1 else ""
    base = (h + cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][1]) // 2 if height else h - max(3, h // 4)
    cv2.putText(band, text, (2, base), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def labelled_grid(tiles: list[np.ndarray], cols: int, row_labels: list[str], col_labels: list[str],
                  label_width: int = 64, pad: int = 2) -> np.ndarray:
    """:func:`grid` with a label left of every row and above every column (black on white)."""
    body = grid(tiles, cols, pad)
    h, w = tiles[0].shape[:2]
    head_h = max(12, int(round(22 * max(0.3, min(0.5, w / 400)) / 0.5)))
    head = np.full((head_h, body.shape[1], 3), 255, np.uint8)
    for c, text in enumerate(col_labels[:cols]):
        x = pad + c * (w + pad)
        head[:, x:x + w] = text_band(text, w, head_h)
    left = np.full((head_h + body.shape[0], label_width, 3), 255, np.uint8)
    for r, text in enumerate(row_labels):
        y = head_h + pad + r * (h + pad)
        band = text_band(text, label_width, min(h, head_h))
        top = y + (h - band.shape[0]) // 2
        left[top:top + band.shape[0]] = band
    return np.concatenate([left, np.concatenate([head, body], 0)], 1)
