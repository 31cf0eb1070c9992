"""Exporters: a format-v1 dataset -> COCO keypoints JSON or OpenPose 1.3 JSON files, with its images.

Each format holds some keypoint sets (:data:`datagen.io.formats.EXPORT_FORMATS`): a dataset in one of
them is written as it is, any other is converted to the format's first set by landmark
(:func:`datagen.format.convert_keypoints`; e.g. an ``avatar20`` dataset has no nose, eyes or ears, which
are written as missing). Images are written as PNG (lossless), so importing an OpenPose export with
``datagen import-openpose`` gives back the same rows. Coordinates follow the exported format's own
pixel convention: OpenPose and COCO keypoints put the centre of pixel i at i, the dataset at i + 0.5.
docs/importers.md.
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
from datagen.errors import DatagenError
from datagen.format.keypoint_sets import KeypointSet, conversion_index, convert_keypoints, get_keypoint_set
from datagen.format.outputs import OutputLock, check_output, remove_leftovers, write_errors
from datagen.io.formats import EXPORT_FORMATS

COCO_FILE = "person_keypoints.json"
PIXEL_CENTRE_SHIFT = 0.5  # format v1 minus COCO coordinates (COCO, like OpenPose, puts pixel centres at i)


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


def coco_annotation(row: int, xy: np.ndarray, vis: np.ndarray) -> dict:
    """One COCO keypoint annotation: xy (K, 2) format-v1 pixels, vis (K,) -> x, y, v triples in COCO
    pixels (0, 0, 0 for a missing part), num_keypoints and the bbox of the labelled parts."""
    ok = vis > 0
    kp = np.zeros((len(vis), 3))
    kp[ok, :2] = xy[ok].astype(np.float64) - PIXEL_CENTRE_SHIFT
    kp[:, 2] = vis
    if ok.any():
        lo, hi = kp[ok, :2].min(0), kp[ok, :2].max(0)
        bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
    else:
        bbox = [0.0, 0.0, 0.0, 0.0]
    return {"id": row + 1, "image_id": row + 1, "category_id": 1, "iscrowd": 0,
            "keypoints": [float(v) if i % 3 < 2 else int(v) for i, v in enumerate(kp.reshape(-1))],
            "num_keypoints": int(ok.sum()), "bbox": bbox, "area": bbox[2] * bbox[3]}


def coco_category(kps: KeypointSet) -> dict:
    return {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(kps.names),
            "skeleton": [[a + 1, b + 1] for a, b in kps.edges]}  # COCO numbers keypoints from 1


def read_coco(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A COCO keypoints file as written by :func:`export_dataset` -> (image file names, xy (N, K, 2)
    format-v1 pixels with NaN where missing, visibility (N, K) uint8), one annotation per image."""
    doc = json.loads(Path(path).read_text())
    names = {im["id"]: im["file_name"] for im in doc["images"]}
    anns = sorted(doc["annotations"], key=lambda a: a["image_id"])
    kp = np.asarray([a["keypoints"] for a in anns], dtype=np.float64).reshape(len(anns), -1, 3)
    vis = kp[..., 2].astype(np.uint8)
    xy = np.where((vis > 0)[..., None], kp[..., :2] + PIXEL_CENTRE_SHIFT, np.nan)
    return [names[a["image_id"]] for a in anns], xy, vis


def _prepare_target(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty folder")
    check_output(out, kind="dir")
    return out.parent / f".{out.name}.export-{os.getpid()}"


def export_dataset(file: str | os.PathLike, to: str, out: str | os.PathLike, progress: bool = False) -> int:
    """Export every row of ``file`` to the folder ``out`` (absent or empty) as ``to``:

    * ``coco``: ``person_keypoints.json`` (COCO keypoint format, one image and one annotation per row)
      and ``images/000000.png`` ...;
    * ``openpose``: ``keypoints/000000_keypoints.json`` (OpenPose 1.3, one person) and
      ``images/000000.png`` ...

    Written into a temporary folder that is renamed to ``out`` when complete. Returns the row count.
    """
    if to not in EXPORT_FORMATS:
        raise ExportError(f"--to must be one of {', '.join(EXPORT_FORMATS)}, not {to!r}")
    out = Path(out)
    tmp = _prepare_target(out)
    with OutputLock(out), write_errors(out), open_dataset(file) as reader:
        remove_leftovers(out)
        kps = get_keypoint_set(EXPORT_FORMATS[to].target_set(reader.keypoint_set.name))
        xy, vis, conf = export_pose(reader, kps.name)
        s = reader.image_size
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            (tmp / "images").mkdir(parents=True)
            if to == "openpose":
                (tmp / "keypoints").mkdir()
            images = reader.images()
            sources = reader.read("meta/source") if reader.has("meta/source") else None
            coco_images, coco_anns = [], []
            with tqdm(total=len(reader), unit="row", disable=not progress, desc=f"export {to}") as bar:
                for start in range(0, len(reader), 64):
                    stop = min(len(reader), start + 64)
                    for row, rgb in zip(range(start, stop), images[start:stop]):
                        stem = f"{row:06d}"
                        _write_png(tmp / "images" / f"{stem}.png", rgb)
                        if to == "openpose":
                            people = openpose.from_format(xy[row], conf[row])[None]
                            openpose.write_openpose(tmp / "keypoints" / f"{stem}{openpose.KEYPOINTS_SUFFIX}", people)
                        else:
                            entry = {"id": row + 1, "file_name": f"{stem}.png", "width": s, "height": s}
                            if sources is not None:
                                entry["source"] = str(sources[row])
                            coco_images.append(entry)
                            coco_anns.append(coco_annotation(row, xy[row], vis[row]))
                    bar.update(stop - start)
            if to == "coco":
                doc = {"info": {"description": f"exported from {Path(file).name}",
                                "version": "1.0", "year": datetime.now(timezone.utc).year,
                                "contributor": f"datagen {__version__}",
                                "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                       "licenses": [], "images": coco_images, "annotations": coco_anns,
                       "categories": [coco_category(kps)]}
                (tmp / COCO_FILE).write_text(json.dumps(doc, allow_nan=False))  # NaN is not JSON
            if out.exists():
                out.rmdir()  # empty, checked above
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return len(reader)
