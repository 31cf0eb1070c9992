"""Reading format-v1 datasets (docs/format.md): :func:`open_dataset` and :class:`DatasetReader`.

Every consumer (the trainer, the exporters, the inspection commands) opens files through here; the
cheap structural checks run on open, :func:`datagen.format.validate.validate_dataset` checks all.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from datagen.errors import DatasetError
from datagen.format.keypoint_sets import get_keypoint_set
from datagen.format.pyramid import pyramid_sizes
from datagen.format.schema import FORMAT_NAME, FORMAT_VERSION, POSE_ONLY_ATTR, ROW_FIELDS, row_shape


class DatasetReader:
    """An open format-v1 dataset. Cheap structural checks run on open; :func:`validate` checks all.

    Picklable: the HDF5 handle is reopened lazily in each process (e.g. inside DataLoader workers,
    never shared across a fork).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file: h5py.File | None = None
        f = self.file
        self.attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        self.keypoint_set = get_keypoint_set(str(self.attrs["keypoint_set"]))
        self.image_size = int(self.attrs["image_size"])
        self.n = f["pose/xy"].shape[0]
        self.pose_only = bool(self.attrs.get(POSE_ONLY_ATTR, 0))
        self.resolutions = [] if self.pose_only else pyramid_sizes(self.image_size)

    @property
    def file(self) -> h5py.File:
        if self._file is None:
            self._file = _open_h5(self.path)
            _check_structure(self._file, self.path)
        return self._file

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"] = None
        return state

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "DatasetReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.n

    @property
    def config(self) -> dict:
        return json.loads(self.attrs.get("config", "{}"))

    def images(self, resolution: int | None = None) -> h5py.Dataset:
        """(N, r, r, 3) uint8 pyramid level r (default: full size)."""
        r = self.image_size if resolution is None else resolution
        if self.pose_only:
            raise DatasetError(f"{self.path}: is a pose-only file (datagen poses): it has no images")
        if r not in self.resolutions:
            raise DatasetError(f"{self.path}: no image level {r} (levels: {self.resolutions})")
        return self.file[f"images/{r}"]

    def has(self, name: str) -> bool:
        return name in self.file

    def read(self, name: str) -> np.ndarray:
        """A whole per-row or table dataset, e.g. ``read("pose/xy")``; strings are returned as str."""
        if name not in self.file:
            raise DatasetError(f"{self.path}: has no /{name}")
        ds = self.file[name]
        if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
            return np.asarray(ds.asstr()[:], dtype=object)
        return ds[:]

    @property
    def xy(self) -> np.ndarray:
        return self.read("pose/xy")

    @property
    def visibility(self) -> np.ndarray:
        return self.read("pose/visibility")

    def names(self, table: str) -> list[str]:
        """``names("costume")`` -> /meta/costume_names as a list ([] when absent)."""
        key = f"meta/{table}_names"
        return list(self.read(key)) if key in self.file else []


def _open_h5(path: Path) -> h5py.File:
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, not a dataset file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        reason = str(e).split("(")[0].strip().rstrip(".") or type(e).__name__
        raise DatasetError(f"{path}: not a readable HDF5 file, truncated or corrupt ({reason})") from None


def _check_structure(f: h5py.File, path: Path) -> None:
    """The checks every open makes: format, version, required datasets and their shapes."""
    def fail(msg: str) -> None:
        raise DatasetError(f"{path}: {msg}")

    fmt = f.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt != FORMAT_NAME:
        fail(f"attribute format is {fmt!r}, expected {FORMAT_NAME!r} (not a pose dataset)")
    version = f.attrs.get("version")
    if version is None or int(version) != FORMAT_VERSION:
        fail(f"format version {version!r} is not supported (this tool reads version {FORMAT_VERSION})")
    for a in ("keypoint_set", "image_size", "generator", "created", "config"):
        if a not in f.attrs:
            fail(f"root attribute {a!r} is missing")
    kps = get_keypoint_set(str(f.attrs["keypoint_set"]))
    s = int(f.attrs["image_size"])
    if s < 4 or s & (s - 1):
        fail(f"image_size {s} is not a power of two >= 4")
    for name in ("keypoints/names", "keypoints/edges", "keypoints/flip", "pose/xy", "pose/visibility"):
        if name not in f:
            fail(f"dataset /{name} is missing")
    k = kps.size
    n = f["pose/xy"].shape[0]
    expect = {"keypoints/names": (k,), "keypoints/flip": (k,), "pose/xy": (n, k, 2), "pose/visibility": (n, k)}
    pose_only = bool(f.attrs.get(POSE_ONLY_ATTR, 0))
    if pose_only and ("images" in f or "masks" in f):
        fail("is marked pose_only but has /images or /masks")
    for r in ([] if pose_only else pyramid_sizes(s)):
        expect[f"images/{r}"] = (n, r, r, 3)
    if f"masks/{s}" in f:
        expect[f"masks/{s}"] = (n, s, s)
    for name, (shape, _) in ROW_FIELDS.items():
        if name not in ("images", "masks") and name in f:
            expect[name] = (n,) + row_shape(name, k, s)
    for name, shape in expect.items():
        if name not in f:
            fail(f"dataset /{name} is missing")
        if f[name].shape != shape:
            fail(f"/{name} has shape {f[name].shape}, expected {shape}")
    if f["keypoints/edges"].ndim != 2 or f["keypoints/edges"].shape[1] != 2:
        fail(f"/keypoints/edges has shape {f['keypoints/edges'].shape}, expected (E, 2)")


def open_dataset(path: str | os.PathLike) -> DatasetReader:
    """Open a format-v1 file; a bad file raises DatasetError naming it and the first problem found."""
    return DatasetReader(path)
