"""An exclusive lock on a run folder, so two ``psgan train`` processes never write one run.

``OUT/.lock`` is held with ``fcntl.flock`` for the life of the process and holds the owner's pid and
host. The kernel drops a flock when its process dies, however it dies, so a killed run's lock is taken
over by the next run without any staleness guess; the file itself stays and is simply re-locked.
(datagen may grow a shared helper for its outputs; this one is psgan's until the two are unified.)
"""
from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from psgan.errors import PsganError

LOCK_NAME = ".lock"


class RunLock:
    """``with RunLock(out):`` -- raises a one-line PsganError naming the other process when it is held."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise PsganError(f"{self.path}: cannot create the run lock ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise PsganError(f"{self.folder}: is in use by {owner}; wait for it to end or choose "
                             f"another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
