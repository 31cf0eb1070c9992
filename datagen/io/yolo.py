"""The Ultralytics YOLO pose export: ``images/{train,val}/<row>.png``, ``labels/{train,val}/<row>.txt``
(one person: class 0, box, then x y v per keypoint, all normalised to the image) and ``data.yaml`` with
``kpt_shape`` and ``flip_idx`` from the keypoint set's mirror partners.

The split is by pose: the rows of one pose (a clip's frame, rendered in every costume and from every
camera) all go to the same side, so no pose is validated on that was trained on; which poses are held
out is a fixed function of their names (a hash), so re-exporting gives the same split. Keypoints
outside the image are written as not labelled (0 0 0): Ultralytics refuses coordinates beyond [0, 1].
docs/training-other-models.md.
"""
from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np

from datagen.io.coco import PIXEL_CENTRE_SHIFT, keypoint_bbox, mask_bbox
from datagen.io.export_rows import ExportJob, on_all_cpus, png_bytes

SPLITS = ("train", "val")


def pose_keys(meta: dict[str, list], n: int) -> list[str]:
    """Per row, the name of its pose: clip and frame for rendered data, else the source file or row."""
    if "clip" in meta and "frame" in meta:
        return [f"{c}@{f:g}" for c, f in zip(meta["clip"], meta["frame"])]
    if "source" in meta:
        return list(meta["source"])
    return [str(r) for r in range(n)]


def split_rows(keys: list[str], val_fraction: float) -> np.ndarray:
    """(N,) bool, True for the rows held out: the poses with the smallest hashes, ``val_fraction`` of
    them (at least one when there are two or more poses and the fraction is above 0)."""
    poses = sorted(set(keys), key=lambda k: (zlib.crc32(k.encode()), k))
    n_val = math.floor(val_fraction * len(poses) + 0.5)
    if val_fraction > 0 and len(poses) >= 2:
        n_val = min(max(n_val, 1), len(poses) - 1)
    held = set(poses[:n_val])
    return np.array([k in held for k in keys], bool)


def label_line(xy: np.ndarray, vis: np.ndarray, size: int, mask: np.ndarray | None) -> str:
    """One YOLO pose label: ``0 cx cy w h`` then ``x y v`` per keypoint, normalised by ``size``."""
    kp = np.asarray(xy, np.float64) - PIXEL_CENTRE_SHIFT
    inside = (vis > 0) & np.isfinite(kp).all(-1) & (kp >= 0).all(-1) & (kp <= size - 1).all(-1)
    box = mask_bbox(mask) if mask is not None and (mask > 0).any() else keypoint_bbox(kp, inside, size)
    x, y, w, h = box
    vals = [(x + w / 2) / size, (y + h / 2) / size, w / size, h / size]
    for k in range(len(vis)):
        vals += [kp[k, 0] / size, kp[k, 1] / size, float(vis[k])] if inside[k] else [0.0, 0.0, 0.0]
    return "0 " + " ".join(f"{v:.6f}".rstrip("0").rstrip(".") if v else "0" for v in vals)


def data_yaml(job: ExportJob, val_dir: str) -> str:
    kps = job.kps
    return (f"# Ultralytics YOLO pose dataset exported by datagen from {job.file.name}: {len(job)} rows, "
            f"keypoint set {kps.name} at {job.size} px.\n"
            f"# keypoints: {', '.join(kps.names)}\n"
            f"train: images/train\nval: {val_dir}\n"
            f"kpt_shape: [{kps.size}, 3]\nflip_idx: {json.dumps(list(kps.flip))}\nnames:\n  0: person\n")


def write(job: ExportJob, tmp: Path, bar) -> None:
    meta = job.meta()
    held = split_rows(pose_keys(meta, len(job)), job.options.val_fraction)
    for split in SPLITS:
        (tmp / "images" / split).mkdir(parents=True)
        (tmp / "labels" / split).mkdir(parents=True)
    for block in job.blocks(with_masks=True):
        for i, (row, png) in enumerate(zip(block.rows, on_all_cpus(png_bytes, block.images))):
            split = SPLITS[int(held[row])]
            (tmp / "images" / split / f"{row:06d}.png").write_bytes(png)
            line = label_line(job.xy[row], job.vis[row], job.size, None if block.masks is None else block.masks[i])
            (tmp / "labels" / split / f"{row:06d}.txt").write_text(line + "\n")
        bar.update(len(block.rows))
    # No pose held out (--val 0, or a single pose): Ultralytics still needs a val set; it is the train set.
    (tmp / "data.yaml").write_text(data_yaml(job, "images/val" if held.any() else "images/train"))
    (tmp / "provenance.json").write_text(json.dumps({**job.provenance(), "val_rows": int(held.sum()),
                                                     "keypoint_names": list(job.kps.names)}, indent=1) + "\n")
