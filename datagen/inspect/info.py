"""`datagen info`: a summary of a dataset file (counts, sizes, levels, keypoint set, costumes, clips)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from datagen.format import open_dataset


@dataclass
class DatasetSummary:
    path: str
    rows: int
    image_size: int
    levels: list[int]
    keypoint_set: str
    keypoint_names: list[str]
    generator: str
    created: str
    file_bytes: int
    has_masks: bool
    costumes: list[tuple[str, int]] = field(default_factory=list)  # (name, rows)
    clips: list[tuple[str, int]] = field(default_factory=list)
    sources: int = 0  # distinct /meta/source files (imported data)
    inputs: list[tuple[str, int]] = field(default_factory=list)  # (file, rows) of a combined file
    visibility: np.ndarray | None = None  # (K, 3) fraction of rows with visibility 0, 1, 2


def dataset_summary(path: str | os.PathLike) -> DatasetSummary:
    with open_dataset(path) as ds:
        vis = ds.visibility
        frac = np.stack([(vis == v).mean(0) for v in (0, 1, 2)], axis=1) if ds.n else np.zeros((ds.keypoint_set.size, 3))
        out = DatasetSummary(
            path=str(path), rows=ds.n, image_size=ds.image_size, levels=ds.resolutions,
            keypoint_set=ds.keypoint_set.name, keypoint_names=list(ds.keypoint_set.names),
            generator=str(ds.attrs.get("generator", "")), created=str(ds.attrs.get("created", "")),
            file_bytes=os.path.getsize(path), has_masks=ds.has(f"masks/{ds.image_size}"), visibility=frac)
        for table, dest in (("costume", out.costumes), ("clip", out.clips), ("input", out.inputs)):
            if ds.has(f"meta/{table}"):
                counts = np.bincount(ds.meta_index(table).astype(np.int64), minlength=len(ds.names(table)))
                dest.extend(zip(ds.names(table), counts.tolist()))
        if ds.has("meta/source"):
            out.sources = len(set(ds.read("meta/source")))
        return out


def _listing(items: list[tuple[str, int]], limit: int = 12) -> str:
    shown = ", ".join(f"{name} ({count})" for name, count in items[:limit])
    return shown + (f", ... {len(items) - limit} more" if len(items) > limit else "")


def format_summary(s: DatasetSummary) -> str:
    lines = [
        f"file         {s.path} ({s.file_bytes / 2**20:.1f} MiB, {s.file_bytes / max(1, s.rows) / 1024:.1f} KiB/row)",
        f"rows         {s.rows}",
        f"image size   {s.image_size}x{s.image_size}, levels {', '.join(map(str, s.levels))}"
        + (", masks" if s.has_masks else ""),
        f"keypoints    {s.keypoint_set} ({len(s.keypoint_names)})",
        f"generator    {s.generator}, created {s.created}",
    ]
    if s.costumes:
        lines.append(f"costumes     {len(s.costumes)}: {_listing(s.costumes)}")
    if s.clips:
        lines.append(f"clips        {len(s.clips)}: {_listing(s.clips)}")
    if s.sources:
        lines.append(f"sources      {s.sources} image files")
    if s.inputs:
        lines.append(f"inputs       {len(s.inputs)} files: {_listing(s.inputs)}")
    lines.append("visibility   keypoint            absent  occluded  visible")
    for name, (v0, v1, v2) in zip(s.keypoint_names, s.visibility):
        lines.append(f"             {name:<18} {v0:7.1%}  {v1:8.1%}  {v2:7.1%}")
    return "\n".join(lines)
