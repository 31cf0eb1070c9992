"""``datagen render``: costumes x evenly spaced poses of a rig's clips -> a format-v1 dataset.

Orchestration (docs/rendering.md, docs/scaling.md). A run renders a contiguous range of jobs (all of
them, or one ``--shard K/N``) in chunks: this process plans, ``--workers`` supervised Blender
subprocesses (one by default) render, a crashed one is restarted, and the chunks are concatenated
in job order into ``<out>``. The rows therefore never depend on the number of workers, and a killed
run continues from its committed rows.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from datagen.format import concat_files, open_dataset
from datagen.format.schema import settings_only
from datagen.format.outputs import OutputLock, check_output, remove_leftovers, write_errors
from datagen.pose.motions import check_motion, rig_skeleton
from datagen.render import estimate
from datagen.render.config import RenderConfig, RenderError, blender_session_class
from datagen.render.cast import CastPlan, RigSessions, make_cast_plan, prepare, selections
from datagen.render.plan import chunk_ranges, make_plan, shard_range
from datagen.render.rows import chunk_path, done_rows, render_cast_job, render_header, shard_attrs
from datagen.render.workers import ATTEMPTS, PLAN_FILE, RUN_FILE, run_workers

log = logging.getLogger(__name__)

MAX_CHUNK_ROWS = 64


@dataclass
class RunOptions:
    out: Path
    workers: int = 1
    shard: tuple[int, int] = (0, 1)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    attempts: int = ATTEMPTS  # tries per chunk when its Blender crashes (datagen.render.workers)
    dry_run: bool = False  # print the plan and a timed estimate, write nothing
    report: Callable[[str], None] | None = None  # where the plan and the estimate go (the CLI: click.echo)


def run_render(config: RenderConfig, opts: RunOptions) -> dict:
    """Render (a shard of) the dataset into ``opts.out``; return a summary dict (``complete``: True
    when ``--resume`` found the output already finished by the same settings, and did nothing).

    The output (``<out>`` and ``<out>.partial/``) is locked for the whole run: a second writer fails
    at once; temporaries of a killed run are removed.
    """
    out = opts.out
    if opts.workers < 1:
        raise RenderError(f"--workers {opts.workers}: must be >= 1")
    if opts.attempts < 1:
        raise RenderError(f"--attempts {opts.attempts}: must be >= 1")
    check_output(out, overwrite=True)
    for rig in config.rig_paths():
        rig_skeleton(rig)  # a malformed .pmx/.pmd fails here, before Blender starts
        for motion in config.motions or []:
            check_motion(motion, rig)  # a malformed or NaN clip fails here, before Blender starts or anything is written
    with OutputLock(out):
        remove_leftovers(out)
        if out.exists() and not opts.overwrite and not opts.dry_run:
            if opts.resume:
                return _finished(config, opts)
            raise RenderError(f"{out}: exists (use --overwrite to replace it)")
        with write_errors(out, resumable=True):
            return _run_locked(config, opts)


def _finished(config: RenderConfig, opts: RunOptions) -> dict:
    """``--resume`` of a finished output: complete when it holds these settings, else an error."""
    out = opts.out
    run_dir = out.with_name(out.name + ".partial")
    with open_dataset(out) as ds:
        stored = ds.config
        attrs = dict(ds.attrs)
        rows = ds.n
    stored = settings_only(stored)  # how it was run (command line, versions) is not a setting
    for k in ("render", "keypoint_bones"):
        stored.pop(k, None)
    shard = attrs.get("shard")
    want = f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard[1] > 1 else None
    if stored != config.key() or (None if shard is None else str(shard)) != want:
        diff = sorted(k for k in set(stored) | set(config.key()) if stored.get(k) != config.key().get(k))
        what = ", ".join(diff) if diff else "--shard"
        raise RenderError(f"{out}: already complete, but rendered with other settings ({what} differ); "
                          f"use --overwrite to render again")
    # A run killed between writing <out> and removing its work folder is complete.
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"out": str(out), "complete": True, "rows": rows, "shard": want}


def _run_locked(config: RenderConfig, opts: RunOptions) -> dict:
    BlenderSession = blender_session_class()

    t0 = time.time()
    out = opts.out
    run_dir = out.with_name(out.name + ".partial")

    # Load and check the rigs before anything is written: a rejected rig leaves no file.
    report = opts.report or (lambda msg: None)
    sessions = RigSessions(BlenderSession, config, selections(config))
    try:
        prepare(sessions, config, report)
    except BaseException:
        sessions.close()
        raise
    if opts.dry_run:
        try:
            plan = make_cast_plan(sessions, config, make_plan)
            start, end = shard_range(plan.jobs, opts.shard)
            return estimate.dry_run(lambda job: render_cast_job(sessions, plan, job), plan, config.size,
                                    end - start, report, list(range(start, min(end, start + 3))),
                                    warnings=sessions.warnings)
        finally:
            sessions.close()

    # The engine settings as applied are part of what a resume must match: rows of one file never mix
    # two ways of rendering (e.g. a run started before an anti-aliasing change and resumed after it).
    state = {"config": config.key(), "shard": list(opts.shard), "render": json.loads(json.dumps(config.render))}
    if run_dir.exists():
        old = _read_json(run_dir / RUN_FILE)  # None: killed before the run had started writing
        same = old is not None and all(old.get(k) == state[k] for k in ("config", "shard", "render"))
        if opts.resume and old is not None and not same:
            raise RenderError(f"{run_dir}: cannot resume, it was started with other settings; "
                              f"delete it or run without --resume")
        if not (opts.resume and same):
            if not opts.resume:
                log.warning("discarding the earlier partial run in %s (use --resume to continue it)", run_dir)
            shutil.rmtree(run_dir)
    resumed = (run_dir / PLAN_FILE).exists()
    if resumed:
        plan = CastPlan.load(run_dir / PLAN_FILE, config.rig_paths())
        chunk_rows = int(_read_json(run_dir / RUN_FILE)["chunk_rows"])
    else:
        plan = make_cast_plan(sessions, config, make_plan)
    start, end = shard_range(plan.jobs, opts.shard)
    if end <= start:
        raise RenderError(f"--shard {opts.shard[0]}/{opts.shard[1]}: no work ({plan.jobs} rows in all)")
    if not resumed:
        chunk_rows = max(1, min(MAX_CHUNK_ROWS, math.ceil((end - start) / opts.workers)))
        run_dir.mkdir()
        plan.save(run_dir / PLAN_FILE)
        (run_dir / RUN_FILE).write_text(json.dumps({**state, "chunk_rows": chunk_rows, "full_config": asdict(config)},
                                                   indent=1))
    attrs = shard_attrs(opts.shard, plan.jobs)
    header = render_header(config, plan, attrs)
    chunks = chunk_ranges(start, end, chunk_rows)
    already = done_rows(run_dir, chunks)
    summary = estimate.summarize_plan(plan, config.size, end - start, already)
    summary.warnings[:0] = sessions.warnings
    report(summary.format())
    bar = _progress(end - start, already, opts.progress)
    bar = estimate.TimedProgress(bar, estimate.FirstFrames(end - start - already, _above_bar if opts.report else report))
    # Even one worker is a subprocess: the run survives its Blender crashing (docs/reliability.md).
    sessions.close()
    try:
        run_workers(run_dir, chunks, opts.workers, bar, opts.attempts)
    finally:
        bar.close()
        sessions.close()
    sources = [chunk_path(run_dir, a) for a, _ in chunks]
    concat_files(sources, out, header, {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    shutil.rmtree(run_dir)
    elapsed = time.time() - t0
    rendered = end - start - already
    return {"out": str(out), "rows": end - start, "rendered": rendered, "resumed_rows": already,
            "costumes": len(plan.costume_names), "poses": plan.poses, "clips": plan.clip_names,
            "seconds": elapsed, "frames_per_s": rendered / elapsed if elapsed > 0 else 0.0,
            "bytes": out.stat().st_size, "shard": attrs.get("shard")}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _above_bar(msg: str) -> None:
    import sys

    from tqdm import tqdm

    tqdm.write(msg)
    sys.stdout.flush()  # in order with what follows on stderr (a warning, the error line)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    # disable=None: no bar when the output is not a terminal (no carriage returns in a redirected log)
    return tqdm(total=total, initial=initial, unit="frame", desc="render", disable=None if enabled else True,
                dynamic_ncols=True, smoothing=0.1)
