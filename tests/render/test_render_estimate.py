"""datagen.render.estimate: the plan printed before a render, its warnings, the first-frames estimate,
the Ctrl-C hint (no Blender; the end-to-end run is in test_render.py)."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from datagen.cli import main
from datagen.render import estimate
from datagen.render.plan import Plan


def make_plan(clips, names=("Idle", "Walk", "TPose"), costumes=("a", "b"), static=()):
    clip = np.asarray(clips, np.int32)
    n, k = len(clip), 20
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(n, k, 3))
    for c in static:  # every pose of clip c is the same
        xyz[clip == c] = xyz[clip == c][0]
    xyz[:, 3] = np.nan  # an unmapped keypoint never counts as motion
    return Plan(costume_names=list(costumes), clip_names=list(names), clip=clip, time=np.zeros(n), frame=np.zeros(n),
                xyz=xyz, mapped=np.ones(k, bool), intrinsics=np.eye(3), extrinsics=np.repeat(np.eye(4)[None], n, 0),
                radius=np.ones(k), near=0.1, far=10.0)


def test_plan_rows_disk_and_clips():
    s = estimate.summarize_plan(make_plan([0, 0, 1, 1, 2, 2]), size=1024, rows=12)
    assert (s.rows, s.poses, s.costumes) == (12, 6, 2) and s.clip_rows == {"Idle": 4, "Walk": 4, "TPose": 4}
    assert s.est_bytes == pytest.approx(estimate.FILE_BYTES + 12 * 180 * 1024, abs=2)  # 180 KiB per 1024 row
    text = s.format()
    assert text.splitlines()[0] == "plan: 12 rows = 6 poses x 2 costumes"
    assert "disk: about 2.2 MiB (186.0 KiB per row)" in text and s.warnings == []


def test_row_bytes_follow_the_measured_sizes():
    for size, measured in estimate.ROW_BYTES.items():
        assert estimate.row_bytes(size) == pytest.approx(measured)
    small = [estimate.row_bytes(s) / s**2 for s in (16, 32, 64, 128, 256, 512, 1024, 2048)]
    assert all(a > b for a, b in zip(small, small[1:]))     # bytes per pixel fall with the size
    assert 0.8 < small[2] < 0.9 and 0.17 < small[6] < 0.18
    # The 32-row renders the model is made of: 181, 373 and 867 KB files at 64, 128 and 256.
    for size, file in ((64, 181259), (128, 372624), (256, 866780)):
        assert estimate.FILE_BYTES + 32 * estimate.row_bytes(size) == pytest.approx(file, rel=0.05)


def test_warnings_for_empty_and_static_clips_and_large_sizes():
    w = estimate.plan_warnings(make_plan([0, 0, 2, 2], static=[2]), 4096)
    assert any("get no rows" in x and "Walk" in x for x in w)
    assert any("'TPose' never moves" in x for x in w)
    assert any("--size 4096 is above 2048" in x for x in w)
    assert len(w) == 3
    assert estimate.plan_warnings(make_plan([0, 1, 2]), 2048) == []  # one pose per clip: nothing to compare


def test_first_frames_estimate():
    t = iter([10.0, 16.0])  # read when the first frame is done, and at the fourth
    msgs = []
    ff = estimate.FirstFrames(100, msgs.append, clock=lambda: next(t))
    for _ in range(5):
        ff.update()
    # The first frame (Blender's warm-up) is left out: 3 frames in 6 s after it.
    assert msgs == ["estimate: 2.00 s/frame from the first 4 frames; about 3 min for the 96 left"]
    assert estimate.format_duration(17 * 3600) == "17.0 h" and estimate.format_bytes(3 * 2**30) == "3.0 GiB"


def test_ctrl_c_says_how_to_resume(tmp_path, monkeypatch):
    out = tmp_path / "data.h5"
    (tmp_path / "data.h5.partial").mkdir()

    def interrupted(config, opts):
        raise KeyboardInterrupt

    monkeypatch.setattr("datagen.render.run_render", interrupted)
    monkeypatch.setattr("datagen.render.file_sha256", lambda p: "0" * 64)
    r = CliRunner().invoke(main, ["render", "--frames", "2", "--size", "64", "-o", str(out)])
    assert r.exit_code == 130
    assert "Aborted!" not in r.output
    assert f"kept in {out}.partial/; run the same command with --resume" in r.output
    assert estimate.interrupt_hint(Path(tmp_path / "none.h5")) == "Interrupted before any row was written; nothing to resume."
