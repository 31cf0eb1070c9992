"""`psgan eval` sized to its data: FID's image count capped by the real rows, a warning when the detector
trains on fewer rows than it needs, an on-the-fly detector's steps capped by its rows, so that a 16-row
file is evaluated with default options in seconds (the time itself: docs/benchmarks.md)."""
from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner

from helpers.psgan_data import write_tiny_dataset
from helpers.stick_figures import one_thread
from test_evaluate import SIZE, tiny_checkpoint
from psgan.cli import main
from psgan.evaluation.evaluate import MIN_FID_IMAGES
from psgan.evaluation.posenet import MAX_EPOCHS, MIN_TRAIN_ROWS, steps_for_rows


def test_steps_for_rows():
    assert steps_for_rows(1500, 14, 32) == -(-MAX_EPOCHS * 14 // 32) == 88
    assert steps_for_rows(1500, 100_000, 32) == 1500
    assert steps_for_rows(1500, 0, 32) == 1


@pytest.mark.slow
def test_eval_of_a_16_row_file_with_default_options(tmp_path, caplog, monkeypatch):
    import psgan.evaluation.evaluate as evaluate_module

    def no_inception(*a, **kw):
        raise AssertionError("the Inception network was loaded for 16 rows")
    monkeypatch.setattr(evaluate_module, "default_feature_extractor", no_inception)
    data = write_tiny_dataset(tmp_path / "d.h5", n=16, size=SIZE)
    ckpt = tiny_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt", use_pose=True)
    out = tmp_path / "eval.json"
    with one_thread(), caplog.at_level(logging.WARNING):
        r = CliRunner().invoke(main, ["eval", str(tmp_path / "run"), "--data", str(data), "-o", str(out)])
    assert r.exit_code == 0, r.output
    said = caplog.text
    assert f"16 rows: FID/KID skipped (they need {MIN_FID_IMAGES} real images at least)" in said
    assert f"fewer than the {MIN_TRAIN_ROWS} it needs" in said
    assert json.loads(out.read_text())["models"][0]["pose"]["poses"] <= 16
    trained = [line for line in said.splitlines() if "training a keypoint detector" in line][0]
    steps = int(trained.split("(")[1].split()[0])     # "... at 32x32 (N steps; ..."
    assert 0 < steps <= steps_for_rows(1500, 16, 32) == 100
