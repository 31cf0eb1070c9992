"""How an evaluation reads (psgan/evaluation/evaluate.py computes it): the strict-JSON file, the fixed-width table
of docs/evaluation.md with its verdict lines, and the PNG sheet of targets, real, generated and floor
images."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from datagen.format.draw import draw_skeleton, resize_image
from psgan.evaluation.metrics.pck import PERSON_THRESHOLDS, THRESHOLDS
from psgan.generation.samples import save_png


def to_json(results: dict) -> dict:
    """``results`` without the sample arrays, NaN as None (strict JSON)."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if k != "samples"}
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v
    return clean(results)


def model_label(path: str) -> str:
    """A short name for a checkpoint: its run folder for ``RUN/checkpoints/X.pt``, else its file name."""
    p = Path(path)
    if p.parent.name == "checkpoints" and p.parent.parent.name:
        return p.parent.parent.name if p.stem == "latest" else f"{p.parent.parent.name}/{p.stem}"
    return p.name


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def format_table(results: dict) -> str:
    """A short fixed-width table: one column per model, the rows of docs/evaluation.md."""
    models = results["models"]
    names = [model_label(m["model"]) for m in models]
    if len(set(names)) < len(names):
        names = [m["model"] for m in models]
    # 16: the widest value, a joint group's "gen/floor/ceil" triple (14), and a gap that keeps columns apart.
    width = max(16, *(len(n) for n in names)) + 2
    lines = []

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:<28}" + "".join(f"{v:>{width}}" for v in values))

    row("", names)
    row("resolution / pose input", [f"{m['resolution']} / {'yes' if m['use_pose'] else 'no'}" for m in models])
    if all("pose" in m for m in models):
        row("target poses", [str(m["pose"]["poses"]) for m in models])
        for t in THRESHOLDS:
            key = f"pck@{t:g}"
            for part, label in (("generated", f"PCK@{t:g} generated"), ("ceiling", "  ceiling (real images)"),
                                ("floor", "  floor (farthest poses)")):
                row(label, [_fmt(m["pose"][part][key], ".3f") for m in models])
        for t in PERSON_THRESHOLDS:
            key = f"pck_person@{t:g}"
            for part, label in (("generated", f"PCK@{t:g} person generated"), ("ceiling", "  ceiling (real images)"),
                                ("floor", "  floor (farthest poses)")):
                row(label, [_fmt(m["pose"][part].get(key), ".3f") for m in models])
        groups = list(models[0]["pose"]["generated"].get("groups", {}))
        for g in groups:
            row(f"  {g}: gen / floor / ceil", ["/".join(_fmt(m["pose"][p]["groups"].get(g), ".2f")
                                                        for p in ("generated", "floor", "ceiling")) for m in models])
        for part, label in (("generated", "mean error px generated"), ("ceiling", "  ceiling (real images)"),
                            ("floor", "  floor (farthest poses)")):
            row(label, [_fmt(m["pose"][part]["mean_error_px"], ".2f") for m in models])
    if all("quality" in m for m in models):
        row("FID", [_fmt(m["quality"]["fid"], ".2f") for m in models])
        row("KID x 1000", [_fmt(None if m["quality"]["kid"] is None else 1000 * m["quality"]["kid"], ".2f")
                           for m in models])
    if all("diversity" in m for m in models):
        row("diversity generated", [_fmt(m["diversity"]["generated"], ".4f") for m in models])
        row("  real, one pose", [_fmt(m["diversity"]["real_same_pose"], ".4f") for m in models])
    out = "\n".join(lines)
    for name, m in zip(names, models):
        if "verdict" in m:
            out += f"\nverdict {name}: {m['verdict']['text']} [{m['verdict']['metric']}]"
    if results.get("fid_features") is None and all("quality" in m for m in models):
        out += f"\nFID/KID: {results.get('fid_note') or 'unavailable (no feature extractor)'}"
    return out


def write_sample_sheet(results: dict, path: str | os.PathLike, size: int = 96) -> Path:
    """A PNG with, per model, five labelled rows over the first target poses: the target pose, the
    real held-out image, the generated image, the floor's other pose and its generated image."""


    label_w = 150
    rows = []
    for m in results["models"]:
        sm = m["samples"]
        kps = sm["keypoint_set"]
        s = sm["image_size"]

        def skeletons(xy, vis):
            return [draw_skeleton(p, v, kps, size, s) for p, v in zip(xy, vis)]

        name = model_label(m["model"])
        for label, tiles in ((f"{name}: target pose", skeletons(sm["target_xy"], sm["target_vis"])),
                             ("real (ceiling)", [resize_image(im, size) for im in sm["real"]]),
                             ("generated", [resize_image(im, size) for im in sm["generated"]]),
                             ("other pose (floor)", skeletons(sm["floor_xy"], sm["floor_vis"])),
                             ("generated for it", [resize_image(im, size) for im in sm["floor"]])):
            head = np.full((size, label_w, 3), 255, np.uint8)
            for j, part in enumerate(label.split(": ")):
                cv2.putText(head, part, (4, 18 + 16 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
            rows.append(np.concatenate([head] + list(tiles), 1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return save_png(np.concatenate(rows, 0), path)
