"""Training speed at 64x64 on this machine: psgan's training step against a plain implementation of the
same networks, batch and losses (fp32, NCHW, for-loop Adam, no fused or compiled paths), in one run.

    python tests/bench/bench_train.py                 # paper widths, batch 16 (slow on a CPU)
    python tests/bench/bench_train.py --fmap-max 128  # narrower networks

Prints images/s of both, and their ratio; docs/benchmarks.md "Training (issue 6)" holds the numbers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.psgan_data import write_tiny_dataset  # noqa: E402

from psgan.config import configure  # noqa: E402
from psgan.data import batches, prepare_reals  # noqa: E402
from psgan.nets.pose_maps import pose_maps  # noqa: E402
from psgan.training.loop import Trainer  # noqa: E402
from psgan.training.losses import d_loss, g_loss, gradient_penalty  # noqa: E402


class PlainStep:
    """The textbook step on the same G and D: G's forward builds a graph that is detached, D and G both
    get every gradient, pose maps by max-pooling the full map, for-loop Adam, EMA one tensor at a time."""

    def __init__(self, t: Trainer) -> None:
        self.t = t
        self.opt_G = torch.optim.Adam(t.G.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8, foreach=False)
        self.opt_D = torch.optim.Adam(t.D.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8, foreach=False)

    def __call__(self, ph, b, alpha) -> None:
        t, res = self.t, ph.resolution
        real, xy, vis = prepare_reals(b, t.data, t.device, alpha)
        full = pose_maps(xy, vis, t.data.image_size, res)      # G and D max-pool it per block
        n, latent = real.shape[0], t.cfg.model.latent
        fake = t.G(torch.randn(n, latent), full, res, alpha).detach()
        gp = gradient_penalty(lambda x: t.D(x, full, alpha), real, fake, torch.rand(n, 1, 1, 1))
        loss = d_loss(t.D(real, full, alpha), t.D(fake, full, alpha), gp)
        self.opt_D.zero_grad()
        loss.backward()
        self.opt_D.step()
        loss = g_loss(t.D(t.G(torch.randn(n, latent), full, res, alpha), full, alpha))
        self.opt_G.zero_grad()
        loss.backward()
        self.opt_G.step()
        with torch.no_grad():
            for e, p in zip(t.G_ema.parameters(), t.G.parameters()):
                e.copy_(p + (e - p) * 0.999)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--fmap-max", type=int, default=64, help="512 is the paper's (minutes per step on 2 cores)")
    ap.add_argument("--rounds", type=int, default=8, help="interleaved rounds of one step per variant")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    a = ap.parse_args()
    threads = a.threads or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as d:
        data = write_tiny_dataset(Path(d) / "bench.h5", n=4 * a.batch, size=a.res)
        trainers = {}
        for cl in ("off", "on"):
            cfg = configure(data, Path(d) / f"run-{cl}", max_res=a.res, batch={4: a.batch},
                            fmap_max=a.fmap_max, workers=0, channels_last=cl, device="cpu",
                            threads=threads)
            trainers[cl] = Trainer(cfg)
        t = trainers["off"]
        ph = [p for p in t.phases if p.resolution == a.res and not p.fade][0]
        plain = PlainStep(Trainer(cfg))
        feed = list(batches(t.data, a.res, a.batch, 0, 2, seed=0, mirror=True, cache={}))
        variants = {"plain": lambda b: plain(ph, b, 1.0),
                    "psgan": lambda b: trainers["off"].step(ph, b, 1.0),
                    "psgan channels_last": lambda b: trainers["on"].step(ph, b, 1.0)}
        times = {k: [] for k in variants}
        cpu = {k: [] for k in variants}
        for k, f in variants.items():      # warm-up (allocator, oneDNN primitives)
            f(feed[0])
        # Interleaved single steps: other load on the machine hits every variant alike, and the
        # fastest round of each is its least disturbed one.
        for i in range(a.rounds):
            for k, f in variants.items():
                t0, c0 = time.perf_counter(), time.process_time()
                f(feed[i % 2])
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
        print(f"{a.res}x{a.res}, batch {a.batch}, fmap_max {a.fmap_max}, {torch.get_num_threads()} threads, "
              f"torch {torch.__version__}, {a.rounds} rounds")
        print(f"  {'variant':22s} {'best img/s':>10s} {'median img/s':>13s} {'CPU s/img (best)':>17s}")
        best = {}
        for k, v in times.items():
            best[k] = a.batch / min(v)
            print(f"  {k:22s} {best[k]:10.2f} {a.batch / statistics.median(v):13.2f} "
                  f"{min(cpu[k]) / a.batch:17.3f}")
        for k in list(variants)[1:]:
            print(f"  {k} / plain: {best[k] / best['plain']:.2f}x wall (best), "
                  f"{min(cpu['plain']) / min(cpu[k]):.2f}x CPU time")


if __name__ == "__main__":
    main()
