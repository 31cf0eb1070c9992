"""One export in progress: the dataset's rows at the chosen pyramid level, read in blocks so that memory
stays flat however many rows the file has, with the pose in the target keypoint set and the provenance
every writer records."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from datagen import __version__
from datagen.format import DatasetReader
from datagen.format.keypoint_sets import KeypointSet, conversion_index, convert_keypoints
from datagen.format.meta import meta_columns

BLOCK_ROWS = 64  # rows read and written at once: a few MB at 1024 px, whatever the file's length


@dataclass
class ExportOptions:
    """What the user chose beyond the format (the command line's options)."""
    size: int | None = None  # pyramid level of the images; None: full size
    caption: str | None = None  # controlnet: the caption template (None: datagen.io.captions.DEFAULT_CAPTION)
    skeleton: str | None = None  # controlnet: coco18 or body25 (None: the format's choice for the data)
    val_fraction: float = 0.1  # yolo: share of the poses held out for validation
    overwrite: bool = False


@dataclass
class Block:
    rows: np.ndarray  # (B,) row numbers
    images: np.ndarray  # (B, S, S, 3) uint8 RGB at the export size
    masks: np.ndarray | None  # (B, S, S) uint8 at the export size, or None


@dataclass
class ExportJob:
    """A dataset opened for export to ``kps`` at ``size`` pixels."""
    file: Path
    reader: DatasetReader
    kps: KeypointSet
    size: int
    options: ExportOptions
    xy: np.ndarray = field(init=False)  # (N, K, 2) format-v1 pixels of the export size, NaN where missing
    vis: np.ndarray = field(init=False)  # (N, K) uint8
    conf: np.ndarray = field(init=False)  # (N, K) float32

    def __post_init__(self) -> None:
        self.xy, self.vis, self.conf = export_pose(self.reader, self.kps.name)
        self.xy = (self.xy * (self.size / self.reader.image_size)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.reader)

    def meta(self) -> dict[str, list]:
        """The rows' clip, costume and frame (rendered data) or source (imports), by name."""
        return meta_columns(self.reader)

    def blocks(self, with_masks: bool = False) -> Iterator[Block]:
        images = self.reader.images(self.size)
        key = f"masks/{self.reader.image_size}"  # stored at full size only
        masks = self.reader.file[key] if with_masks and self.reader.has(key) else None
        for start in range(0, len(self), BLOCK_ROWS):
            stop = min(len(self), start + BLOCK_ROWS)
            yield Block(np.arange(start, stop), images[start:stop],
                        None if masks is None else self._scaled(masks[start:stop]))

    def _scaled(self, masks: np.ndarray) -> np.ndarray:
        """Full-size masks at the export size: the share of each pixel the person covers (area filter)."""
        if masks.shape[1] == self.size:
            return masks
        return np.stack([cv2.resize(m, (self.size, self.size), interpolation=cv2.INTER_AREA) for m in masks])

    def provenance(self) -> dict:
        """Where the export came from: file name, size and the hash of its first MB, rows, sets, sizes,
        the render or import config, and the exporting version."""
        with open(self.file, "rb") as f:
            head = hashlib.sha256(f.read(1 << 20)).hexdigest()
        return {"source_file": self.file.name, "source_bytes": self.file.stat().st_size,
                "source_sha256_first_mb": head, "rows": len(self), "keypoint_set": self.reader.keypoint_set.name,
                "exported_keypoint_set": self.kps.name, "image_size": self.reader.image_size,
                "exported_size": self.size, "config": self.reader.config, "exporter": f"datagen {__version__}"}


def export_pose(reader: DatasetReader, keypoint_set: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dataset's pose in ``keypoint_set``: xy (N, K, 2) float32 format-v1 pixels, visibility (N, K)
    uint8 and confidence (N, K) float32 (the stored /pose/confidence of OpenPose imports, else 1 where
    visible), all three 0 / NaN for parts that are missing."""
    src = reader.keypoint_set
    xy, vis = convert_keypoints(reader.xy, reader.visibility, src, keypoint_set)
    if reader.has("pose/confidence"):
        stored = reader.read("pose/confidence").astype(np.float32)
        idx = conversion_index(src, keypoint_set)
        conf = np.where(idx >= 0, stored[:, np.maximum(idx, 0)], 0.0)
    else:
        conf = np.ones(vis.shape, np.float32)
    conf = np.where(vis > 0, conf, 0).astype(np.float32)
    return xy, vis, conf


def png_bytes(rgb: np.ndarray) -> bytes:
    """An (H, W, 3) RGB or (H, W) grey image as PNG (lossless, fast compression)."""
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, data = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    return data.tobytes()


_POOL: ThreadPoolExecutor | None = None


def on_all_cpus(fn: Callable, items: Sequence) -> list:
    """``[fn(x) for x in items]`` on a thread per CPU: PNG encoding and cv2 drawing release the GIL, and
    they are most of an export's time."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="export")
    return list(_POOL.map(fn, items))
