"""A folder where writing really fails, for the read-only tests: as root (CI) too.

Root ignores permission bits, so ``chmod 0o555`` alone proves nothing there. The folder is a read-only
tmpfs mount where mounting is allowed (root with CAP_SYS_ADMIN), else a folder without write
permission; either way a probe write must fail, or the test is skipped saying why (never a silent pass).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


def _write_fails(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return True
    probe.unlink()
    return False


@contextlib.contextmanager
def read_only_folder(path: Path):
    """Yield ``path`` (created inside the test's tmp_path) as a folder that cannot be written."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    if not mounted:
        path.chmod(0o555)
    try:
        if not _write_fails(path):
            pytest.skip(f"cannot make a read-only folder here (uid {os.getuid()}, no mount allowed, "
                        "permissions ignored)")
        yield path
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)
        else:
            path.chmod(0o755)
