"""From transparent renders to a dataset row: TGA decoding, resolving jittered anti-aliasing
samples, compositing onto white, the mask (the figure's coverage of each pixel).

Pure numpy (and cv2 for the colour-order swap and the filter). Blender writes uncompressed 8-bit RGBA TGA quickly
(no PNG deflate); the colour is display-referred (Standard view transform) with straight alpha.
Only the anti-aliased rim needs arithmetic: opaque pixels are copied and empty ones set to white.
"""
from __future__ import annotations

import cv2
import numpy as np

MASK_THRESHOLD = 128  # coverage >= this: the binary silhouette at 50% coverage (docs/format.md)


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
    """(H, W, 4) straight-alpha RGBA -> (RGB on white (H, W, 3) uint8, mask (H, W) uint8 coverage).

    Where alpha is 0 the result is exactly (255, 255, 255); partial alpha is blended with rounding,
    ``(c * a + 255 * (255 - a) + 127) // 255``. The mask is the alpha itself: how much of each pixel
    the figure covers, from the same samples as the colour, so every pixel that is not white lies
    inside it (a binary mask at 50% coverage drops limbs thinner than a pixel at small sizes).
    ``mask >= MASK_THRESHOLD`` is the binary silhouette.
    """
    alpha = np.ascontiguousarray(rgba[..., 3])
    empty = cv2.compare(alpha, 0, cv2.CMP_EQ)  # 255 where alpha == 0
    out = cv2.bitwise_or(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.cvtColor(empty, cv2.COLOR_GRAY2RGB))
    rim = np.flatnonzero(cv2.inRange(alpha, 1, 254).view(bool))  # the anti-aliased edge only
    flat = out.reshape(-1, 3)
    a = alpha.reshape(-1)[rim].astype(np.uint32)[:, None]
    flat[rim] = ((flat[rim].astype(np.uint32) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
    return out, alpha


# -- jittered supersampling (docs/rendering.md#anti-aliasing) -------------------------------------
#
# The default Workbench path renders N anti-aliasing-off images, each with the camera shifted by a
# sub-pixel offset, and resolves them here the way Workbench's own TAA resolves its samples: every
# sample is splatted into its neighbour pixels with a radial Blackman-Harris weight, in linear
# premultiplied colour, and the sum is divided by the total weight. Only the pixels near the
# character are touched; where every sample is empty the result stays exactly transparent.

def sample_offsets(n: int) -> np.ndarray:
    """(n, 2) sub-pixel sample offsets (x right, y down, pixels, in [-0.5, 0.5)) for N samples.

    1: the pixel centre (no anti-aliasing). A square N = m*m: the regular m x m grid. Any other N:
    an N-rooks lattice (every row and every column of an N x N sub-grid holds one sample; sample i
    sits in column i and row (i * k) mod N with k the integer nearest 0.618 N coprime to N), which
    spreads few samples evenly in both directions.
    """
    if n < 1:
        raise ValueError(f"{n} samples: need at least 1")
    if n == 1:
        return np.zeros((1, 2))
    m = round(n ** 0.5)
    if m * m == n:
        g = (np.arange(m) + 0.5) / m - 0.5
        return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    k = min((k for k in range(1, n) if np.gcd(k, n) == 1), key=lambda k: (abs(k - 0.618 * n), k))
    i = np.arange(n)
    return np.stack([(i + 0.5) / n - 0.5, ((i * k) % n + 0.5) / n - 0.5], -1)


def blackman_harris(r: np.ndarray, width: float) -> np.ndarray:
    """Radial Blackman-Harris window of total width ``width`` pixels (0 beyond width / 2)."""
    x = 2 * np.pi * np.clip(r / width + 0.5, 0.0, 1.0)
    w = 0.35875 - 0.48829 * np.cos(x) + 0.14128 * np.cos(2 * x) - 0.01168 * np.cos(3 * x)
    return np.where(r > width / 2, 0.0, w)


def splat_kernels(offsets: np.ndarray, width: float, offset_scale: float = 1.5) -> np.ndarray:
    """(n, 2R+1, 2R+1) weights: kernel[k][R + dy, R + dx] is what the sample of pixel p + (dx, dy)
    taken at offset k adds to pixel p: BH(|(dx, dy) + offset_scale * offset|).

    ``offset_scale=1`` places each sample where it was taken; Workbench's own TAA uses 2 (it measures
    the jitter in half pixels inside the weight). 1.5 is closest to Workbench's 32-sample images for
    every N measured (2, 3, 4, 5 samples; docs/benchmarks.md#rendering-issue-11).
    """
    reach = width / 2 + offset_scale * float(np.abs(offsets).max(initial=0.0))
    R = max(1, int(np.floor(reach)))
    d = np.arange(-R, R + 1)
    dx, dy = np.meshgrid(d, d)
    return np.stack([blackman_harris(np.hypot(dx + offset_scale * ox, dy + offset_scale * oy), width)
                     for ox, oy in offsets]).astype(np.float32)


_SRGB_TO_LINEAR = np.array([c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                            for c in np.arange(256) / 255.0], np.float32)
_ENCODE_LEVELS = 1 << 16
_LINEAR_TO_SRGB8 = np.round(255 * np.where(
    (lin := np.arange(_ENCODE_LEVELS) / (_ENCODE_LEVELS - 1)) <= 0.0031308, lin * 12.92,
    1.055 * lin ** (1 / 2.4) - 0.055)).astype(np.uint8)


def resolve_samples(samples: list[np.ndarray], offsets: np.ndarray, width: float,
                    offset_scale: float = 1.5) -> np.ndarray:
    """N jittered (S, S, 4) uint8 straight-alpha sRGB renders -> one anti-aliased (S, S, 4) uint8.

    One sample is returned as it is. Otherwise the weighted sum is taken in linear premultiplied
    colour (as the renderer accumulates it) over the bounding box of every non-empty sample pixel
    grown by the filter's reach; everything outside stays (0, 0, 0, 0).
    """
    if len(samples) != len(offsets):
        raise ValueError(f"{len(samples)} samples for {len(offsets)} offsets")
    if len(samples) == 1:
        return samples[0]
    kernels = splat_kernels(offsets, width, offset_scale)
    R = kernels.shape[1] // 2
    h, w = samples[0].shape[:2]
    covered = np.zeros((h, w), bool)
    for s in samples:
        covered |= s[..., 3] > 0
    out = np.zeros_like(samples[0])
    if not covered.any():
        return out
    rows, cols = np.flatnonzero(covered.any(1)), np.flatnonzero(covered.any(0))
    y0, y1 = max(0, rows[0] - R), min(h, rows[-1] + R + 1)
    x0, x1 = max(0, cols[0] - R), min(w, cols[-1] + R + 1)
    acc = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
    for s, kernel in zip(samples, kernels):
        crop = s[y0:y1, x0:x1]
        a = crop[..., 3].astype(np.float32) * np.float32(1 / 255)
        p = np.empty(acc.shape, np.float32)
        p[..., :3] = _SRGB_TO_LINEAR[crop[..., :3]] * a[..., None]
        p[..., 3] = a
        acc += cv2.filter2D(p, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    acc *= np.float32(1 / kernels.sum())
    alpha = acc[..., 3]
    straight = acc[..., :3] / np.maximum(alpha, np.float32(1e-8))[..., None]
    idx = np.clip(straight * (_ENCODE_LEVELS - 1) + 0.5, 0, _ENCODE_LEVELS - 1).astype(np.int32)
    region = out[y0:y1, x0:x1]
    region[..., :3] = _LINEAR_TO_SRGB8[idx]
    region[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    region[region[..., 3] == 0] = 0
    return out
