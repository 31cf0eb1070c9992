"""`datagen preview`: a contact sheet of dataset images, each beside its pose skeleton."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.format import open_dataset, parse_rows
from datagen.format.draw import draw_skeleton, grid, resize_image
from datagen.format.outputs import check_output, write_errors


def contact_sheet(path: str | os.PathLike, rows: str | None = None, count: int = 16, tile: int = 256,
                  cols: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 sheet of image/pose pairs for ``rows`` (the ``--rows`` grammar of
    :func:`datagen.format.parse_rows`; default: ``count`` evenly spaced rows)."""
    with open_dataset(path) as ds:
        if rows is None:
            rows = np.unique(np.linspace(0, ds.n - 1, min(count, ds.n)).round().astype(int)).tolist()
        else:
            rows = parse_rows(rows, ds.n).tolist()
        # The smallest stored level that is at least the tile size is enough to draw from.
        level = min((r for r in ds.resolutions if r >= tile), default=ds.image_size)
        images = ds.images(level)
        xy, vis = ds.xy, ds.visibility
        tiles = []
        for r in rows:
            tiles.append(resize_image(images[r], tile))
            tiles.append(draw_skeleton(xy[r], vis[r], ds.keypoint_set, tile, source_size=ds.image_size))
    pairs = len(rows)
    cols = cols or max(1, min(pairs, math.ceil(math.sqrt(pairs * 1.0))))
    return grid(tiles, cols * 2)


def write_contact_sheet(path: str | os.PathLike, out: str | os.PathLike, **kw) -> Path:
    out = check_output(out, overwrite=True)  # before the work: a bad output path fails at once
    sheet = contact_sheet(path, **kw)
    tmp = out.with_name(f".{out.name}.tmp.png")
    try:
        with write_errors(out):
            Image.fromarray(sheet).save(tmp)
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
