"""Structural conditions of PSGAN (Hamada et al. 2018, sec. 3): M-channel pose maps at every scale.

At full resolution S each keypoint's single pixel is 1 and every other pixel -1; a keypoint that is
absent (visibility 0, or outside the frame) gives an all -1 channel. The map at a lower resolution r
is the 2x2 max-pooling of the map above it, which equals placing the keypoint at pixel
``floor(xy * r / S)`` directly (floor(floor(x) / 2) == floor(x / 2) for x >= 0); we compute each
scale directly, and tests/psgan/nets/test_pose_maps.py proves the equality.

Keypoints are in the pixels of the dataset's S x S image (docs/format.md): pixel i covers [i, i+1).
"""
from __future__ import annotations

import torch


def _present(xy: torch.Tensor, visibility: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, K) bool: visibility > 0 (visible or occluded, COCO's 2 and 1) and finite inside the frame."""
    return (visibility > 0) & torch.isfinite(xy).all(-1) & (xy >= 0).all(-1) & (xy <= image_size).all(-1)


def pose_maps(xy: torch.Tensor, visibility: torch.Tensor, image_size: int, resolution: int,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, K, 2) pixel keypoints + (N, K) visibility -> (N, K, r, r) maps in {-1, 1} at ``resolution``.

    A keypoint counts as present when its visibility is > 0 (visible or occluded, COCO's 2 and 1) and
    it lies inside the frame, 0 <= x, y <= S (a point on the far edge goes to the last pixel).
    """
    n, k, _ = xy.shape
    r = resolution
    xy = xy.float()
    present = _present(xy, visibility, image_size)
    pix = torch.floor(torch.nan_to_num(xy) * (r / image_size)).long().clamp_(0, r - 1)  # (N, K, 2) as (x, y)
    flat = pix[..., 1] * r + pix[..., 0] + torch.arange(n * k, device=xy.device).view(n, k) * (r * r)
    # Absent keypoints write into one spare element past the end: no boolean indexing, no GPU sync.
    size = n * k * r * r
    maps = torch.full((size + 1,), -1.0, dtype=dtype, device=xy.device)
    maps[torch.where(present, flat, size).flatten()] = 1.0
    return maps[:size].view(n, k, r, r)


def limb_maps(xy: torch.Tensor, visibility: torch.Tensor, image_size: int, resolution: int,
              limbs: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, K, 2) pixel keypoints + (N, K) visibility -> (N, L, r, r) maps in {-1, 1}, one per limb of
    ``limbs`` (L, 2) long, on ``xy``'s device: the pixels the segment between the limb's two keypoints passes through are 1.

    A limb is drawn when both its keypoints are present (as in :func:`pose_maps`). A point keypoint says
    where a joint is; at the low scales where G decides the figure's layout, an elbow and a wrist share
    a pixel with their shoulder and the arm's direction is lost. The segment keeps it at every scale.
    """
    n, _, _ = xy.shape
    r, nl = resolution, int(limbs.shape[0])
    xy = xy.float()
    present = _present(xy, visibility, image_size)
    a, b = limbs[:, 0], limbs[:, 1]
    ok = present[:, a] & present[:, b]                                           # (N, L)
    p0 = torch.nan_to_num(xy[:, a]) * (r / image_size)                           # (N, L, 2)
    p1 = torch.nan_to_num(xy[:, b]) * (r / image_size)
    # Steps under 0.71 px (the longest segment, the diagonal, is r * sqrt(2) long): no pixel skipped.
    t = torch.linspace(0.0, 1.0, 2 * r + 1, device=xy.device).view(1, 1, -1, 1)
    pix = torch.floor(p0[:, :, None] + (p1 - p0)[:, :, None] * t).long().clamp_(0, r - 1)   # (N, L, T, 2)
    base = torch.arange(n * nl, device=xy.device).view(n, nl, 1) * (r * r)
    flat = pix[..., 1] * r + pix[..., 0] + base
    size = n * nl * r * r
    maps = torch.full((size + 1,), -1.0, dtype=dtype, device=xy.device)
    maps[torch.where(ok[..., None], flat, size).flatten()] = 1.0
    return maps[:size].view(n, nl, r, r)


def pose_pyramid(xy: torch.Tensor, visibility: torch.Tensor, image_size: int, resolution: int,
                 dtype: torch.dtype = torch.float32, limbs: tuple[tuple[int, int], ...] = ()
                 ) -> dict[int, torch.Tensor]:
    """{4: (N, C, 4, 4), 8: ..., resolution: (N, C, r, r)}: the maps of every scale up to ``resolution``;
    C = K keypoint maps, then one map per limb of ``limbs`` (pairs of keypoint indices; none by default,
    the paper's conditions)."""
    edges = torch.as_tensor(limbs, dtype=torch.long, device=xy.device).view(-1, 2)   # one copy for all scales
    out = {}
    r = 4
    while r <= resolution:
        out[r] = pose_maps(xy, visibility, image_size, r, dtype)
        if len(edges):
            out[r] = torch.cat([out[r], limb_maps(xy, visibility, image_size, r, edges, dtype)], 1)
        r *= 2
    return out


def pyramid_from_map(full: torch.Tensor) -> dict[int, torch.Tensor]:
    """{r: map} for r = 4 .. full's size, by repeated 2x2 max-pooling of a (N, K, R, R) map."""
    out = {full.shape[-1]: full}
    cur = full
    while cur.shape[-1] > 4:
        cur = torch.nn.functional.max_pool2d(cur, 2)
        out[cur.shape[-1]] = cur
    return out


def mirror_keypoints(xy: torch.Tensor, visibility: torch.Tensor, flip: torch.Tensor, image_size: int,
                     which: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror the rows where ``which`` (N,) bool is set: x -> S - x, then swap left/right partners.

    ``flip`` (K,) long is the file's /keypoints/flip table. Returns new (xy, visibility).
    """
    mxy = xy[:, flip].clone()
    mxy[..., 0] = image_size - mxy[..., 0]
    mvis = visibility[:, flip]
    w = which.view(-1, 1)
    return torch.where(w.unsqueeze(-1), mxy, xy), torch.where(w, mvis, visibility)
