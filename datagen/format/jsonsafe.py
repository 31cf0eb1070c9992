"""Strict JSON: input files with finite numbers only and bounded nesting (one ValueError for anything bad),
and atomic output files (:func:`write_json`).

Python's :func:`json.loads` accepts ``NaN`` and ``Infinity`` (not JSON), turns ``1e400`` into
infinity, returns a 400-digit integer that no float holds (an OverflowError later), and raises
RecursionError (not ValueError) on deeply nested arrays (100,000 ``[``).
Every JSON file a command reads goes through :func:`loads` / :func:`read_json`, so a caller catches
one exception.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path


class JSONInputError(ValueError):
    """Text that is not strict JSON, or not JSON this toolkit accepts."""


class NonFiniteError(JSONInputError):
    """NaN, Infinity or a number too large for a float (e.g. 1e400)."""


def _bad_constant(name: str):
    raise NonFiniteError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteError(f"number {text[:40]} is out of range")
    return value


def _finite_int(text: str) -> int:
    value = int(text)
    try:
        float(value)  # every number an input holds is used as a float
    except OverflowError:
        raise NonFiniteError(f"number {text[:20]}... ({len(text)} digits) is out of range") from None
    return value


def loads(text: str | bytes) -> object:
    """Parse strict JSON; raises :class:`JSONInputError` (a ValueError) with a short reason."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise JSONInputError(f"not UTF-8 text (byte {e.start})") from None
    try:
        return json.loads(text, parse_constant=_bad_constant, parse_float=_finite_float,
                          parse_int=_finite_int)
    except JSONInputError:
        raise
    except RecursionError:  # the C scanner stops at the interpreter's recursion limit (~1000)
        raise JSONInputError("nested too deeply") from None
    except ValueError as e:
        # e.g. "Exceeds the limit (4300 digits) for integer string conversion; use ..." : first clause
        raise JSONInputError(str(e).splitlines()[0].split(";")[0] if str(e) else type(e).__name__) from None


def read_json(path: str | os.PathLike) -> object:
    """Read and parse a JSON file; OSError is left to the caller (it names the path itself)."""
    return loads(Path(path).read_bytes())


def write_json(path: str | os.PathLike, obj: object, *, sort_keys: bool = False) -> Path:
    """Write ``obj`` as strict JSON (NaN and infinities become null), atomically: a temporary file in the
    same folder renamed over ``path``, so a reader never sees half a file. OSError is left to the caller."""
    path = Path(path)
    strict = json.loads(json.dumps(obj), parse_constant=lambda _: None)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(strict, indent=2, sort_keys=sort_keys) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
