"""A little-endian record reader for MMD's binary files, with one-line errors.

Every short read, impossible count or non-finite value is one line naming the file and what was being read.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from datagen.errors import DatagenError


class MMDError(DatagenError):
    """An MMD file that cannot be read; the message names the file and what is wrong."""


def read_bytes(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise MMDError(f"{path}: cannot read {what} ({e.strerror or e})") from None


class Reader:
    """Sequential reads from ``data``; ``source`` names the file in errors."""

    def __init__(self, data: bytes, source: str, kind: str) -> None:
        self.data, self.source, self.kind, self.pos = data, source, kind, 0

    def fail(self, msg: str) -> MMDError:
        return MMDError(f"{self.source}: {msg}")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated {self.kind} (file ends at byte {len(self.data)} while reading {what})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        fmt = "<" + fmt
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))

    def one(self, fmt: str, what: str):
        return self.unpack(fmt, what)[0]

    def count(self, fmt: str, what: str, item_size: int) -> int:
        """An element count, checked against the bytes left (garbage counts fail here, not in memory)."""
        n = self.one(fmt, f"{what} count")
        if n < 0 or n * item_size > len(self.data) - self.pos:
            raise self.fail(f"truncated or corrupt {self.kind}: {n} {what} announced, "
                            f"{len(self.data) - self.pos} bytes left")
        return n

    def array(self, dtype: str, n: int, what: str) -> np.ndarray:
        dt = np.dtype(dtype).newbyteorder("<")
        return np.frombuffer(self.take(n * dt.itemsize, what), dtype=dt).copy()

    def fixed_text(self, n: int, what: str, encoding: str = "shift_jis") -> str:
        """A zero-padded fixed-size string (PMD, VMD)."""
        raw = self.take(n, what).split(b"\0", 1)[0]
        return raw.decode(encoding, errors="replace")

    def finite(self, values: np.ndarray, what: str) -> np.ndarray:
        if not np.isfinite(values).all():
            raise self.fail(f"{what} holds a value that is not a finite number")
        return values
