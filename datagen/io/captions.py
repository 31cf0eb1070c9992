"""Captions built from what a dataset file knows about each row: the character (the rig), costume,
clip, the view (from the exact 2D pose) and the plain background, filled into a template."""
from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np

from datagen.errors import DatagenError
from datagen.format.keypoint_sets import KeypointSet

DEFAULT_CAPTION = "{character}, {costume} outfit, {clip}, {view}, {background}"
FIELDS = ("character", "costume", "clip", "view", "background", "frame", "source")
SIDE_RATIO = 0.35  # shoulder width under this share of the neck-to-hips length: seen from the side


class CaptionError(DatagenError):
    """A caption template that names a field the captions do not have."""


def check_template(template: str) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise CaptionError(f"--caption {template!r}: {e}") from None
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise CaptionError(f"--caption {template!r}: unknown field {{{unknown[0]}}} (fields: "
                           f"{', '.join('{' + f + '}' for f in FIELDS)})")


def _landmark(kps: KeypointSet, name: str) -> int:
    return kps.landmarks.index(name) if name in kps.landmarks else -1


def view_of(xy: np.ndarray, vis: np.ndarray, kps: KeypointSet) -> str:
    """"front view", "back view", "side view" or "" (shoulders not labelled) of one pose: the character
    faces the camera when its right shoulder is left of its left one in the image; a narrow shoulder
    line against the torso is a side view."""
    r, lft = _landmark(kps, "right_shoulder"), _landmark(kps, "left_shoulder")
    if r < 0 or lft < 0 or not (vis[r] > 0 and vis[lft] > 0):
        return ""
    width = float(xy[lft, 0] - xy[r, 0])
    hips = [i for i in (_landmark(kps, "right_hip"), _landmark(kps, "left_hip")) if i >= 0 and vis[i] > 0]
    if hips:
        torso = float(np.linalg.norm(xy[hips].mean(0) - (xy[r] + xy[lft]) / 2))
        if abs(width) < SIDE_RATIO * torso:
            return "side view"
    return "front view" if width > 0 else "back view"


def _words(name: str) -> str:
    """A costume or clip name as words: "schoolgirl_1" -> "schoolgirl", "Walk-Cycle" -> "walk cycle"."""
    return re.sub(r"[\s_\-]+", " ", re.sub(r"[_\-\s]*\d+$", "", name)).strip().lower()


def character_of(config: dict) -> str:
    rig = config.get("rig")
    return f"{_words(Path(str(rig)).stem)} character" if rig else "anime character"


def fill(template: str, fields: dict[str, str]) -> str:
    """The template with the fields filled in; a comma-separated part whose fields are all empty (an
    import has no costume) is dropped with its comma."""
    out = []
    for part in template.split(","):
        names = [f for _, f, _, _ in string.Formatter().parse(part) if f]
        if names and not any(fields.get(n) for n in names):
            continue
        text = part.format_map({f: fields.get(f, "") for f in FIELDS}).strip()
        if text:
            out.append(text)
    return ", ".join(out)


def row_fields(meta: dict[str, list], row: int, character: str, view: str) -> dict[str, str]:
    f = {"character": character, "view": view, "background": "plain white background"}
    for key in ("costume", "clip"):
        if key in meta:
            f[key] = _words(meta[key][row])
    if "frame" in meta:
        f["frame"] = f"{meta['frame'][row]:g}"
    if "source" in meta:
        f["source"] = meta["source"][row]
    return f
