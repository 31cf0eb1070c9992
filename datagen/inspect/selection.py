"""Picking rows of a dataset by number, clip and costume, and naming a row in words (the captions of
`datagen preview` and the tiles of `datagen view`)."""
from __future__ import annotations

import numpy as np

from datagen.errors import DatagenError
from datagen.format import DatasetReader, parse_rows
from datagen.format.meta import row_meta  # noqa: F401  (re-exported for the inspection commands)


def caption(meta: dict) -> str:
    """'12 walk red f3.5' or '3 img_0003.jpg': the row, then where it came from."""
    parts = [str(meta["row"])]
    parts += [str(meta[k]) for k in ("clip", "costume") if k in meta]
    if "frame" in meta:
        parts.append(f"f{meta['frame']:g}")
    if "source" in meta:
        parts.append(meta["source"])
    return " ".join(parts)


def select_rows(ds: DatasetReader, rows: str | None = None, clips: list[str] | None = None,
                costumes: list[str] | None = None) -> np.ndarray:
    """Rows of ``rows`` (the ``--rows`` grammar; default all) whose clip and costume are among the named
    ones (each filter only when given). An unknown name, or a filter that keeps nothing, is an error."""
    picked = parse_rows(rows, ds.n)
    keep = np.ones(len(picked), bool)
    for key, wanted in (("clip", clips), ("costume", costumes)):
        if not wanted:
            continue
        names = ds.names(key)
        if not ds.has(f"meta/{key}"):
            raise DatagenError(f"{ds.path}: has no {key}s (--{key} filters rendered data)")
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise DatagenError(f"--{key} {unknown[0]!r}: not a {key} of {ds.path} ({', '.join(names)})")
        ids = [names.index(w) for w in wanted]
        keep &= np.isin(ds.read(f"meta/{key}")[picked], ids)
    if not keep.any():
        raise DatagenError(f"{ds.path}: no row matches the given --rows/--clip/--costume")
    return picked[keep]
