"""``datagen render --list``: what each rig file brings -- costumes, clips, the bone behind each keypoint and
where that bone came from (guessed from its name, a fallback, the VRM humanoid table, ``--keymap``).

:func:`keypoint_origins` and :func:`format_rig` are pure; :func:`describe_rigs` loads each rig in Blender
(also one without clips of its own, which then says to use ``--motion``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datagen.pose.bone_mapping import NAME_TABLES
from datagen.render.cast import costume_names, rig_labels
from datagen.render.config import blender_session_class

ORIGINS = {"name": "guessed from bone names", "fallback": "fallbacks", "humanoid": "from the VRM humanoid table",
           "standard": "from MMD's standard bone names", "keymap": "from --keymap", "empty": "from kp_ empties",
           "midpoint": "midpoints of mapped joints"}


@dataclass
class RigListing:
    """What --list says of one rig, as plain data."""

    path: str
    armature: str
    bones: int
    costumes: list[str]
    clips: list[tuple[str, float, float]]  # the rig's own Actions: name, first and last frame
    mapping: dict[str, object]  # keypoint -> source (JointSource, LandmarkSource or None)
    origins: dict[str, str]  # keypoint -> a key of ORIGINS
    motions: list[tuple[str, float, float]] = field(default_factory=list)  # --motion clips on this rig
    label: str | None = None  # the costumes' prefix when several rigs make one dataset
    notes: list[str] = field(default_factory=list)  # what else the file brings (an MMD model's textures)


def keypoint_origins(mapping: dict[str, object], humanoid: dict[str, str], keymap: dict | None,
                     standard: dict[str, str] | None = None) -> dict[str, str]:
    """keypoint -> how its source was found (a key of :data:`ORIGINS`); unmapped keypoints are left out.
    ``standard``: keypoint -> bone found by a format's standard names (MMD's, datagen.pose.bone_mapping)."""
    declared = set(humanoid.values())
    standard = standard or {}
    out = {}
    for kp, src in mapping.items():
        if src is None:
            continue
        kind = getattr(src, "kind", "joint")
        joints = getattr(src, "joints", (src,))
        if keymap and kp in keymap:
            out[kp] = "keymap"
        elif kind == "fallback":
            out[kp] = "fallback"
        elif kind == "empty":
            out[kp] = "empty"
        elif kind == "mid":
            out[kp] = "midpoint"
        elif joints and standard.get(kp) == joints[0].bone:
            out[kp] = "standard"
        elif joints and joints[0].bone in declared:
            out[kp] = "humanoid"
        elif joints and joints[0].end == "tail":
            out[kp] = "fallback"
        else:
            out[kp] = "name"
    return out


def _clips(clips: list[tuple[str, float, float]]) -> str:
    return ", ".join(f"{n} [{a:g}-{b:g}]" for n, a, b in clips)


def format_rig(r: RigListing) -> str:
    lines = [f"rig {r.path}: armature {r.armature!r}, {r.bones} bones",
             f"costumes ({len(r.costumes)}): " + ", ".join(r.costumes)]
    if r.label is not None:
        lines.append("  in the dataset: " + ", ".join(costume_names(r.label, r.costumes)))
    if r.clips:
        lines.append(f"clips ({len(r.clips)}): " + _clips(r.clips))
    else:
        lines.append("clips (0): none of its own; play motion capture on it with --motion FILE.bvh")
    if r.motions:
        lines.append(f"--motion clips ({len(r.motions)}): " + _clips(r.motions))
    lines.append("keypoints: " + ", ".join(f"{k}={s if s else '-'}" for k, s in r.mapping.items()))
    for key, words in ORIGINS.items():
        kps = [k for k, o in r.origins.items() if o == key]
        if kps:
            lines.append(f"  {words} ({len(kps)}): {', '.join(kps)}")
    return "\n".join(lines + r.notes)


def mmd_notes(model) -> list[str]:
    """The line --list adds for an MMD model: its size, materials and textures (missing ones named)."""
    if model is None:
        return []
    textures = sorted({m.texture for m in model.materials if m.texture})
    missing = [t for t in textures if not (model.path.parent / t).is_file()]
    return [f"MMD model {model.name!r}: {len(model.positions)} vertices, {len(model.triangles)} triangles, "
            f"{len(model.materials)} materials, textures ({len(textures)}): {', '.join(textures) or 'none'}"
            + (f"; missing: {', '.join(missing)}" if missing else "")]


def describe_rigs(rigs: list[Path], keymap: dict | None = None, keypoint_set: str = "avatar20",
                  motions: list[str] | None = None, motion_fps: float | None = None) -> str:
    """What each ``--rig`` offers (``--list``), and the ``--motion`` clips as each rig would play them."""
    BlenderSession = blender_session_class()
    labels = rig_labels([str(r) for r in rigs]) if len(rigs) > 1 else [None]
    out = []
    for rig, label in zip(rigs, labels):
        s = BlenderSession(rig, keymap=keymap, keypoint_set=keypoint_set, motions=motions, motion_fps=motion_fps,
                           require_clips=False)
        try:
            own = [(c.name, c.start, c.end) for c in s.own_clips]
            out.append(format_rig(RigListing(
                path=str(rig), armature=s.rig.armature.name, bones=len(s.rig.bone_names),
                costumes=[c.name for c in s.costumes], clips=own, mapping=dict(s.mapping),
                origins=keypoint_origins(s.mapping, s.rig.humanoid, keymap, standard_names(s.rig.bone_names)),
                motions=[(c.name, c.start, c.end) for c in s.clips] if motions else [], label=label,
                notes=mmd_notes(s.rig.mmd_model))))
        finally:
            s.close()
    return "\n\n".join(out)


def standard_names(bones: list[str]) -> dict[str, str]:
    """keypoint -> bone found by a format's standard bone names (MMD's) among ``bones``."""
    out: dict[str, str] = {}
    for table in NAME_TABLES:
        out.update(table(bones))
    return out
