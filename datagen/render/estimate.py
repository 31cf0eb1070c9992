"""The plan a render prints before it commits to the work: rows, disk and time, and the warnings a user
wants before a 20-hour job (clips that get no rows, clips that never move, very large images).

Pure functions of a :class:`~datagen.render.plan.Plan` (no Blender), plus :class:`FirstFrames`, which
turns the time of the first rendered frames into an estimate of the whole run.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from datagen.render.cast import CastPlan
from datagen.render.plan import Plan

# Bytes of one rendered row by image side: the image with its pyramid (gzip 1), the mask, the keypoints
# and cameras, measured on renders of the default avatar (two costumes, 16 poses over its 8 clips; the
# 1024 row from 600 poses x 80 costumes; docs/benchmarks.md). Small images compress worse per pixel (the
# outline and the pyramid's small levels weigh more): 0.86 B/pixel at 64, 0.18 at 1024, so one bytes-per-
# pixel constant was 4-8x low at small sizes. Between and beyond the sizes: log-log interpolation.
ROW_BYTES = {64: 3538, 128: 9393, 256: 24705, 1024: 180 * 1024}
# Bytes of a file besides its rows (HDF5 metadata, chunk indexes, the config): 68-76 KiB measured.
FILE_BYTES = 72 * 1024
LARGE_SIZE = 2048  # above this a row is > 1 MiB on disk and a frame several seconds: warn
STATIC_TOLERANCE_M = 1e-4  # keypoints of a clip that move less than this (metres) over all its poses: static
FIRST_FRAMES = 4  # frames timed before the estimate is printed (the first includes Blender's warm-up)


@dataclass
class RenderPlanSummary:
    rows: int  # rows this run renders (a shard's share)
    poses: int
    costumes: int
    size: int
    clip_rows: dict[str, int]  # rows per clip (over the whole plan)
    est_bytes: int
    already: int = 0  # rows kept from an earlier run (--resume)
    warnings: list[str] = field(default_factory=list)

    def format(self) -> str:
        clips = ", ".join(f"{k} ({v})" for k, v in list(self.clip_rows.items())[:8])
        more = f", ... {len(self.clip_rows) - 8} more" if len(self.clip_rows) > 8 else ""
        lines = [f"plan: {self.rows} rows = {self.poses} poses x {self.costumes} costumes"
                 if self.rows == self.poses * self.costumes else
                 f"plan: {self.rows} rows (this shard) of {self.poses} poses x {self.costumes} costumes",
                 f"  {self.size}x{self.size}, {len(self.clip_rows)} clips: {clips}{more}",
                 f"  disk: about {format_bytes(self.est_bytes)} ({format_bytes(self.est_bytes / max(1, self.rows))} per row)"]
        if self.already:
            lines.append(f"  resuming: {self.already} rows already rendered, {self.rows - self.already} to go")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def row_bytes(size: int) -> float:
    """Estimated bytes of one row at ``size``: :data:`ROW_BYTES`, log-log interpolated."""
    sizes = np.array(sorted(ROW_BYTES), dtype=np.float64)
    logs = np.log([ROW_BYTES[int(k)] for k in sizes])
    x = np.log(size)
    i = int(np.clip(np.searchsorted(np.log(sizes), x) - 1, 0, len(sizes) - 2))   # the end segments extrapolate
    slope = (logs[i + 1] - logs[i]) / (np.log(sizes[i + 1]) - np.log(sizes[i]))
    return float(np.exp(logs[i] + slope * (x - np.log(sizes[i]))))


def summarize_plan(plan: Plan | CastPlan, size: int, rows: int, already: int = 0) -> RenderPlanSummary:
    """The plan of a run that renders ``rows`` of ``plan``'s jobs at ``size``, ``already`` of them done
    (a :class:`CastPlan` of several rigs: their rows added up, each rig's warnings named by its file)."""
    cast = plan if isinstance(plan, CastPlan) else CastPlan.of([plan], [""])
    per_clip = np.zeros(len(cast.clip_names), np.int64)
    warnings: list[str] = []
    for r, part in enumerate(cast.parts):
        counts = np.bincount(np.asarray(part.clip, dtype=np.int64), minlength=len(part.clip_names))
        np.add.at(per_clip, cast.clip_map(r), counts * len(part.costume_names))
        prefix = f"{Path(cast.rigs[r]).name}: " if cast.several else ""
        warnings += [prefix + w for w in plan_warnings(part, size) if prefix + w not in warnings]
    return RenderPlanSummary(rows=rows, poses=cast.poses, costumes=len(cast.costume_names), size=size,
                             clip_rows=dict(zip(cast.clip_names, per_clip.tolist())),
                             est_bytes=int(FILE_BYTES + row_bytes(size) * rows), already=already, warnings=warnings)


def plan_warnings(plan: Plan, size: int) -> list[str]:
    """Clips that get no rows, clips whose keypoints never move, and sizes above :data:`LARGE_SIZE`."""
    out = []
    clip = np.asarray(plan.clip)
    counts = np.bincount(clip.astype(np.int64), minlength=len(plan.clip_names))
    empty = [n for n, k in zip(plan.clip_names, counts) if k == 0]
    if empty:
        out.append(f"{len(empty)} clip(s) get no rows with this many --frames: {', '.join(empty)} "
                   f"(raise --frames or pick clips with --clips)")
    for i, name in enumerate(plan.clip_names):
        xyz = np.asarray(plan.xyz)[clip == i]
        if len(xyz) >= 2:
            ok = np.isfinite(xyz).all((0, 2))
            if ok.any() and np.ptp(xyz[:, ok], axis=0).max() < STATIC_TOLERANCE_M:
                out.append(f"clip {name!r} never moves: its {len(xyz)} poses are identical "
                           f"(e.g. a T-pose clip with equal keys); its rows are copies")
    if size > LARGE_SIZE:
        out.append(f"--size {size} is above {LARGE_SIZE}: about {format_bytes(row_bytes(size))} per row and "
                   f"{(size / 1024) ** 2:.0f}x the time of a 1024 frame")
    return out


class FirstFrames:
    """Counts rendered frames; after :data:`FIRST_FRAMES` of them reports the time per frame (the first,
    which pays Blender's warm-up, left out) and the estimated time of the whole run, once."""

    def __init__(self, remaining: int, report: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self.remaining, self.report, self.clock = remaining, report, clock
        self.done = 0
        self.t_first: float | None = None  # when the first frame was done
        self.reported = False

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.t_first is None:
            self.t_first = self.clock()
            return
        if not self.reported and self.done >= min(FIRST_FRAMES, self.remaining):
            per_frame = (self.clock() - self.t_first) / max(1, self.done - 1)
            left = per_frame * (self.remaining - self.done)
            self.report(f"estimate: {per_frame:.2f} s/frame from the first {self.done} frames; "
                        f"about {format_duration(left)} for the {self.remaining - self.done} left")
            self.reported = True


class TimedProgress:
    """A progress bar that also feeds :class:`FirstFrames` (so worker runs are timed the same way)."""

    def __init__(self, bar, first: FirstFrames) -> None:
        self._bar, self._first = bar, first

    def update(self, n: int = 1) -> None:
        self._bar.update(n)
        self._first.update(n)

    def __getattr__(self, name):
        return getattr(self._bar, name)


def interrupt_hint(out: Path) -> str:
    """What to do after Ctrl-C: the rows rendered so far are kept and ``--resume`` continues."""
    partial = out.with_name(out.name + ".partial")
    if not partial.exists():
        return "Interrupted before any row was written; nothing to resume."
    return (f"Interrupted. The rows rendered so far are kept in {partial}/; run the same command with "
            f"--resume to continue (without --resume they are discarded).")


def dry_run(render_one: Callable[[int], object], plan: Plan | CastPlan, size: int, rows: int,
            report: Callable[[str], None], sample_jobs: list[int], clock: Callable[[], float] = time.monotonic,
            warnings: list[str] | None = None) -> dict:
    """``--dry-run``: print the plan (with ``warnings`` of the rigs' loading first) and time a few frames
    (``render_one(job)``: rendered, not written) for the estimate."""
    summary = summarize_plan(plan, size, rows)
    summary.warnings[:0] = warnings or []
    report(summary.format())
    times = []
    for job in sample_jobs:
        t0 = clock()
        render_one(job)
        times.append(clock() - t0)
    # The first frame pays Blender's warm-up (shaders, caches): leave it out when there are others.
    per_frame = float(np.mean(times[1:] if len(times) > 1 else times)) if times else float("nan")
    report(f"estimate: {per_frame:.2f} s/frame from {len(times)} test frames (not written); "
           f"about {format_duration(per_frame * rows)} for {rows} rows. Nothing was written (--dry-run).")
    return {"dry_run": True, "rows": rows, "seconds_per_frame": per_frame, "est_bytes": summary.est_bytes,
            "warnings": summary.warnings}


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
