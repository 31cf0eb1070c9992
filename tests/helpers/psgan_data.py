"""A tiny format-v1 dataset for the psgan tests: coloured discs on grey whose centres are keypoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.format import DatasetHeader, DatasetWriter

def tiny_train(max_res: int = 8) -> list[str]:
    """`psgan train` options of a run that takes a second: 4x4 -> max_res, 16 images a phase, tiny networks."""
    return ["--max-res", str(max_res), "--kimg-per-phase", "0.016", "--batch", "4", "--latent", "8", "--fmap-base",
            "32", "--fmap-max", "8", "--workers", "0", "--tick-kimg", "0.016"]


TINY_TRAIN = tiny_train()


def write_tiny_dataset(path: Path, n: int = 24, size: int = 16, seed: int = 0) -> Path:
    """n rows of size x size images, keypoint set avatar20 (K = 20), some keypoints absent."""
    rng = np.random.default_rng(seed)
    k = 20
    xy = rng.uniform(1, size - 1, (n, k, 2)).astype(np.float32)
    vis = rng.choice([0, 1, 2], (n, k), p=[0.1, 0.2, 0.7]).astype(np.uint8)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    images = np.full((n, size, size, 3), 128, np.uint8)
    for i in range(n):
        for j in range(0, k, 4):
            if vis[i, j]:
                d = (xx - xy[i, j, 0]) ** 2 + (yy - xy[i, j, 1]) ** 2 < (size / 8) ** 2
                images[i][d] = (40 * j % 256, 255 - 10 * j, 60)
    with DatasetWriter(path, DatasetHeader("avatar20", size)) as w:
        w.append({"images": images, "pose/xy": xy, "pose/visibility": vis})
    return path


def train_tiny_run(folder: Path, n: int = 12) -> tuple[Path, Path, str]:
    """``psgan train`` of :data:`TINY_TRAIN` on a tiny dataset in ``folder``: (data, latest.pt, output)."""
    from click.testing import CliRunner

    from psgan.cli import main

    data = write_tiny_dataset(folder / "tiny.h5", n=n, size=16)
    r = CliRunner().invoke(main, ["train", str(data), "-o", str(folder / "run"), *TINY_TRAIN])
    assert r.exit_code == 0, r.output
    return data, folder / "run" / "checkpoints" / "latest.pt", r.output
