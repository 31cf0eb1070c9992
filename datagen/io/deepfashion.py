"""DeepFashion (In-shop Clothes Retrieval) keypoint tables of PG2 / Deformable-GAN / Pose-Transfer.

The tables (``fasion-annotation-{train,test}.csv``) hold one row per image, ``:``-separated:
``name: [18 y values]: [18 x values]``, COCO-18 order (OpenPose's), -1 for a missing part, in integer
pixels of the 176 x 256 (width x height) crop that those projects cut from the 256 x 256 In-shop image
at x = 40 (``img.crop((40, 0, 216, 256))``).

Each name is an In-shop image path flattened by the projects' data-preparation scripts (Deformable-GAN
``split_fasion_data.py``, Pose-Transfer / CFLD ``generate_fashion_datasets.py``)::

    img/WOMEN/Tees_Tanks/id_00000316/06_2_side.jpg
      -> fasionWOMENTeesTanksid0000031606_2side.jpg    (Deformable-GAN: category underscores dropped)
      -> fashionWOMENTees_Tanksid0000031606_2side.jpg  (Pose-Transfer: category kept)

i.e. prefix + gender + category + item id without its underscore + image number + "_" + the rest of the
file name without underscores. :func:`inshop_path` inverts it; the category folder of a ``fasion``
name is restored from the 23 In-shop categories (or the folders found on disk). docs/importers.md.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.errors import DatagenError
from datagen.format import jsonsafe
from datagen.format.keypoint_sets import COCO18

CROP_WIDTH, CROP_HEIGHT = 176, 256  # the annotated crop
ORIGINAL_SIZE = 256  # In-shop img/ images are 256 x 256
CROP_X_OFFSET = 40  # the crop's left edge in the original
MISSING = -1

# The category folders of In-shop img/<gender>/ (23 in all).
INSHOP_CATEGORIES: dict[str, tuple[str, ...]] = {
    "MEN": ("Denim", "Jackets_Vests", "Pants", "Shirts_Polos", "Shorts", "Suiting", "Sweaters",
            "Sweatshirts_Hoodies", "Tees_Tanks"),
    "WOMEN": ("Blouses_Shirts", "Cardigans", "Denim", "Dresses", "Graphic_Tees", "Jackets_Coats",
              "Leggings", "Pants", "Rompers_Jumpsuits", "Shorts", "Skirts", "Sweaters",
              "Sweatshirts_Hoodies", "Tees_Tanks"),
}

_NAME = re.compile(r"(?P<prefix>fasion|fashion)(?P<gender>WOMEN|MEN)(?P<category>[A-Za-z_]+?)"
                   r"id_?(?P<item>\d{8})(?P<image>\d+)_(?P<pose>\d+)(?P<view>[A-Za-z]+)\.(?:jpe?g|png)")
# The evaluation statuses of list_eval_partition.txt that make up each --split.
SPLITS: dict[str, tuple[str, ...] | None] = {"train": ("train",), "test": ("query", "gallery"), "all": None}


class DeepFashionError(DatagenError):
    """A DeepFashion annotation, name, image or partition file that cannot be used; names the file.

    ``reason`` is a short label for import summaries.
    """

    def __init__(self, message: str, reason: str = "bad annotation row") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Annotation:
    """One table row: ``xy`` (18, 2) float64 crop pixel indices (x, y), NaN for a missing part."""

    name: str
    line: int
    xy: np.ndarray

    @property
    def present(self) -> np.ndarray:
        """(18,) bool."""
        return np.isfinite(self.xy).all(-1)


# -- the keypoint tables ---------------------------------------------------------------------------


def parse_annotation_line(text: str, source: str = "<table>", line: int = 0) -> Annotation:
    """Parse ``name: [y...]: [x...]``; errors name ``source:line``."""
    where = f"{source}:{line}"
    fields = text.rstrip("\r\n").split(":")
    if len(fields) != 3:
        raise DeepFashionError(f"{where}: expected 3 ':'-separated fields (name, keypoints_y, "
                               f"keypoints_x), found {len(fields)}")
    name = fields[0].strip()
    coords = []
    for label, text in zip(("keypoints_y", "keypoints_x"), fields[1:]):
        try:
            values = jsonsafe.loads(text)
        except jsonsafe.NonFiniteError:
            raise DeepFashionError(f"{where}: {label} holds NaN or infinity", "NaN value") from None
        except ValueError:
            raise DeepFashionError(f"{where}: {label} is not a list of numbers: {text.strip()[:40]!r}") from None
        if not isinstance(values, list) or len(values) != COCO18.size:
            n = len(values) if isinstance(values, list) else "no list of"
            raise DeepFashionError(f"{where}: {label} has {n} values, expected {COCO18.size}",
                                   "wrong number of values")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise DeepFashionError(f"{where}: {label} holds a value that is not a number", "non-numeric value")
        if not all(math.isfinite(v) for v in values):
            raise DeepFashionError(f"{where}: {label} holds NaN or infinity", "NaN value")
        coords.append(np.asarray(values, dtype=np.float64))
    y, x = coords
    missing = (x == MISSING) | (y == MISSING)
    xy = np.where(missing[:, None], np.nan, np.stack([x, y], axis=-1))
    return Annotation(name, line, xy)


def read_annotations(path: str | os.PathLike) -> tuple[list[Annotation], list[DeepFashionError]]:
    """Every row of a ``name:keypoints_y:keypoints_x`` table, and an error for each bad row."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DeepFashionError(f"{path}: cannot read the keypoint table ({e})", "unreadable file") from None
    if not lines or [f.strip() for f in lines[0].split(":")] != ["name", "keypoints_y", "keypoints_x"]:
        raise DeepFashionError(f"{path}: first line is not the header 'name:keypoints_y:keypoints_x'",
                               "not a keypoint table")
    rows, errors = [], []
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            rows.append(parse_annotation_line(line, str(path), i))
        except DeepFashionError as e:
            errors.append(e)
    return rows, errors


# -- names -> In-shop files ------------------------------------------------------------------------


def category_table(extra_folders: dict[str, list[str]] | None = None) -> dict[tuple[str, str], str]:
    """(gender, category without underscores) -> category folder, for the In-shop categories and any
    folders in ``extra_folders`` ({gender: [folder, ...]}, e.g. found on disk)."""
    table = {}
    for source in (INSHOP_CATEGORIES, extra_folders or {}):
        for gender, folders in source.items():
            for folder in folders:
                table[(gender, folder.replace("_", ""))] = folder
    return table


_DEFAULT_CATEGORIES = category_table()


def inshop_path(name: str, categories: dict[tuple[str, str], str] | None = None) -> str:
    """``fasionWOMENDressesid0000553705_4full.jpg`` -> ``img/WOMEN/Dresses/id_00005537/05_4_full.jpg``.

    Takes both spellings (``fasion...``, ``fashion...``); ``categories`` as :func:`category_table`.
    """
    m = _NAME.fullmatch(name)
    if m is None:
        raise DeepFashionError(f"{name!r} is not a DeepFashion In-shop image name "
                               f"(like fasionWOMENDressesid0000553705_4full.jpg)", "unknown image name")
    gender, category = m["gender"], m["category"]
    table = _DEFAULT_CATEGORIES if categories is None else categories
    folder = table.get((gender, category.replace("_", "")), category)
    return (f"img/{gender}/{folder}/id_{m['item']}/"
            f"{m['image']}_{m['pose']}_{m['view']}.jpg")


def inshop_name(path: str, prefix: str = "fasion") -> str:
    """The forward rule: ``img/WOMEN/Tees_Tanks/id_00000316/06_2_side.jpg`` -> ``fasionWOMENTeesTanks
    id0000031606_2side.jpg`` (``prefix="fashion"`` keeps the category's underscores)."""
    gender, category, item, file = path.replace("\\", "/").split("/")[-4:]
    if prefix == "fasion":
        category = category.replace("_", "")
    first, *rest = file.split("_")
    return prefix + gender + category + item.replace("_", "") + first + "_" + "".join(rest)


def category_folders(images_dir: str | os.PathLike) -> dict[str, list[str]]:
    """{gender: [category folder, ...]} found under ``images_dir`` (or its ``img/``)."""
    out: dict[str, list[str]] = {}
    for root in (Path(images_dir) / "img", Path(images_dir)):
        for gender in INSHOP_CATEGORIES:
            if (root / gender).is_dir():
                out.setdefault(gender, []).extend(p.name for p in (root / gender).iterdir() if p.is_dir())
    return out


def find_image(images_dir: str | os.PathLike, name: str, rel: str) -> Path | None:
    """The image file of table row ``name`` (In-shop path ``rel``) in ``images_dir``: the In-shop
    tree (``images_dir/img/...`` or ``images_dir/...`` when given ``img/`` itself) or a flat folder of
    files named like the table (the projects' train/ and test/ folders)."""
    d = Path(images_dir)
    for p in (d / rel, d / rel.split("/", 1)[1], d / name):
        if p.is_file():
            return p
    return None


# -- coordinates -----------------------------------------------------------------------------------


def crop_to_image(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """(..., 2) crop pixel indices -> format-v1 pixel coordinates in the image file.

    The integer indices are taken as pixel centres (OpenPose's convention), so a value v is
    v + 0.5 in format v1. A square image is the In-shop original (the crop sits at x = 40 of 256, the
    whole scaled by width/256); a 176 x 256 image (any scale) is the crop itself.
    """
    xy = np.asarray(xy, dtype=np.float64) + 0.5
    if width == height:
        return (xy + np.array([CROP_X_OFFSET, 0.0])) * (width / ORIGINAL_SIZE)
    if width * CROP_HEIGHT == height * CROP_WIDTH:
        return xy * (height / CROP_HEIGHT)
    raise DeepFashionError(f"image is {width}x{height}; expected a square In-shop image (256x256) or "
                           f"its {CROP_WIDTH}x{CROP_HEIGHT} crop", "unexpected image size")


# -- train/test partition --------------------------------------------------------------------------


def read_partition(path: str | os.PathLike) -> dict[str, str]:
    """In-shop ``list_eval_partition.txt`` -> {``img/...jpg``: "train" | "query" | "gallery"}.

    The file: a count, the header ``image_name item_id evaluation_status``, then one row per image.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DeepFashionError(f"{path}: cannot read the partition file ({e})", "unreadable file") from None
    out = {}
    for i, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or (i == 1 and len(fields) == 1 and fields[0].isdigit()) or fields[0] == "image_name":
            continue
        if len(fields) != 3 or fields[2] not in ("train", "query", "gallery"):
            raise DeepFashionError(f"{path}:{i}: expected 'image_name item_id train|query|gallery', "
                                   f"found {line.strip()[:60]!r}", "bad partition file")
        out[fields[0]] = fields[2]
    return out
