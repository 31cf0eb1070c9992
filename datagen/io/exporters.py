"""Exporters: a format-v1 dataset -> COCO keypoints JSON (17-point ``coco`` or 18-point ``coco18``),
OpenPose 1.3 JSON files, a Hugging Face dataset (``hf``), a diffusers ControlNet dataset
(``controlnet``) or Ultralytics YOLO pose labels (``yolo``), with its images.

Each format holds some keypoint sets (:data:`datagen.io.formats.EXPORT_FORMATS`): a dataset in one of
them is written as it is, any other is converted to the format's first set by landmark
(:func:`datagen.format.convert_keypoints`; e.g. an ``avatar20`` dataset has no nose, eyes or ears, which
are written as missing). Images are written as PNG (lossless), so importing an OpenPose export with
``datagen import-openpose`` gives back the same rows. Coordinates follow the exported format's own
pixel convention: OpenPose and COCO keypoints put the centre of pixel i at i, the dataset at i + 0.5.
COCO boxes, areas and segmentations come from the masks (:mod:`datagen.io.coco`). Every writer reads
the rows in blocks (:mod:`datagen.io.export_rows`) into a temporary folder renamed when complete.
docs/importers.md, docs/training-other-models.md.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from datagen import __version__
from datagen.errors import DatagenError
from datagen.format import open_dataset
from datagen.format.keypoint_sets import get_keypoint_set
from datagen.format.outputs import OutputLock, check_output, remove_leftovers, write_errors
from datagen.io import openpose
from datagen.io.coco import coco_annotation, coco_category, read_coco  # noqa: F401  (read_coco: public here too)
from datagen.io.export_rows import ExportJob, ExportOptions, export_pose, png_bytes  # noqa: F401  (public)
from datagen.io.formats import EXPORT_FORMATS, ExportFormat

COCO_FILE = "person_keypoints.json"


class ExportError(DatagenError):
    """An export that cannot be done (bad target folder, unknown keypoint set or format, missing extra)."""


def _write_openpose(job: ExportJob, tmp: Path, bar: tqdm) -> None:
    (tmp / "images").mkdir()
    (tmp / "keypoints").mkdir()
    for block in job.blocks():
        for row, rgb in zip(block.rows, block.images):
            stem = f"{row:06d}"
            (tmp / "images" / f"{stem}.png").write_bytes(png_bytes(rgb))
            people = openpose.from_format(job.xy[row], job.conf[row])[None]
            openpose.write_openpose(tmp / "keypoints" / f"{stem}{openpose.KEYPOINTS_SUFFIX}", people)
        bar.update(len(block.rows))


def _write_coco(job: ExportJob, tmp: Path, bar: tqdm) -> None:
    (tmp / "images").mkdir()
    s = job.size
    meta = job.meta()
    coco_images, coco_anns = [], []
    for block in job.blocks(with_masks=True):
        for i, (row, rgb) in enumerate(zip(block.rows, block.images)):
            stem = f"{row:06d}"
            (tmp / "images" / f"{stem}.png").write_bytes(png_bytes(rgb))
            coco_images.append({"id": int(row) + 1, "file_name": f"{stem}.png", "width": s, "height": s,
                                "row": int(row), **{k: v[row] for k, v in meta.items()}})
            coco_anns.append(coco_annotation(int(row), job.xy[row], job.vis[row], s,
                                             None if block.masks is None else block.masks[i]))
        bar.update(len(block.rows))
    now = datetime.now(timezone.utc)
    doc = {"info": {"description": f"exported from {job.file.name}", "version": "1.0", "year": now.year,
                    "contributor": f"datagen {__version__}", "date_created": now.isoformat(timespec="seconds")},
           "licenses": [], "images": coco_images, "annotations": coco_anns, "categories": [coco_category(job.kps)]}
    (tmp / COCO_FILE).write_text(json.dumps(doc, allow_nan=False))  # NaN is not JSON


def _lazy(module: str, name: str = "write") -> Callable[[ExportJob, Path, tqdm], None]:
    """A writer in its own module, imported only when used (some need an extra)."""
    def write(job: ExportJob, tmp: Path, bar: tqdm) -> None:
        return getattr(importlib.import_module(module), name)(job, tmp, bar)
    return write


# format.layout -> the writer filling the temporary folder
WRITERS: dict[str, Callable[[ExportJob, Path, tqdm], None]] = {
    "coco": _write_coco,
    "openpose": _write_openpose,
    "hf": _lazy("datagen.io.hf"),
    "controlnet": _lazy("datagen.io.controlnet"),
    "yolo": _lazy("datagen.io.yolo"),
}


def check_extra(fmt: ExportFormat) -> None:
    """One line naming the extra to install when a module the format's writer needs is missing."""
    missing = [m for m in fmt.needs if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"--to {fmt.name}: needs {', '.join(missing)}, which is not installed "
                          f"(pip install 'psgan-toolkit[{fmt.extra}]')")


def _prepare_target(out: Path, overwrite: bool) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise ExportError(f"{out}: exists (use --overwrite to replace it)")
    check_output(out, kind="dir", overwrite=overwrite)
    return out.parent / f".{out.name}.export-{os.getpid()}"


def _export_size(reader, size: int | None) -> int:
    if size is None:
        return reader.image_size
    if size not in reader.resolutions:
        raise ExportError(f"--size {size}: {reader.path} has no image level {size} (levels: "
                          f"{', '.join(map(str, reader.resolutions))})")
    return size


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out``; an existing ``out`` (--overwrite) goes only once it is done."""
    if out.exists() and not any(out.iterdir()):
        out.rmdir()
    if out.exists():
        old = out.parent / f".{out.name}.export-old-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)


def export_dataset(file: str | os.PathLike, to: str, out: str | os.PathLike, progress: bool = False,
                   options: ExportOptions | None = None) -> int:
    """Export every row of ``file`` to the folder ``out`` (absent or empty; any folder with
    ``options.overwrite``) as ``to``:

    * ``coco`` / ``coco18``: ``person_keypoints.json`` (COCO keypoint format, one image and one
      annotation per row; the image entry names its row and its clip, costume and frame or its source)
      and ``images/000000.png`` ...;
    * ``openpose``: ``keypoints/000000_keypoints.json`` (OpenPose 1.3, one person) and
      ``images/000000.png`` ...;
    * ``hf``, ``controlnet``: a Hugging Face dataset folder (:mod:`datagen.io.hf`,
      :mod:`datagen.io.controlnet`); ``yolo``: Ultralytics pose labels (:mod:`datagen.io.yolo`).

    Written into a temporary folder that is renamed to ``out`` when complete; ``overwrite`` replaces an
    existing ``out`` then (the command line first checks it holds only an export). Returns the row count.
    """
    if to not in EXPORT_FORMATS:
        raise ExportError(f"--to must be one of {', '.join(EXPORT_FORMATS)}, not {to!r}")
    fmt = EXPORT_FORMATS[to]
    check_extra(fmt)
    options = options or ExportOptions()
    for opt, value in (("--skeleton", options.skeleton), ("--caption", options.caption)):
        if value is not None and fmt.layout != "controlnet":
            raise ExportError(f"{opt} {value}: only --to controlnet draws skeletons and writes captions")
    out, file = Path(out), Path(file)
    tmp = _prepare_target(out, options.overwrite)
    with OutputLock(out), write_errors(out), open_dataset(file) as reader:
        remove_leftovers(out)
        kps = get_keypoint_set(options.skeleton or fmt.target_set(reader.keypoint_set.name))
        job = ExportJob(file, reader, kps, _export_size(reader, options.size), options)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir()
            with tqdm(total=len(job), unit="row", disable=None if progress else True, desc=f"export {to}") as bar:
                WRITERS[fmt.layout](job, tmp, bar)
            _replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return len(reader)
