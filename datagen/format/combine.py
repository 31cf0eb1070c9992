"""``datagen combine``: join datasets of different runs, rigs and importers into one file (docs/format.md).

Any format-v1 files with images join: renders of different rigs, imports (OpenPose, DeepFashion) and
earlier combined files. They must share the image size and the keypoint set, or the caller names the
target (``size``: every pyramid level resampled; ``keypoint_set``: keypoints converted by landmark).
Pose-only files are refused. The result keeps the per-row datasets every input has; costumes are kept
apart per rig (:mod:`datagen.format.tables`), clips merged by name, and ``/meta/input`` says which input
file each row came from. Rows are streamed in chunks (image chunks copied as compressed bytes where
nothing changes), so memory does not grow with the data; the output is locked and written under a
temporary name, renamed when complete.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from datagen.errors import DatagenError, DatasetError
from datagen.format.keypoint_sets import KeypointSet, conversion_index, get_keypoint_set
from datagen.format.outputs import OutputError, OutputLock, check_output, remove_leftovers, write_errors
from datagen.format.pyramid import pyramid_sizes
from datagen.format.reader import DatasetReader, open_dataset
from datagen.format.resample import resample_images, resample_masks
from datagen.format.schema import (RENDERED_FIELDS, ROW_FIELDS, DatasetHeader, create_row_dataset,
                                   provenance, row_datasets, settings_only, write_header)
from datagen.format.tables import costume_rigs, merge_costumes, merge_names, rig_identity

CHUNK_BYTES = 1 << 26  # image bytes read per chunk of rows (64 MiB)
KEYPOINT_FIELDS = ("pose/xy", "pose/visibility", "pose/xyz", "pose/confidence")  # indexed by keypoint
META_TABLES = {"meta/costume": "costume", "meta/clip": "clip"}
COMPRESSION_NAMES = {"gzip": "gzip", "lzf": "lzf", None: "none"}


class CombineError(DatagenError):
    """Datasets that cannot be combined (pose-only, other size or keypoint set without a target, ...)."""


@dataclass
class _Input:
    path: Path
    reader: DatasetReader
    layout: dict[str, tuple[tuple[int, ...], np.dtype]]  # field ("images", "masks", "pose/xy", ...) -> row shape, dtype
    costumes: list[str]
    clips: list[str]
    rigs: list[str]  # the rig of each costume ("" unknown)
    config: dict
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # "meta/costume" -> old index -> new index

    @property
    def size(self) -> int:
        return self.reader.image_size

    @property
    def kps(self) -> KeypointSet:
        return self.reader.keypoint_set


def combine_datasets(inputs: list[str | os.PathLike], out: str | os.PathLike, *, size: int | None = None,
                     keypoint_set: str | None = None, overwrite: bool = False) -> dict:
    """Join ``inputs`` into ``out``; return a summary (rows, inputs, size, keypoint set, notes)."""
    if not inputs:
        raise CombineError("no input files given")
    out = Path(out)
    paths = [Path(p) for p in inputs]
    for p in paths:
        if p.resolve() == out.resolve():
            raise CombineError(f"{out}: is also an input")
    seen: dict[Path, Path] = {}
    for p in paths:
        if p.resolve() in seen:
            raise CombineError(f"{p}: is given twice (also as {seen[p.resolve()]})")
        seen[p.resolve()] = p
    if size is not None and (size < 4 or size & (size - 1)):
        raise CombineError(f"--size {size}: not a power of two >= 4")
    target_set = get_keypoint_set(keypoint_set) if keypoint_set is not None else None
    check_output(out, overwrite=overwrite)
    opened: list[_Input] = []
    try:
        for p in paths:
            opened.append(_open_input(p))
        with OutputLock(out):
            remove_leftovers(out)
            check_output(out, overwrite=overwrite)
            return _combine(opened, out, size, target_set)
    finally:
        for i in opened:
            i.reader.close()


def _open_input(path: Path) -> _Input:
    reader = open_dataset(path)
    try:
        if reader.pose_only:
            raise CombineError(f"{path}: is a pose-only file (datagen poses): it has no images to combine")
        layout = {}
        for name, ds in row_datasets(reader.file).items():
            key = "images" if name.startswith("images/") else "masks" if name.startswith("masks/") else name
            if key == "images":
                ds = reader.file[f"images/{reader.image_size}"]
            layout[key] = (ds.shape[1:], ds.dtype)
        costumes, clips = reader.names("costume"), reader.names("clip")
        config = reader.config
        return _Input(path, reader, layout, costumes, clips, costume_rigs(reader, costumes, config), config)
    except BaseException:
        reader.close()
        raise


def _combine(inputs: list[_Input], out: Path, size: int | None, target_set: KeypointSet | None) -> dict:
    first = inputs[0]
    notes: list[str] = []
    for i in inputs[1:]:
        if size is None and i.size != first.size:
            raise CombineError(f"{i.path}: image size {i.size} differs from {first.path}'s {first.size} "
                               f"(give --size S to resample every input to S x S)")
        if target_set is None and i.kps.name != first.kps.name:
            raise CombineError(f"{i.path}: keypoint set {i.kps.name} differs from {first.path}'s {first.kps.name} "
                               f"(give --keypoint-set NAME to convert every input by landmark)")
    s = size or first.size
    kps = target_set or first.kps
    for i in inputs:
        if i.size != s:
            notes.append(f"{i.path}: images resampled from {i.size}x{i.size} to {s}x{s}"
                         + (" (upsampled)" if i.size < s else ""))
        if i.kps.name != kps.name:
            missing = [kps.names[k] for k in np.flatnonzero(conversion_index(i.kps, kps) < 0)]
            notes.append(f"{i.path}: keypoints converted from {i.kps.name} to {kps.name}"
                         + (f"; missing (visibility 0): {', '.join(missing)}" if missing else ""))
    fields, synth_source, dropped = _output_fields(inputs, s, kps)
    if dropped:
        notes.append(f"left out (not in every input, or not convertible): /{', /'.join(dropped)}")
    costumes = clips = None
    tables: dict[str, list[str]] = {}
    if "meta/costume" in fields:
        costumes, rigs, maps = merge_costumes([(i.path, i.costumes, i.rigs) for i in inputs],
                                               [rig_identity(i.config) for i in inputs])
        for i, m in zip(inputs, maps):
            i.maps["meta/costume"] = m
        tables["meta/costume_rigs"] = rigs
    if "meta/clip" in fields:
        clips, maps = merge_names([i.clips for i in inputs])
        for i, m in zip(inputs, maps):
            i.maps["meta/clip"] = m
    tables["meta/input_names"] = [str(i.path) for i in inputs]
    compression = COMPRESSION_NAMES.get(first.reader.file[f"images/{first.size}"].compression, "gzip")
    config = {"combine": {"inputs": [str(i.path) for i in inputs], "size": s, "keypoint_set": kps.name},
              "inputs": [settings_only(i.config) for i in inputs],
              "provenance": {**provenance(), "inputs": [i.config.get("provenance") for i in inputs]}}
    header = DatasetHeader(kps.name, s, config=config, costume_names=costumes, clip_names=clips,
                           image_compression=compression, tables=tables)
    _check_room(inputs, out, s)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    n = sum(i.reader.n for i in inputs)
    try:
        with write_errors(out):
            with h5py.File(tmp, "w") as f:
                write_header(f, header, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
                dst = _create(f, fields, n, s, kps.size, compression)
                row = 0
                for index, i in enumerate(inputs):
                    _copy_input(i, index, dst, row, s, kps, synth_source)
                    row += i.reader.n
            os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"out": str(out), "rows": n, "inputs": len(inputs), "size": s, "keypoint_set": kps.name,
            "costumes": len(costumes or []), "clips": len(clips or []), "notes": notes}


def _output_fields(inputs: list[_Input], s: int, kps: KeypointSet) -> tuple[dict, bool, list[str]]:
    """Output field -> (row shape, dtype); whether /meta/source is made for rows that have none; what
    is left out. Kept: what every input has; the rendered datasets only all together (a mix of renders and
    imports keeps images and keypoints, with /meta/source naming each rendered row's file and row)."""
    common = set(inputs[0].layout).intersection(*(i.layout for i in inputs[1:]))
    every = set().union(*(i.layout for i in inputs))
    changed = any(i.size != s or i.kps.name != kps.name for i in inputs)
    keep = set()
    for name in common:
        known = name in ROW_FIELDS or name == "pose/confidence"
        same = all(i.layout[name] == inputs[0].layout[name] for i in inputs)
        if known or (same and not changed):
            keep.add(name)
    if not set(RENDERED_FIELDS) <= keep:
        keep -= set(RENDERED_FIELDS)
    keep.discard("meta/input")  # replaced: this file's inputs
    synth = "meta/source" not in keep and not set(RENDERED_FIELDS) <= keep
    dropped = sorted(every - keep - {"meta/input", "meta/source" if synth else ""})
    fields = {}
    for name in sorted(keep | {"meta/input"} | ({"meta/source"} if synth else set())):
        if name in ROW_FIELDS:
            shape = tuple(kps.size if d == "K" else s if d == "S" else d for d in ROW_FIELDS[name][0])
            fields[name] = (shape, ROW_FIELDS[name][1])
        elif name == "pose/confidence":
            fields[name] = ((kps.size,), np.dtype(np.float32))
        else:
            fields[name] = inputs[0].layout[name]
    return fields, synth, dropped


def _create(f: h5py.File, fields: dict, n: int, s: int, k: int, compression: str) -> dict[str, h5py.Dataset]:
    out = {}
    for name, (shape, dtype) in fields.items():
        if name == "images":
            for r in pyramid_sizes(s):
                out[f"images/{r}"] = create_row_dataset(f, f"images/{r}", n, (r, r, 3), np.dtype(np.uint8), compression)
        else:
            path = f"masks/{s}" if name == "masks" else name
            out[name] = create_row_dataset(f, path, n, tuple(shape), np.dtype(dtype), compression)
    return out


def _chunk_rows(side: int) -> int:
    return int(max(1, min(4096, CHUNK_BYTES // (side * side * 4))))


def _copy_input(i: _Input, index: int, dst: dict, offset: int, s: int, kps: KeypointSet, synth_source: bool) -> None:
    r = i.reader
    idx = conversion_index(i.kps, kps) if i.kps.name != kps.name else None
    scale = s / i.size
    step = _chunk_rows(max(s, i.size))
    for a in range(0, r.n, step):
        b = min(r.n, a + step)
        rows = slice(offset + a, offset + b)
        for name, ds in dst.items():
            if name.startswith("images/") or name == "masks":
                continue
            if name == "meta/input":
                ds[rows] = np.full(b - a, index, np.int32)
            elif name == "meta/source" and synth_source and not r.has("meta/source"):
                ds[rows] = np.asarray([f"{i.path.name}#{j}" for j in range(a, b)], dtype=object)
            else:
                ds[rows] = _convert(i, name, _read(r, name, a, b), idx, scale, a)
        _copy_images(i, dst, a, b, offset, s)


def _read(r: DatasetReader, name: str, a: int, b: int) -> np.ndarray:
    ds = r.file[name]
    try:
        if h5py.check_string_dtype(ds.dtype) is not None:
            return np.asarray(ds.asstr()[a:b], dtype=object)
        return ds[a:b]
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{r.path}: /{name} cannot be read at rows {a}:{b}, corrupt "
                           f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _convert(i: _Input, name: str, data: np.ndarray, idx: np.ndarray | None, scale: float, a: int) -> np.ndarray:
    """One chunk of one field of input ``i`` in the output's keypoint set, size and tables."""
    if name == "pose/visibility":
        bad = data > 2
        if bad.any():
            row, k = np.argwhere(bad)[0]
            raise CombineError(f"{i.path}: /pose/visibility row {a + row} keypoint {i.kps.names[k]} is "
                               f"{data[row, k]}, not 0, 1 or 2")
    if name == "pose/xy":
        vis = i.reader.file["pose/visibility"][a:a + len(data)]
        bad = (vis > 0) & ~np.isfinite(data).all(-1)
        if bad.any():
            row, k = np.argwhere(bad)[0]
            raise CombineError(f"{i.path}: /pose/xy row {a + row} keypoint {i.kps.names[k]} is not finite "
                               f"but has visibility {vis[row, k]}")
        data = data * np.float32(scale)
    if name == "camera/intrinsics" and scale != 1:
        data = data.copy()
        data[:, :2] *= scale  # pixels scale with the image; the corner origin keeps the principal point exact
    if name in META_TABLES:
        m = i.maps[name]
        bad = (data < 0) | (data >= len(m))
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise CombineError(f"{i.path}: /{name} row {a + row} is {data[row]}, but /{name}_names has {len(m)} entries")
        data = m[data].astype(np.int32)
    if idx is not None and name in KEYPOINT_FIELDS:
        fill = np.nan if data.dtype.kind == "f" and name != "pose/confidence" else 0
        have = idx >= 0
        outp = np.full(data.shape[:1] + (len(idx),) + data.shape[2:], fill, dtype=data.dtype)
        outp[:, have] = data[:, idx[have]]
        data = outp
    return data


def _copy_images(i: _Input, dst: dict, a: int, b: int, offset: int, s: int) -> None:
    f = i.reader.file
    levels = pyramid_sizes(s)
    if i.size >= s:
        # A smaller target: its levels are the input's own levels (the pyramid's definition); no decode.
        for r in levels:
            _copy_rows(f[f"images/{r}"], dst[f"images/{r}"], a, b, offset, i.path)
    else:
        big = resample_images(_rows(f[f"images/{i.size}"], a, b, i.path), s)
        for r, level in big.items():
            dst[f"images/{r}"][offset + a:offset + b] = level
    if "masks" in dst:
        src = f[f"masks/{i.size}"]
        if i.size == s:
            _copy_rows(src, dst["masks"], a, b, offset, i.path)
        else:
            dst["masks"][offset + a:offset + b] = resample_masks(_rows(src, a, b, i.path), s)


def _rows(ds: h5py.Dataset, a: int, b: int, path: Path) -> np.ndarray:
    try:
        return ds[a:b]
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: {ds.name} cannot be read at rows {a}:{b}, corrupt "
                           f"({str(e).splitlines()[0] if str(e) else 'OSError'})") from None


def _copy_rows(src: h5py.Dataset, dst: h5py.Dataset, a: int, b: int, offset: int, path: Path) -> None:
    """Rows [a, b) of ``src`` into ``dst`` from ``offset + a``: compressed chunks as bytes when both store
    one row per chunk with the same filters, else decoded and encoded again. Every row is decoded once
    either way, so a corrupt chunk is an error here, not a broken output."""
    data = _rows(src, a, b, path)
    same = (src.compression, src.compression_opts, src.chunks) == (dst.compression, dst.compression_opts, dst.chunks)
    if not same:
        dst[offset + a:offset + b] = data
        return
    zeros = (0,) * (dst.ndim - 1)
    for j in range(a, b):
        mask, raw = src.id.read_direct_chunk((j,) + zeros)
        dst.id.write_direct_chunk((offset + j,) + zeros, raw, mask)


def _check_room(inputs: list[_Input], out: Path, s: int) -> None:
    """Refuse to start when the folder cannot hold the result (libhdf5 may crash on a full disk)."""
    need = sum(i.path.stat().st_size * max(1.0, (s / i.size) ** 2) for i in inputs) + (1 << 20)
    free = shutil.disk_usage(out.parent).free
    if free < need:
        raise OutputError(f"{out}: cannot write (no space left on the device: about {need / 2**20:.1f} MiB "
                          f"needed, {free / 2**20:.1f} MiB free)", "no space left on the device")
