"""datagen.format.outputs and what it promises the commands (issue 12): output checks, the lock against
a second writer (and its takeover after a kill), leftovers of killed runs, a full or read-only disk.

The full-disk tests mount a small tmpfs where the test may (root in a container or CI); elsewhere
they inject OSError(ENOSPC) where the writer writes, so the same promise is checked either way.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from helpers.cli_checks import one_error_line, snapshot
from helpers.read_only import read_only_folder
from helpers.synthetic import REPO, synthetic_rows, write_synthetic
from datagen.cli import main
from datagen.format import DatasetHeader, DatasetWriter, open_dataset
from datagen.format.outputs import (NAME_RESERVE, LockedError, OutputError, OutputLock, check_output, lock_path,
                                    remove_leftovers)
from test_bad_input import Inputs


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, start_new_session=True)


def wait_for(proc: subprocess.Popen, word: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if word in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"the helper process ended: {proc.stderr.read()}")
    raise AssertionError(f"no {word!r} from the helper process")


def kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


HOLD = ("import sys, time\nfrom datagen.format.outputs import OutputLock\n"
        "OutputLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(600)\n")


# -- check_output --------------------------------------------------------------------------------------


def test_check_output(tmp_path):
    assert check_output(tmp_path / "a.h5") == tmp_path / "a.h5"
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") - NAME_RESERVE
    check_output(tmp_path / ("x" * limit))
    with pytest.raises(OutputError, match=f"at most {limit} fit"):
        check_output(tmp_path / ("x" * (limit + 1)))
    with pytest.raises(OutputError, match="does not exist"):
        check_output(tmp_path / "no" / "a.h5")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output(tmp_path / "f" / "a.h5")
    with pytest.raises(OutputError, match="exists"):
        check_output(tmp_path / "f")
    check_output(tmp_path / "f", overwrite=True)
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, overwrite=True)
    (tmp_path / "d").mkdir()
    check_output(tmp_path / "d", kind="dir")
    with pytest.raises(OutputError, match="not a folder"):
        check_output(tmp_path / "f", kind="dir")


def test_longest_accepted_name_really_writes(tmp_path):
    """The reserve covers every temporary name: a dataset at the longest accepted name is written
    (segments in <name>.partial, <name>.lock, .<name>.tmp-<pid>) and merged/exported."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") - NAME_RESERVE
    out = tmp_path / ("n" * (limit - 3) + ".h5")
    img, kp = Inputs(tmp_path).openpose()
    r = run("import-openpose", "--images", img, "--keypoints", kp, "-o", out, "--workers", "1", "--min-keypoints", "1")
    assert r.exit_code == 0, r.output
    r = run("export", out, "--to", "coco", "-o", tmp_path / ("e" * limit))
    assert r.exit_code == 0, r.output


# -- the lock ------------------------------------------------------------------------------------------


def test_lock_is_exclusive_and_released(tmp_path):
    target = tmp_path / "a.h5"
    with OutputLock(target) as lock:
        assert lock.held and lock_path(target).exists()
        assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()
        with pytest.raises(LockedError, match=f"process {os.getpid()}"):
            OutputLock(target).acquire()  # a second open file description: flock conflicts within a process too
    assert not lock_path(target).exists()
    with OutputLock(target):
        pass


def _writers(i: Inputs) -> dict[str, list]:
    """Every writing command, each aimed at out.h5 (export: the folder out.h5/, named a folder by its /)."""
    img, kp = i.openpose()
    table, df = i.deepfashion()
    s0, s1 = i.shard("s0.h5", 0, 2), i.shard("s1.h5", 1, 2)
    rig = i.text("rig.blend", b"never loaded: the lock is taken before Blender starts")
    out = i.p("out.h5")
    return {
        "render": ["render", "--rig", rig, "--frames", "2", "--size", "16", "-o", out],
        "render --resume": ["render", "--rig", rig, "--frames", "2", "--size", "16", "-o", out, "--resume"],
        "merge": ["merge", s0, s1, "-o", out],
        "import-openpose": ["import-openpose", "--images", img, "--keypoints", kp, "-o", out, "--workers", "1",
                            "--min-keypoints", "1"],
        "import-deepfashion": ["import-deepfashion", "--csv", table, "--images", df, "-o", out, "--workers", "1",
                               "--min-keypoints", "1"],
        "export": ["export", i.rendered("in.h5"), "--to", "openpose", "-o", f"{out}/"],
    }


def test_second_writer_fails_at_once_naming_the_first(tmp_path):
    i = Inputs(tmp_path)
    writers = _writers(i)
    holder = python(HOLD, i.p("out.h5"))
    try:
        wait_for(holder, "held")
        before = snapshot(tmp_path)
        for name, args in writers.items():
            t0 = time.time()
            r = run(*args)
            one_error_line(r, str(i.p("out.h5")), f"another process {holder.pid} on")
            assert time.time() - t0 < 10, f"{name} did work before checking the lock"
            assert snapshot(tmp_path) == before, name
    finally:
        kill(holder)
    # The holder was killed: its lock file is left, and the next writer takes it over.
    assert lock_path(i.p("out.h5")).exists()
    r = run(*writers["merge"])
    assert r.exit_code == 0, r.output
    assert not lock_path(i.p("out.h5")).exists()
    with open_dataset(i.p("out.h5")) as ds:
        assert len(ds) == 6


def test_two_writers_race_one_wins(tmp_path):
    """Two imports started together into one output: exactly one writes it, the other fails naming
    the first (no interleaved rows); whichever wins, the file is whole and valid."""
    i = Inputs(tmp_path)
    img, kp = i.openpose({f"p{k}": json.dumps({"people": [{"pose_keypoints_2d": [20.0, 20.0, 1.0] * 18}]})
                          for k in range(40)})
    code = ("import sys\nfrom datagen.cli import main\nmain(sys.argv[1:])\n")
    args = ["import-openpose", "--images", img, "--keypoints", kp, "-o", i.p("out.h5"), "--workers", "1",
            "--min-keypoints", "1", "--image-compression", "gzip"]
    procs = [python(code, *args) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append((p.returncode, out + err))
    codes = sorted(c for c, _ in results)
    # The two may also run one after the other (the first finished before the second started): then
    # the second refuses the existing file. Either way one exit 0 and one one-line exit 1.
    assert codes == [0, 1], results
    loser = next(text for c, text in results if c == 1)
    assert "Traceback" not in loser
    assert ("is being written by another process" in loser) or ("exists (use --overwrite" in loser), loser
    from datagen.format.validate import validate_dataset

    assert validate_dataset(i.p("out.h5")) == 41
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "keypoints", "out.h5"]


# -- leftovers of a killed run -------------------------------------------------------------------------


KILLED_MERGE = (
    "import sys, time\nimport datagen.format.concat as c\norig = c._copy_chunks\n"
    "def slow(dst, srcs):\n    orig(dst, srcs)\n    print('assembling', flush=True)\n    time.sleep(600)\n"
    "c._copy_chunks = slow\nfrom datagen.cli import main\nmain(sys.argv[1:])\n")


def test_kill_during_final_assembly_leaves_nothing_for_good(tmp_path):
    i = Inputs(tmp_path)
    s0, s1 = i.shard("s0.h5", 0, 2), i.shard("s1.h5", 1, 2)
    out = i.p("m.h5")
    proc = python(KILLED_MERGE, "merge", s0, s1, "-o", out)
    try:
        wait_for(proc, "assembling")
    finally:
        kill(proc)
    leftover = tmp_path / f".m.h5.tmp-{proc.pid}"
    assert leftover.exists() and leftover.stat().st_size > 0 and lock_path(out).exists() and not out.exists()
    r = run("merge", s0, s1, "-o", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5", "s0.h5", "s1.h5"]


KILLED_IMPORT = (
    "import sys, time\nimport datagen.io.importers as m\n"
    "def stuck(*a, **k):\n    print('joining', flush=True)\n    time.sleep(600)\n"
    "m.concat_files = stuck\nfrom datagen.cli import main\nmain(sys.argv[1:])\n")


def test_kill_during_import_leftovers_removed_by_next_run(tmp_path):
    i = Inputs(tmp_path)
    img, kp = i.openpose()
    out = i.p("o.h5")
    args = ["import-openpose", "--images", img, "--keypoints", kp, "-o", out, "--workers", "1", "--min-keypoints", "1"]
    proc = python(KILLED_IMPORT, *args)
    try:
        wait_for(proc, "joining")
    finally:
        kill(proc)
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".o.h5.import-")]
    assert len(left) == 1 and any((tmp_path / left[0]).rglob("*.h5"))  # the killed run's shards
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "keypoints", "o.h5"]


def test_remove_leftovers_only_touches_this_outputs_names(tmp_path):
    for name in (".a.h5.tmp-123", ".a.h5.tmp.png", ".a.h5.export-9", ".b.h5.tmp-1", "a.h5", ".a.h5x.tmp-1"):
        (tmp_path / name).write_text("x")
    (tmp_path / ".a.h5.import-abc").mkdir()
    removed = remove_leftovers(tmp_path / "a.h5")
    assert sorted(p.name for p in removed) == [".a.h5.export-9", ".a.h5.import-abc", ".a.h5.tmp-123", ".a.h5.tmp.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.h5x.tmp-1", ".b.h5.tmp-1", "a.h5"]


# -- a full or read-only disk --------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size: str, options: str = ""):
    """A tmpfs of ``size`` at ``path`` (None where mounting is not allowed)."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", str(path)],
                       capture_output=True)
    if r.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_import_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    i = Inputs(tmp_path)
    big = json.dumps({"people": [{"pose_keypoints_2d": [20.0, 20.0, 1.0] * 18}]})
    img, kp = i.openpose({f"p{k}": big for k in range(8)})
    with small_disk(tmp_path / "disk", "96k") as disk:
        if disk is None:  # no mount here: the writer's write fails as on a full disk
            (tmp_path / "disk").mkdir(exist_ok=True)
            monkeypatch.setattr("datagen.format.writer.write_rows", _enospc)
        folder = tmp_path / "disk"
        r = run("import-openpose", "--images", img, "--keypoints", kp, "-o", folder / "o.h5", "--workers", "1",
                "--min-keypoints", "1", "--size", "256", "--image-compression", "none")
        one_error_line(r, str(folder / "o.h5"), "no space left on the device")
        assert list(folder.iterdir()) == []


def test_full_disk_export_and_preview(tmp_path, monkeypatch):
    src = write_synthetic(tmp_path / "d.h5", n=24, size=64)
    with small_disk(tmp_path / "disk", "64k") as disk:
        folder = tmp_path / "disk"
        if disk is None:
            folder.mkdir(exist_ok=True)
            monkeypatch.setattr("datagen.io.exporters.png_bytes", _enospc)
            monkeypatch.setattr("datagen.io.yolo.png_bytes", _enospc)
            monkeypatch.setattr("PIL.Image.Image.save", _enospc)
        for to in ("coco", "yolo"):
            r = run("export", src, "--to", to, "-o", folder / "e")
            one_error_line(r, str(folder / "e"), "no space left on the device")
            assert list(folder.iterdir()) == []
        r = run("preview", src, "-o", folder / "s.png", "--n", "24", "--size", "256")
        one_error_line(r, str(folder / "s.png"), "no space left on the device")
        assert list(folder.iterdir()) == []


def test_full_disk_writer_keeps_committed_rows_resumable(tmp_path, monkeypatch):
    """The writer of render's chunks: a full disk stops it with one error; what was committed stays,
    and a resume with room finishes the same rows as an unbroken run."""
    rows = synthetic_rows(24, 64)
    header = DatasetHeader("avatar20", 64, config={"t": 1}, costume_names=["red", "blue"],
                           clip_names=["idle", "walk", "run"], image_compression="none")
    ref = tmp_path / "ref.h5"
    with DatasetWriter(ref, header, segment_rows=4) as w:
        w.append(rows)
    with small_disk(tmp_path / "disk", "160k") as disk:
        folder = tmp_path / "disk"
        out = folder / "o.h5"
        calls = []
        if disk is None:
            import datagen.format.writer as wmod

            real = wmod.write_rows

            def fail_third(*a, **k):
                calls.append(1)
                if len(calls) >= 3:
                    _enospc()
                return real(*a, **k)
            folder.mkdir(exist_ok=True)
            monkeypatch.setattr(wmod, "write_rows", fail_third)
        w = DatasetWriter(out, header, segment_rows=4)
        with pytest.raises(OutputError, match=r"o.h5: cannot write \(no space left on the device\); the committed "
                                              r"rows are kept, run again with --resume"):
            for r in range(24):
                w.append({k: v[r:r + 1] for k, v in rows.items()})
            w.close()
        committed = w.rows
        assert 0 < committed < 24 and not list((folder / "o.h5.partial").glob("*.tmp"))
        if disk is not None:
            subprocess.run(["mount", "-o", "remount,size=16m", str(folder)], check=True)
        else:
            monkeypatch.undo()
        w = DatasetWriter(out, header, resume=True, segment_rows=4)
        assert w.rows == committed
        for r in range(w.rows, 24):
            w.append({k: v[r:r + 1] for k, v in rows.items()})
        w.close()
        with h5py.File(out, "r") as a, h5py.File(ref, "r") as b:
            for name in ("pose/xy", "images/64", "images/4", "meta/clip"):
                np.testing.assert_array_equal(a[name][:], b[name][:])
        assert sorted(p.name for p in folder.iterdir()) == ["o.h5"]


def test_read_only_folder(tmp_path):
    src = write_synthetic(tmp_path / "d.h5")
    with read_only_folder(tmp_path / "ro") as disk:  # a real read-only mount as root, not a chmod root ignores
        for args in (["preview", src, "-o", disk / "s.png"], ["export", src, "--to", "coco", "-o", disk / "e"],
                     ["merge", src, "-o", disk / "m.h5"]):
            one_error_line(run(*args), str(disk), "not writable")


# -- render: finished outputs, leftovers, the lock (with Blender) --------------------------------------


@pytest.mark.blender
def test_render_resume_of_a_finished_run(tmp_path):
    from helpers import blender_rigs

    rig = blender_rigs.build_boxman(tmp_path / "boxman.blend")
    out = tmp_path / "r.h5"
    args = ["render", "--quiet", "--rig", rig, "--frames", "2", "--size", "16", "-o", out]
    r = run(*args)
    assert r.exit_code == 0, r.output
    made = out.stat().st_mtime_ns
    (tmp_path / ".r.h5.tmp-4242").write_bytes(b"left by a killed assembly")
    (tmp_path / "r.h5.partial").mkdir()  # killed between writing r.h5 and removing its work folder
    r = run(*args, "--resume")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{out}: already complete (6 rows); nothing to resume"
    assert out.stat().st_mtime_ns == made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boxman.blend", "r.h5"]
    r = run(*args, "--resume")  # idempotent
    assert r.exit_code == 0 and "already complete" in r.output
    r = run("render", "--quiet", "--rig", rig, "--frames", "3", "--size", "16", "-o", out, "--resume")
    one_error_line(r, str(out), "rendered with other settings (frames differ)")
    r = run(*args)
    one_error_line(r, str(out), "exists (use --overwrite")


@pytest.mark.blender
def test_render_on_a_full_disk_stops_cleanly_and_resumes(tmp_path):
    """Issue 12 saw a segmentation fault here: now one line, the committed rows kept, and --resume
    with room gives the same rows as an unbroken run."""
    from helpers import blender_rigs

    rig = blender_rigs.build_boxman(tmp_path / "boxman.blend")
    args = ["render", "--quiet", "--rig", rig, "--frames", "12", "--size", "64"]
    ref = tmp_path / "ref.h5"
    r = run(*args, "-o", ref)
    assert r.exit_code == 0, r.output
    with small_disk(tmp_path / "disk", "120k") as disk:
        if disk is None:
            pytest.skip("cannot mount a small file system here (not root); the writer's own full-disk "
                        "test covers the injected case")
        out = disk / "r.h5"
        r = run(*args, "-o", out)
        one_error_line(r, str(out), "no space left on the device", "run again with --resume")
        assert not out.exists() and (disk / "r.h5.partial").is_dir()
        assert not (disk / "r.h5.lock").exists() and not list(disk.glob(".r.h5.tmp-*"))
        subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
        r = run(*args, "-o", out, "--resume")
        assert r.exit_code == 0, r.output
        with h5py.File(out, "r") as a, h5py.File(ref, "r") as b:
            for name in ("pose/xy", "pose/visibility", "images/64", "masks/64", "camera/extrinsics"):
                np.testing.assert_array_equal(a[name][:], b[name][:])
        assert sorted(p.name for p in disk.iterdir()) == ["r.h5"]
