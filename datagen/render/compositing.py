"""From a transparent render to a dataset row: TGA decoding, compositing onto white, the mask.

Pure numpy (and cv2 for the colour-order swap). Blender writes uncompressed 8-bit RGBA TGA quickly
(no PNG deflate); the colour is display-referred (Standard view transform) with straight alpha.
Only the anti-aliased rim needs arithmetic: opaque pixels are copied and empty ones set to white.
"""
from __future__ import annotations

import cv2
import numpy as np

MASK_THRESHOLD = 128  # alpha >= this is "on the character"


def decode_tga(data: bytes) -> np.ndarray:
    """Uncompressed true-colour TGA bytes -> (H, W, 4) uint8 RGBA, top row first."""
    id_len, cmap_type, img_type = data[0], data[1], data[2]
    if cmap_type != 0 or img_type != 2:
        raise ValueError(f"not an uncompressed true-colour TGA (type {img_type})")
    w = int.from_bytes(data[12:14], "little")
    h = int.from_bytes(data[14:16], "little")
    bpp, desc = data[16], data[17]
    if bpp not in (24, 32):
        raise ValueError(f"TGA with {bpp} bits per pixel")
    px = np.frombuffer(data, np.uint8, count=w * h * (bpp // 8), offset=18 + id_len).reshape(h, w, bpp // 8)
    rgba = cv2.cvtColor(px, cv2.COLOR_BGRA2RGBA if bpp == 32 else cv2.COLOR_BGR2RGBA)
    if not desc & 0x20:  # origin at the bottom
        cv2.flip(rgba, 0, dst=rgba)
    return rgba


def composite_on_white(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 4) straight-alpha RGBA -> (RGB on white (H, W, 3) uint8, mask (H, W) uint8 0/255).

    Where alpha is 0 the result is exactly (255, 255, 255); partial alpha is blended with rounding,
    ``(c * a + 255 * (255 - a) + 127) // 255``.
    """
    alpha = np.ascontiguousarray(rgba[..., 3])
    empty = cv2.compare(alpha, 0, cv2.CMP_EQ)  # 255 where alpha == 0
    out = cv2.bitwise_or(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.cvtColor(empty, cv2.COLOR_GRAY2RGB))
    rim = np.flatnonzero(cv2.inRange(alpha, 1, 254).view(bool))  # the anti-aliased edge only
    flat = out.reshape(-1, 3)
    a = alpha.reshape(-1)[rim].astype(np.uint32)[:, None]
    flat[rim] = ((flat[rim].astype(np.uint32) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
    mask = cv2.threshold(alpha, MASK_THRESHOLD - 1, 255, cv2.THRESH_BINARY)[1]
    return out, mask
