"""The run around the training loop (issue 14): run folder, provenance, snapshots, lock, strict resume,
CUDA<->CPU resume, the phase-boundary interrupt, exact batch split over ranks, static compile graphs."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.psgan_data import TINY_TRAIN, write_tiny_dataset

from datagen.format.outputs import LockedError
from psgan.checkpoint import load_checkpoint, save_checkpoint
from psgan.config import TrainConfig, configure, resume_config
from psgan.data import PoseData, batches, rank_batches
from psgan.errors import PsganError
from psgan.nets.device import compile_network
from psgan.training.loop import Trainer
from psgan.training.run import resume_state, train
from psgan.training.run_lock import RunLock
from psgan.training.schedule import build_phases, check_batches

TINY = dict(latent=8, fmap_base=32, fmap_max=8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", n=16, size=8)


def _cfg(data, out, max_res=8, kimg=0.016, **kw):
    dev = os.environ.get("PSGAN_TEST_DEVICE", "cpu")            # scripts/gpu_check.sh sets cuda
    kw = {**dict(tick_kimg=0.016, sample_kimg=1.0, ckpt_kimg=1.0, snap_kimg=0.0, device=dev, workers=0), **kw}
    return configure(data, out, max_res=max_res, kimg_per_phase=kimg, batch={4: 4}, **TINY, **kw)


def _same_weights(a, b):
    for name in ("G", "D", "G_ema"):
        x, y = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        for k in x:
            assert torch.equal(x[k], y[k]), (name, k)


def test_run_folder_provenance_log_snapshots_summary(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    train(_cfg(tiny, out, snap_kimg=0.008, keep=2), progress=False, argv=["psgan", "train", "x"])
    d = json.loads((out / "config.json").read_text())
    prov = d["provenance"]
    assert prov["command"] == ["psgan", "train", "x"]
    assert prov["versions"]["torch"] == torch.__version__ and prov["versions"]["python"]
    assert "cuda" in prov["versions"] and "git_commit" in prov
    assert prov["dataset"]["bytes"] == os.path.getsize(tiny) and prov["dataset"]["path"].endswith("tiny.h5")
    assert TrainConfig.from_json((out / "config.json").read_text()).schedule.max_res == 8
    snaps = sorted(p.name for p in (out / "checkpoints").glob("network-snapshot-*.pt"))
    # 48 images in 12 steps of 4, a snapshot every 8: kimg 0.008 .. 0.048, the last two kept
    assert snaps == ["network-snapshot-00000.040.pt", "network-snapshot-00000.048.pt"]
    assert load_checkpoint(out / "checkpoints" / snaps[-1])["total_img"] == 48
    text = (out / "log.txt").read_text()
    assert "stab8" in text and "done: 0.05 kimg in total" in text and "img/s" in text
    assert "final phase stab8 at 8x8" in capsys.readouterr().out
    assert not (out / ".lock").exists()                     # released


def test_tensorboard_scalars_or_one_line_saying_how(tiny, tmp_path, caplog):
    import importlib.util

    from psgan.training.run_folder import TENSORBOARD_HINT
    caplog.set_level("INFO", logger="psgan")
    out = tmp_path / "run"
    train(_cfg(tiny, out, max_res=4), progress=False)
    text = (out / "log.txt").read_text()
    if importlib.util.find_spec("tensorboard") is None:
        assert text.count(TENSORBOARD_HINT) == 1 and not (out / "tensorboard").exists()
        assert "[tensorboard]" in TENSORBOARD_HINT
    else:
        assert TENSORBOARD_HINT not in text and any((out / "tensorboard").iterdir())


def test_snapshots_all_kept_by_default(tiny, tmp_path):
    out = tmp_path / "run"
    train(_cfg(tiny, out, max_res=4, kimg=0.032, snap_kimg=0.008), progress=False)
    names = sorted(p.name for p in (out / "checkpoints").glob("network-snapshot-*.pt"))
    assert names == [f"network-snapshot-00000.0{k:02d}.pt" for k in (8, 16, 24, 32)]


def _hold_lock(folder):
    code = ("import sys, time; from psgan.training.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_writer_fails_at_once_and_a_dead_owners_lock_is_taken_over(tiny, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    p = _hold_lock(out)
    try:
        t0 = time.perf_counter()
        with pytest.raises(LockedError, match=f"is being written by another process {p.pid} on"):
            train(_cfg(tiny, out), progress=False)
        assert time.perf_counter() - t0 < 10
        assert sorted(x.name for x in out.iterdir()) == [".lock"]
    finally:
        p.kill()
        p.wait()
    assert str(p.pid) in (out / ".lock").read_text()           # the killed owner's record is still there
    train(_cfg(tiny, out, max_res=4), progress=False)          # ... and the lock is taken over
    with RunLock(out):
        pass


def test_leftover_temporary_checkpoint_is_removed(tiny, tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    junk = out / "checkpoints" / ".latest.pt.tmp-99999"
    junk.write_bytes(b"x" * 1000)
    train(_cfg(tiny, out, max_res=4), progress=False)
    assert not junk.exists() and (out / "checkpoints" / "latest.pt").is_file()


def test_resume_finished_run_says_complete(tiny, tmp_path, caplog):
    out = tmp_path / "run"
    train(_cfg(tiny, out, max_res=4), progress=False)
    before = (out / "checkpoints" / "latest.pt").stat().st_mtime_ns
    with caplog.at_level("WARNING", logger="psgan"):
        train(_cfg(tiny, out, max_res=4), resume=True, progress=False)
    assert "the run is complete" in caplog.text
    assert (out / "checkpoints" / "latest.pt").stat().st_mtime_ns == before


def test_a_resume_reads_the_checkpoint_once(tiny, tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = Trainer(_cfg(tiny, out))
    first.run(max_steps=3, progress=False)          # a checkpoint inside the first phase
    first.close()
    reads = []
    real = torch.load

    def counting(f, *a, **kw):
        reads.append(Path(f).name)
        return real(f, *a, **kw)
    monkeypatch.setattr(torch, "load", counting)
    train(_cfg(tiny, out), resume=True, progress=False)
    assert reads == ["latest.pt"]
    assert load_checkpoint(out / "checkpoints" / "latest.pt")["total_img"] == 48


def test_resume_before_first_checkpoint_starts_from_the_beginning(tiny, tmp_path, caplog):
    out = tmp_path / "run"
    out.mkdir()
    with caplog.at_level("WARNING", logger="psgan"):
        train(_cfg(tiny, out, max_res=4), resume=True, progress=False)
    assert f"{out}: nothing to resume (no checkpoints/latest.pt); starting a new run in this folder" in caplog.text
    assert load_checkpoint(out / "checkpoints" / "latest.pt")["total_img"] == 16


def test_resume_refuses_changed_options_and_accepts_safe_ones(tiny, tmp_path):
    saved = _cfg(tiny, tmp_path / "r")
    changed = _cfg(tiny, tmp_path / "r", max_res=4, kimg=0.5, workers=3, amp="bf16", compile=True)
    cfg, conflicts = resume_config(saved, changed)
    assert [c.split(":")[0] for c in conflicts] == ["amp", "compile", "model.max_res", "schedule.kimg_per_phase",
                                                    "schedule.max_res"]
    assert "amp: 'auto' -> 'bf16'" in conflicts and "compile: False -> True" in conflicts
    assert cfg.workers == 3 and cfg.schedule.max_res == 8          # safe one taken, the rest saved
    cfg, conflicts = resume_config(saved, changed, given={"workers", "threads"})
    assert conflicts == [] and cfg.workers == 3
    t = Trainer(saved)
    t.run(max_steps=2, progress=False)
    t.close()
    with pytest.raises(PsganError, match=r"--resume with options that differ.*schedule.kimg_per_phase: 0.016 -> 0.5"):
        Trainer(*resume_state(_cfg(tiny, tmp_path / "r", kimg=0.5)))


def test_phase_boundary_interrupt_resumes_exactly(tiny, tmp_path, monkeypatch):
    whole = Trainer(_cfg(tiny, tmp_path / "a"))
    whole.run(progress=False)
    whole.close()
    cfg = _cfg(tiny, tmp_path / "b")
    first = Trainer(cfg)
    real = Trainer.write_samples

    def interrupted(self, name=None):   # Ctrl-C while the end-of-phase samples are written
        if self.phase_img >= self.phases[self.phase_idx].images:
            raise KeyboardInterrupt
        return real(self, name)
    monkeypatch.setattr(Trainer, "write_samples", interrupted)
    with pytest.raises(KeyboardInterrupt):
        first.run(progress=False)
    monkeypatch.setattr(Trainer, "write_samples", real)
    ck = load_checkpoint(cfg.out + "/checkpoints/latest.pt")
    assert ck["phase"] == 0 and ck["phase_img"] == 16         # the state that used to loop forever
    second = Trainer(*resume_state(cfg))
    second.run(progress=False)
    second.close()
    assert second.phase_idx == 3 and second.total_img == whole.total_img
    _same_weights(whole, second)


def test_cuda_checkpoint_resumes_on_the_cpu(tiny, tmp_path, caplog):
    cfg = _cfg(tiny, tmp_path / "r")
    t = Trainer(cfg)
    t.run(max_steps=3, progress=False)
    t.close()
    path = tmp_path / "r" / "checkpoints" / "latest.pt"
    ck = load_checkpoint(path)
    ck = {k: v for k, v in ck.items() if k not in ("format", "version")}
    # What a CUDA run writes: a Philox generator state (16 bytes), device "cuda".
    ck["rng"] = {**ck["rng"], "gen": [torch.zeros(16, dtype=torch.uint8)], "gen_device": "cuda"}
    save_checkpoint(path, ck)
    with caplog.at_level("WARNING", logger="psgan"):
        r = Trainer(*resume_state(cfg))
    assert "written on cuda, this run is on cpu" in caplog.text
    r.run(progress=False)
    r.close()
    assert r.total_img == 48 and all(torch.isfinite(p).all() for p in r.G.parameters())


def test_global_batch_split_exactly_over_ranks(tiny):
    assert rank_batches(5, 2) == [3, 2] and rank_batches(12, 5) == [3, 3, 2, 2, 2]
    for b in range(1, 40):
        for w in range(1, 9):
            assert sum(rank_batches(b, w)) == b
    data = PoseData(tiny)
    single = [x.xy for x in batches(data, 8, 5, 0, 3, seed=1, mirror=True, cache={})]
    parts = [[x.xy for x in batches(data, 8, 5, 0, 3, seed=1, mirror=True, rank=r, world=2, cache={})]
             for r in range(2)]
    for s, a, b in zip(single, *parts):
        assert a.shape[0] == 3 and b.shape[0] == 2 and torch.equal(torch.cat([a, b]), s)
    phases = build_phases(_cfg(tiny, "x").schedule)
    check_batches(phases, 2)                                       # 4 on 2 ranks: 2 + 2
    with pytest.raises(PsganError, match="--batch 4 at 4x4 cannot be split over 3 processes"):
        check_batches(phases, 3)                                   # 2 + 1 + 1: stddev of one image


def test_compile_static_graphs_without_breaks():
    import torch._dynamo as dynamo
    from torch._dynamo.utils import counters

    from psgan.config import ModelConfig
    from psgan.nets.networks import Generator
    from psgan.nets.pose_maps import pose_pyramid

    G = Generator(ModelConfig(num_keypoints=20, latent=8, fmap_base=32, fmap_max=8, max_res=16))
    dynamo.reset()
    counters.clear()
    g = compile_network(G, backend="eager")
    for res in (4, 8, 16):
        poses = pose_pyramid(torch.rand(4, 20, 2) * 16, torch.ones(4, 20), 16, res)
        for a in ((1.0,) if res == 4 else (torch.tensor(0.5), 1.0)):
            g(torch.randn(4, 8), poses, res, a)
    assert sum(counters["graph_break"].values()) == 0
    assert counters["stats"]["unique_graphs"] == 5          # stab4, fade8, stab8, fade16, stab16
    dynamo.reset()


def test_compile_trains_on_the_cpu_backend(tiny, tmp_path):
    """The real path: inductor on the CPU (gcc), a 4x4 phase."""
    from torch._dynamo.utils import counters
    counters.clear()
    t = Trainer(_cfg(tiny, tmp_path / "c", max_res=4, kimg=0.008, compile=True))
    t.run(progress=False)
    t.close()
    assert t.total_img == 8 and sum(counters["graph_break"].values()) == 0
    assert all(torch.isfinite(p).all() for p in t.G.parameters())


def test_gpu_check_dry_run(tmp_path):
    """scripts/gpu_check.py on the CPU with tiny sizes: every section runs and reports (no GPU is lent
    to check the real one here; the script is what a GPU session runs, docs/benchmarks.md)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "scripts" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = mod.main(["--dry-run", "--out", str(tmp_path)])
    checks = rep["cuda_checks"]
    assert checks["resume_exact"] is True and checks["checkpoint_loads_on_cpu"] is True
    assert checks["finished_total_img"] == 5 * 64                      # 4 -> 16: 5 phases of 0.064 kimg
    assert set(rep["img_per_s"]) == {"bf16", "off"} and all(v > 0 for d in rep["img_per_s"].values() for v in d.values())
    assert rep["training"]["samples"] and rep["projected_full_schedule_hours_bf16"] > 0
    assert json.loads((tmp_path / "gpu_check.json").read_text())["dry_run"] is True
    # the projection: at a constant rate, 1 + 2 x 2 phases of 600 kimg at 100 img/s
    assert mod.project_schedule({4: 100.0, 16: 100.0}, 600.0, 16) == pytest.approx(5 * 600e3 / 100)


def test_limbs_condition_both_networks_and_travel_with_the_checkpoint(tiny, tmp_path):
    from click.testing import CliRunner

    from datagen.format import get_keypoint_set
    from psgan.checkpoint import load_generator
    from psgan.cli import main

    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["train", str(tiny), "-o", str(out), "--limbs", *TINY_TRAIN])
    assert r.exit_code == 0, r.output
    edges = get_keypoint_set("avatar20").edges
    saved = TrainConfig.from_json((out / "config.json").read_text())
    assert saved.model.limbs == edges and saved.model.pose_channels == 20 + len(edges)
    ckpt = out / "checkpoints" / "latest.pt"
    G, _ = load_generator(ckpt)
    assert G.cfg.limbs == edges
    assert G.blocks["4"].conv.weight.shape[1] == G.cfg.nf(4) + 20 + len(edges)   # keypoints + limbs
    r = CliRunner().invoke(main, ["generate", str(ckpt), "--poses", str(tiny), "--rows", "0:4", "-o",
                                  str(tmp_path / "a.gif"), "--with-pose"])
    assert r.exit_code == 0, r.output
    # Resuming with or without the flag keeps the saved conditions; the finished run is complete.
    r = CliRunner().invoke(main, ["train", str(tiny), "-o", str(tmp_path / "x"), "--limbs", "--no-pose", *TINY_TRAIN])
    assert r.exit_code == 2 and "--limbs" in r.output and not (tmp_path / "x").exists(), r.output
    before = ckpt.read_bytes()
    for extra in (["--limbs"], []):
        r = CliRunner().invoke(main, ["train", str(tiny), "-o", str(out), "--resume", *extra, *TINY_TRAIN])
        assert r.exit_code == 0, r.output
        assert ckpt.read_bytes() == before
