"""Rendering dataset rows: one job -> image, mask, keypoints with visibility, camera and meta.

Rows are written in chunks of jobs, each through :class:`~datagen.format.DatasetWriter` into
``<out>.partial/chunk-*.h5`` (resumable at segment granularity).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np

from datagen.format import DatasetHeader, DatasetWriter
from datagen.format import camera
from datagen.render import visibility
from datagen.render.compositing import composite_on_white
from datagen.render.cast import CastPlan
from datagen.render.config import RenderConfig
from datagen.render.plan import Plan, shard_range

SEGMENT_ROWS = 4  # rows per committed segment inside a chunk: a kill loses at most this many


def render_job(session, plan: Plan, job: int) -> dict[str, np.ndarray]:
    """One dataset row (arrays without the leading row axis) for job index ``job``."""
    c = len(plan.costume_names)
    pose, costume = divmod(job, c)
    E = plan.extrinsics[pose]
    session.go_to(int(plan.clip[pose]), float(plan.frame[pose]))
    joints = plan.xyz[pose]
    rgba, hits = session.render_view(costume, E, plan.near, plan.far, np.nan_to_num(joints), plan.radius)
    image, mask = composite_on_white(rgba)
    xy, z = camera.project(joints, plan.intrinsics, E)
    centre = -E[:3, :3].T @ E[:3, 3]
    vis = visibility.visibility_flags(xy, z, image.shape[0], np.linalg.norm(joints - centre, axis=1), hits,
                                      plan.radius, plan.mapped)
    return {"images": image, "masks": mask, "pose/xy": xy.astype(np.float32), "pose/visibility": vis,
            "pose/xyz": joints.astype(np.float32), "camera/intrinsics": plan.intrinsics,
            "camera/extrinsics": E, "meta/costume": np.int32(costume), "meta/clip": np.int32(plan.clip[pose]),
            "meta/frame": np.float32(plan.time[pose])}


def render_cast_job(sessions, cast: CastPlan, job: int) -> dict[str, np.ndarray]:
    """Row ``job`` of a run over one or several rigs, its costume and clip as the dataset numbers them."""
    r, local = cast.locate(job)
    row = render_job(sessions.get(r), cast.parts[r], local)
    if cast.several:
        row["meta/costume"] = np.int32(row["meta/costume"] + cast.costume_offset(r))
        row["meta/clip"] = np.int32(cast.clip_map(r)[row["meta/clip"]])
    return row


def render_chunks(sessions, cast: CastPlan, header: DatasetHeader, run_dir: Path, chunks: list[tuple[int, int]],
                  on_row=None, on_start=None) -> None:
    """Render each chunk [a, b) of jobs into run_dir/chunk-<a>.h5, resuming a partial chunk.

    ``on_start(job)`` is called before a job is rendered, ``on_row()`` after its row is written."""
    for a, b in chunks:
        path = chunk_path(run_dir, a)
        if path.exists():
            continue
        writer = DatasetWriter(path, header, resume=True, segment_rows=SEGMENT_ROWS)
        for job in range(a + writer.rows, b):
            if on_start:
                on_start(job)
            row = render_cast_job(sessions, cast, job)
            writer.append({k: np.asarray(v)[None] for k, v in row.items()})
            if on_row:
                on_row()
        writer.close()


def chunk_path(run_dir: Path, start: int) -> Path:
    return run_dir / f"chunk-{start:09d}.h5"


def committed_rows(run_dir: Path, chunk: tuple[int, int]) -> int:
    """Rows of ``chunk`` already committed in run_dir (all of a complete chunk, the segments of a partial one)."""
    a, b = chunk
    if chunk_path(run_dir, a).exists():
        return b - a
    n = 0
    for seg in (run_dir / (chunk_path(run_dir, a).name + ".partial")).glob("seg-*.h5"):
        with h5py.File(seg, "r") as f:
            n += f["pose/xy"].shape[0]
    return n


def done_rows(run_dir: Path, chunks: list[tuple[int, int]]) -> int:
    """Rows already committed in run_dir (complete chunks and committed segments of partial ones)."""
    return sum(committed_rows(run_dir, c) for c in chunks)


def shard_attrs(shard: tuple[int, int], jobs: int) -> dict:
    """Root attributes of a shard file (docs/scaling.md); none for a whole run."""
    k, n = shard
    if n == 1:
        return {}
    start, end = shard_range(jobs, shard)
    return {"shard": f"{k}/{n}", "shard_index": k, "shard_count": n, "job_start": start, "job_end": end,
            "jobs_total": jobs}


def render_header(config: RenderConfig, plan: CastPlan, attrs: dict) -> DatasetHeader:
    tables = {"meta/costume_rigs": plan.costume_rigs()} if plan.several else {}
    return DatasetHeader(config.keypoint_set, config.size, config=asdict(config), costume_names=plan.costume_names,
                         clip_names=plan.clip_names, attrs=attrs, tables=tables)
