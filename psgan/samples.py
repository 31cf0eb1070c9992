"""Pictures for people: image tensors to uint8 and sample grids, each sample beside its drawn pose
(the drawing itself is datagen.format.draw's, the same as `datagen preview`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datagen.format.draw import grid, resize_image

def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, r, r) float in about [-1, 1] -> (N, r, r, 3) uint8."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def pose_sample_grid(samples: np.ndarray, poses: list[np.ndarray]) -> np.ndarray:
    """Samples (L*P, r, r, 3), latent-major, as L rows of P (pose drawing, sample) pairs."""
    size = poses[0].shape[0]
    p = len(poses)
    tiles = [t for i, s in enumerate(samples) for t in (poses[i % p], resize_image(s, size))]
    return grid(tiles, cols=2 * p)


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an (h, w, 3) uint8 image atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    Image.fromarray(img).save(tmp)
    tmp.replace(path)
    return path
