"""An exclusive lock on a run folder, so two ``psgan train`` processes never write one run.

It is datagen's output lock (:class:`datagen.format.outputs.OutputLock`: ``fcntl.flock``, which the kernel
drops when its process dies however it dies, so a killed run's lock is taken over without guessing
from pids) kept inside the run folder as ``OUT/.lock``, with the owner's pid, host and start time.
"""
from __future__ import annotations

import os
from pathlib import Path

from datagen.format.outputs import OutputLock

LOCK_NAME = ".lock"


class RunLock(OutputLock):
    """``with RunLock(out):`` -- a second writer gets one line (LockedError) naming the other process."""

    def __init__(self, folder: str | os.PathLike) -> None:
        super().__init__(folder, path=Path(folder) / LOCK_NAME)
