"""A render survives its own Blender crashing (docs/reliability.md#a-crashed-blender): fault injection.

Worker processes are killed with SIGKILL at several moments (while Blender loads, after a committed
segment, late in a chunk) or crash by themselves with SIGSEGV (``DATAGEN_TEST_CRASH_AT_JOB``, read only
for tests), with one and two workers; the output equals an unbroken run byte for byte.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import blender_rigs
from datagen.render.workers import CRASH_ENV

pytestmark = [pytest.mark.blender, pytest.mark.slow]

ARGS = ["--frames", "12", "--size", "64", "--costumes", "red"]  # 12 rows; one worker: one chunk of 3 segments


@pytest.fixture(scope="module")
def boxman(tmp_path_factory) -> Path:
    return blender_rigs.build_boxman(tmp_path_factory.mktemp("rig") / "boxman.blend")


@pytest.fixture(scope="module")
def reference(boxman, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    r = cli(boxman, out)
    assert r.returncode == 0, r.stderr
    return out


def command(rig: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "datagen.cli", "render", "--quiet", "--rig", str(rig), *ARGS, "-o", str(out),
            *extra]


def cli(rig: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command(rig, out, *extra), capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def same_rows(a: Path, b: Path) -> None:
    """Every dataset of ``a`` equals ``b``'s byte for byte (the attributes name the command line)."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names = _names(fa)
        assert names and names == _names(fb)
        for n in names:
            assert np.array_equal(fa[n][()], fb[n][()], equal_nan=fa[n].dtype.kind == "f"), n


def _names(f: h5py.File) -> list[str]:
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(out)


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "render worker" in line and "died" in line]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_that_crashes_by_itself_is_restarted(boxman, reference, tmp_path, workers):
    out = tmp_path / "c.h5"
    r = cli(boxman, out, "--workers", str(workers), env={CRASH_ENV: "5"})  # SIGSEGV before job 5, first attempt
    assert r.returncode == 0, r.stderr
    # One line per restart, naming the rows lost and the signal. One worker: rows 0-3 were committed in
    # a segment of its chunk 0-11; two workers: job 5 is in the first worker's chunk 0-5, segment 0-3.
    lost = "rows 4-11" if workers == 1 else "rows 4-5"
    assert warnings(r.stderr) == [f"WARNING datagen.render.workers: render worker 0 died (SIGSEGV) before "
                                  f"committing {lost} (it was rendering row 5); restarting it (attempt 2 of 3)"]
    assert "Traceback" not in r.stderr
    same_rows(out, reference)
    assert not (tmp_path / "c.h5.partial").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_chunk_that_keeps_crashing_stops_the_run_then_resumes(boxman, reference, tmp_path, workers):
    out = tmp_path / "k.h5"
    r = cli(boxman, out, "--workers", str(workers), env={CRASH_ENV: "5:99"})  # crashes in every attempt
    assert r.returncode == 1
    lost = "rows 4-11" if workers == 1 else "rows 4-5"
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error")]
    # The rows, the poses they show (clip ArmBehind is 4 frames, Idle 10: 4 and 8 of the 12 poses, at the
    # golden-ratio phases of datagen.render.plan.sample_poses, so rows 4-11 are Idle's), the signal, and
    # how to retry or leave them out.
    last = "9.27051" if workers == 1 else "2.53289"
    assert errors == [f"Error: {lost} (clip Idle frames 1.63119-{last}): Blender crashed 3 times rendering them "
                      f"(last: SIGSEGV); the other committed rows are kept: run again with --resume to retry "
                      f"(--attempts N for more tries), or leave these poses out by choosing other --frames or "
                      f"--clips"], r.stderr
    assert len(warnings(r.stderr)) == 2 and "Traceback" not in r.stderr
    assert not out.exists() and (tmp_path / "k.h5.partial").exists()
    r = cli(boxman, out, "--workers", str(workers), "--resume")
    assert r.returncode == 0, r.stderr
    same_rows(out, reference)


def _workers_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the render's Blender workers)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] not in "ZX":
                out.append(int(d.name))
    return out


def _committed(partial: Path, chunk_rows: int) -> int:
    return 4 * len(list(partial.glob("chunk-*.partial/seg-*.h5"))) + chunk_rows * len(list(partial.glob("chunk-*.h5")))


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_of_workers_at_several_moments(boxman, reference, tmp_path, workers):
    out = tmp_path / "w.h5"
    partial = tmp_path / "w.h5.partial"
    proc = subprocess.Popen(command(boxman, out, "--workers", str(workers), "--attempts", "4"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    chunk_rows = 12 // workers
    killed: list[int] = []
    moments = [lambda: True,                                   # as soon as a worker runs (Blender loading)
               lambda: _committed(partial, chunk_rows) >= 4,   # after a committed segment
               lambda: _committed(partial, chunk_rows) >= 8]   # late in the run
    try:
        for moment in moments:
            deadline = time.time() + 120
            while True:
                assert proc.poll() is None and time.time() < deadline, "the render ended before the kill"
                alive = [p for p in _workers_of(proc.pid) if p not in killed]
                if alive and moment():
                    break
                time.sleep(0.01)
            os.kill(alive[-1], signal.SIGKILL)
            killed.append(alive[-1])
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    lines = warnings(stderr)
    # One line per kill that cost rows; on a loaded machine the late kill can land on a worker that has
    # just committed its last row, which loses nothing and restarts nothing.
    assert len(lines) in (len(killed) - 1, len(killed)) and lines, stderr
    assert all("died (SIGKILL) before committing rows" in x for x in lines), stderr
    same_rows(out, reference)
    # The killed Blenders' frame folders (/dev/shm/datagen-<pid>-*) are removed by the supervisor.
    assert not [d for pid in killed for d in Path("/dev/shm").glob(f"datagen-{pid}-*")]
