"""Mapping a rig's bone names onto the avatar20 keypoints (docs/rigs.md).

Pure Python: takes bone names (and their parents), never Blender. Sources, in order of precedence:
a ``--keymap`` JSON file, the VRM humanoid table of a ``.vrm`` file (VRM 0.x ``humanBones`` list or
VRM 1.0 ``VRMC_vrm`` dictionary), then name rules that know Unity/VRM-style names (``LeftUpperArm``,
``UpperArmL``, ``Left_UpperArm``, ``J_Bip_L_UpperArm``), Mixamo (``mixamorig:LeftArm``), Rigify and
Blender meta-rigs (``upper_arm.L``, ``thigh.R``, ``spine.004``), Unreal (``upperarm_l``, ``calf_r``),
3ds Max Biped (``Bip01 L Forearm``), Character Creator (``CC_Base_L_Upperarm``), joint-named
skeletons such as CMU mocap (``LeftCollar``, ``LeftShoulder``, ``LeftElbow``, ``LeftKnee``), and MMD's
standard Japanese or English names (``上半身``, ``左ひじ``, ``左足D``, ``arm_L``; datagen.mmd.names).

Documented fallbacks for missing bones: Hand = tail of LowerArm, Toes = tail of Foot. A rig that still
lacks a keypoint is rejected with one line naming the missing keypoints and listing its bones.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from datagen.errors import DatagenError
from datagen.format import jsonsafe
from datagen.format.keypoint_sets import AVATAR20
from datagen.mmd.names import mmd_keypoints


class RigError(DatagenError):
    """A rig that cannot be rendered (unmappable bones, no armature, unreadable file)."""


@dataclass(frozen=True)
class JointSource:
    """Where a keypoint comes from: the ``head`` or ``tail`` of a bone (armature space)."""

    bone: str
    end: str = "head"

    def __str__(self) -> str:
        return self.bone if self.end == "head" else f"{self.bone} ({self.end})"


# Keypoint part -> name parts that mean it (after the side and prefixes are removed).
_CENTRE_PARTS = {
    "Hips": ("hips", "hip", "pelvis"),
    "Spine": ("spine", "abdomen", "lowerback"),
    "Neck": ("neck", "lowerneck"),
    "Head": ("head",),
}
_SIDED = {
    "Shoulder": ("shoulder", "clavicle", "collar", "collarbone"),
    "UpperArm": ("upperarm", "uparm", "arm"),
    "LowerArm": ("lowerarm", "forearm", "loarm", "elbow"),
    "Hand": ("hand", "wrist"),
    "UpperLeg": ("upperleg", "upleg", "thigh", "hip"),
    "LowerLeg": ("lowerleg", "loleg", "shin", "calf", "knee", "leg"),
    "Foot": ("foot", "ankle"),
    "Toes": ("toes", "toe", "toebase", "ball"),
}
# Tokens that mark helper bones (never a keypoint).
_EXCLUDE = {"twist", "roll", "end", "nub", "ik", "fk", "pole", "target", "ctrl", "control", "mch",
            "tweak", "helper", "socket", "jiggle", "adj", "sec", "parent", "bend", "share", "ref",
            "dummy", "tip", "top", "goal", "prop", "vis", "null", "master", "root"}
# Leading tokens that are only a rig's naming prefix; value = preference (lower wins on ties).
_PREFIX_RANK = {"def": 0, "j": 1, "bip": 1, "cc": 1, "base": 1, "b": 1, "jnt": 1, "armature": 1,
                "rig": 1, "org": 2}
_SIDE = {"l": "Left", "left": "Left", "r": "Right", "right": "Right"}
_CENTRE_TOKENS = {"c", "m", "mid", "center", "centre"}
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Naming conventions known by exact names, applied over the rules (bones -> keypoint -> bone).
NAME_TABLES = (mmd_keypoints,)  # MikuMikuDance: センター, 上半身, 左腕, 左ひじ, 左足D, ... (datagen.mmd.names)
FALLBACKS = {"Hand": ("LowerArm", "tail"), "Toes": ("Foot", "tail")}
VRM_KEYPOINTS = {k[0].lower() + k[1:]: k for k in AVATAR20.names}  # "leftUpperArm" -> "LeftUpperArm"
VRM_EYES = {"leftEye": "LeftEye", "rightEye": "RightEye"}  # used for face landmarks (datagen.pose.landmarks)


@dataclass(frozen=True)
class _Parsed:
    name: str
    side: str | None  # "Left", "Right" or None
    part: str  # e.g. "upperarm"
    index: int | None  # segment number (spine.001 -> 1)
    prefix_rank: int


def parse_bone_name(name: str) -> _Parsed | None:
    """Split a bone name into side, part and segment index; None for helper bones."""
    base = re.split(r"[:|]", name)[-1]
    tokens = [t.lower() for t in _TOKEN.findall(base)]
    rank = 1
    while tokens and (tokens[0] in _PREFIX_RANK or tokens[0].isdigit()):
        rank = min(rank, _PREFIX_RANK.get(tokens[0], 1)) if tokens[0] != "org" else 2
        tokens = tokens[1:]
    if not tokens or _EXCLUDE & set(tokens):
        return None
    sides = {_SIDE[t] for t in tokens if t in _SIDE}
    if len(sides) > 1:
        return None
    index = None
    words = []
    for t in tokens:
        if t in _SIDE or t in _CENTRE_TOKENS:
            continue
        if t.isdigit():
            index = int(t) if index is None else index
            continue
        words.append(t)
    if not words:
        return None
    return _Parsed(name, sides.pop() if sides else None, "".join(words), index, rank)


def _depths(bones: Sequence[str], parents: Mapping[str, str | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in bones:
        d, p, seen = 0, parents.get(b), set()
        while p is not None and p not in seen:
            seen.add(p)
            d += 1
            p = parents.get(p)
        out[b] = d
    return out


def _by_name_rules(bones: Sequence[str], parents: Mapping[str, str | None]) -> dict[str, str]:
    """keypoint -> bone by the name rules (only the keypoints found)."""
    depth = _depths(bones, parents)
    parsed = [p for p in (parse_bone_name(b) for b in bones) if p is not None]

    def best(cands: list[_Parsed]) -> str | None:
        if not cands:
            return None
        return min(cands, key=lambda p: (p.index is not None, p.index or 0, p.prefix_rank,
                                         depth.get(p.name, 0), p.name)).name

    out: dict[str, str] = {}
    centre = [p for p in parsed if p.side is None]
    # Rigify / Blender meta-rigs: the spine chain spine, spine.001 ... spine.006 holds hips to head.
    chain = {p.index: p for p in sorted(centre, key=lambda p: p.prefix_rank, reverse=True) if p.part == "spine"}
    if not any(p.part in ("hips", "hip", "pelvis") for p in centre) and {None, 1, 4} <= set(chain):
        out.update(Hips=chain[None].name, Spine=chain[1].name, Neck=chain[4].name)
        head = chain.get(6) or next((p for p in centre if p.part == "head"), None)
        if head is not None:
            out["Head"] = head.name
    for kp, parts in _CENTRE_PARTS.items():
        if kp not in out and (b := best([p for p in centre if p.part in parts])):
            out[kp] = b
    for side in ("Left", "Right"):
        mine = [p for p in parsed if p.side == side]
        have = {p.part for p in mine}
        sided = {k: set(v) for k, v in _SIDED.items()}
        # Joint-named skeletons (CMU: Collar, Shoulder, Elbow, Wrist): "shoulder" is the arm joint.
        if have & {"clavicle", "collar", "collarbone"} and not have & {"upperarm", "uparm", "arm"}:
            sided["Shoulder"].discard("shoulder")
            sided["UpperArm"].add("shoulder")
        # "Leg" is the shin when the rig also has a thigh (Mixamo), otherwise the thigh.
        if not have & {"upperleg", "upleg", "thigh", "hip"}:
            sided["LowerLeg"].discard("leg")
            sided["UpperLeg"].add("leg")
        for part, names in sided.items():
            if b := best([p for p in mine if p.part in names]):
                out[side + part] = b
    return out


def map_bones(bones: Sequence[str], parents: Mapping[str, str | None] | None = None, *,
              humanoid: Mapping[str, str] | None = None, keymap: Mapping[str, object] | None = None,
              rig: str = "rig", keypoint_names: Sequence[str] = AVATAR20.names,
              strict: bool = True) -> dict[str, JointSource | None]:
    """Map every keypoint to a bone end, or raise RigError naming what is missing (``strict=False``:
    leave the missing ones out; the caller decides what it needs).

    bones: the armature's bone names; parents: bone -> parent bone (None at the root);
    humanoid: keypoint -> bone from a VRM humanoid table; keymap: a --keymap override (keypoint ->
    bone name, ``{"bone": name, "end": "head"|"tail"}``, or null for "this rig has no such joint",
    which leaves the keypoint unmapped with visibility 0). Returns keypoint -> JointSource (None only
    where the keymap says so).
    """
    parents = parents or {}
    bone_set = set(bones)
    found = _by_name_rules(bones, parents)
    for table in NAME_TABLES:
        found.update(table(bones))
    if humanoid:
        found.update({k: b for k, b in humanoid.items() if b in bone_set and k in keypoint_names})
    out: dict[str, JointSource | None] = {k: JointSource(found[k]) for k in keypoint_names if k in found}
    for side in ("Left", "Right"):
        for part, (src, end) in FALLBACKS.items():
            kp, src_kp = side + part, side + src
            if kp in keypoint_names and kp not in out and out.get(src_kp) is not None:
                out[kp] = JointSource(out[src_kp].bone, end)
    for kp, value in (keymap or {}).items():
        out[kp] = _keymap_entry(kp, value, bone_set, keypoint_names)
    missing = [k for k in keypoint_names if k not in out]
    if not strict:
        return {k: out[k] for k in keypoint_names if k in out}
    if missing:
        raise RigError(f"{rig}: cannot map keypoints {', '.join(missing)} to bones; the rig's bones are "
                       f"{', '.join(bones) or '(none)'}; give --keymap map.json (docs/rigs.md)")
    return {k: out[k] for k in keypoint_names}


def _keymap_entry(kp: str, value: object, bones: set[str], keypoint_names: Sequence[str]) -> JointSource | None:
    if kp not in keypoint_names:
        raise RigError(f"keymap: unknown keypoint {kp!r} (keypoints: {', '.join(keypoint_names)})")
    if value is None:
        return None
    if isinstance(value, str):
        src = JointSource(value)
    elif isinstance(value, dict) and isinstance(value.get("bone"), str) and value.get("end", "head") in ("head", "tail"):
        src = JointSource(value["bone"], value.get("end", "head"))
    else:
        raise RigError(f"keymap: entry {kp!r} must be a bone name, {{\"bone\": ..., \"end\": \"head\"|\"tail\"}} or null")
    if src.bone not in bones:
        raise RigError(f"keymap: bone {src.bone!r} for {kp} is not in the rig")
    return src


def load_keymap(path: str | Path) -> dict[str, object]:
    """Read a --keymap JSON object (keypoint -> bone), with one-line errors."""
    try:
        data = jsonsafe.read_json(path)
    except OSError as e:
        raise RigError(f"{path}: cannot read keymap ({e.strerror or e})") from None
    except ValueError as e:
        raise RigError(f"{path}: keymap is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise RigError(f"{path}: keymap must be a JSON object mapping keypoint names to bone names")
    return data


# -- glTF / VRM ------------------------------------------------------------------------------------

def read_gltf_json(path: str | Path) -> dict:
    """The JSON document of a .gltf, .glb or .vrm file."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] == b"glTF":
        if len(data) < 20:
            raise RigError(f"{path}: truncated glTF binary ({len(data)} bytes)")
        total = struct.unpack_from("<I", data, 8)[0]
        if total != len(data):
            raise RigError(f"{path}: truncated or padded glTF binary (its header says {total} bytes, the file has "
                           f"{len(data)})")
        length, ctype = struct.unpack_from("<II", data, 12)
        if ctype != 0x4E4F534A:  # "JSON"
            raise RigError(f"{path}: first glTF chunk is not JSON")
        if 20 + length > len(data):
            raise RigError(f"{path}: truncated glTF binary (its JSON chunk runs past the end)")
        raw = data[20:20 + length]
    else:
        raw = data
    try:
        return jsonsafe.loads(raw)
    except ValueError as e:
        raise RigError(f"{path}: not a glTF file ({e})") from None


def vrm_humanoid(gltf: dict, table: Mapping[str, str] = VRM_KEYPOINTS) -> dict[str, str]:
    """keypoint -> glTF node name from a VRM 0.x or 1.0 humanoid table ({} when the file has none);
    ``table`` maps VRM bone names to the names returned (:data:`VRM_EYES` for the eye bones)."""
    ext = gltf.get("extensions", {})
    nodes = gltf.get("nodes", [])
    pairs: list[tuple[str, int]] = []
    if "VRMC_vrm" in ext:  # VRM 1.0: {"humanoid": {"humanBones": {"hips": {"node": 3}, ...}}}
        for bone, spec in ext["VRMC_vrm"].get("humanoid", {}).get("humanBones", {}).items():
            pairs.append((bone, spec.get("node", -1)))
    elif "VRM" in ext:  # VRM 0.x: {"humanoid": {"humanBones": [{"bone": "hips", "node": 3}, ...]}}
        for spec in ext["VRM"].get("humanoid", {}).get("humanBones", []):
            pairs.append((spec.get("bone", ""), spec.get("node", -1)))
    out = {}
    for bone, node in pairs:
        kp = table.get(bone)
        if kp is not None and 0 <= node < len(nodes):
            out[kp] = nodes[node].get("name", f"node{node}")
    return out
