"""The one ``--rows`` grammar of every command that picks rows of a dataset (preview, generate, ...)."""
from __future__ import annotations

import numpy as np

from datagen.errors import DatagenError


def parse_rows(spec: str | None, n: int) -> np.ndarray:
    """'0:100', '0:100:5', '3,7,9' or None (all rows) -> row indices (int64), each checked against ``n``.

    Slices follow Python's rules (``:50``, ``10:``, ``::4``); a comma list keeps its order.
    """
    if spec is None or not str(spec).strip():
        return np.arange(n)
    try:
        if ":" in spec:
            parts = [int(p) if p.strip() else None for p in spec.split(":")]
            if len(parts) > 3 or parts[2:] == [0]:
                raise ValueError
            rows = np.arange(n)[slice(*parts)]
        else:
            rows = np.asarray([int(p) for p in spec.split(",") if p.strip()], dtype=np.int64)
    except ValueError:
        raise DatagenError(f"--rows {spec!r}: expected START:STOP[:STEP] or a comma list of rows") from None
    if len(rows) == 0:
        raise DatagenError(f"--rows {spec!r}: selects no row of the {n} in the file")
    bad = rows[(rows < 0) | (rows >= n)]
    if len(bad):
        raise DatagenError(f"--rows {spec!r}: row {int(bad[0])} is outside the file's {n} rows (0..{n - 1})")
    return rows
