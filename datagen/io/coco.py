"""COCO keypoint annotations (cocodataset.org/#format-data): boxes, areas and RLE masks from a dataset row.

The box and area of a row come from its mask where the dataset has masks (rendered data): the box
is the mask's extent in pixel edges, the area its pixel count, and ``segmentation`` the mask as a
compressed RLE, the encoding of pycocotools' ``mask.encode`` (written here so that exporting does not
need pycocotools). A dataset without masks (imports) gets the box of its labelled keypoints widened by
:data:`KEYPOINT_BOX_MARGIN` of the box's larger side on every side (keypoints are joints, the body
reaches beyond them: the head above the eyes, the feet below the ankles), the box area as ``area``,
and no ``segmentation``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from datagen.format.keypoint_sets import KeypointSet

PIXEL_CENTRE_SHIFT = 0.5  # format v1 minus COCO coordinates (COCO, like OpenPose, puts pixel centres at i)
KEYPOINT_BOX_MARGIN = 0.15  # of the keypoint box's larger side, added on each side (datasets without masks)


def rle_counts(mask: np.ndarray) -> list[int]:
    """(H, W) mask (non-zero = person) -> COCO run lengths: column-major, alternating runs of 0 and 1,
    starting with a (possibly empty) run of 0."""
    flat = (np.asarray(mask) > 0).reshape(-1, order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts.insert(0, 0)
    return counts


def rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE string (pycocotools maskApi.c rleToString): each count, minus the count two
    before it from the third on, in 5-bit groups of a signed LEB128-like code, offset into printable ASCII."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, as C's on a signed long
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def mask_rle(mask: np.ndarray) -> dict:
    """(H, W) mask -> {"size": [H, W], "counts": compressed RLE string}, as pycocotools' mask.encode."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": rle_string(rle_counts(mask))}


def mask_bbox(mask: np.ndarray) -> list[float]:
    """(H, W) mask -> COCO [x, y, w, h] in pixel edges (the box of pixels 0..w-1 is [0, 0, w, h]),
    all zero for an empty mask (pycocotools' toBbox)."""
    ys, xs = np.nonzero(np.asarray(mask) > 0)
    if not len(xs):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def keypoint_bbox(kp: np.ndarray, ok: np.ndarray, size: int) -> list[float]:
    """COCO-pixel keypoints (K, 2) with their labelled flags (K,) -> [x, y, w, h]: their box widened by
    :data:`KEYPOINT_BOX_MARGIN` on every side, clipped to the ``size`` x ``size`` image."""
    if not ok.any():
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = kp[ok].min(0), kp[ok].max(0)
    pad = KEYPOINT_BOX_MARGIN * float((hi - lo).max())
    lo, hi = np.clip(lo - pad, 0, size), np.clip(hi + pad, 0, size)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def coco_annotation(row: int, xy: np.ndarray, vis: np.ndarray, size: int, mask: np.ndarray | None = None) -> dict:
    """One COCO keypoint annotation: xy (K, 2) format-v1 pixels, vis (K,) (0 absent, 1 occluded,
    2 visible: COCO's v), the row's (S, S) mask or None -> x, y, v triples in COCO pixels (0, 0, 0 for
    an absent part), num_keypoints, bbox, area and, with a mask, the RLE segmentation."""
    ok = vis > 0
    kp = np.zeros((len(vis), 3))
    kp[ok, :2] = xy[ok].astype(np.float64) - PIXEL_CENTRE_SHIFT
    kp[:, 2] = vis
    ann = {"id": row + 1, "image_id": row + 1, "category_id": 1, "iscrowd": 0,
           "keypoints": [float(v) if i % 3 < 2 else int(v) for i, v in enumerate(kp.reshape(-1))],
           "num_keypoints": int(ok.sum())}
    if mask is not None:
        ann["bbox"] = mask_bbox(mask)
        ann["area"] = float(np.count_nonzero(mask))
        ann["segmentation"] = mask_rle(mask)
    else:
        ann["bbox"] = keypoint_bbox(kp[:, :2], ok, size)
        ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    return ann


def coco_category(kps: KeypointSet) -> dict:
    return {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(kps.names),
            "skeleton": [[a + 1, b + 1] for a, b in kps.edges]}  # COCO numbers keypoints from 1


def read_coco(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A COCO keypoints file as written by the exporter -> (image file names, xy (N, K, 2) format-v1
    pixels with NaN where missing, visibility (N, K) uint8), one annotation per image."""
    doc = json.loads(Path(path).read_text())
    names = {im["id"]: im["file_name"] for im in doc["images"]}
    anns = sorted(doc["annotations"], key=lambda a: a["image_id"])
    kp = np.asarray([a["keypoints"] for a in anns], dtype=np.float64).reshape(len(anns), -1, 3)
    vis = kp[..., 2].astype(np.uint8)
    xy = np.where((vis > 0)[..., None], kp[..., :2] + PIXEL_CENTRE_SHIFT, np.nan)
    return [names[a["image_id"]] for a in anns], xy, vis
