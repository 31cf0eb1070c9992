"""Benchmark: the corner dots of short runs against G's padding (docs/training.md, "G's padding").

Trains the same short run twice, G's 3x3 convolutions padded with zeros (the paper's) and by
replicating the border (the default), then generates one image per dataset row (its pose, latent seed
= row) and reports how far from white (255 - the darkest channel) the corner pixels, the rest of the
border and the whole image are, averaged over the images; the dataset's own corners are white.

Usage:  .venv/bin/python tests/bench/bench_corners.py DATA.h5 [--max-res 16] [--kimg-per-phase 0.6]
            [--images 40] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from psgan.checkpoint import load_generator
from psgan.config import configure
from psgan.data import PoseData
from psgan.generation.generate import generate_images, latents
from psgan.training.run import train


def border_stats(images: np.ndarray) -> dict:
    """(N, r, r, 3) uint8 -> mean distance from white of the 4 corner pixels, the other border pixels,
    and every pixel; the mean per corner (top-left, top-right, bottom-left, bottom-right)."""
    dev = 255.0 - images.min(-1)
    corners = dev[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    edges = np.concatenate([dev[:, 0, 1:-1], dev[:, -1, 1:-1], dev[:, 1:-1, 0], dev[:, 1:-1, -1]], 1)
    return {"corner_pixels": round(float(corners.mean()), 1), "per_corner": corners.mean(0).round(1).tolist(),
            "other_border_pixels": round(float(edges.mean()), 1), "all_pixels": round(float(dev.mean()), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--max-res", type=int, default=16)
    ap.add_argument("--kimg-per-phase", type=float, default=0.6)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench_corners_"))
    data = PoseData(args.data)
    n = min(args.images, data.n)
    real = data.read_level(args.max_res, np.arange(n))
    result = {"data": str(args.data), "max_res": args.max_res, "kimg_per_phase": args.kimg_per_phase,
              "images": n, "seed": args.seed, "real": border_stats(real)}
    for pad in ("zeros", "replicate"):
        # The demo's recipe (scripts/demo.sh) at this size.
        cfg = configure(args.data, tmp / pad, max_res=args.max_res, kimg_per_phase=args.kimg_per_phase,
                        batch={4: 8}, lr={4: 0.002}, latent=64, fmap_base=512, fmap_max=32, ema_rampup=0.02,
                        threads=1, seed=args.seed, sample_kimg=100.0, ckpt_kimg=100.0, tick_kimg=100.0)
        cfg.model.g_padding = pad
        t = time.perf_counter()
        ckpt = train(cfg, progress=False)
        G, _ = load_generator(ckpt)
        imgs = generate_images(G, data.xy[:n], data.visibility[:n], data.image_size, latents(list(range(n)), G.cfg.latent))
        result[pad] = {**border_stats(imgs), "train_s": round(time.perf_counter() - t, 1)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
