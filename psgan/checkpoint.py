"""Complete, atomic training checkpoints, loaded with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors and numbers: the state_dicts of G, D, G_ema and both Adam
optimisers, the schedule position (phase index, images seen in the phase and in total, steps), the RNG
states, and the run's :class:`~psgan.config.TrainConfig` as JSON. It is written to a temporary file in
the same folder and renamed, so ``latest.pt`` is always whole.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from psgan.config import TrainConfig
from psgan.errors import PsganError
from psgan.nets.networks import Generator

FORMAT = "psgan-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, nested dicts/lists) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save({"format": FORMAT, "version": VERSION, **state}, tmp)
        os.replace(tmp, path)
    except OSError as e:
        # A full disk, a read-only or vanished folder: the previous file is untouched, so the run
        # stays resumable from it.
        tmp.unlink(missing_ok=True)
        raise PsganError(f"{path}: cannot write the checkpoint ({e.strerror or e})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def run_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint file, or a run folder's ``checkpoints/latest.pt`` (one line naming what is missing)."""
    path = Path(path)
    if path.is_dir():
        latest = path / "checkpoints" / "latest.pt"
        if not latest.is_file():
            raise PsganError(f"{path}: is a folder without checkpoints/latest.pt; give a checkpoint file "
                             f"(a run folder's checkpoints/latest.pt)")
        return latest
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; a bad file raises a one-line PsganError."""
    path = Path(path)
    if not path.is_file():
        raise PsganError(f"{path}: no such checkpoint file")
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many kinds (pickle, zip, unsupported global)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PsganError(f"{path}: not a readable PSGAN checkpoint ({msg[:200]})") from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise PsganError(f"{path}: not a PSGAN checkpoint")
    if ck.get("version") != VERSION:
        raise PsganError(f"{path}: checkpoint version {ck.get('version')!r} is not supported "
                         f"(this tool reads version {VERSION})")
    return ck


GENERATOR_KEYS = ("G_ema", "config", "resolution", "alpha")
TRAINING_KEYS = GENERATOR_KEYS + ("G", "D", "opt_G", "opt_D", "phase", "phase_img", "total_img", "steps", "rng")


def checkpoint_config(ck: dict, path: str | os.PathLike, needs: tuple[str, ...] = GENERATOR_KEYS) -> TrainConfig:
    """The checkpoint's TrainConfig, after checking that the entries ``needs`` are present and the
    config parses; anything wrong is one PsganError naming the file and what is missing or bad."""
    missing = [k for k in needs if k not in ck]
    if missing:
        raise PsganError(f"{path}: checkpoint lacks {', '.join(missing)} (written by another tool or cut short)")
    try:
        cfg = TrainConfig.from_json(ck["config"])
        cfg.model.resolutions   # noqa: B018 -- the fields' types are checked by use
    except (TypeError, ValueError, AttributeError) as e:
        raise PsganError(f"{path}: checkpoint config is not valid ({str(e).splitlines()[0][:200]})") from None
    return cfg


def load_state(module: torch.nn.Module, state: Any, path: str | os.PathLike, name: str) -> None:
    """``module.load_state_dict(state)`` with a mismatch as one line (keys or shapes of another model)."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError, KeyError) as e:
        first = str(e).strip().splitlines()
        detail = " ".join(x.strip() for x in first[1:3]) if len(first) > 1 else (first[0] if first else "")
        raise PsganError(f"{path}: {name} does not fit the model its config describes ({detail[:240]})") from None


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(G_ema, TrainConfig) from a checkpoint: the EMA generator in eval mode, without gradients, with
    ``G.resolution`` and ``G.alpha`` set to where training stood, so ``G(z, pose_maps)`` makes images of
    that resolution. See :func:`psgan.generation.generate.generate_images` for keypoints -> images.
    """

    ck = load_checkpoint(path, map_location="cpu")
    cfg = checkpoint_config(ck, path)
    try:
        g = Generator(cfg.model)
    except (ValueError, TypeError, RuntimeError, AssertionError) as e:
        raise PsganError(f"{path}: checkpoint config describes no valid generator ({e})") from None
    load_state(g, ck["G_ema"], path, "G_ema")
    try:
        g.resolution, g.alpha = int(ck["resolution"]), float(ck["alpha"])
    except (TypeError, ValueError, RuntimeError):
        raise PsganError(f"{path}: checkpoint resolution/alpha are not numbers") from None
    if g.resolution not in cfg.model.resolutions or not 0.0 <= g.alpha <= 1.0:
        raise PsganError(f"{path}: checkpoint resolution {g.resolution} / alpha {g.alpha} do not fit its "
                         f"config (resolutions {cfg.model.resolutions})")
    g.to(device).eval().requires_grad_(False)
    return g, cfg
