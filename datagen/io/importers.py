"""Import jobs: OpenPose output and DeepFashion keypoint tables -> dataset format v1 (``coco18``).

Each job lists its source entries (keypoint files or table rows), then converts them in chunks: read
the keypoints, drop rows with too few of them, decode the image, letterbox it into S x S with the
keypoints (datagen.io.letterbox), and append the rows through :class:`datagen.format.reader.DatasetWriter`.
Chunks run in worker processes, each writing a shard; the shards are joined by
:func:`datagen.format.reader.concat_files`, which writes the output under a temporary name and renames it
when complete, so a failed or interrupted import never leaves a broken output file.

A bad source file (truncated or non-JSON, wrong number of values, NaN, missing or unreadable image) is
reported with its name and skipped, or stops the run with ``strict``. docs/importers.md.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, NamedTuple

import cv2
import numpy as np
from tqdm import tqdm

from datagen.io import deepfashion, openpose
from datagen.format import IMAGE_COMPRESSIONS, DatasetHeader, DatasetWriter, concat_files
from datagen.errors import DatagenError
from datagen.format.keypoint_sets import COCO18, convert_keypoints, get_keypoint_set
from datagen.format.outputs import OutputError, OutputLock, check_output, remove_leftovers, write_errors
from datagen.io.letterbox import letterbox_for

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")  # preference order
_BATCH_ROWS = 64  # rows per DatasetWriter.append


class ImportJobError(DatagenError):
    """An import that cannot go on (strict mode, nothing to import, bad arguments)."""


@dataclass
class ImportOptions:
    """Settings shared by the importers (the CLI flags of the same names)."""

    size: int = 256  # side S of the output images
    keypoint_set: str = "coco18"  # the dataset's keypoint set; sources are converted to it by landmark
    min_keypoints: int = 10  # rows with fewer detected parts are skipped (the paper's rule)
    min_confidence: float = 0.0  # parts detected with less confidence count as missing (OpenPose)
    strict: bool = False  # stop at the first bad source file instead of skipping it
    person: str = "best"  # OpenPose, several people in a file: "best" (one row) or "all" (a row each)
    image_compression: str = "lzf"  # of the stored images: lzf, gzip or none (datagen.format.reader)
    workers: int = 0  # worker processes; 0: one per CPU
    chunk: int = 512  # source entries per worker task (and per shard)
    overwrite: bool = False  # replace an existing output

    def __post_init__(self) -> None:
        if self.size < 4 or self.size & (self.size - 1):
            raise ImportJobError(f"--size {self.size} is not a power of two >= 4")
        if self.person not in ("best", "all"):
            raise ImportJobError(f"--person must be 'best' or 'all', not {self.person!r}")
        if self.image_compression not in IMAGE_COMPRESSIONS:
            raise ImportJobError(f"--image-compression must be one of {', '.join(IMAGE_COMPRESSIONS)}, "
                                 f"not {self.image_compression!r}")
        k = get_keypoint_set(self.keypoint_set).size
        if not (0 <= self.min_keypoints <= k):
            raise ImportJobError(f"--min-keypoints {self.min_keypoints} is not in 0..{k} "
                                 f"(the {self.keypoint_set} keypoints)")


@dataclass
class ImportSummary:
    """What an import did. ``skipped`` counts rows by reason; ``problems`` has one line per bad file."""

    entries: int = 0  # source entries looked at (keypoint files / table rows)
    imported: int = 0  # rows written
    skipped: Counter = field(default_factory=Counter)
    dropped_people: int = 0  # extra people left out by --person best
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, problem: str | None = None) -> None:
        self.skipped[reason] += 1
        if problem is not None:
            self.problems.append(problem)

    def merge(self, other: "ImportSummary") -> None:
        self.entries += other.entries
        self.imported += other.imported
        self.skipped.update(other.skipped)
        self.dropped_people += other.dropped_people
        self.problems.extend(other.problems)

    def format(self) -> str:
        """One line: rows imported, skipped and why, people dropped."""
        out = f"imported {self.imported} rows from {self.entries} source entries"
        n = sum(self.skipped.values())
        if n:
            why = ", ".join(f"{c} {r}" for r, c in sorted(self.skipped.items(), key=lambda rc: (-rc[1], rc[0])))
            out += f"; skipped {n} ({why})"
        if self.dropped_people:
            out += f"; left out {self.dropped_people} other people (--person best)"
        return out


class RowSkipped(Exception):
    """A source row left out: ``problem`` is a message naming the file when it is bad input (reported,
    or fatal with ``strict``), None when an option filters it out; ``reason`` labels the summary."""

    def __init__(self, reason: str, problem: str | None = None) -> None:
        super().__init__(problem or reason)
        self.reason, self.problem = reason, problem


class _OpenPoseEntry(NamedTuple):
    keypoints: str  # the *_keypoints.json file
    image: str | None  # its image, None when there is none
    source: str  # the image file as stored in /meta/source


class _DeepFashionEntry(NamedTuple):
    where: str  # table file:line
    xy: np.ndarray  # (18, 2) crop pixel indices, NaN where missing
    image: str
    source: str


class _Row(NamedTuple):
    image: np.ndarray  # (S, S, 3) uint8
    xy: np.ndarray  # (K, 2) format-v1 pixels, NaN where missing
    present: np.ndarray  # (K,) bool
    confidence: np.ndarray | None  # (K,) OpenPose confidence
    source: str


# -- reading one source entry ----------------------------------------------------------------------


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file -> (H, W, 3) uint8 RGB (EXIF orientation applied, as OpenPose reads it).

    Raises RowSkipped for a missing, undecodable or truncated file.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise RowSkipped("unreadable image", f"{path}: cannot read the image ({e.strerror or e})") from None
    # libjpeg decodes a truncated JPEG with a warning, filling the rest grey: insist on its end marker.
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-64:]:
        raise RowSkipped("unreadable image", f"{path}: truncated JPEG (no end-of-image marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RowSkipped("unreadable image", f"{path}: not a readable image, truncated or corrupt")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _openpose_rows(entry: _OpenPoseEntry, opts: ImportOptions, summary: ImportSummary) -> Iterator[_Row]:
    try:
        people = openpose.read_openpose(entry.keypoints, opts.keypoint_set)
    except openpose.OpenPoseError as e:
        raise RowSkipped(e.reason, str(e)) from None
    if entry.image is None:
        raise RowSkipped("missing image", f"{entry.keypoints}: no image {entry.source}.* beside it in --images")
    if len(people) == 0:
        raise RowSkipped("no person detected")
    order = openpose.rank_people(people, opts.min_confidence)
    if opts.person == "best":
        summary.dropped_people += len(order) - 1
        order = order[:1]
    xy, ok, conf = openpose.to_format(people[order], opts.min_confidence)
    keep = ok.sum(-1) >= opts.min_keypoints
    for _ in range(int((~keep).sum())):
        summary.skip(f"fewer than {opts.min_keypoints} keypoints")
    if not keep.any():
        return
    image = read_image(entry.image)
    box = letterbox_for(image.shape[1], image.shape[0], opts.size)
    image = box.apply_image(image)
    for p in np.flatnonzero(keep):
        yield _Row(image, box.apply_points(xy[p]), ok[p], conf[p], entry.source)


def _deepfashion_rows(entry: _DeepFashionEntry, opts: ImportOptions, summary: ImportSummary) -> Iterator[_Row]:
    image = read_image(entry.image)
    h, w = image.shape[:2]
    try:
        xy = deepfashion.crop_to_image(entry.xy, w, h)
    except deepfashion.DeepFashionError as e:
        raise RowSkipped(e.reason, f"{entry.image} ({entry.where}): {e.message}") from None
    xy, present = convert_keypoints(xy, np.isfinite(xy).all(-1), COCO18, opts.keypoint_set)
    box = letterbox_for(w, h, opts.size)
    yield _Row(box.apply_image(image), box.apply_points(xy), present.astype(bool), None, entry.source)


_ROW_READERS = {"openpose": _openpose_rows, "deepfashion": _deepfashion_rows}


# -- writing ---------------------------------------------------------------------------------------


def _batch(rows: list[_Row], size: int) -> dict[str, np.ndarray]:
    """Rows -> a DatasetWriter batch. A part is visible (2) when detected and inside the frame; OpenPose
    says nothing of occlusion, so 1 is never used. Missing parts keep NaN xy and visibility 0."""
    xy = np.stack([r.xy for r in rows]).astype(np.float32)
    inside = ((xy >= 0) & (xy < size)).all(-1)
    vis = np.stack([r.present for r in rows]) & inside
    batch = {
        "images": np.stack([r.image for r in rows]),
        "pose/xy": xy,
        "pose/visibility": np.where(vis, 2, 0).astype(np.uint8),
        "meta/source": np.asarray([r.source for r in rows], dtype=object),
    }
    if rows[0].confidence is not None:
        batch["pose/confidence"] = np.stack([r.confidence for r in rows]).astype(np.float32)
    return batch


def _convert_chunk(kind: str, entries: list, opts: ImportOptions, header: DatasetHeader,
                   shard: str) -> ImportSummary:
    """Convert ``entries`` and write their rows to the dataset ``shard`` (none when no row is left)."""
    summary = ImportSummary(entries=len(entries))
    read_rows = _ROW_READERS[kind]
    writer = DatasetWriter(shard, header)
    try:
        pending: list[_Row] = []
        for entry in entries:
            try:
                pending.extend(read_rows(entry, opts, summary))
            except RowSkipped as e:
                if e.problem is not None and opts.strict:
                    raise ImportJobError(f"{e.problem} (--strict)") from None
                summary.skip(e.reason, e.problem)
            if len(pending) >= _BATCH_ROWS:
                writer.append(_batch(pending, opts.size))
                summary.imported += len(pending)
                pending = []
        if pending:
            writer.append(_batch(pending, opts.size))
            summary.imported += len(pending)
        if summary.imported:
            writer.close()
        else:
            writer.abort()
    except BaseException:
        writer.abort()
        raise
    return summary


def _run(kind: str, entries: list, out: Path, header: DatasetHeader, opts: ImportOptions,
         summary: ImportSummary, progress: bool) -> ImportSummary:
    """Convert all entries (in worker processes when there is more than one chunk), then join the
    shards into ``out``. ``summary`` already holds what was skipped while listing the entries."""
    out = check_output(out, overwrite=opts.overwrite)
    with OutputLock(out):
        remove_leftovers(out)
        check_output(out, overwrite=opts.overwrite)  # another writer may have finished while we listed
        try:
            with write_errors(out):
                return _run_locked(kind, entries, out, header, opts, summary, progress)
        except OutputError as e:
            if e.reason is None:
                raise
            # Raised on a shard in the temporary folder (gone now): the user knows the output.
            raise OutputError(f"{out}: cannot write ({e.reason})", e.reason) from None


SKIPPED_SHOWN = 10   # skipped source files named one by one; the rest are counted in one line


class _Skipped:
    """The warnings about skipped source files: the first :data:`SKIPPED_SHOWN` by name, then a count
    (an empty image folder skips every row: hundreds of lines would hide the error after them)."""

    def __init__(self) -> None:
        self.more = 0
        self.shown = 0

    def __call__(self, lines: list[str]) -> None:
        for line in lines:
            if self.shown < SKIPPED_SHOWN:
                log.warning("skipped %s", line)
                self.shown += 1
            else:
                self.more += 1

    def close(self) -> None:
        if self.more:
            log.warning("skipped %d more source files (the summary counts them by reason)", self.more)
            self.more = 0


def _run_locked(kind: str, entries: list, out: Path, header: DatasetHeader, opts: ImportOptions,
                summary: ImportSummary, progress: bool) -> ImportSummary:
    skipped = _Skipped()
    skipped(summary.problems)
    chunks = [entries[i:i + opts.chunk] for i in range(0, len(entries), opts.chunk)]
    workers = min(opts.workers or os.cpu_count() or 1, len(chunks))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    shards = [str(tmp / f"shard-{i:05d}.h5") for i in range(len(chunks))]
    pool = None
    try:
        if workers > 1:
            # spawn: a clean interpreter per worker (no HDF5 or thread state inherited by fork)
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            results = pool.map(_convert_chunk, [kind] * len(chunks), chunks, [opts] * len(chunks),
                               [header] * len(chunks), shards)
        else:
            results = map(_convert_chunk, [kind] * len(chunks), chunks, [opts] * len(chunks),
                          [header] * len(chunks), shards)
        written = []
        with tqdm(total=len(entries), unit="entry", disable=None if progress else True, desc=f"import {kind}") as bar:
            for shard, part in zip(shards, results):
                skipped(part.problems)
                summary.merge(part)
                if part.imported:
                    written.append(shard)
                bar.update(part.entries)
        skipped.close()
        if not written:
            raise ImportJobError(f"{out}: no rows to import ({summary.format()})")
        concat_files(written, out, header, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    except BrokenProcessPool:
        raise ImportJobError(f"{out}: a worker process died (out of memory?); try fewer --workers") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def _header(importer: str, opts: ImportOptions, **sources: str | None) -> DatasetHeader:
    config = {"importer": importer, **sources, **asdict(opts)}
    unused = ("workers", "chunk", "overwrite") + (("person", "min_confidence") if importer == "deepfashion" else ())
    for k in unused:  # how it ran, or not about this source
        config.pop(k)
    return DatasetHeader(opts.keypoint_set, opts.size, config=config, attrs={"source_format": importer},
                         image_compression=opts.image_compression)


def _skip_or_raise(summary: ImportSummary, opts: ImportOptions, reason: str, problem: str) -> None:
    if opts.strict:
        raise ImportJobError(f"{problem} (--strict)")
    summary.skip(reason, problem)


# -- the jobs --------------------------------------------------------------------------------------


def import_openpose(images: str | os.PathLike, keypoints: str | os.PathLike, out: str | os.PathLike,
                    opts: ImportOptions | None = None, progress: bool = False) -> ImportSummary:
    """OpenPose ``<image>_keypoints.json`` files in ``keypoints`` with their ``<image>.<ext>`` in
    ``images`` -> the dataset ``out`` (keypoint set ``opts.keypoint_set``, coco18 by default). Returns the summary (also when rows were skipped)."""
    opts = opts or ImportOptions()
    check_output(out, overwrite=opts.overwrite)
    images, keypoints = Path(images), Path(keypoints)
    for flag, d in (("--images", images), ("--keypoints", keypoints)):
        if not d.is_dir():
            raise ImportJobError(f"{flag} {d}: not a folder")
    files = sorted(p for p in keypoints.iterdir() if openpose.image_stem(p) and p.is_file())
    if not files:
        raise ImportJobError(f"--keypoints {keypoints}: no *{openpose.KEYPOINTS_SUFFIX} files")
    by_stem: dict[str, str] = {}
    rank = {ext: i for i, ext in enumerate(IMAGE_EXTENSIONS)}
    for p in sorted(images.iterdir(), key=lambda p: (p.stem, rank.get(p.suffix.lower(), 99))):
        if p.suffix.lower() in rank:
            by_stem.setdefault(p.stem, p.name)
    entries = []
    for f in files:
        stem = openpose.image_stem(f)
        name = by_stem.get(stem)
        entries.append(_OpenPoseEntry(str(f), None if name is None else str(images / name), name or stem))
    header = _header("openpose", opts, images=str(images.resolve()), keypoints=str(keypoints.resolve()))
    return _run("openpose", entries, Path(out), header, opts, ImportSummary(), progress)


def import_deepfashion(csv: str | os.PathLike, images: str | os.PathLike, out: str | os.PathLike,
                       opts: ImportOptions | None = None, partition: str | os.PathLike | None = None,
                       split: str = "all", progress: bool = False) -> ImportSummary:
    """A DeepFashion keypoint table (``fasion-annotation-*.csv``) with the In-shop images in ``images``
    -> the dataset ``out`` (keypoint set ``opts.keypoint_set``, coco18 by default); ``partition`` (In-shop ``list_eval_partition.txt``) selects ``split``."""
    opts = opts or ImportOptions()
    check_output(out, overwrite=opts.overwrite)
    images = Path(images)
    if not images.is_dir():
        raise ImportJobError(f"--images {images}: not a folder")
    if split not in deepfashion.SPLITS:
        raise ImportJobError(f"--split must be one of {', '.join(deepfashion.SPLITS)}, not {split!r}")
    if split != "all" and partition is None:
        raise ImportJobError(f"--split {split} needs --partition list_eval_partition.txt")
    statuses = deepfashion.read_partition(partition) if partition is not None else None
    wanted = deepfashion.SPLITS[split]
    rows, errors = deepfashion.read_annotations(csv)
    summary = ImportSummary(entries=len(rows) + len(errors))
    for e in errors:
        _skip_or_raise(summary, opts, e.reason, str(e))
    categories = deepfashion.category_table(deepfashion.category_folders(images))
    entries = []
    for a in rows:
        where = f"{csv}:{a.line}"
        try:
            rel = deepfashion.inshop_path(a.name, categories)
        except deepfashion.DeepFashionError as e:
            _skip_or_raise(summary, opts, e.reason, f"{where}: {e.message}")
            continue
        if statuses is not None:
            status = statuses.get(rel)
            if status is None:
                summary.skip("not in the partition file")
                continue
            if wanted is not None and status not in wanted:
                summary.skip(f"not in split {split}")
                continue
        if a.present.sum() < opts.min_keypoints:
            summary.skip(f"fewer than {opts.min_keypoints} keypoints")
            continue
        path = deepfashion.find_image(images, a.name, rel)
        if path is None:
            _skip_or_raise(summary, opts, "missing image", f"{where}: no image {rel} or {a.name} in {images}")
            continue
        entries.append(_DeepFashionEntry(where, a.xy, str(path), path.relative_to(images).as_posix()))
    summary.entries -= len(entries)  # the chunks count these
    header = _header("deepfashion", opts, csv=str(Path(csv).resolve()), images=str(images.resolve()),
                     partition=None if partition is None else str(Path(partition).resolve()), split=split)
    return _run("deepfashion", entries, Path(out), header, opts, summary, progress)
