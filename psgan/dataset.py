"""A torch ``Dataset`` over a format-v1 file (docs/format.md), for your own training loops.

    ds = PoseDataset("data.h5", resolution=256, pose_maps=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, num_workers=2)

Each item is a dict: ``image`` (3, r, r) float32 in [0, 1] from the stored pyramid level r (no
resizing), ``xy`` (K, 2) float32 keypoints in the pixels of that r x r image (format v1's convention:
pixel i covers [i, i+1); NaN-free, 0 where absent), ``visibility`` (K,) uint8 (0 absent, 1 occluded,
2 visible), optionally ``pose`` (K, r, r) float32 PSGAN pose maps in {-1, 1}, and ``meta``: the row and
its clip, costume and frame (rendered data) or source file (imports). Needs torch and h5py only (no
Blender). The HDF5 file is opened lazily in each process, so DataLoader workers each read their own.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from datagen.format import DatasetReader, open_dataset, parse_rows
from datagen.format.meta import meta_columns
from psgan.nets.pose_maps import pose_maps


class PoseDataset(torch.utils.data.Dataset):
    """Rows ``rows`` (the ``--rows`` grammar; default all) of ``path`` at pyramid level ``resolution``
    (default: the full size). ``pose_maps`` adds the (K, r, r) maps the PSGAN generator is conditioned on."""

    def __init__(self, path: str | os.PathLike, resolution: int | None = None, pose_maps: bool = False,
                 rows: str | None = None) -> None:
        with open_dataset(path) as r:
            self.path = str(r.path)
            self.image_size = r.image_size
            self.resolution = r.image_size if resolution is None else int(resolution)
            r.images(self.resolution)  # checks that the level exists
            self.keypoint_set = r.keypoint_set
            self.rows = parse_rows(rows, len(r))
            scale = self.resolution / self.image_size
            vis = r.visibility[self.rows]
            xy = np.nan_to_num(r.xy[self.rows].astype(np.float32)) * scale
            self.xy = torch.from_numpy(np.where((vis > 0)[..., None], xy, 0).astype(np.float32))
            self.visibility = torch.from_numpy(vis.astype(np.uint8))
            self._meta = meta_columns(r, self.rows)
        self.pose_maps = pose_maps
        self._reader: DatasetReader | None = None
        self._pid = -1

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} is out of range for {len(self)} rows")
        i = int(i) % len(self)
        if self._pid != os.getpid():  # first use in this process (e.g. a DataLoader worker after the fork)
            self._reader, self._pid = open_dataset(self.path), os.getpid()
        rgb = self._reader.images(self.resolution)[int(self.rows[i])]
        item = {"image": torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0),
                "xy": self.xy[i], "visibility": self.visibility[i],
                "meta": {"row": int(self.rows[i]), **{k: v[i] for k, v in self._meta.items()}}}
        if self.pose_maps:

            r = self.resolution
            item["pose"] = pose_maps(self.xy[i][None], self.visibility[i][None], r, r)[0]
        return item

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_reader"], state["_pid"] = None, -1
        return state
