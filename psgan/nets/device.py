"""Where networks compute: the device asked for, checked against this machine, and compiled networks."""
from __future__ import annotations

import torch

from psgan.errors import PsganError


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


def compile_network(net: torch.nn.Module, backend: str = "inductor"):
    """``torch.compile`` with static shapes: one graph per resolution and fade, no graph breaks."""
    return torch.compile(net, dynamic=False, backend=backend)
