"""The plan a training run prints before its first step: images to see, phases, and the time estimated
from one measured step per resolution, with a warning when a CPU run would pass an hour (docs/training.md).
"""
from __future__ import annotations

import copy
import tempfile
import time
from typing import Callable

from psgan.config import TrainConfig
from psgan.data import batches
from psgan.training.loop import Trainer
from psgan.training.schedule import Phase

LONG_CPU_RUN_S = 3600.0   # a CPU run estimated longer than this gets a warning and the fast recipe


def seconds_per_step(t: Trainer, phases: list[Phase]) -> dict[int, float]:
    """One timed training step at each resolution still to train (after an untimed warm-up step), on
    the trainer's own networks; the trainer's state (weights, optimisers, random streams) is restored
    after, so the run continues exactly as if nothing had been measured."""
    saved = copy.deepcopy(t.state())
    out: dict[int, float] = {}
    try:
        for i, ph in enumerate([phases[0]] + phases):
            if ph.resolution in out and i:
                continue
            b = next(iter(batches(t.data, ph.resolution, ph.batch, 0, 1, seed=t.cfg.seed, mirror=False,
                                  cache=t._cache, cache_mb=t.cfg.cache_mb, workers=0)))
            t0 = time.perf_counter()
            t.step(ph, b, 1.0)
            if i:   # the first step warms up the kernels
                out[ph.resolution] = time.perf_counter() - t0
    finally:
        t._restore(saved)
    return out


def plan_lines(t: Trainer, per_step: dict[int, float]) -> tuple[list[str], float]:
    """The plan's lines and the estimated seconds of what is left to train."""
    left = t.phases[t.phase_idx:]
    images = sum(p.images for p in left) - (t.phase_img if left else 0)
    seconds = sum(max(0, p.images - (t.phase_img if i == 0 else 0)) / p.batch * per_step.get(p.resolution, 0.0)
                  for i, p in enumerate(left))
    first, last = (left[0], left[-1]) if left else (t.phases[-1], t.phases[-1])
    lines = [f"plan: {images / 1000:.3f} kimg to see ({images} images) in {len(left)} phases, "
             f"{first.name} -> {last.name} ({first.resolution}x{first.resolution} -> "
             f"{last.resolution}x{last.resolution}) on {t.device.type}",
             "  " + ", ".join(f"{p.name} {p.images / 1000:g} kimg (batch {p.batch})" for p in left),
             f"  estimated time: {_duration(seconds)} (from one measured step per resolution)"]
    if t.device.type == "cpu" and seconds > LONG_CPU_RUN_S:
        lines.append(f"warning: this CPU run is estimated at {_duration(seconds)}; for a run of minutes use "
                     f"smaller networks and phases (docs/training.md, quick start), or --dry-run to try options")
    return lines, seconds


def announce(t: Trainer, report: Callable[[str], None]) -> float:
    """Measure, print the plan through ``report``; returns the estimated seconds. Several processes
    (torchrun) print the plan without measuring: a step there is a collective of every rank."""
    measured = seconds_per_step(t, t.phases[t.phase_idx:] or t.phases[-1:]) if t.world == 1 else {}
    lines, seconds = plan_lines(t, measured)
    if not measured:
        lines = lines[:2]
    for line in lines:
        report(line)
    return seconds


def dry_run(cfg: TrainConfig, resumed: tuple[TrainConfig, dict] | None, report: Callable[[str], None]) -> float:
    """The plan of ``cfg`` (or of the resumed run) measured in a scratch folder: nothing is written to --out."""
    with tempfile.TemporaryDirectory(prefix="psgan-dry-run-") as scratch:
        run_cfg, state = resumed if resumed else (cfg, None)
        run_cfg = TrainConfig.from_json(run_cfg.to_json())
        run_cfg.out = scratch
        t = Trainer(run_cfg, state)
        try:
            return announce(t, report)
        finally:
            t.close()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
