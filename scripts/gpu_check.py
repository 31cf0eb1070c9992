"""The GPU check (``scripts/gpu_check.sh``): what only a GPU can show, in at most 8 minutes.

1. CUDA behaviour: a short run on CUDA, its exact resume, and its checkpoint resumed on the CPU;
2. images/s of a full-width training step (the paper's networks, 512 latents) in bf16 autocast and in
   fp32 at 64, 256 and 1024 with the paper's batches (16, 12, 2);
3. a few minutes of training from 4x4 upwards on synthetic data, with its sample grids;
4. the whole 4 -> 1024 schedule's time (600 kimg per phase) projected from the measured rates.

Results go to ``OUT/gpu_check.json`` (and the run to ``OUT/run``). ``--dry-run`` does the same on the
CPU with tiny networks and sizes, to check the script itself where no GPU is lent.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from datagen.format import DatasetHeader, DatasetWriter
from psgan.config import PAPER_BATCH, configure
from psgan.data import batches
from psgan.training.loop import Trainer
from psgan.training.run import resume_state


def write_tiny_dataset(path: Path, n: int, size: int) -> Path:
    """Random images and keypoints (avatar20): the check measures speed and exactness, not what is learnt."""
    rng = np.random.default_rng(0)
    rows = {"images": rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
            "pose/xy": rng.uniform(1, size - 1, (n, 20, 2)).astype(np.float32),
            "pose/visibility": np.full((n, 20), 2, np.uint8)}
    with DatasetWriter(path, DatasetHeader("avatar20", size)) as w:
        w.append(rows)
    return path


def _sync(dev: str) -> None:
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def step_rate(data: Path, out: Path, res: int, batch: int, amp: str, dev: str, widths: dict, steps: int) -> float:
    """Images/s of the training step at the stabilisation phase of ``res`` (after warm-up steps)."""
    cfg = configure(data, out, max_res=res, kimg_per_phase=1000, batch={4: batch}, device=dev, amp=amp,
                    workers=0, **widths)
    t = Trainer(cfg)
    try:
        ph = t.phases[-1]
        warm = 3
        stream = list(batches(t.data, res, batch, 0, min(warm + steps, 4), seed=0, mirror=True, cache={}))
        for i in range(warm):
            t.step(ph, stream[i % len(stream)], 1.0)
        _sync(dev)
        t0 = time.perf_counter()
        for i in range(steps):
            t.step(ph, stream[i % len(stream)], 1.0)
        _sync(dev)
        return steps * batch / (time.perf_counter() - t0)
    finally:
        t.close()


def project_schedule(rates: dict[int, float], kimg_per_phase: float, max_res: int) -> float:
    """Seconds for 4 -> max_res (one stabilisation at 4, then fade-in + stabilisation per doubling),
    each resolution at the measured rate of the nearest measured resolution at or above it
    (pessimistic below), geometric means between measured ones."""
    measured = sorted(rates)

    def rate(r: int) -> float:
        if r in rates:
            return rates[r]
        above = [m for m in measured if m > r]
        below = [m for m in measured if m < r]
        if above and below:
            lo, hi = below[-1], above[0]
            w = (math.log2(r) - math.log2(lo)) / (math.log2(hi) - math.log2(lo))
            return math.exp((1 - w) * math.log(rates[lo]) + w * math.log(rates[hi]))
        return rates[above[0]] if above else rates[below[-1]]
    total, r = kimg_per_phase * 1000 / rate(4), 8
    while r <= max_res:
        total += 2 * kimg_per_phase * 1000 / rate(r)
        r *= 2
    return total


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/gpu_check"))
    ap.add_argument("--dry-run", action="store_true", help="On the CPU, tiny networks and sizes.")
    ap.add_argument("--train-seconds", type=float, default=150.0)
    a = ap.parse_args(argv)
    dry = a.dry_run
    if not dry and not torch.cuda.is_available():
        sys.exit("Error: no CUDA device; run with --dry-run to check the script on the CPU")
    dev = "cpu" if dry else "cuda"
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"device": torch.cuda.get_device_name(0) if not dry else "cpu (dry run)",
                    "torch": torch.__version__, "cuda": torch.version.cuda, "dry_run": dry}
    t_all = time.perf_counter()

    # 1. CUDA behaviour: train, exact resume, resume of the CUDA checkpoint on the CPU.
    small = write_tiny_dataset(out / "small.h5", n=32, size=16)
    tiny = dict(latent=16, fmap_base=64, fmap_max=16)
    kw = dict(max_res=16, kimg_per_phase=0.064, batch={4: 8}, workers=0, tick_kimg=1, **tiny)
    whole = Trainer(configure(small, out / "c_whole", device=dev, **kw))
    whole.run(progress=False)
    whole.close()
    part = Trainer(configure(small, out / "c_part", device=dev, **kw))
    part.run(max_steps=20, progress=False)
    part.close()
    rest = Trainer(*resume_state(configure(small, out / "c_part", device=dev, **kw)))
    rest.run(progress=False)
    rest.close()
    exact = all(torch.equal(a, b) for a, b in zip(whole.G.state_dict().values(), rest.G.state_dict().values()))
    cpu = Trainer(*resume_state(configure(small, out / "c_part", device="cpu", **kw), given={"device"}))
    report["cuda_checks"] = {"resume_exact": exact, "finished_total_img": rest.total_img,
                             "checkpoint_loads_on_cpu": cpu.total_img == rest.total_img}
    cpu.close()
    print("checks:", report["cuda_checks"], flush=True)

    # 2. Images/s of a full-width step, bf16 and fp32, at the paper's batches.
    sizes = (8, 16) if dry else (64, 256, 1024)
    full = dict(latent=16, fmap_base=64, fmap_max=16) if dry else dict(latent=512, fmap_base=8192, fmap_max=512)
    big = write_tiny_dataset(out / "big.h5", n=16, size=max(sizes))
    rates: dict = {}
    for amp in ("bf16", "off"):
        for r in sizes:
            b = PAPER_BATCH[r] if not dry else 4
            rate = step_rate(big, out / f"rate_{amp}_{r}", r, b, amp, dev, full, steps=4 if dry else 20)
            rates.setdefault(amp, {})[r] = rate
            print(f"{r}x{r} batch {b} {'bf16' if amp == 'bf16' else 'fp32'}: {rate:.1f} img/s", flush=True)
    report["img_per_s"] = {k: {str(r): round(v, 2) for r, v in d.items()} for k, d in rates.items()}

    # 3. A few minutes of training from 4x4 upwards, with its sample grids.
    data = write_tiny_dataset(out / "train.h5", n=256, size=16 if dry else 128)
    cfg = configure(data, out / "run", max_res=16 if dry else 128, kimg_per_phase=0.032 if dry else 30,
                    device=dev, workers=0, tick_kimg=0.016 if dry else 10, sample_kimg=0.032 if dry else 30,
                    **({"latent": 16, "fmap_base": 64, "fmap_max": 16} if dry else {}))
    t = Trainer(cfg)
    t0 = time.perf_counter()
    while t.phase_idx < len(t.phases) and time.perf_counter() - t0 < (20 if dry else a.train_seconds):
        t.run(max_steps=25, progress=False)
    t.write_samples("gpu_check")
    ph = t.phases[min(t.phase_idx, len(t.phases) - 1)]
    report["training"] = {"seconds": round(time.perf_counter() - t0, 1), "kimg": t.total_img / 1000,
                          "reached": f"{ph.name} {ph.resolution}x{ph.resolution}",
                          "samples": sorted(p.name for p in (out / "run" / "samples").glob("*.png"))}
    t.close()

    # 4. The whole schedule from the measured rates (bf16, the default on CUDA).
    secs = project_schedule(rates["bf16"], 600.0, 1024 if not dry else max(sizes))
    report["projected_full_schedule_hours_bf16"] = round(secs / 3600, 2)
    report["projected_full_schedule_hours_fp32"] = round(project_schedule(rates["off"], 600.0,
                                                                           1024 if not dry else max(sizes)) / 3600, 2)
    report["seconds"] = round(time.perf_counter() - t_all, 1)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
