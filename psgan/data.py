"""Training data for PSGAN: real images of one pyramid level with their keypoints (dataset format v1).

* The level of the current resolution is read (``/images/<r>``), never the full-size images.
* A level small enough (``cache_mb``) is held in memory as one uint8 tensor; batches are then plain
  indexing in the training process. Larger levels are read by DataLoader workers, each opening the
  HDF5 file itself (after the fork), one chunk per image.
* The order is a deterministic function of (seed, position in the stream): epoch e is a permutation
  drawn from a generator seeded by (seed, e), and so is each row's mirror flag. Resuming at
  ``images_seen`` therefore continues exactly (no loader state in checkpoints). With several ranks,
  each global minibatch is cut into per-rank slices.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from datagen.format import DatasetReader, open_dataset
from psgan.nets.layers import downsample2x, upsample2x
from psgan.nets.pose_maps import mirror_keypoints

log = logging.getLogger(__name__)


def rank_batches(batch: int, world: int) -> list[int]:
    """The global minibatch split over ``world`` ranks so the parts add up to it exactly (the first
    ``batch % world`` ranks take one more)."""
    return [batch // world + (r < batch % world) for r in range(world)]



def present_mask(xy: np.ndarray, visibility: np.ndarray, image_size: float) -> np.ndarray:
    """(N, K) bool: visibility > 0, finite, and inside [0, image_size] in both axes."""
    xy = np.asarray(xy, dtype=np.float64)
    finite = np.isfinite(xy).all(-1)
    safe = np.nan_to_num(xy)
    inside = ((safe >= 0) & (safe <= image_size)).all(-1)
    return (np.asarray(visibility) > 0) & finite & inside



@dataclass
class Batch:
    images: torch.Tensor      # (B, r, r, 3) uint8
    xy: torch.Tensor          # (B, K, 2) float32, pixels of the S x S image (not yet mirrored)
    visibility: torch.Tensor  # (B, K) uint8
    mirror: torch.Tensor      # (B,) bool: mirror this row


class PoseData:
    """The keypoints, flip table and sizes of a dataset, in memory; images are read per resolution."""

    def __init__(self, path: str | os.PathLike) -> None:
        with open_dataset(path) as r:
            self.path = str(r.path)
            self.n = len(r)
            self.image_size = r.image_size
            self.resolutions = r.resolutions
            self.keypoint_set = r.keypoint_set
            self.xy = torch.from_numpy(np.ascontiguousarray(r.xy, dtype=np.float32))
            self.visibility = torch.from_numpy(np.ascontiguousarray(r.visibility, dtype=np.uint8))
            self.flip = torch.from_numpy(r.read("keypoints/flip").astype(np.int64))
        # The reader is closed here: no HDF5 handle may cross the DataLoader's fork.

    @property
    def num_keypoints(self) -> int:
        return self.xy.shape[1]

    def read_level(self, res: int, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, r, r, 3) uint8: the whole level ``res`` (or ``rows``, sorted ascending)."""
        with open_dataset(self.path) as r:
            ds = r.images(res)
            return ds[:] if rows is None else np.stack([ds[int(i)] for i in rows]) if len(rows) else \
                np.zeros((0, res, res, 3), np.uint8)


class IndexStream:
    """The endless stream of (row, mirror) pairs: epoch e is a permutation seeded by (seed, e)."""

    def __init__(self, n: int, seed: int, mirror: bool) -> None:
        self.n, self.seed, self.mirror = n, seed, mirror
        self._epoch = -1
        self._perm = self._flips = None

    def _load(self, epoch: int) -> None:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=g)
            flips = torch.rand(self.n, generator=g) < 0.5
            self._flips = flips if self.mirror else torch.zeros_like(flips)
            self._epoch = epoch

    def take(self, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Stream items [start, start + count): (rows (count,) long, mirror (count,) bool)."""
        rows, flips = [], []
        pos, end = start, start + count
        while pos < end:
            e, off = divmod(pos, self.n)
            self._load(e)
            k = min(end - pos, self.n - off)
            rows.append(self._perm[off:off + k])
            flips.append(self._flips[off:off + k])
            pos += k
        return torch.cat(rows), torch.cat(flips)


class _LevelRows(torch.utils.data.Dataset):
    """Reads a list of rows of one level; opens the file lazily in each process (after the fork)."""

    def __init__(self, path: str, res: int) -> None:
        self.path, self.res = path, res
        self._reader: DatasetReader | None = None
        self._pid = -1

    def __getitem__(self, rows: list[int]) -> torch.Tensor:
        if self._pid != os.getpid():
            self._reader, self._pid = open_dataset(self.path), os.getpid()
        ds = self._reader.images(self.res)
        order = np.argsort(rows)
        out = np.empty((len(rows), self.res, self.res, 3), np.uint8)
        for j in order:                       # ascending rows: sequential chunk reads
            out[j] = ds[int(rows[j])]
        return torch.from_numpy(out)

    def __len__(self) -> int:  # unused: a sampler of row lists drives it
        return 0


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def batches(data: PoseData, res: int, batch: int, start: int, steps: int, *, seed: int, mirror: bool,
            rank: int = 0, world: int = 1, cache: dict[int, torch.Tensor] | None = None,
            cache_mb: int = 1024, workers: int = 2) -> Iterator[Batch]:
    """``steps`` per-rank slices of global minibatches of ``batch`` rows at level ``res``, from stream
    position ``start``.

    Each step consumes ``batch`` stream items, split over the ranks so the slices add up to it exactly
    (:func:`rank_batches`). ``cache`` (a dict owned by the caller) keeps a
    loaded level between calls.
    """
    stream = IndexStream(data.n, seed, mirror)
    step_items = batch
    sizes = rank_batches(batch, world)
    lo = sum(sizes[:rank])
    hi = lo + sizes[rank]

    def plan(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows, flips = stream.take(start + i * step_items, step_items)
        return rows[lo:hi], flips[lo:hi]

    level_mb = data.n * res * res * 3 / 2**20
    if cache is not None and (res in cache or level_mb <= cache_mb):
        if res not in cache:
            cache.clear()
            log.info("loading level %dx%d into memory (%.0f MB)", res, res, level_mb)
            cache[res] = torch.from_numpy(data.read_level(res))
        images = cache[res]
        for i in range(steps):
            rows, flips = plan(i)
            yield Batch(images[rows], data.xy[rows], data.visibility[rows], flips)
        return

    plans = [plan(i) for i in range(steps)]
    loader = torch.utils.data.DataLoader(
        _LevelRows(data.path, res), batch_size=None, sampler=[p[0].tolist() for p in plans],
        num_workers=workers, worker_init_fn=_worker_init if workers else None,
        prefetch_factor=4 if workers else None, pin_memory=torch.cuda.is_available())
    for (rows, flips), images in zip(plans, loader):
        yield Batch(images, data.xy[rows], data.visibility[rows], flips)


def prepare_reals(b: Batch, data: PoseData, device: torch.device, alpha: float | torch.Tensor,
                  memory_format: torch.memory_format = torch.contiguous_format
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 batch -> (images (B, 3, r, r) in [-1, 1], mirrored xy, visibility) on ``device``.

    Mirrored rows are flipped left-right with their keypoints mirrored and left/right swapped. During a
    fade-in the real images are blended like Progressive GAN's: lerp(up(down(x)), x, alpha).
    """

    x = b.images.to(device, non_blocking=True).permute(0, 3, 1, 2).float().mul_(1 / 127.5).sub_(1.0)
    m = b.mirror.to(device)
    x = torch.where(m.view(-1, 1, 1, 1), x.flip(-1), x)
    xy, vis = mirror_keypoints(b.xy.to(device), b.visibility.to(device), data.flip.to(device),
                               data.image_size, m)
    if not (isinstance(alpha, float) and alpha >= 1.0):
        x = torch.lerp(upsample2x(downsample2x(x)), x, alpha)
    return x.contiguous(memory_format=memory_format), xy, vis
