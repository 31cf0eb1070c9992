"""Where each row came from, in words: its clip, costume and frame (rendered data) or its source file
(imports), as the exporters, the inspection commands and the torch Dataset report it."""
from __future__ import annotations

import numpy as np

from datagen.format.reader import DatasetReader


def meta_columns(ds: DatasetReader, rows: np.ndarray | None = None) -> dict[str, list]:
    """{"clip": [...], "costume": [...], "frame": [...]} (names, frames) or {"source": [...]}, and
    {"input": [...]} in combined files, one value per row of ``rows`` (default all); only the columns the
    file has."""
    rows = np.arange(ds.n) if rows is None else np.asarray(rows)
    out: dict[str, list] = {}
    for key in ("clip", "costume"):
        if ds.has(f"meta/{key}"):
            names, ids = ds.names(key), ds.read(f"meta/{key}")[rows]
            out[key] = [names[i] if 0 <= i < len(names) else str(int(i)) for i in ids]
    if ds.has("meta/frame"):
        out["frame"] = [float(v) for v in ds.read("meta/frame")[rows]]
    if ds.has("meta/source"):
        out["source"] = [str(v) for v in ds.read("meta/source")[rows]]
    if ds.has("meta/input"):  # a combined file: the input file each row came from
        names, ids = ds.names("input"), ds.read("meta/input")[rows]
        out["input"] = [names[i] if 0 <= i < len(names) else str(int(i)) for i in ids]
    return out


def row_meta(ds: DatasetReader) -> list[dict]:
    """Per row: {"row": r, and its :func:`meta_columns` values}."""
    cols = meta_columns(ds)
    return [{"row": r, **{k: v[r] for k, v in cols.items()}} for r in range(ds.n)]
