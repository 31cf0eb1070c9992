"""Supervised rendering: chunks rendered by Blender subprocesses that report progress on a pipe, and
are restarted when their Blender dies (docs/reliability.md#a-crashed-blender).

A worker renders its share of chunks in order and commits rows in segments; when its process dies
(a signal, or a non-zero exit without a reported error) the parent starts a new one for the rows it
had not committed. A chunk gets ``attempts`` tries in all; a chunk that keeps crashing stops the run
(committed rows are kept for ``--resume``). A Python error reported by a worker is not retried: it
would fail again the same way.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from datagen.format.outputs import OutputError, describe_os_error
from datagen.render.cast import CastPlan, RigSessions, selections
from datagen.render.config import RenderConfig, RenderError, blender_session_class
from datagen.render.rows import chunk_path, committed_rows, render_chunks, render_header, shard_attrs

log = logging.getLogger(__name__)

PLAN_FILE, RUN_FILE = "plan.npz", "run.json"
ATTEMPTS = 3  # tries per chunk before a crashing chunk stops the run
# Fault injection for the tests: "JOB[:TIMES]" makes a worker kill itself with SIGSEGV before rendering
# job JOB in its first TIMES attempts (default 1). Nothing but the tests sets it.
CRASH_ENV = "DATAGEN_TEST_CRASH_AT_JOB"


def _die_with_parent() -> None:
    """Run in the child before exec: get SIGKILL when the parent dies (a killed run leaves no orphan)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def rows_text(a: int, b: int) -> str:
    """Rows [a, b) as the user reads them: 'row 7' or 'rows 4-7'."""
    return f"row {a}" if b - a == 1 else f"rows {a}-{b - 1}"


def how_it_died(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


@dataclass
class _Worker:
    index: int
    chunks: list[tuple[int, int]]  # its share, in order; rendered ones are dropped on a restart
    attempt: int = 1
    proc: subprocess.Popen | None = None
    error: str | None = None
    write_error: str | None = None  # why a write failed (a full disk): the run's one line names the output
    job: int | None = None  # the job it started last
    scratch: str | None = None  # its Blender's frame folder (in /dev/shm): removed when it dies
    threads: list[threading.Thread] = field(default_factory=list)


class _Supervisor:
    def __init__(self, run_dir: Path, first_row: int, bar, attempts: int) -> None:
        self.run_dir, self.first_row, self.bar, self.attempts = run_dir, first_row, bar, attempts
        self.events: queue.Queue = queue.Queue()
        self.crashes: dict[tuple[int, int], int] = {}

    def start(self, w: _Worker) -> None:
        spec = self.run_dir / f"worker-{w.index}.json"
        spec.write_text(json.dumps({"chunks": w.chunks, "attempt": w.attempt}))
        with open(self.run_dir / f"worker-{w.index}.log", "a") as logf:
            w.proc = subprocess.Popen([sys.executable, "-m", "datagen.render.workers", str(self.run_dir), str(spec)],
                                      stdout=subprocess.PIPE, stderr=logf, text=True, preexec_fn=_die_with_parent)
        w.error = w.job = w.scratch = w.write_error = None
        w.threads = [threading.Thread(target=self._pump, args=(w, w.proc), daemon=True)]
        w.threads[0].start()

    def _pump(self, w: _Worker, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            self.events.put((w, proc, kind, rest))
        proc.wait()
        self.events.put((w, proc, "exit", str(proc.returncode)))

    def run(self, workers: list[_Worker]) -> None:
        for w in workers:
            self.start(w)
        running = len(workers)
        try:
            while running:
                w, proc, kind, rest = self.events.get()
                if proc is not w.proc:
                    continue
                if kind == "row":
                    self.bar.update(1)
                elif kind == "start":
                    w.job = int(rest)
                elif kind == "error":
                    w.error = rest
                elif kind == "write-error":
                    w.write_error = rest
                elif kind == "scratch":
                    w.scratch = rest
                elif kind == "exit":
                    running -= 1
                    if w.scratch:  # a killed Blender leaves its last frame behind
                        shutil.rmtree(w.scratch, ignore_errors=True)
                    if proc.returncode == 0:
                        continue
                    if w.write_error is not None:
                        out = self.run_dir.with_name(self.run_dir.name.removesuffix(".partial"))
                        raise OutputError(f"{out}: cannot write ({w.write_error}); the committed rows are kept, "
                                          f"run again with --resume when there is room", w.write_error)
                    if w.error is not None:
                        raise RenderError(f"a render worker failed ({w.error}); run again with --resume to continue")
                    if self.restart(w, proc.returncode):
                        running += 1
        finally:
            for w in workers:
                if w.proc is not None and w.proc.poll() is None:
                    w.proc.kill()
                    w.proc.wait()
                    if w.scratch:
                        shutil.rmtree(w.scratch, ignore_errors=True)

    def poses(self, a: int, b: int) -> str:
        """What jobs [a, b) show: 'clip Idle frames 3-6.5' (times within the clip), per rig and clip."""
        state = json.loads((self.run_dir / RUN_FILE).read_text())
        cast = CastPlan.load(self.run_dir / PLAN_FILE, RenderConfig(**state["full_config"]).rig_paths())
        shown: dict[tuple[int, int], list[float]] = {}
        for job in range(a, b):
            r, local = cast.locate(job)
            plan = cast.parts[r]
            pose = local // len(plan.costume_names)
            shown.setdefault((r, int(plan.clip[pose])), []).append(float(plan.time[pose]))
        parts = []
        for (r, c), times in shown.items():
            lo, hi = min(times), max(times)
            span = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
            rig = f"{Path(cast.rigs[r]).name} " if cast.several else ""
            parts.append(f"{rig}clip {cast.parts[r].clip_names[c]} frame{'s' if lo != hi else ''} {span}")
        return ", ".join(parts)

    def restart(self, w: _Worker, returncode: int) -> bool:
        """Start ``w`` again on the rows it had not committed; False when none are left."""
        todo = [c for c in w.chunks if not chunk_path(self.run_dir, c[0]).exists()]
        if not todo:
            return False
        chunk = todo[0]  # a worker renders its chunks in order: the first unfinished one was running
        a, b = chunk[0] + committed_rows(self.run_dir, chunk), chunk[1]
        if a == b:  # killed while joining its committed segments into the chunk file: that is redone
            a = chunk[0]
        lost = (a - self.first_row, b - self.first_row)
        died = how_it_died(returncode)
        self.crashes[chunk] = self.crashes.get(chunk, 0) + 1
        if self.crashes[chunk] >= self.attempts:
            raise RenderError(
                f"{rows_text(*lost)} ({self.poses(a, b)}): Blender crashed {self.crashes[chunk]} times rendering "
                f"them (last: {died}); the other committed rows are kept: run again with --resume to retry (--attempts N for more tries), "
                f"or leave these poses out by choosing other --frames or --clips")
        w.chunks, w.attempt = todo, w.attempt + 1
        at = "" if w.job is None else f" (it was rendering row {w.job - self.first_row})"
        log.warning("render worker %d died (%s) before committing %s%s; restarting it (attempt %d of %d)",
                    w.index, died, rows_text(*lost), at, self.crashes[chunk] + 1, self.attempts)
        self.start(w)
        return True


def run_workers(run_dir: Path, chunks: list[tuple[int, int]], workers: int, bar, attempts: int = ATTEMPTS) -> None:
    """Render every unfinished chunk of ``chunks`` with ``workers`` supervised Blender subprocesses."""
    if attempts < 1:
        raise RenderError(f"--attempts {attempts}: must be >= 1")
    todo = [c for c in chunks if not chunk_path(run_dir, c[0]).exists()]
    shares = [_Worker(w, todo[w::workers]) for w in range(workers)]
    _Supervisor(run_dir, chunks[0][0] if chunks else 0, bar, attempts).run([w for w in shares if w.chunks])


def _crash_hook(attempt: int):
    """The fault injection of CRASH_ENV, or None (the normal case)."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return None
    job, _, times = spec.partition(":")
    if attempt > int(times or 1):
        return None

    def hook(j: int) -> None:
        if j == int(job):
            os.kill(os.getpid(), signal.SIGSEGV)
    return hook


def worker_main(run_dir: Path, spec_path: Path) -> int:
    """Entry point of a worker subprocess: render the chunks listed in ``spec_path``."""
    BlenderSession = blender_session_class()

    progress = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # Blender's own prints must not reach the progress pipe
    try:
        state = json.loads((run_dir / RUN_FILE).read_text())
        config = RenderConfig(**state["full_config"])
        spec = json.loads(spec_path.read_text())
        chunks = [tuple(c) for c in spec["chunks"]]
        crash = _crash_hook(int(spec.get("attempt", 1)))

        def on_start(job: int) -> None:
            progress.write(f"start {job}\n")
            if crash:
                crash(job)
        plan = CastPlan.load(run_dir / PLAN_FILE, config.rig_paths())
        # Each rig's session has its own frame folder: the parent removes the last one if Blender dies.
        sessions = RigSessions(BlenderSession, config, selections(config, plan),
                               on_load=lambda s: progress.write(f"scratch {s.renderer.folder}\n"))
        header = render_header(config, plan, shard_attrs(tuple(state["shard"]), plan.jobs))
        render_chunks(sessions, plan, header, run_dir, chunks, on_row=lambda: progress.write("row\n"),
                      on_start=on_start)
        sessions.close()
    except (OSError, OutputError) as e:  # a write failed (a full disk): the parent names its output
        reason = (e.reason or str(e)) if isinstance(e, OutputError) else describe_os_error(e)
        progress.write(f"write-error {reason}\n")
        return 1
    except Exception as e:  # reported to the parent as one line
        progress.write(f"error {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(Path(sys.argv[1]), Path(sys.argv[2])))
