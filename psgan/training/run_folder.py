"""What a training run leaves in its folder besides checkpoints (modelled on stylegan3's run folders).

* ``config.json`` -- the TrainConfig plus ``provenance``: the command line, Python/torch/CUDA/tool
  versions, the git commit of the code when it is a checkout, and the dataset's path, size and mtime;
* ``log.txt`` -- the console (every log line and tick line; appended on resume);
* ``log.jsonl`` -- one JSON object per tick and per phase end; ``tensorboard/`` -- the same scalars
  when the ``[tensorboard]`` extra is installed;
* ``checkpoints/network-snapshot-<kimg>.pt`` (e.g. ``network-snapshot-01200.000.pt``) every ``--snap`` kimg (all, or the last ``--keep``);
* :class:`Tick`: when the log line, sample grid, checkpoint and snapshot of those periods are due.

Only rank 0 calls any of this.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import torch
from tqdm import tqdm

from datagen.format.jsonsafe import write_json

log = logging.getLogger(__name__)

TENSORBOARD_HINT = "TensorBoard scalars are off: pip install 'psgan-toolkit[tensorboard]' to write them"


def git_commit(where: Path) -> str | None:
    """The commit (with ``-dirty`` when there are local changes) of the checkout holding ``where``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                             timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(data: str | os.PathLike, argv: list[str] | None = None) -> dict:
    """Where a run came from: command, versions, code commit, dataset identity."""

    try:
        tool = metadata.version("psgan-toolkit")
    except metadata.PackageNotFoundError:
        tool = None
    st = Path(data).stat()
    return {
        "command": list(sys.argv if argv is None else argv),
        "cwd": os.getcwd(),
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "cuda": torch.version.cuda, "psgan-toolkit": tool},
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "dataset": {"path": str(Path(data).resolve()), "bytes": st.st_size,
                    "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime))},
    }


def write_config(out: Path, config_json: str, prov: dict, history: list | None = None) -> Path:
    """``config.json``: the config's fields, ``provenance`` of this start, ``resumes`` of later starts."""
    d = json.loads(config_json)
    d["provenance"] = prov
    if history:
        d["resumes"] = history
    return write_json(out / "config.json", d, sort_keys=True)


class TqdmHandler(logging.Handler):
    """Log records through ``tqdm.write`` (they do not break the progress bar) and into log.txt."""

    def __init__(self, logfile: Path | None) -> None:
        self._f = None
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        if logfile:
            logfile.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(logfile, "a")

    def emit(self, record: logging.LogRecord) -> None:

        msg = self.format(record)
        tqdm.write(msg, file=sys.stderr)
        self.file_line(msg)

    def file_line(self, msg: str) -> None:
        if self._f is not None:
            self._f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        super().close()


class Console:
    """The run's console: log records of ``psgan.*`` and tick lines go to the bar's writer and log.txt.

    While installed, the root handlers' ``psgan`` records are replaced by this handler (so a line is
    printed once); uninstalled at the end of the run.
    """

    def __init__(self, out: Path | None) -> None:
        self.handler = TqdmHandler(out / "log.txt" if out else None)
        self.logger = logging.getLogger("psgan")
        self._propagate, self._level = self.logger.propagate, self.logger.level
        self.logger.addHandler(self.handler)
        self.logger.propagate = False
        if self.logger.level == logging.NOTSET:
            self.logger.setLevel(logging.getLogger().level or logging.INFO)

    def line(self, msg: str) -> None:

        tqdm.write(msg)
        self.handler.file_line(msg)

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self._propagate
        self.logger.setLevel(self._level)
        self.handler.close()


class RunLog:
    """log.jsonl (appended on resume) and TensorBoard scalars when the [tensorboard] extra is there."""

    SCALARS = ("loss_d", "loss_g", "gp", "d_real", "d_fake", "img_per_s", "resolution", "alpha")

    def __init__(self, out: Path, resume: bool) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self._f = open(out / "log.jsonl", "a" if resume else "w")
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(str(out / "tensorboard"))
        except ImportError:
            log.info(TENSORBOARD_HINT)

    def write(self, rec: dict) -> None:
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()
        if self._tb is not None:
            step = int(rec["kimg"] * 1000)
            for k in self.SCALARS:
                self._tb.add_scalar(f"train/{k}", rec[k], step)

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def snapshot_name(total_img: int) -> str:
    """``network-snapshot-<kimg>.pt``, kimg to the image (short test runs snapshot below 1 kimg), padded
    so that the names sort by time: network-snapshot-01200.000.pt."""
    return f"network-snapshot-{total_img / 1000:09.3f}.pt"


def prune_snapshots(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` snapshots (0: keep all); returns the deleted paths."""
    if keep <= 0:
        return []
    snaps = sorted(folder.glob("network-snapshot-*.pt"))
    gone = snaps[:-keep]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def remove_leftovers(folder: Path) -> list[Path]:
    """Temporary files of a killed writer (``.X.tmp-PID``) in ``folder``; called under the run lock."""
    gone = []
    if folder.is_dir():
        for p in folder.glob(".*.tmp-*"):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


class Tick:
    """Which periodic actions are due when the image count passes multiples of their periods."""

    def __init__(self, log_kimg: float, sample_kimg: float, ckpt_kimg: float, start: int,
                 snap_kimg: float = 0.0) -> None:
        self.periods = {"log": log_kimg, "sample": sample_kimg, "ckpt": ckpt_kimg, "snap": snap_kimg}
        self.last = {k: self._slot(k, start) for k in self.periods}

    def _slot(self, key: str, img: int) -> int:
        p = self.periods[key]
        return int(img // (p * 1000)) if p > 0 else 0

    def due(self, img: int) -> set[str]:
        out = set()
        for k in self.periods:
            s = self._slot(k, img)
            if self.periods[k] > 0 and s > self.last[k]:
                out.add(k)
                self.last[k] = s
        return out
