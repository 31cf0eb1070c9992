"""The promise every command keeps on bad input (README "Exit codes"): one `Error:` line naming the file or
value, the documented exit status, no traceback, nothing left behind."""
from __future__ import annotations

import os
from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under root with size and modification time."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size if p.is_file() else -1, st.st_mtime_ns)
    return out


def check_one_line_error(result, code: int, named: str, before: dict, root: Path) -> None:
    text = result.output
    assert result.exit_code == code, text
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"uncaught {type(result.exception).__name__}: {result.exception}"
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, text
    if code == 1:
        assert text.strip().splitlines()[-1] == errors[0], text  # the error is the last thing said
    assert named in errors[0], f"{named!r} not in {errors[0]!r}"
    assert snapshot(root) == before, "the command left something behind or changed an input"


def one_error_line(result, *named: str) -> str:
    """The single `Error:` line of a CliRunner result that exited 1, checked to be the last thing said."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, (SystemExit, type(None)))
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: ") and [l for l in result.output.splitlines() if l.startswith("Error:")] == [line]
    for n in named:
        assert n in line, line
    return line
