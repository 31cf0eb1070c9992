"""Pictures for people: image tensors to uint8 and sample grids, each sample beside its drawn pose
(the drawing itself is datagen.format.draw's, the same as `datagen preview`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from datagen.format.draw import draw_skeleton, labelled_grid, resize_image
from psgan.nets.pose_maps import pose_pyramid


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, r, r) float in about [-1, 1] -> (N, r, r, 3) uint8."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def pose_sample_grid(samples: np.ndarray, poses: list[np.ndarray]) -> np.ndarray:
    """Samples (L*P, r, r, 3), latent-major, as L rows of P (pose drawing, sample) pairs, labelled:
    the latent left of each row, "pose k" / "sample" above each pair."""
    size = poses[0].shape[0]
    p = len(poses)
    tiles = [t for i, s in enumerate(samples) for t in (poses[i % p], resize_image(s, size))]
    return labelled_grid(tiles, 2 * p, [f"latent {i}" for i in range(len(samples) // p)],
                         [t for k in range(p) for t in (f"pose {k}", "sample")])


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an (h, w, 3) uint8 image atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    Image.fromarray(img).save(tmp)
    tmp.replace(path)
    return path


def fixed_sample_inputs(data, cfg) -> dict:
    """The fixed latents and poses of a run's sample grids (a function of the seed and the file):
    ``cfg.sample_latents`` latents x ``cfg.sample_poses`` rows spread over the file."""
    g = torch.Generator().manual_seed(cfg.seed + 2)
    z = torch.randn(cfg.sample_latents, cfg.model.latent, generator=g)
    rows = np.linspace(0, data.n - 1, min(cfg.sample_poses, data.n)).round().astype(int)
    rows = torch.as_tensor(rows)
    return {"z": z, "xy": data.xy[rows], "vis": data.visibility[rows]}


@torch.no_grad()
def sample_sheet(G: torch.nn.Module, fixed: dict, data, res: int, alpha: float, device: torch.device,
                 use_pose: bool, limbs: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """G at the fixed latents x fixed poses as a grid (latent-major), each sample beside its drawn pose."""
    L, P = len(fixed["z"]), len(fixed["xy"])
    z = fixed["z"].repeat_interleave(P, 0).to(device)
    xy, vis = fixed["xy"].repeat(L, 1, 1).to(device), fixed["vis"].repeat(L, 1).to(device)
    poses = pose_pyramid(xy, vis, data.image_size, res, limbs=limbs) if use_pose else None
    imgs = to_uint8(G(z, poses, res, alpha).float())
    size = max(64, res)
    drawn = [draw_skeleton(fixed["xy"][j].numpy(), fixed["vis"][j].numpy(), data.keypoint_set, size,
                           data.image_size) for j in range(P)]
    return pose_sample_grid(imgs, drawn)
