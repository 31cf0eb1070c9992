"""Reading format-v1 datasets (docs/format.md): :func:`open_dataset` and :class:`DatasetReader`.

Every consumer (the trainer, the exporters, the inspection commands) opens files through here; the
cheap structural checks run on open, :func:`datagen.format.validate.validate_dataset` checks all.
"""
from __future__ import annotations

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
        self._pose: tuple[np.ndarray, np.ndarray] | None = None

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
        return parse_config(self.attrs.get("config", "{}"), self.path)

    def images(self, resolution: int | None = None) -> "RowData":
        """(N, r, r, 3) uint8 pyramid level r (default: full size), read by indexing; a corrupt chunk
        raises DatasetError naming the file, the dataset and the rows."""
        r = self.image_size if resolution is None else resolution
        if self.pose_only:
            raise DatasetError(f"{self.path}: is a pose-only file (datagen poses): it has no images")
        if r not in self.resolutions:
            raise DatasetError(f"{self.path}: no image level {r} (levels: {self.resolutions})")
        return RowData(self.file[f"images/{r}"], self.path)

    def has(self, name: str) -> bool:
        return name in self.file

    def read(self, name: str) -> np.ndarray:
        """A whole per-row or table dataset, e.g. ``read("pose/xy")``; strings are returned as str."""
        if name not in self.file:
            raise DatasetError(f"{self.path}: has no /{name}")
        ds = self.file[name]
        try:
            if ds.dtype.kind == "O" or h5py.check_string_dtype(ds.dtype) is not None:
                return np.asarray(ds.asstr()[:], dtype=object)
            return ds[:]
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"{self.path}: /{name} cannot be read, corrupt ({_reason(e)})") from None

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(xy (N, K, 2) float32, visibility (N, K) uint8), checked: a keypoint with visibility > 0 has
        finite coordinates and visibility is 0, 1 or 2 (every consumer relies on both)."""
        if self._pose is None:
            xy, vis = self.read("pose/xy"), self.read("pose/visibility")
            bad = vis > 2
            if bad.any():
                r, k = np.argwhere(bad)[0]
                raise DatasetError(f"{self.path}: /pose/visibility row {r} keypoint {self.keypoint_set.names[k]} "
                                   f"is {vis[r, k]}, not 0, 1 or 2")
            bad = (vis > 0) & ~np.isfinite(xy).all(-1)
            if bad.any():
                r, k = np.argwhere(bad)[0]
                raise DatasetError(f"{self.path}: /pose/xy row {r} keypoint {self.keypoint_set.names[k]} is "
                                   f"{xy[r, k].tolist()} (not finite) with visibility {vis[r, k]}")
            self._pose = (xy, vis)
        return self._pose

    @property
    def xy(self) -> np.ndarray:
        return self.pose()[0]

    @property
    def visibility(self) -> np.ndarray:
        return self.pose()[1]

    def meta_index(self, table: str) -> np.ndarray:
        """/meta/<table> (N,) int, each checked to index /meta/<table>_names."""
        idx = self.read(f"meta/{table}")
        count = len(self.names(table))
        bad = (idx < 0) | (idx >= count)
        if bad.any():
            r = int(np.argwhere(bad)[0, 0])
            raise DatasetError(f"{self.path}: /meta/{table} row {r} is {idx[r]}, but /meta/{table}_names has "
                               f"{count} entries")
        return idx

    def names(self, table: str) -> list[str]:
        """``names("costume")`` -> /meta/costume_names as a list ([] when absent)."""
        key = f"meta/{table}_names"
        return list(self.read(key)) if key in self.file else []


class RowData:
    """A per-row HDF5 dataset read by indexing, whose read errors (a corrupt compressed chunk) are one
    line naming the file and the dataset. Everything else is the h5py.Dataset's."""

    def __init__(self, ds: h5py.Dataset, path: Path) -> None:
        self._ds, self._path = ds, path

    def __getitem__(self, index):
        try:
            return self._ds[index]
        except (OSError, ValueError) as e:
            if isinstance(e, ValueError) and "chunk" not in str(e).lower() and "filter" not in str(e).lower():
                raise
            raise DatasetError(f"{self._path}: {self._ds.name} cannot be read at rows {_rows_text(index)}, "
                               f"corrupt ({_reason(e)})") from None

    def __len__(self) -> int:
        return len(self._ds)

    def __getattr__(self, name: str):
        return getattr(self._ds, name)


def _rows_text(index) -> str:
    first = index[0] if isinstance(index, tuple) else index
    if isinstance(first, slice):
        return f"{first.start or 0}:{'' if first.stop is None else first.stop}"
    text = str(np.asarray(first).tolist())
    return text if len(text) < 40 else text[:37] + "..."


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text.split("(")[0].strip().rstrip(".") or type(e).__name__


def parse_config(text, path: Path) -> dict:
    """The ``config`` root attribute: a JSON object (the producer's settings)."""
    from datagen.format.jsonsafe import loads

    try:
        value = loads(str(text))
    except ValueError as e:
        raise DatasetError(f"{path}: attribute config is not JSON ({e})") from None
    if not isinstance(value, dict):
        raise DatasetError(f"{path}: attribute config is {type(value).__name__} JSON, expected an object")
    return value


# Files a newcomer gives `datagen info` in place of a dataset: (first bytes, what it is).
_RIG_MAGIC = ((b"glTF", "a glTF/VRM rig"), (b"BLENDER", "a Blender file"), (b"Kaydara FBX Binary", "an FBX rig"))
_RIG_SUFFIXES = {".gltf": "a glTF rig", ".vrm": "a VRM rig", ".fbx": "an FBX rig", ".blend": "a Blender file"}


def _rig_kind(path: Path) -> str | None:
    """What a rig file given as a dataset is ("a glTF/VRM rig"), from its first bytes or its suffix."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError:
        return None
    for magic, kind in _RIG_MAGIC:
        if head.startswith(magic):
            return kind
    return _RIG_SUFFIXES.get(path.suffix.lower())


def _open_h5(path: Path) -> h5py.File:
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, not a dataset file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        kind = _rig_kind(path)
        if kind:
            raise DatasetError(f"{path}: is {kind}, not a dataset; its costumes, clips and keypoint bones: "
                               f"datagen render --rig {path} --list") from None
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
    if not is_int(version) or int(version) != FORMAT_VERSION:
        fail(f"format version {_shown(version)} is not supported (this tool reads version {FORMAT_VERSION})")
    for a in ("keypoint_set", "image_size", "generator", "created", "config"):
        if a not in f.attrs:
            fail(f"root attribute {a!r} is missing")
    for a in ("keypoint_set", "generator", "created", "config"):
        if not isinstance(f.attrs[a], (str, bytes)):
            fail(f"root attribute {a} is {_shown(f.attrs[a])}, expected a string")
    name = f.attrs["keypoint_set"]
    name = name.decode() if isinstance(name, bytes) else name
    try:
        kps = get_keypoint_set(name)
    except DatasetError as e:
        fail(f"root attribute keypoint_set: {e}")
    s = f.attrs["image_size"]
    if not is_int(s) or int(s) < 4 or int(s) & (int(s) - 1):
        fail(f"image_size {_shown(s)} is not a power of two >= 4")
    s = int(s)
    for name in ("keypoints/names", "keypoints/edges", "keypoints/flip", "pose/xy", "pose/visibility"):
        if name not in f:
            fail(f"dataset /{name} is missing")
        if not isinstance(f[name], h5py.Dataset):
            fail(f"/{name} is a group, expected a dataset")
    k = kps.size
    if f["pose/xy"].ndim < 1:
        fail(f"/pose/xy has shape {f['pose/xy'].shape}, expected (N, {k}, 2)")
    n = f["pose/xy"].shape[0]
    if n == 0:
        fail("has no rows (/pose/xy is empty)")
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
        if not isinstance(f[name], h5py.Dataset):
            fail(f"/{name} is a group, expected a dataset")
        if f[name].shape != shape:
            fail(f"/{name} has shape {f[name].shape}, expected {shape}")
        want = ROW_FIELDS.get(name.split("/")[0] if name.startswith(("images/", "masks/")) else name)
        if want is not None and want[1].kind in "fiu" and f[name].dtype.kind not in "fiu":
            fail(f"/{name} holds {f[name].dtype} values, expected numbers ({want[1]})")
    if f["keypoints/edges"].ndim != 2 or f["keypoints/edges"].shape[1] != 2:
        fail(f"/keypoints/edges has shape {f['keypoints/edges'].shape}, expected (E, 2)")


def is_int(v) -> bool:
    """An integer attribute value (Python or numpy), not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _shown(v) -> str:
    # numpy scalars as plain Python values (numpy 2 would show np.int64(9))
    text = repr(v.decode() if isinstance(v, bytes) else v.tolist() if isinstance(v, (np.ndarray, np.generic)) else v)
    return text if len(text) <= 40 else text[:37] + "..."


def open_dataset(path: str | os.PathLike) -> DatasetReader:
    """Open a format-v1 file; a bad file raises DatasetError naming it and the first problem found."""
    return DatasetReader(path)
