"""What a VRM file says about its look and facing, read from its glTF JSON (docs/rigs.md, "Your own characters").

Pure Python: the Blender layer (:mod:`datagen.render.blender.vrm`) applies it. Both versions:

* VRM 0.x (``extensions.VRM``) faces -Z in glTF space, VRM 1.0 (``extensions.VRMC_vrm``) +Z. Blender's
  glTF importer turns glTF +Z into Blender -Y, the front the cameras call azimuth 0, so a 0.x character
  is turned half a turn about the vertical (:func:`facing_turn`).
* MToon materials (0.x ``extensions.VRM.materialProperties``, 1.0 ``materials[i].extensions.VRMC_materials_mtoon``)
  become one :class:`ToonLook` each: base colour (and texture), shade colour, the shading ramp and the
  outline's colour and width. Materials without MToon keep their glTF base colour and get no outline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# MToon 0.x _OutlineWidthMode / 1.0 outlineWidthMode
_WORLD, _SCREEN = "world", "screen"
_WIDTH_MODE_0 = {0: None, 1: _WORLD, 2: _SCREEN}
_WIDTH_MODE_1 = {"none": None, "worldCoordinates": _WORLD, "screenCoordinates": _SCREEN}
# Screen-space widths are a fraction of the screen's height; a rendered character fills about this
# much of it (the default framing margin), so that fraction of its height is the world width.
FRAME_FILL = 0.8


@dataclass(frozen=True)
class ToonLook:
    """One material's toon look: lit colour = base colour x base texture, shade colour x (the base
    texture when the material names a shade texture), blended by a ramp over N.L from ``ramp[0]`` to
    ``ramp[1]`` (smoothstep for 0.x, linear for 1.0); an outline of ``outline_color``."""

    material: str
    base_color: tuple[float, float, float, float]
    has_texture: bool
    shade_color: tuple[float, float, float]
    shade_uses_texture: bool
    ramp: tuple[float, float]
    smooth_ramp: bool
    outline_color: tuple[float, float, float]
    outline_width: float  # metres (world) or fraction of the screen height (screen); 0: none
    outline_mode: str | None  # "world", "screen" or None
    alpha_mode: str = "OPAQUE"  # glTF alphaMode
    alpha_cutoff: float = 0.5

    def outline_metres(self, character_height: float) -> float:
        """The outline's width in metres on a character ``character_height`` tall."""
        if self.outline_mode == _WORLD:
            return self.outline_width
        if self.outline_mode == _SCREEN:
            return self.outline_width * character_height / FRAME_FILL
        return 0.0


def vrm_version(gltf: dict) -> str | None:
    """"1" for VRM 1.0, "0" for VRM 0.x, None for a plain glTF."""
    ext = gltf.get("extensions", {})
    if "VRMC_vrm" in ext:
        return "1"
    if "VRM" in ext:
        return "0"
    return None


def facing_turn(gltf: dict) -> float:
    """Radians about the vertical that turn the character to face Blender's -Y (azimuth 0)."""
    return math.pi if vrm_version(gltf) == "0" else 0.0


def _rgb(v, default=(1.0, 1.0, 1.0)) -> tuple[float, float, float]:
    v = list(v or default)
    return tuple(float(x) for x in (v + [1.0, 1.0, 1.0])[:3])


def _rgba(v) -> tuple[float, float, float, float]:
    v = list(v or (1.0, 1.0, 1.0, 1.0))
    return tuple(float(x) for x in (v + [1.0, 1.0, 1.0, 1.0])[:4])


def _plain(mat: dict, name: str) -> ToonLook:
    pbr = mat.get("pbrMetallicRoughness", {})
    base = _rgba(pbr.get("baseColorFactor"))
    return ToonLook(name, base, "baseColorTexture" in pbr, base[:3], "baseColorTexture" in pbr, (-1.0, 1.0), False,
                    (0.0, 0.0, 0.0), 0.0, None, str(mat.get("alphaMode", "OPAQUE")), float(mat.get("alphaCutoff", 0.5)))


def _mtoon0(prop: dict, mat: dict, name: str) -> ToonLook:
    f, v, t = prop.get("floatProperties", {}), prop.get("vectorProperties", {}), prop.get("textureProperties", {})
    shift, toony = float(f.get("_ShadeShift", 0.0)), float(f.get("_ShadeToony", 0.9))
    mode = _WIDTH_MODE_0.get(int(f.get("_OutlineWidthMode", 0)))
    # MToon 0.x: smoothstep(shift, shift + (1 - toony), N.L); widths are in centimetres (world) or
    # hundredths of the screen height (screen).
    plain = _plain(mat, name)
    return ToonLook(name, _rgba(v.get("_Color")), "_MainTex" in t or plain.has_texture, _rgb(v.get("_ShadeColor")),
                    "_ShadeTexture" in t, (shift, shift + max(1.0 - toony, 1e-3)), True,
                    _rgb(v.get("_OutlineColor"), (0.0, 0.0, 0.0)), 0.01 * float(f.get("_OutlineWidth", 0.0)),
                    mode, plain.alpha_mode, float(f.get("_Cutoff", plain.alpha_cutoff)))


def _mtoon1(ext: dict, mat: dict, name: str) -> ToonLook:
    plain = _plain(mat, name)
    shift, toony = float(ext.get("shadingShiftFactor", 0.0)), float(ext.get("shadingToonyFactor", 0.9))
    # MToon 1.0: linearstep(-1 + toony, 1 - toony, N.L + shift)
    lo, hi = -1.0 + toony - shift, 1.0 - toony - shift
    if hi - lo < 1e-3:
        hi = lo + 1e-3
    return ToonLook(name, plain.base_color, plain.has_texture, _rgb(ext.get("shadeColorFactor")),
                    "shadeMultiplyTexture" in ext, (lo, hi), False, _rgb(ext.get("outlineColorFactor"), (0.0, 0.0, 0.0)),
                    float(ext.get("outlineWidthFactor", 0.0)), _WIDTH_MODE_1.get(ext.get("outlineWidthMode", "none")),
                    plain.alpha_mode, plain.alpha_cutoff)


def toon_looks(gltf: dict) -> list[ToonLook]:
    """One :class:`ToonLook` per glTF material, in the file's order."""
    ext = gltf.get("extensions", {})
    props = {}
    if "VRM" in ext:
        props = {p.get("name"): p for p in ext["VRM"].get("materialProperties", []) if isinstance(p, dict)}
    out = []
    for i, mat in enumerate(gltf.get("materials", [])):
        name = str(mat.get("name", f"material{i}"))
        mtoon1 = mat.get("extensions", {}).get("VRMC_materials_mtoon")
        prop = props.get(name)
        if mtoon1 is not None:
            out.append(_mtoon1(mtoon1, mat, name))
        elif prop is not None and "MToon" in str(prop.get("shader", "")):
            out.append(_mtoon0(prop, mat, name))
        else:
            out.append(_plain(mat, name))
    return out
