"""Output locations: checks before work starts, one-line write errors, an exclusive lock, leftovers.

Shared by every command that writes (datagen's, and psgan's run folders): :func:`check_output` before
any work, :func:`write_errors` around writing (an OSError becomes one line naming the path),
:class:`OutputLock` so that a second writer of the same output fails at once, naming the first, and
:func:`remove_leftovers` for the temporary names of a killed run. docs/reliability.md.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterator

from datagen.errors import DatagenError

log = logging.getLogger(__name__)

# Bytes an output name needs beside it for the temporary and companion names the writers derive from
# it: ".<name>.tmp-<pid>" (+13 with a 7-digit pid), "<name>.partial", "<name>.lock",
# ".<name>.import-XXXXXXXX" (+17), ".<name>.export-<pid>" (+16).
NAME_RESERVE = 24
# Leftover temporaries of a killed writer of <name>, as glob patterns in its folder.
LEFTOVER_PATTERNS = (".{name}.tmp-*", ".{name}.tmp.png", ".{name}.import-*", ".{name}.export-*")


class OutputError(DatagenError):
    """An output location that cannot be written, or a write that failed (disk full, read-only, ...).

    ``reason`` is the short cause of a failed write ("no space left on the device"), so a caller that
    wrote through temporary files can name its own output instead.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class LockedError(OutputError):
    """The output is being written by another process."""


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_output(path: str | os.PathLike, *, kind: str = "file", overwrite: bool = False,
                 reserve: int = NAME_RESERVE) -> Path:
    """Check that ``path`` can be written as a ``kind`` ("file" or "dir") before any work is done.

    The folder must exist, be a folder and be writable; the name (with ``reserve`` bytes for the
    temporary names derived from it) must fit the file system; an existing ``path`` must be of the
    right kind and is refused unless ``overwrite`` (a "dir" may also be an empty folder).
    Raises :class:`OutputError` naming the path. Returns the path.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise OutputError(f"{path}: not a {'file' if kind == 'file' else 'folder'} name")
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{path}: output folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: output folder {parent} is not writable")
    size = len(os.fsencode(path.name))
    limit = _name_max(parent)
    if size + reserve > limit:
        raise OutputError(f"{path}: name is {size} bytes; at most {limit - reserve} fit this file system "
                          f"with the {reserve} bytes its temporary names add")
    if kind == "file":
        if path.is_dir():
            raise OutputError(f"{path}: is a folder, expected a file name")
        if path.exists() and not overwrite:
            raise OutputError(f"{path}: exists (use --overwrite to replace it)")
    else:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise OutputError(f"{path}: exists and is not an empty folder")
    return path


_REASONS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted", errno.ENAMETOOLONG: "file name too long",
            errno.ENOENT: "no such file or folder", errno.EIO: "input/output error"}


def describe_os_error(e: BaseException) -> str:
    """A short reason for an OSError, also for h5py's, which carry no errno but say it in words."""
    if isinstance(e, OSError) and e.errno in _REASONS:
        return _REASONS[e.errno]
    text = str(e)
    for code, words in ((errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only file system"),
                        (errno.EACCES, "Permission denied"), (errno.ENAMETOOLONG, "File name too long"),
                        (errno.EDQUOT, "quota exceeded")):
        if words.lower() in text.lower():
            return _REASONS[code]
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    first = text.splitlines()[0] if text else type(e).__name__
    return first.split("(")[0].strip().rstrip(".") or type(e).__name__


@contextlib.contextmanager
def write_errors(path: str | os.PathLike, resumable: bool = False) -> Iterator[None]:
    """Turn an OSError raised while writing ``path`` into one line naming it (the exit is 1)."""
    try:
        yield
    except OSError as e:
        hint = "; the committed rows are kept, run again with --resume when there is room" if resumable else ""
        reason = describe_os_error(e)
        raise OutputError(f"{path}: cannot write ({reason}){hint}", reason) from None


# -- the lock ---------------------------------------------------------------------------------------


def lock_path(target: str | os.PathLike) -> Path:
    target = Path(target)
    return target.with_name(target.name + ".lock")


def _owner(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


class OutputLock:
    """An exclusive lock on an output (a dataset with its ``.partial`` folder, a run folder).

    The lock is ``fcntl.flock`` on ``<target>.lock``, which holds the owner's pid, host and start
    time for the message a second writer gets. The kernel drops a flock when its process dies, so
    the lock of a killed run is taken over by the next one without any guessing from pids; the
    stale lock file is then reused. :meth:`release` removes the file.

    >>> with OutputLock("data.h5"):   # doctest: +SKIP
    ...     ...  # write data.h5 and data.h5.partial/
    """

    def __init__(self, target: str | os.PathLike, path: str | os.PathLike | None = None) -> None:
        self.target = Path(target)
        self.path = lock_path(self.target) if path is None else Path(path)  # a run folder keeps it inside
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise OutputError(f"{self.path}: cannot create the lock ({describe_os_error(e)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                o = _owner(self.path)
                who = f"process {o.get('pid', '?')} on {o.get('host', '?')}, started {o.get('started', '?')}"
                raise LockedError(f"{self.target}: is being written by another {who} "
                                  f"(lock {self.path})") from None
            # The previous holder may have removed the file between our open and flock: then we hold
            # a lock on an unlinked inode, and must start again on the new file.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        stale = _owner(self.path)
        if stale.get("pid"):
            log.info("taking over the lock %s of process %s, which is gone", self.path, stale.get("pid"))
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
        except OSError as e:
            os.close(fd)
            raise OutputError(f"{self.path}: cannot write the lock ({describe_os_error(e)})") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still holding it: a waiting writer re-checks the inode
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# -- leftovers --------------------------------------------------------------------------------------


def remove_leftovers(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary files and folders a killed writer of ``target`` left beside it.

    Call with the lock on ``target`` held: then no live process is writing any of them.
    Returns what was removed.
    """
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for pattern in LEFTOVER_PATTERNS:
        for p in target.parent.glob(pattern.format(name=glob_escape(target.name))):
            try:
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            except OSError as e:
                log.warning("cannot remove the leftover %s (%s)", p, describe_os_error(e))
                continue
            log.info("removed %s, left by a killed run", p)
            removed.append(p)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
