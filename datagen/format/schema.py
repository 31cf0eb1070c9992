"""Dataset format version 1 (docs/format.md): the schema every producer and consumer shares.

The per-row fields with their shapes, the header (dataset-wide settings), storage layout and
compression, and the header's root attributes and tables as written into a file.
"""
from __future__ import annotations

import json
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, field

import h5py
import numpy as np

from datagen import __version__
from datagen.errors import DatasetError
from datagen.format.keypoint_sets import KeypointSet, get_keypoint_set

FORMAT_NAME = "pose-dataset"
FORMAT_VERSION = 1

# Per-row fields a producer may append, with their per-row shape (K = keypoints, S = image size).
# "images" is expanded into the pyramid /images/<r>, "masks" is stored as /masks/<S>.
STR_DTYPE = h5py.string_dtype("utf-8")
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
    "meta/source": ((), STR_DTYPE),
    "meta/input": ((), np.dtype(np.int32)),
}
REQUIRED_FIELDS = ("images", "pose/xy", "pose/visibility")
# A rendered dataset carries all of these; an imported one carries meta/source.
RENDERED_FIELDS = ("masks", "pose/xyz", "camera/intrinsics", "camera/extrinsics",
                   "meta/costume", "meta/clip", "meta/frame")
IMPORTED_FIELDS = ("meta/source",)
# A pose-only file (``datagen poses``) has the root attribute pose_only = 1, no /images and no /masks:
# keypoints, visibility, cameras and times only (docs/format.md, "Pose-only files").
POSE_ONLY_ATTR = "pose_only"
POSE_ONLY_FIELDS = ("pose/xyz", "camera/intrinsics", "camera/extrinsics", "meta/clip", "meta/frame")
# Name tables: one entry per costume, clip or input file, not per row. /meta/costume_rigs (the rig file
# each costume was rendered from) is written by renders of several rigs and by `datagen combine`, which
# also writes /meta/input_names (its input files; /meta/input indexes it per row).
NAME_TABLES = ("meta/costume_names", "meta/clip_names", "meta/costume_rigs", "meta/input_names")

# What each dataset means, written as its HDF5 attributes so a file explains itself to any HDF5 tool
# (h5dump -A, HDFView, h5py's .attrs) without docs/format.md. Keys of a dataset path or its group
# ("images", "masks"); every entry has a "description", quantities their "units".
PIXEL_CONVENTION = ("pixels of the S x S image: origin at the top-left corner of the top-left pixel, x right, "
                    "y down; pixel i covers [i, i+1), so its centre is at i + 0.5; on pyramid level r a point "
                    "is at xy * r / S")
VISIBILITY_MEANING = "0 absent (outside the frame, behind the camera or not labelled), 1 in the frame but occluded, 2 visible (COCO's v)"
FIELD_ATTRS: dict[str, dict[str, str]] = {
    "images": {"description": "RGB images of one pyramid level r, (N, r, r, 3); level r is the rounded 2x2 box "
                              "average of level 2r", "units": "uint8 sRGB, 0-255", "layout": "row, y, x, channel (RGB)"},
    "masks": {"description": "how much of each pixel the character covers, at full size S (the anti-aliased "
                        "alpha of the render; >= 128 is the binary silhouette at 50% coverage)",
              "units": "255 fully covered, 0 not covered (the image is white there)", "layout": "row, y, x"},
    "pose/xy": {"description": "keypoints (x, y) in the order of /keypoints/names", "units": "pixels",
                "pixel_convention": PIXEL_CONVENTION},
    "pose/visibility": {"description": "visibility of each keypoint", "units": "code", "meaning": VISIBILITY_MEANING},
    "pose/xyz": {"description": "world coordinates of each keypoint", "units": "metres",
                 "frame": "the rig's world frame (Blender: z up)"},
    "pose/confidence": {"description": "detector confidence of imported keypoints, 0 for a missing point",
                        "units": "0-1"},
    "camera/intrinsics": {"description": "3x3 camera matrix K mapping camera coordinates to /pose/xy",
                          "units": "pixels", "pixel_convention": PIXEL_CONVENTION},
    "camera/extrinsics": {"description": "4x4 world-to-camera transform, OpenCV axes (x right, y down, z forward)",
                          "units": "metres"},
    "meta/costume": {"description": "index into /meta/costume_names", "units": "index"},
    "meta/clip": {"description": "index into /meta/clip_names", "units": "index"},
    "meta/frame": {"description": "time within the clip, counted from its first frame (fractional between keys)",
                   "units": "frames of the rig's scene frame rate"},
    "meta/source": {"description": "the source image file of the row (imported data)", "units": "file name"},
    "meta/input": {"description": "index into /meta/input_names: the input file of datagen combine the row came from",
                   "units": "index"},
    "keypoints/names": {"description": "keypoint names in the set's order"},
    "keypoints/edges": {"description": "skeleton edges as index pairs into /keypoints/names", "units": "index"},
    "keypoints/flip": {"description": "index of each keypoint's left/right mirror partner", "units": "index"},
    "meta/costume_names": {"description": "costume names as in the rig"},
    "meta/clip_names": {"description": "clip (Action) names as in the rig"},
    "meta/costume_rigs": {"description": "the rig file each costume of /meta/costume_names was rendered from"},
    "meta/input_names": {"description": "the input files of datagen combine, as given"},
}


def describe_dataset(ds: h5py.Dataset, name: str) -> None:
    """Write the :data:`FIELD_ATTRS` of ``name`` (a path such as ``pose/xy`` or ``images/64``) onto ``ds``."""
    for key, value in FIELD_ATTRS.get(name, FIELD_ATTRS.get(name.split("/")[0], {})).items():
        ds.attrs[key] = value


def provenance() -> dict:
    """Who wrote a file and how: the command line, the tool, Python and (only where bpy is loaded, i.e.
    in a render) Blender versions. Kept in the config under ``"provenance"``; not a setting, so merge
    and resume ignore it."""
    out = {"command": shlex.join(sys.argv), "tool": f"datagen {__version__}", "python": platform.python_version(),
           "platform": platform.platform(terse=True)}
    bpy = sys.modules.get("bpy")  # never imported here: only recorded when the producer loaded it
    if bpy is not None and hasattr(bpy, "app"):
        out["blender"] = bpy.app.version_string
    return out


def settings_only(config: dict) -> dict:
    """A config without its provenance (what two runs must share to be merged)."""
    return {k: v for k, v in config.items() if k != "provenance"}


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
    tables: dict = field(default_factory=dict)  # further NAME_TABLES ("meta/costume_rigs": [...]) -> names

    def __post_init__(self) -> None:
        get_keypoint_set(self.keypoint_set)
        if self.image_compression not in IMAGE_COMPRESSIONS:
            raise DatasetError(f"image compression {self.image_compression!r} is not one of "
                               f"{', '.join(IMAGE_COMPRESSIONS)}")
        s = self.image_size
        if not (isinstance(s, (int, np.integer)) and s >= 4 and s & (s - 1) == 0):
            raise DatasetError(f"image size {s!r} is not a power of two >= 4")
        unknown = sorted(set(self.tables) - set(NAME_TABLES[2:]))
        if unknown:
            raise DatasetError(f"unknown name table {unknown[0]!r} (known: {', '.join(NAME_TABLES[2:])})")

    def to_json(self) -> str:
        d = asdict(self)
        if not d["tables"]:
            del d["tables"]  # the header of a file without them reads as it always did (--resume)
        return json.dumps(d, sort_keys=True)

    @property
    def kps(self) -> KeypointSet:
        return get_keypoint_set(self.keypoint_set)


def row_shape(name: str, k: int, s: int, extra_shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if name in ROW_FIELDS:
        return tuple(k if d == "K" else s if d == "S" else d for d in ROW_FIELDS[name][0])
    assert extra_shape is not None
    return extra_shape


def storage_name(name: str, s: int) -> str:
    return f"masks/{s}" if name == "masks" else name


def create_row_dataset(f: h5py.File, path: str, n: int | None, row_shape: tuple[int, ...],
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
    ds = f.create_dataset(path, shape=shape, maxshape=(None,) + row_shape, dtype=dtype, chunks=chunks, **opts)
    describe_dataset(ds, path)
    return ds


def write_header(f: h5py.File, header: DatasetHeader, attrs: dict) -> None:
    kps = header.kps
    f.attrs["format"] = FORMAT_NAME
    f.attrs["version"] = FORMAT_VERSION
    f.attrs["keypoint_set"] = header.keypoint_set
    f.attrs["image_size"] = header.image_size
    f.attrs["generator"] = header.generator
    config = dict(header.config)
    config.setdefault("provenance", provenance())
    f.attrs["config"] = json.dumps(config, sort_keys=True)
    for key, value in {**header.attrs, **attrs}.items():
        f.attrs[key] = value
    tables = {"keypoints/names": np.asarray(kps.names, dtype=object), "keypoints/edges": kps.edges_array(),
              "keypoints/flip": kps.flip_array()}
    if header.costume_names is not None:
        tables["meta/costume_names"] = np.asarray(header.costume_names, dtype=object)
    if header.clip_names is not None:
        tables["meta/clip_names"] = np.asarray(header.clip_names, dtype=object)
    for name, names in header.tables.items():
        tables[name] = np.asarray(list(names), dtype=object)
    for name, data in tables.items():
        ds = f.create_dataset(name, data=data, dtype=STR_DTYPE if data.dtype == object else None)
        describe_dataset(ds, name)


def row_datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    """Every per-row dataset of a file (everything but /keypoints/* and the name tables)."""
    out = {}

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith("keypoints/") and name not in NAME_TABLES:
            out[name] = obj

    f.visititems(visit)
    return out
