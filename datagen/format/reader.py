"""Reader and writer of dataset format version 1 (docs/format.md): one HDF5 file per dataset.

This module is the contract between the renderer, the importers and the trainer; every producer
writes through :class:`DatasetWriter` and every consumer opens files with :func:`open_dataset`.

Writing is crash-safe: rows are written into numbered segment files inside ``<out>.partial/``, each
renamed into place once complete, so a run killed at any moment keeps every committed row and can
resume from there. :meth:`DatasetWriter.close` assembles the segments into ``<out>`` under a
temporary name and renames it when complete, so ``<out>`` is either absent or whole.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import h5py
import numpy as np

from datagen import __version__
from datagen.errors import DatasetError
from datagen.keypoint_sets import KeypointSet, get_keypoint_set
from datagen.pyramid import build_pyramid, pyramid_sizes

log = logging.getLogger(__name__)

FORMAT_NAME = "pose-dataset"
FORMAT_VERSION = 1

# Per-row fields a producer may append, with their per-row shape (K = keypoints, S = image size).
# "images" is expanded into the pyramid /images/<r>, "masks" is stored as /masks/<S>.
_STR = h5py.string_dtype("utf-8")
ROW_FIELDS: dict[str, tuple[tuple[str | int, ...], np.dtype]] = {
    "images": (("S", "S", 3), np.dtype(np.uint8)),
    "masks": (("S", "S"), np.dtype(np.uint8)),
    "pose/xy": (("K", 2), np.dtype(np.float32)),
    "pose/visibility": (("K",), np.dtype(np.uint8)),
    "pose/xyz": (("K", 3), np.dtype(np.float32)),
    "camera/intrinsics": ((3, 3), np.dtype(np.float64)),
    "camera/extrinsics": ((4, 4), np.dtype(np.float64)),
    "meta/costume": ((), np.dtype(np.int32)),
    "meta/clip": ((), np.dtype(np.int32)),
    "meta/frame": ((), np.dtype(np.float32)),
    "meta/source": ((), _STR),
}
REQUIRED_FIELDS = ("images", "pose/xy", "pose/visibility")
# A rendered dataset carries all of these; an imported one carries meta/source.
RENDERED_FIELDS = ("masks", "pose/xyz", "camera/intrinsics", "camera/extrinsics",
                   "meta/costume", "meta/clip", "meta/frame")
IMPORTED_FIELDS = ("meta/source",)

# Images are stored one per chunk so that reading one level never touches another. gzip level 1
# suits rendered frames (flat colours on white); lzf is ~3x faster on photographs, where no codec
# gains much (imports choose it for speed).
IMAGE_COMPRESSIONS = {"gzip": dict(compression="gzip", compression_opts=1), "lzf": dict(compression="lzf"),
                      "none": {}}
ROW_COMPRESSION = dict(compression="gzip", compression_opts=4)


@dataclass
class DatasetHeader:
    """Dataset-wide settings. ``config`` is the producer's settings (stored as JSON)."""

    keypoint_set: str
    image_size: int
    generator: str = f"datagen {__version__}"
    config: dict = field(default_factory=dict)
    costume_names: list[str] | None = None  # rendered data
    clip_names: list[str] | None = None  # rendered data
    attrs: dict = field(default_factory=dict)  # extra root attributes (JSON-able scalars/strings)
    image_compression: str = "gzip"  # a key of IMAGE_COMPRESSIONS

    def __post_init__(self) -> None:
        get_keypoint_set(self.keypoint_set)
        if self.image_compression not in IMAGE_COMPRESSIONS:
            raise DatasetError(f"image compression {self.image_compression!r} is not one of "
                               f"{', '.join(IMAGE_COMPRESSIONS)}")
        s = self.image_size
        if not (isinstance(s, (int, np.integer)) and s >= 4 and s & (s - 1) == 0):
            raise DatasetError(f"image size {s!r} is not a power of two >= 4")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def kps(self) -> KeypointSet:
        return get_keypoint_set(self.keypoint_set)


def _row_shape(name: str, k: int, s: int, extra_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if name in ROW_FIELDS:
        return tuple(k if d == "K" else s if d == "S" else d for d in ROW_FIELDS[name][0])
    assert extra_shape is not None
    return extra_shape


def _storage_name(name: str, s: int) -> str:
    return f"masks/{s}" if name == "masks" else name


def _create_row_dataset(f: h5py.File, path: str, n: int | None, row_shape: tuple[int, ...],
                        dtype: np.dtype, image_compression: str = "gzip") -> h5py.Dataset:
    """Create /path with n rows (n=None: resizable, empty)."""
    is_image = path.startswith(("images/", "masks/"))
    opts = IMAGE_COMPRESSIONS[image_compression] if is_image else ROW_COMPRESSION
    shape = (0 if n is None else n,) + row_shape
    if is_image:
        chunks = (1,) + row_shape
    else:
        rows_per_chunk = max(1, min(4096, (1 << 16) // max(1, int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize)))
        chunks = (rows_per_chunk,) + row_shape
    return f.create_dataset(path, shape=shape, maxshape=(None,) + row_shape, dtype=dtype,
                            chunks=chunks, **opts)


class DatasetWriter:
    """Appends rows to a dataset, crash-safe and resumable.

    >>> with DatasetWriter("out.h5", DatasetHeader("avatar20", 64)) as w:   # doctest: +SKIP
    ...     w.append({"images": imgs, "pose/xy": xy, "pose/visibility": vis, ...})

    ``resume=True`` continues a killed run: :attr:`rows` says how many rows are already committed,
    and the producer must append rows from that index on. On an exception inside the ``with``
    block the committed rows are kept in ``<out>.partial/`` for ``resume`` and no ``<out>`` is made.
    """

    def __init__(self, path: str | os.PathLike, header: DatasetHeader, *, resume: bool = False,
                 segment_rows: int = 64) -> None:
        self.path = Path(path)
        self.header = header
        self.segment_rows = segment_rows
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._k = header.kps.size
        self._s = header.image_size
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_rows = 0
        self._fields: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None
        if not self.path.parent.exists():
            raise DatasetError(f"{self.path}: output folder {self.path.parent} does not exist")
        if resume and self.partial.exists():
            self._open_partial()
        else:
            if self.partial.exists():
                log.warning("discarding the earlier partial run in %s (use --resume to continue it)", self.partial)
                shutil.rmtree(self.partial)
            self.partial.mkdir()
            (self.partial / "header.json").write_text(header.to_json())
            self.rows = 0

    def _open_partial(self) -> None:
        hdr = self.partial / "header.json"
        try:
            old = json.loads(hdr.read_text())
        except (OSError, ValueError) as e:
            raise DatasetError(f"{hdr}: cannot resume, unreadable header ({e})") from None
        new = json.loads(self.header.to_json())
        if old != new:
            diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise DatasetError(f"{self.partial}: cannot resume, it was started with other settings "
                               f"({', '.join(diff)} differ); delete it or run without --resume")
        # Segment temporaries of the killed run are incomplete by definition.
        for tmp in self.partial.glob("*.tmp"):
            tmp.unlink()
        self.rows = 0
        for start, path in self._segments():
            if start != self.rows:
                raise DatasetError(f"{path}: segment starts at row {start}, expected {self.rows}")
            with h5py.File(path, "r") as f:
                self.rows += f["pose/xy"].shape[0]
                if self._fields is None:
                    self._fields = self._fields_of(f)

    def _fields_of(self, f: h5py.File) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        out = {}

        def visit(name: str, obj) -> None:
            if isinstance(obj, h5py.Dataset):
                if name.startswith("images/"):
                    if name == f"images/{self._s}":
                        out["images"] = (obj.shape[1:], obj.dtype)
                elif name.startswith("masks/"):
                    out["masks"] = (obj.shape[1:], obj.dtype)
                else:
                    out[name] = (obj.shape[1:], obj.dtype)

        f.visititems(visit)
        return out

    def _segments(self) -> list[tuple[int, Path]]:
        segs = []
        for p in self.partial.glob("seg-*.h5"):
            segs.append((int(p.stem.split("-")[1]), p))
        return sorted(segs)

    # -- appending -------------------------------------------------------------------------------

    def _check_batch(self, batch: dict[str, np.ndarray]) -> int:
        missing = [f for f in REQUIRED_FIELDS if f not in batch]
        if missing:
            raise DatasetError(f"{self.path}: rows lack {', '.join(missing)}")
        n = len(batch["pose/xy"])
        fields = {}
        for name, arr in batch.items():
            arr = np.asarray(arr)
            if len(arr) != n:
                raise DatasetError(f"{self.path}: {name} has {len(arr)} rows, pose/xy has {n}")
            if name in ROW_FIELDS:
                want = _row_shape(name, self._k, self._s)
                if arr.shape[1:] != want:
                    raise DatasetError(f"{self.path}: {name} rows have shape {arr.shape[1:]}, expected {want}")
                dtype = ROW_FIELDS[name][1]
            else:
                dtype = _STR if arr.dtype.kind in "OUS" else arr.dtype
            fields[name] = (arr.shape[1:], dtype)
        if self._fields is None:
            self._fields = fields
        elif set(fields) != set(self._fields):
            raise DatasetError(f"{self.path}: rows carry fields {sorted(fields)}, earlier rows {sorted(self._fields)}")
        xy = np.asarray(batch["pose/xy"], dtype=np.float32)
        vis = np.asarray(batch["pose/visibility"])
        bad = (vis > 0) & ~np.isfinite(xy).all(-1)
        if bad.any():
            r, k = np.argwhere(bad)[0]
            raise DatasetError(f"{self.path}: row {self.rows + self._pending_rows + r} keypoint "
                               f"{self.header.kps.names[k]} is not finite but has visibility {vis[r, k]}")
        if vis.size and vis.max() > 2:
            raise DatasetError(f"{self.path}: visibility {int(vis.max())} is not 0, 1 or 2")
        return n

    def append(self, batch: dict[str, np.ndarray]) -> None:
        """Append rows (a dict of per-row arrays keyed by ROW_FIELDS names or extra dataset paths)."""
        n = self._check_batch(batch)
        if n == 0:
            return
        self._pending.append({k: np.asarray(v) for k, v in batch.items()})
        self._pending_rows += n
        if self._pending_rows >= self.segment_rows:
            self.commit()

    def commit(self) -> None:
        """Write the pending rows as one segment file (atomically)."""
        if not self._pending_rows:
            return
        batch = {k: np.concatenate([b[k] for b in self._pending]) for k in self._pending[0]}
        final = self.partial / f"seg-{self.rows:09d}.h5"
        tmp = final.with_suffix(".tmp")
        with h5py.File(tmp, "w") as f:
            _write_rows(f, batch, self._fields, self._s, self.header.image_compression)
        os.replace(tmp, final)
        self.rows += self._pending_rows
        self._pending, self._pending_rows = [], 0

    # -- finishing -------------------------------------------------------------------------------

    def close(self) -> Path:
        """Commit, assemble ``<out>`` from the segments (temporary name, then rename), drop the partial."""
        self.commit()
        if self.rows == 0:
            raise DatasetError(f"{self.path}: no rows were written")
        sources = [p for _, p in self._segments()]
        attrs = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        concat_files(sources, self.path, self.header, attrs)
        shutil.rmtree(self.partial)
        return self.path

    def abort(self) -> None:
        """Forget everything written (no output, no partial)."""
        self._pending, self._pending_rows = [], 0
        shutil.rmtree(self.partial, ignore_errors=True)

    def __enter__(self) -> "DatasetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            # Keep every complete row for --resume; the rows of the broken batch are dropped.
            self._pending, self._pending_rows = [], 0


def _write_rows(f: h5py.File, batch: dict[str, np.ndarray], fields: dict, s: int, compression: str) -> None:
    n = len(batch["pose/xy"])
    for name, arr in batch.items():
        row_shape, dtype = fields[name]
        if name == "images":
            for r, level in build_pyramid(np.asarray(arr, dtype=np.uint8)).items():
                _create_row_dataset(f, f"images/{r}", n, level.shape[1:], np.dtype(np.uint8), compression)[:] = level
            continue
        ds = _create_row_dataset(f, _storage_name(name, s), n, tuple(row_shape), np.dtype(dtype), compression)
        if dtype == _STR:
            ds[:] = np.asarray([str(x) for x in arr], dtype=object)
        else:
            ds[:] = np.asarray(arr, dtype=dtype)


def _write_header(f: h5py.File, header: DatasetHeader, attrs: dict) -> None:
    kps = header.kps
    f.attrs["format"] = FORMAT_NAME
    f.attrs["version"] = FORMAT_VERSION
    f.attrs["keypoint_set"] = header.keypoint_set
    f.attrs["image_size"] = header.image_size
    f.attrs["generator"] = header.generator
    f.attrs["config"] = json.dumps(header.config, sort_keys=True)
    for key, value in {**header.attrs, **attrs}.items():
        f.attrs[key] = value
    f.create_dataset("keypoints/names", data=np.asarray(kps.names, dtype=object), dtype=_STR)
    f.create_dataset("keypoints/edges", data=kps.edges_array())
    f.create_dataset("keypoints/flip", data=kps.flip_array())
    if header.costume_names is not None:
        f.create_dataset("meta/costume_names", data=np.asarray(header.costume_names, dtype=object), dtype=_STR)
    if header.clip_names is not None:
        f.create_dataset("meta/clip_names", data=np.asarray(header.clip_names, dtype=object), dtype=_STR)


def _row_datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    """Every per-row dataset of a file (everything but /keypoints/* and the name tables)."""
    out = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith("keypoints/") \
                and name not in ("meta/costume_names", "meta/clip_names"):
            out[name] = obj

    f.visititems(visit)
    return out


def concat_files(sources: Iterable[str | os.PathLike], out: str | os.PathLike, header: DatasetHeader,
                 attrs: dict | None = None) -> Path:
    """Concatenate the rows of ``sources`` (segments or whole datasets of one layout) into ``out``.

    Image chunks are copied as compressed bytes (no decode/encode); ``out`` is written under a
    temporary name and renamed when complete.
    """
    sources = [Path(s) for s in sources]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    handles = [h5py.File(s, "r") for s in sources]
    try:
        layouts = [_row_datasets(h) for h in handles]
        names = sorted(layouts[0])
        for src, lay in zip(sources, layouts):
            if sorted(lay) != names:
                raise DatasetError(f"{src}: datasets {sorted(lay)} differ from {sources[0]}'s {names}")
        counts = [lay["pose/xy"].shape[0] for lay in layouts]
        n = sum(counts)
        with h5py.File(tmp, "w") as f:
            _write_header(f, header, attrs or {})
            for name in names:
                first = layouts[0][name]
                ds = _create_row_dataset(f, name, n, first.shape[1:], first.dtype, header.image_compression)
                if name.startswith(("images/", "masks/")):
                    _copy_chunks(ds, [lay[name] for lay in layouts])
                else:
                    ds[:] = np.concatenate([lay[name][:] for lay in layouts]) if n else ds[:]
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for h in handles:
            h.close()
    return out


def _copy_chunks(dst: h5py.Dataset, srcs: list[h5py.Dataset]) -> None:
    zeros = (0,) * (dst.ndim - 1)
    row = 0
    for src in srcs:
        same = src.compression == dst.compression and src.compression_opts == dst.compression_opts \
            and src.chunks == dst.chunks
        for i in range(src.shape[0]):
            if same:
                mask, data = src.id.read_direct_chunk((i,) + zeros)
                dst.id.write_direct_chunk((row,) + zeros, data, mask)
            else:
                dst[row] = src[i]
            row += 1


# -- reading ---------------------------------------------------------------------------------------


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
        self.resolutions = pyramid_sizes(self.image_size)

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
    for r in pyramid_sizes(s):
        expect[f"images/{r}"] = (n, r, r, 3)
    if f"masks/{s}" in f:
        expect[f"masks/{s}"] = (n, s, s)
    for name, (shape, _) in ROW_FIELDS.items():
        if name not in ("images", "masks") and name in f:
            expect[name] = (n,) + _row_shape(name, k, s)
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

