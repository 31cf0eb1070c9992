"""`psgan train` says what it will do before it does it: the plan (images, phases, time estimated from
measured steps, a warning past an hour on a CPU), --dry-run, where a resume starts, extending a finished
run with a larger --final-kimg, and plain output when it is not a terminal."""
from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import torch
from click.testing import CliRunner

from helpers.psgan_data import TINY_TRAIN, write_tiny_dataset
from psgan.cli import main
from psgan.config import configure
from psgan.training.loop import Trainer
from psgan.training.plan import LONG_CPU_RUN_S, plan_lines, seconds_per_step
from psgan.training.schedule import Phase

# One 4x4 phase of 4 images: one step of batch 4.
ONE_STEP = [*TINY_TRAIN, "--max-res", "4", "--kimg-per-phase", "0.004", "--threads", "1"]


def train(*args):
    return CliRunner().invoke(main, ["train", *map(str, args)])


def test_plan_lines_and_the_long_cpu_run_warning():
    phases = [Phase(0, 4, False, 600_000, 16, 1e-3), Phase(1, 8, True, 600_000, 16, 1e-3),
              Phase(2, 8, False, 600_000, 16, 1e-3)]
    t = SimpleNamespace(phases=phases, phase_idx=1, phase_img=100_000, device=torch.device("cpu"))
    lines, seconds = plan_lines(t, {4: 0.01, 8: 0.02})
    assert seconds == (500_000 + 600_000) / 16 * 0.02
    assert lines[0].startswith("plan: 1100.000 kimg to see (1100000 images) in 2 phases, fade8 -> stab8")
    assert "fade8 600 kimg (batch 16), stab8 600 kimg (batch 16)" in lines[1]
    assert lines[2] == "  estimated time: 23 min (from one measured step per resolution)"
    assert seconds < LONG_CPU_RUN_S and len(lines) == 3
    lines, seconds = plan_lines(t, {8: 1.0})
    assert "estimated time: 19.1 h" in lines[2] and lines[3].startswith("warning: this CPU run is estimated at 19.1 h")
    assert "docs/training.md, quick start" in lines[3]
    t.device = torch.device("cuda")
    assert len(plan_lines(t, {8: 1.0})[0]) == 3      # no CPU warning for a GPU run


def test_measuring_leaves_the_run_as_it_was(tmp_path):
    data = write_tiny_dataset(tmp_path / "d.h5", n=8)
    cfg = configure(data, tmp_path / "run", max_res=8, kimg_per_phase=0.008, batch={4: 4}, latent=8, fmap_base=32,
                    fmap_max=8, workers=0, threads=1)
    t = Trainer(cfg)
    try:
        before = copy.deepcopy(t.state())
        per_step = seconds_per_step(t, t.phases)
        after = t.state()
    finally:
        t.close()
    assert set(per_step) == {4, 8} and all(s > 0 for s in per_step.values())
    for net in ("G", "D", "G_ema"):
        for k, v in before[net].items():
            assert torch.equal(v, after[net][k]), (net, k)
    assert torch.equal(before["rng"]["gen"][0], after["rng"]["gen"][0])
    assert torch.equal(before["rng"]["torch"], after["rng"]["torch"])
    assert (before["total_img"], before["steps"]) == (after["total_img"], after["steps"]) == (0, 0)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    data = write_tiny_dataset(tmp_path / "d.h5", n=8)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = train(data, "-o", tmp_path / "runs" / "x", *ONE_STEP, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "plan: 0.004 kimg to see (4 images) in 1 phases, stab4 -> stab4" in r.output
    assert "estimated time:" in r.output and "checkpoint:" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before        # no runs/ folder


def test_run_resume_and_extend_a_finished_run(tmp_path, caplog):
    data = write_tiny_dataset(tmp_path / "d.h5", n=8)
    out = tmp_path / "run"
    r = train(data, "-o", out, *ONE_STEP)
    assert r.exit_code == 0, r.output
    assert r.output.index("plan: 0.004 kimg") < r.output.index("checkpoint:")
    assert "\r" not in r.output                                       # not a terminal: plain lines only
    r = train(data, "-o", out, *ONE_STEP, "--resume")
    assert r.exit_code == 0 and "the run is complete" in caplog.text, r.output
    r = train(data, "-o", out, *ONE_STEP, "--resume", "--final-kimg", "0.002")
    assert r.exit_code == 1 and "schedule.final_kimg" in r.output      # shorter: a change, refused
    r = train(data, "-o", out, *ONE_STEP, "--resume", "--final-kimg", "0.008")
    assert r.exit_code == 0, r.output
    assert f"resuming {out} from {out / 'checkpoints' / 'latest.pt'}: 0.004 kimg, phase 0 (4x4)" in r.output
    assert "plan: 0.004 kimg to see (4 images) in 1 phases" in r.output
    ck = torch.load(out / "checkpoints" / "latest.pt", weights_only=True)
    assert ck["total_img"] == 8 and ck["steps"] == 2
    config = ck["config"] if isinstance(ck["config"], dict) else json.loads(ck["config"])
    assert config["schedule"]["final_kimg"] == 0.008
