"""A training run around :class:`psgan.training.loop.Trainer`: the run folder's lock, leftovers of a killed run,
provenance in config.json, and the rules of ``--resume`` (docs/training.md).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch.distributed as dist

from datagen.format.outputs import OutputError
from psgan.checkpoint import TRAINING_KEYS, checkpoint_config, load_checkpoint
from psgan.config import TrainConfig, resume_config
from psgan.errors import PsganError
from psgan.nets.device import resolve_device
from psgan.training.loop import Trainer
from psgan.training.run_folder import provenance, remove_leftovers, write_config
from psgan.training.run_lock import RunLock
from psgan.training.schedule import build_phases

log = logging.getLogger(__name__)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, given: set[str] | None = None,
          argv: list[str] | None = None, overwrite: bool = False, dry_run: bool = False,
          report=None) -> Path | None:
    """Train a run; returns the final checkpoint's path.

    Rank 0 holds the run folder's lock for the whole run, removes temporary files a killed run left,
    and writes config.json (with provenance) before the first step. ``resume`` on a run without a
    checkpoint starts from the beginning; on a finished run it says so and returns. ``overwrite``
    removes an earlier run in the folder (under the lock) and starts again.
    """

    out = Path(cfg.out)
    rank = int(os.environ.get("RANK", 0))
    resolve_device(cfg.device)              # a bad device leaves no run folder behind
    report = report or (lambda line: None)
    if dry_run:
        from psgan.training.plan import dry_run as plan_only

        plan_only(cfg, resume_state(cfg, given) if resume and (out / "checkpoints" / "latest.pt").is_file()
                  else None, report)
        return None
    if out.exists() and not out.is_dir():
        raise PsganError(f"{out}: exists and is not a folder")
    latest = out / "checkpoints" / "latest.pt"
    created = not out.exists()
    lock = None
    if rank == 0:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PsganError(f"{out}: cannot create the run folder ({e.strerror})") from None
        try:
            lock = RunLock(out).acquire()
        except OutputError:
            if created:
                out.rmdir()
            raise
    try:
        if rank == 0:
            for p in remove_leftovers(out / "checkpoints") + remove_leftovers(out):
                log.info("removed %s, left by a killed run", p)
        if overwrite and not resume and rank == 0:
            from datagen.format.output_policy import Output, clear_folder

            clear_folder(Output(out, "run", True), "train")
        if not resume and latest.exists():
            raise PsganError(f"{out}: holds a run already; continue it with --resume, start it again with "
                             f"--overwrite, or choose another --out")
        if resume and not latest.exists():
            log.warning("%s: nothing to resume (no checkpoints/latest.pt); starting a new run in this folder "
                        "(check -o if you meant another run)", out)
            resume = False
        state = None
        if resume:
            cfg, state = resume_state(cfg, given)
            if int(state["phase"]) >= len(build_phases(cfg.schedule)):
                log.warning("%s: the run is complete (%.2f kimg, %dx%d); nothing to do", out,
                            int(state["total_img"]) / 1000, int(state["resolution"]), int(state["resolution"]))
                return latest
        if state is not None and rank == 0:
            report(f"resuming {out} from {latest}: {int(state['total_img']) / 1000:.3f} kimg, phase "
                   f"{int(state['phase'])} ({int(state['resolution'])}x{int(state['resolution'])})")
        try:
            t = Trainer(cfg, state)
        except BaseException:
            if created and rank == 0 and lock is not None:
                lock.release()
                lock = None
                _remove_if_empty(out)
            raise
        try:
            if rank == 0:
                prov = provenance(t.cfg.data, argv)
                history = None
                if resume and (out / "config.json").is_file():
                    try:
                        old = json.loads((out / "config.json").read_text())
                        history = old.get("resumes", []) + [prov]
                        prov = old.get("provenance", prov)
                    except (OSError, ValueError):
                        pass
                write_config(out, t.cfg.to_json(), prov, history)
                from psgan.training.plan import announce

                announce(t, report)
            t.run(progress=progress)
        finally:
            t.close()
        if dist.is_initialized():
            dist.barrier()
        return t.ckpt_path
    finally:
        if lock is not None:
            lock.release()


def resume_state(cfg: TrainConfig, given: set[str] | None = None) -> tuple[TrainConfig, dict]:
    """The saved run's config with this command line's safe changes applied, and its latest checkpoint.

    ``given``: the option fields set on this command line (None: all of ``cfg``); each must equal the
    saved run's but for the safe ones (psgan.config.resume_config). The checkpoint is read once, on the
    CPU, so a CUDA run resumes anywhere.
    """
    latest = Path(cfg.out) / "checkpoints" / "latest.pt"
    state = load_checkpoint(latest)
    saved = checkpoint_config(state, latest, TRAINING_KEYS)
    merged, conflicts = resume_config(saved, cfg, given)
    if conflicts:
        raise PsganError(f"{cfg.out}: --resume with options that differ from the saved run "
                         f"({'; '.join(conflicts)}); drop them or start a new --out")
    old, new = build_phases(saved.schedule), build_phases(merged.schedule)
    if int(state["phase"]) >= len(old) and new[-1].images > old[-1].images:
        state = {**state, "phase": len(old) - 1, "phase_img": old[-1].images}   # extend the finished last phase
    return merged, state


def _remove_if_empty(out: Path) -> None:
    """A run that failed before its first step leaves nothing: remove the folder it created."""
    for name in ("log.jsonl", "log.txt", ".lock"):
        p = out / name
        if p.is_file() and (name == ".lock" or p.stat().st_size == 0 or name == "log.txt"):
            p.unlink()
    for sub in ("tensorboard", "checkpoints", "samples"):
        if (out / sub).is_dir() and not any((out / sub).iterdir()):
            (out / sub).rmdir()
    try:
        out.rmdir()
    except OSError:
        pass
