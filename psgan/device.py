"""Where a run computes: the device asked for, the split of a global minibatch over torchrun ranks, and
compiled networks."""
from __future__ import annotations

import torch

from psgan.errors import PsganError
from psgan.schedule import Phase


def resolve_device(name: str) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` -> a device this machine has, else one PsganError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise PsganError(f"--device {name!r}: not a device (auto, cpu, cuda or cuda:N)") from None
    if dev.type not in ("cpu", "cuda"):
        raise PsganError(f"--device {name!r}: psgan runs on cpu or cuda")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise PsganError(f"--device {name}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise PsganError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def rank_batches(batch: int, world: int) -> list[int]:
    """The global minibatch split over ``world`` ranks so the parts add up to it exactly (the first
    ``batch % world`` ranks take one more)."""
    return [batch // world + (r < batch % world) for r in range(world)]


def check_batches(phases: list[Phase], world: int) -> None:
    """Every rank needs 2 images at least per step: with 1, its minibatch-stddev channel is a constant."""
    if world == 1:
        return
    for ph in phases:
        if min(rank_batches(ph.batch, world)) < 2:
            raise PsganError(f"--batch {ph.batch} at {ph.resolution}x{ph.resolution} cannot be split over "
                             f"{world} processes with 2 images each at least; use --batch {ph.resolution}:"
                             f"{2 * world} or fewer processes")


def compile_network(net: torch.nn.Module, backend: str = "inductor"):
    """``torch.compile`` with static shapes: one graph per resolution and fade, no graph breaks."""
    return torch.compile(net, dynamic=False, backend=backend)
