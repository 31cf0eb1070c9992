"""Exporters: a format-v1 dataset -> COCO keypoints JSON (17-point ``coco`` or 18-point ``coco18``) or
OpenPose 1.3 JSON files, with its images.

Each format holds some keypoint sets (:data:`datagen.io.formats.EXPORT_FORMATS`): a dataset in one of
them is written as it is, any other is converted to the format's first set by landmark
(:func:`datagen.format.convert_keypoints`; e.g. an ``avatar20`` dataset has no nose, eyes or ears, which
are written as missing). Images are written as PNG (lossless), so importing an OpenPose export with
``datagen import-openpose`` gives back the same rows. Coordinates follow the exported format's own
pixel convention: OpenPose and COCO keypoints put the centre of pixel i at i, the dataset at i + 0.5.
COCO boxes, areas and segmentations come from the masks (:mod:`datagen.io.coco`). docs/importers.md.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from datagen import __version__
from datagen.io import openpose
from datagen.format import DatasetReader, open_dataset
from datagen.format.meta import meta_columns
from datagen.errors import DatagenError
from datagen.format.keypoint_sets import conversion_index, convert_keypoints, get_keypoint_set
from datagen.format.outputs import OutputLock, check_output, remove_leftovers, write_errors
from datagen.io.coco import coco_annotation, coco_category, read_coco  # noqa: F401  (read_coco: public here too)
from datagen.io.formats import EXPORT_FORMATS

COCO_FILE = "person_keypoints.json"


class ExportError(DatagenError):
    """An export that cannot be done (bad target folder, unknown keypoint set or format)."""


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


def _write_png(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok, path
    path.write_bytes(data.tobytes())


def image_meta(reader: DatasetReader):
    """row -> what a COCO image entry says about where the row came from: its row, and its clip, costume
    and frame (rendered data, by name) or its source file (imports)."""
    cols = meta_columns(reader)
    return lambda row: {"row": row, **{k: v[row] for k, v in cols.items()}}


def _prepare_target(out: Path, overwrite: bool) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise ExportError(f"{out}: exists (use --overwrite to replace it)")
    check_output(out, kind="dir", overwrite=overwrite)
    return out.parent / f".{out.name}.export-{os.getpid()}"


def export_dataset(file: str | os.PathLike, to: str, out: str | os.PathLike, progress: bool = False,
                   overwrite: bool = False) -> int:
    """Export every row of ``file`` to the folder ``out`` (absent or empty) as ``to``:

    * ``coco`` / ``coco18``: ``person_keypoints.json`` (COCO keypoint format, one image and one
      annotation per row; the image entry names its row and its clip, costume and frame or its source)
      and ``images/000000.png`` ...;
    * ``openpose``: ``keypoints/000000_keypoints.json`` (OpenPose 1.3, one person) and
      ``images/000000.png`` ...

    Written into a temporary folder that is renamed to ``out`` when complete; ``overwrite`` replaces an
    existing ``out`` then (the command line first checks it holds only an export). Returns the row count.
    """
    if to not in EXPORT_FORMATS:
        raise ExportError(f"--to must be one of {', '.join(EXPORT_FORMATS)}, not {to!r}")
    out = Path(out)
    tmp = _prepare_target(out, overwrite)
    with OutputLock(out), write_errors(out), open_dataset(file) as reader:
        remove_leftovers(out)
        fmt = EXPORT_FORMATS[to]
        kps = get_keypoint_set(fmt.target_set(reader.keypoint_set.name))
        xy, vis, conf = export_pose(reader, kps.name)
        s = reader.image_size
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            (tmp / "images").mkdir(parents=True)
            if fmt.layout == "openpose":
                (tmp / "keypoints").mkdir()
            images = reader.images()
            masks = reader.file[f"masks/{s}"] if reader.has(f"masks/{s}") else None
            meta = image_meta(reader)
            coco_images, coco_anns = [], []
            with tqdm(total=len(reader), unit="row", disable=None if progress else True, desc=f"export {to}") as bar:
                for start in range(0, len(reader), 64):
                    stop = min(len(reader), start + 64)
                    block_masks = masks[start:stop] if masks is not None and fmt.layout == "coco" else None
                    for i, (row, rgb) in enumerate(zip(range(start, stop), images[start:stop])):
                        stem = f"{row:06d}"
                        _write_png(tmp / "images" / f"{stem}.png", rgb)
                        if fmt.layout == "openpose":
                            people = openpose.from_format(xy[row], conf[row])[None]
                            openpose.write_openpose(tmp / "keypoints" / f"{stem}{openpose.KEYPOINTS_SUFFIX}", people)
                        else:
                            coco_images.append({"id": row + 1, "file_name": f"{stem}.png", "width": s,
                                                "height": s, **meta(row)})
                            coco_anns.append(coco_annotation(row, xy[row], vis[row], s,
                                                             None if block_masks is None else block_masks[i]))
                    bar.update(stop - start)
            if fmt.layout == "coco":
                doc = {"info": {"description": f"exported from {Path(file).name}",
                                "version": "1.0", "year": datetime.now(timezone.utc).year,
                                "contributor": f"datagen {__version__}",
                                "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                       "licenses": [], "images": coco_images, "annotations": coco_anns,
                       "categories": [coco_category(kps)]}
                (tmp / COCO_FILE).write_text(json.dumps(doc, allow_nan=False))  # NaN is not JSON
            if out.exists():
                shutil.rmtree(out)  # empty, or replaced with overwrite
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return len(reader)
