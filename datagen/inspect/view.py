"""`datagen view`: one static HTML page to browse a dataset (no server; the images are embedded).

The page shows thumbnails with the skeleton drawn over them as SVG (switched off by a checkbox), a
caption per tile (row, clip, costume, frame or source file), filters by clip and costume, the
per-keypoint visibility statistics and the file's root attributes and config. It is one file that a
browser opens from disk, with a few lines of script and no external resources.
"""
from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import cv2
import numpy as np

from datagen.format.outputs import check_output, write_errors
from datagen.format import open_dataset
from datagen.format.draw import resize_image
from datagen.inspect.info import dataset_summary
from datagen.inspect.selection import caption, row_meta, select_rows

_STYLE = """
body{font:14px sans-serif;margin:16px;color:#222}
h1{font-size:18px}
.bar{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ccc;z-index:2}
.bar label{margin-right:14px}
#tiles{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
figure{margin:0;width:var(--t);font-size:11px}
.img{position:relative;width:var(--t);height:var(--t)}
.img img,.img svg{position:absolute;left:0;top:0;width:100%;height:100%}
body.nopose svg{display:none}
figcaption{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:400px}
"""

# Filters show a tile when its clip and costume match the selects ("" = any).
_SCRIPT = """
function applyFilters() {
  const clip = document.getElementById('clip').value, costume = document.getElementById('costume').value;
  let shown = 0;
  for (const t of document.querySelectorAll('#tiles figure')) {
    const ok = (!clip || t.dataset.clip === clip) && (!costume || t.dataset.costume === costume);
    t.hidden = !ok;
    if (ok) shown++;
  }
  document.getElementById('shown').textContent = shown;
}
document.getElementById('clip').addEventListener('change', applyFilters);
document.getElementById('costume').addEventListener('change', applyFilters);
document.getElementById('pose').addEventListener('change', e => document.body.classList.toggle('nopose', !e.target.checked));
applyFilters();
"""


def skeleton_svg(xy: np.ndarray, vis: np.ndarray, edges, colors, source_size: int) -> str:
    """An SVG in the image's own pixel frame (viewBox 0..S, format-v1 coordinates: pixel i covers
    [i, i+1)): limbs between labelled points, visible points filled, occluded ones hollow."""
    s = source_size
    w = max(1.0, s / 96)
    parts = [f'<svg viewBox="0 0 {s} {s}" xmlns="http://www.w3.org/2000/svg">']
    for (a, b), c in zip(edges, colors):
        if vis[a] > 0 and vis[b] > 0:
            parts.append(f'<line x1="{xy[a, 0]:.1f}" y1="{xy[a, 1]:.1f}" x2="{xy[b, 0]:.1f}" y2="{xy[b, 1]:.1f}" '
                         f'stroke="rgb{tuple(c)}" stroke-width="{w:.1f}"/>')
    for j in np.flatnonzero(vis > 0):
        color = next((f"rgb{tuple(c)}" for (a, b), c in zip(edges, colors) if j in (a, b)), "red")
        fill = color if vis[j] == 2 else "none"
        parts.append(f'<circle class="kp v{int(vis[j])}" cx="{xy[j, 0]:.1f}" cy="{xy[j, 1]:.1f}" r="{1.6 * w:.1f}" '
                     f'fill="{fill}" stroke="{color}" stroke-width="{w / 2:.1f}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _png_data_uri(rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode()


def _options(select_id: str, label: str, names: list[str]) -> str:
    opts = "".join(f'<option value="{html.escape(n)}">{html.escape(n)}</option>' for n in names)
    disabled = "" if names else " disabled"
    return (f'<label>{label} <select id="{select_id}"{disabled}><option value="">all</option>{opts}'
            f'</select></label>')


def _visibility_table(summary) -> str:
    rows = "".join(f"<tr><td>{html.escape(n)}</td>" + "".join(f"<td>{100 * v:.1f}</td>" for v in f[::-1]) + "</tr>"
                   for n, f in zip(summary.keypoint_names, summary.visibility))
    return ('<table id="visibility"><tr><th>keypoint</th><th>visible (2) %</th><th>occluded (1) %</th>'
            f'<th>absent (0) %</th></tr>{rows}</table>')


def view_html(path: str | os.PathLike, rows: str | None = None, limit: int = 500, tile: int = 128) -> str:
    """The page for ``path``: the rows ``rows`` picks (``--rows`` grammar), at most ``limit`` of them
    evenly spaced, as ``tile``-pixel thumbnails."""
    summary = dataset_summary(path)
    with open_dataset(path) as ds:
        picked = select_rows(ds, rows)
        if len(picked) > limit:
            picked = picked[np.unique(np.linspace(0, len(picked) - 1, limit).round().astype(int))]
        level = min((r for r in ds.resolutions if r >= tile), default=ds.image_size)
        images, xy, vis, meta = ds.images(level), ds.xy, ds.visibility, row_meta(ds)
        kps, s = ds.keypoint_set, ds.image_size
        attrs = {k: v for k, v in ds.attrs.items() if k != "config"}
        config = ds.config
        clips, costumes = ds.names("clip"), ds.names("costume")
        tiles = []
        for r in picked.tolist():
            m = meta[r]
            thumb = resize_image(images[r], tile)
            tiles.append(
                f'<figure data-row="{r}" data-clip="{html.escape(str(m.get("clip", "")))}" '
                f'data-costume="{html.escape(str(m.get("costume", "")))}"><div class="img">'
                f'<img alt="row {r}" src="{_png_data_uri(thumb)}">'
                f'{skeleton_svg(xy[r], vis[r], kps.edges, kps.colors, s)}</div>'
                f'<figcaption title="{html.escape(caption(m))}">{html.escape(caption(m))}</figcaption></figure>')
    name = html.escape(Path(path).name)
    info = (f"{summary.rows} rows, {s}x{s}, keypoint set {kps.name} ({kps.size} points), "
            f"levels {', '.join(map(str, summary.levels))}, {html.escape(summary.generator)}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>'
            f'<style>{_STYLE}</style></head><body style="--t:{tile}px">'
            f'<h1>{name}</h1><p>{info}</p>'
            f'<div class="bar">{_options("clip", "clip", clips)}{_options("costume", "costume", costumes)}'
            f'<label><input type="checkbox" id="pose" checked> skeletons</label>'
            f'<span>showing <b id="shown">{len(tiles)}</b> of {len(tiles)} tiles '
            f'({len(tiles)} of {summary.rows} rows sampled)</span></div>'
            f'<div id="tiles">{"".join(tiles)}</div>'
            f'<h2>Keypoint visibility</h2>{_visibility_table(summary)}'
            f'<h2>File attributes</h2><pre id="attrs">{html.escape(json.dumps(attrs, indent=1, default=str))}</pre>'
            f'<h2>Config</h2><pre id="config">{html.escape(json.dumps(config, indent=1, sort_keys=True))}</pre>'
            f'<script>{_SCRIPT}</script></body></html>')


def write_view(path: str | os.PathLike, out: str | os.PathLike, **kw) -> tuple[Path, int]:
    """Write the page to ``out`` (atomically); returns (out, number of tiles)."""
    out = check_output(out, overwrite=True)  # before the work: a bad output path fails at once
    page = view_html(path, **kw)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with write_errors(out):
            tmp.write_text(page, encoding="utf-8")
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out, page.count("<figure ")
