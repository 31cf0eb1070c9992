"""`datagen validate`: checks every invariant of dataset format v1 (docs/format.md, "Invariants").

The first broken invariant raises DatasetError naming the file, the dataset and the row.
"""
from __future__ import annotations

import os

import numpy as np
from tqdm import tqdm

from datagen.format.reader import DatasetReader, open_dataset
from datagen.format.schema import IMPORTED_FIELDS, POSE_ONLY_FIELDS, RENDERED_FIELDS
from datagen.errors import DatasetError
from datagen.format.camera import project
from datagen.format.pyramid import downsample2x

# Projection of /pose/xyz must reproduce /pose/xy "to float precision": float32 keypoints of a 1024
# image carry ~1e-4 px of rounding; 1e-2 px leaves room for the float32 world coordinates.
PROJECTION_TOLERANCE_PX = 1e-2


def validate_dataset(path: str | os.PathLike, *, quick: bool = False, progress: bool = False) -> int:
    """Check ``path``; returns the row count, raises DatasetError at the first broken invariant.

    quick: check the pyramid on at most 64 evenly spaced rows instead of all.
    """
    with open_dataset(path) as ds:  # format, version, attributes, required datasets and shapes
        f = ds.file
        fail = _failer(ds)
        n, s = ds.n, ds.image_size
        kps = ds.keypoint_set
        ds.config  # a JSON object, or DatasetError
        _check_keypoint_tables(ds, fail)
        present = {name for name in RENDERED_FIELDS + IMPORTED_FIELDS
                   if (f"masks/{s}" if name == "masks" else name) in f}
        rendered = present & set(RENDERED_FIELDS)
        if ds.pose_only:
            lacking = [name for name in POSE_ONLY_FIELDS if name not in f]
            if lacking:
                fail(f"pose-only data lacks /{', /'.join(lacking)}")
        elif rendered and rendered != set(RENDERED_FIELDS):
            missing = sorted(set(RENDERED_FIELDS) - rendered)
            fail(f"rendered data (has /{sorted(rendered)[0]}) lacks /{', /'.join(missing)}")
        if not rendered and "meta/source" not in present:
            fail("has neither the rendered datasets (/pose/xyz, /camera/...) nor /meta/source")

        if f["pose/xy"].dtype != np.float32:
            fail(f"/pose/xy has dtype {f['pose/xy'].dtype}, expected float32")
        if f["pose/visibility"].dtype != np.uint8:
            fail(f"/pose/visibility has dtype {f['pose/visibility'].dtype}, expected uint8")
        xy, vis = ds.pose()  # visibility 0..2, finite where visible
        shown = vis > 0
        with np.errstate(invalid="ignore"):
            bad = shown & ((xy < 0) | (xy >= s)).any(-1)
        if bad.any():
            r, j = np.argwhere(bad)[0]
            fail(f"/pose/xy row {r} keypoint {kps.names[j]} at {xy[r, j].tolist()} is outside the "
                 f"{s}x{s} frame but has visibility {vis[r, j]}")

        for r in ds.resolutions:
            if f[f"images/{r}"].dtype != np.uint8:
                fail(f"/images/{r} has dtype {f[f'images/{r}'].dtype}, expected uint8")
        rows = np.linspace(0, n - 1, min(n, 64)).astype(int) if quick else np.arange(n)
        if not ds.pose_only:
            _check_pyramid(ds, rows, fail, progress)
        if rendered:
            _check_rendered(ds, xy, fail)
        if "meta/source" in present:
            src = ds.read("meta/source")
            empty = [i for i, v in enumerate(src) if not str(v)]
            if empty:
                fail(f"/meta/source row {empty[0]} is empty")
        if "meta/input" in f:
            ds.meta_index("input")  # rows of `datagen combine` name one of its inputs
        if "meta/costume_rigs" in f and len(ds.read("meta/costume_rigs")) != len(ds.names("costume")):
            fail(f"/meta/costume_rigs has {len(ds.read('meta/costume_rigs'))} entries, /meta/costume_names "
                 f"{len(ds.names('costume'))}")
        return n


def _failer(ds: DatasetReader):
    def fail(msg: str) -> None:
        raise DatasetError(f"{ds.path}: {msg}")
    return fail


def _check_keypoint_tables(ds: DatasetReader, fail) -> None:
    kps = ds.keypoint_set
    names = list(ds.read("keypoints/names"))
    if names != list(kps.names):
        fail(f"/keypoints/names {names[:3]}... do not match keypoint set {kps.name}")
    flip = ds.read("keypoints/flip")
    k = kps.size
    if ((flip < 0) | (flip >= k)).any() or (flip[flip] != np.arange(k)).any():
        fail("/keypoints/flip is not a mirror pairing (flip[flip[k]] must be k)")
    edges = ds.read("keypoints/edges")
    if ((edges < 0) | (edges >= k)).any():
        fail(f"/keypoints/edges has an index outside 0..{k - 1}")


def _check_pyramid(ds: DatasetReader, rows: np.ndarray, fail, progress: bool) -> None:
    f = ds.file
    levels = ds.resolutions
    s = ds.image_size
    masks = f.get(f"masks/{s}")
    it = tqdm(rows, desc="pyramid", unit="img", disable=None if progress else True, leave=False)  # None: no bar when not a terminal
    stored = {r: ds.images(r) for r in levels}
    for i in it:
        above = stored[levels[0]][i][None]
        for r in levels[1:]:
            level = stored[r][i][None]
            if not np.array_equal(level, downsample2x(above)):
                fail(f"/images/{r} row {i} is not the 2x2 box average of /images/{2 * r}")
            above = level
        if masks is not None:
            try:
                masks[i]  # coverage: every uint8 value is valid, a chunk that cannot be read is not
            except OSError as e:
                fail(f"/masks/{s} cannot be read at row {i}, corrupt ({str(e).split('(')[0].strip()})")


def _check_rendered(ds: DatasetReader, xy: np.ndarray, fail) -> None:
    xyz = ds.read("pose/xyz")
    K = ds.read("camera/intrinsics")
    E = ds.read("camera/extrinsics")
    if not (np.isfinite(K).all() and np.isfinite(E).all()):
        fail("/camera/intrinsics or /camera/extrinsics is not finite")
    bottom = E[:, 3, :]
    if not np.allclose(bottom, [0, 0, 0, 1]):
        r = int(np.argwhere(~np.isclose(bottom, [0, 0, 0, 1]).all(-1))[0, 0])
        fail(f"/camera/extrinsics row {r} has last row {bottom[r].tolist()}, expected [0, 0, 0, 1]")
    proj, depth = project(xyz, K, E)
    check = (depth > 1e-6) & np.isfinite(xyz).all(-1) & np.isfinite(xy).all(-1)
    err = np.where(check, np.linalg.norm(proj - xy, axis=-1), 0.0)
    if err.max(initial=0.0) > PROJECTION_TOLERANCE_PX:
        r, j = np.unravel_index(np.argmax(err), err.shape)
        fail(f"/pose/xy row {r} keypoint {ds.keypoint_set.names[j]} is {err[r, j]:.4f} px from the "
             f"projection of /pose/xyz through /camera/* (tolerance {PROJECTION_TOLERANCE_PX} px)")
    behind = (depth <= 0) & (ds.read("pose/visibility") > 0)
    if behind.any():
        r, j = np.argwhere(behind)[0]
        fail(f"/pose/visibility row {r} keypoint {ds.keypoint_set.names[j]} is behind the camera "
             f"but has visibility > 0")
    for table in ("costume", "clip"):
        if f"meta/{table}" not in ds.file:  # pose-only files have no costume
            continue
        if ds.file[f"meta/{table}"].dtype.kind not in "iu":
            fail(f"/meta/{table} has dtype {ds.file[f'meta/{table}'].dtype}, expected int32")
        ds.meta_index(table)
    frame = ds.read("meta/frame")
    if not np.isfinite(frame).all() or (frame < 0).any():
        r = int(np.argwhere(~(np.isfinite(frame) & (frame >= 0)))[0, 0])
        fail(f"/meta/frame row {r} is {frame[r]}, expected a finite time >= 0")

