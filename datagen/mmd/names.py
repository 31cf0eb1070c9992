"""MMD's standard bone names (Japanese, and the English names PMX editors write) for the avatar20 keypoints.

Deforming bones come first: a model with "D" bones (足D, ひざD, 足首D) is skinned to them, while its
足, ひざ, 足首 are driven by the IK legs and only hand their rotation on; the keypoints must follow the
skin. Motions drive the plain bones, so the motion side (``deform=False``) skips the D and EX bones.
IK bones (足ＩＫ, つま先ＩＫ) and twist bones (腕捩, 手捩) are never keypoints: the IK targets sit
off the limbs, the twist bones lie inside them.
"""
from __future__ import annotations

from typing import Mapping, Sequence

# keypoint -> candidate names, best first; {J} is 左/右, {s} is L/R. "D:" marks a deform-only candidate.
_TABLE: dict[str, tuple[str, ...]] = {
    "Hips": ("下半身", "lower body", "lowerbody"),
    "Spine": ("上半身", "upper body", "upperbody"),
    "Neck": ("首", "neck"),
    "Head": ("頭", "head"),
    "{S}Shoulder": ("{J}肩", "shoulder_{s}", "{s} shoulder"),
    "{S}UpperArm": ("{J}腕", "arm_{s}", "{s} arm"),
    "{S}LowerArm": ("{J}ひじ", "{J}肘", "elbow_{s}", "{s} elbow"),
    "{S}Hand": ("{J}手首", "wrist_{s}", "{s} wrist"),
    "{S}UpperLeg": ("D:{J}足D", "D:leg_{s}_D", "D:legD_{s}", "{J}足", "leg_{s}", "{s} leg"),
    "{S}LowerLeg": ("D:{J}ひざD", "D:knee_{s}_D", "D:kneeD_{s}", "{J}ひざ", "{J}膝", "knee_{s}", "{s} knee"),
    "{S}Foot": ("D:{J}足首D", "D:ankle_{s}_D", "D:ankleD_{s}", "{J}足首", "ankle_{s}", "{s} ankle"),
    "{S}Toes": ("D:{J}足先EX", "D:toe_{s}_EX", "D:toeEX_{s}", "{J}つま先", "toe_{s}", "{s} toe"),
}
_SIDES = (("Left", "左", "L"), ("Right", "右", "R"))


def _expanded(deform: bool) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kp, cands in _TABLE.items():
        sides = _SIDES if "{S}" in kp else (("", "", ""),)
        for side, j, s in sides:
            names = []
            for c in cands:
                if c.startswith("D:"):
                    if not deform:
                        continue
                    c = c[2:]
                names.append(c.format(J=j, s=s))
            out[kp.format(S=side)] = names
    return out


DEFORM = _expanded(True)
MOTION = _expanded(False)


def _norm(name: str) -> str:
    # Full-width letters and digits (ＩＫ, Ｄ) as half-width, case-folded.
    return name.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}).strip().casefold()


def mmd_keypoints(bones: Sequence[str], english: Mapping[str, str] | None = None, *,
                  deform: bool = True) -> dict[str, str]:
    """keypoint -> bone (as named in ``bones``) by MMD's standard names; ``english``: bone -> its English
    name (PMX), also matched. Only the keypoints found."""
    own: dict[str, str] = {}
    for b in bones:
        own.setdefault(_norm(b), b)
    eng: dict[str, str] = {}
    for b, en in (english or {}).items():
        if en:
            eng.setdefault(_norm(en), b)
    out = {}
    for kp, cands in (DEFORM if deform else MOTION).items():
        for c in cands:
            c = _norm(c)
            # A bare English word ("neck", "head") says MMD only in a PMX's English-name field.
            hit = eng.get(c) if c.isascii() and c.isalpha() else own.get(c) or eng.get(c)
            if hit is not None:
                out[kp] = hit
                break
    return out


def normalised(name: str) -> str:
    """A bone name as compared between a motion and a skeleton (full-width folded, case-folded)."""
    return _norm(name)
