"""`datagen preview`: a contact sheet of dataset images with their poses and a caption per tile.

Each tile is an image with its skeleton drawn on it (``overlay``) or beside it on white, and a caption
naming its row, clip, costume and frame (or source file), so alignment can be checked by eye and a bad
row found again. Visible keypoints are drawn filled, occluded ones hollow, absent ones not at all.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.format import open_dataset
from datagen.format.draw import draw_skeleton, grid, resize_image, text_band
from datagen.format.outputs import check_output, write_errors
from datagen.inspect.selection import caption, row_meta, select_rows


def contact_sheet(path: str | os.PathLike, rows: str | None = None, count: int = 16, tile: int = 256,
                  cols: int | None = None, overlay: bool = False, clips: list[str] | None = None,
                  costumes: list[str] | None = None, captions: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 sheet of rows picked by ``rows`` (the ``--rows`` grammar of
    :func:`datagen.format.parse_rows`), ``clips`` and ``costumes``: all of them when ``rows`` is given,
    else at most ``count`` evenly spaced ones."""
    with open_dataset(path) as ds:
        picked = select_rows(ds, rows, clips, costumes)
        if rows is None and len(picked) > count:
            picked = picked[np.unique(np.linspace(0, len(picked) - 1, count).round().astype(int))]
        # The smallest stored level that is at least the tile size is enough to draw from.
        level = min((r for r in ds.resolutions if r >= tile), default=ds.image_size)
        images = ds.images(level)
        xy, vis, meta = ds.xy, ds.visibility, row_meta(ds)
        cells = []
        for r in picked.tolist():
            img = resize_image(images[r], tile)
            if overlay:
                cell = draw_skeleton(xy[r], vis[r], ds.keypoint_set, tile, source_size=ds.image_size, canvas=img)
            else:
                cell = np.concatenate([img, np.full((tile, 2, 3), 255, np.uint8),
                                       draw_skeleton(xy[r], vis[r], ds.keypoint_set, tile,
                                                     source_size=ds.image_size)], axis=1)
            if captions:
                cell = np.concatenate([cell, text_band(caption(meta[r]), cell.shape[1])], axis=0)
            cells.append(cell)
    cols = cols or max(1, math.ceil(math.sqrt(len(cells))))
    return grid(cells, cols)


def write_contact_sheet(path: str | os.PathLike, out: str | os.PathLike, image_format: str = "PNG", **kw) -> Path:
    """The contact sheet of ``path`` written to ``out`` as ``image_format`` (PIL's name: PNG, JPEG)."""
    out = check_output(out, overwrite=True)  # before the work: a bad output path fails at once
    sheet = contact_sheet(path, **kw)
    tmp = out.with_name(f".{out.name}.tmp.png")
    try:
        with write_errors(out):
            Image.fromarray(sheet).save(tmp, format=image_format, **({"quality": 92} if image_format == "JPEG" else {}))
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
