"""What a VRM says about its facing and look, read from its JSON without Blender (datagen.render.vrm)."""
from __future__ import annotations

import math

import pytest

from helpers.synthetic import SHARED_ASSETS
from datagen.pose.bone_mapping import read_gltf_json
from datagen.render.vrm import FRAME_FILL, facing_turn, toon_looks, vrm_version

MAT = {"name": "Skin", "pbrMetallicRoughness": {"baseColorFactor": [1, 0.5, 0.25, 1], "baseColorTexture": {"index": 0}}}


def test_version_and_facing():
    assert vrm_version({"extensions": {"VRM": {}}}) == "0" and facing_turn({"extensions": {"VRM": {}}}) == math.pi
    assert vrm_version({"extensions": {"VRMC_vrm": {}}}) == "1" and facing_turn({"extensions": {"VRMC_vrm": {}}}) == 0
    assert vrm_version({}) is None and facing_turn({}) == 0


def test_mtoon_0x():
    prop = {"name": "Skin", "shader": "VRM/MToon",
            "floatProperties": {"_ShadeShift": -0.2, "_ShadeToony": 0.75, "_OutlineWidth": 0.5, "_OutlineWidthMode": 1,
                                "_Cutoff": 0.3},
            "vectorProperties": {"_Color": [0.9, 0.8, 0.7, 1], "_ShadeColor": [0.5, 0.4, 0.6, 1],
                                 "_OutlineColor": [0.1, 0.2, 0.3, 1]},
            "textureProperties": {"_MainTex": 0}}
    (look,) = toon_looks({"materials": [MAT], "extensions": {"VRM": {"materialProperties": [prop]}}})
    assert look.base_color == (0.9, 0.8, 0.7, 1.0) and look.has_texture and not look.shade_uses_texture
    assert look.shade_color == (0.5, 0.4, 0.6) and look.outline_color == (0.1, 0.2, 0.3)
    assert look.ramp == pytest.approx((-0.2, 0.05)) and look.smooth_ramp  # smoothstep(shift, shift + 1 - toony)
    assert look.outline_metres(1.6) == pytest.approx(0.005)  # world mode: centimetres
    assert look.alpha_cutoff == 0.3


def test_mtoon_1_0_screen_outline_and_plain_materials():
    mtoon = {"shadeColorFactor": [0.2, 0.3, 0.4], "shadingShiftFactor": 0.1, "shadingToonyFactor": 0.8,
             "outlineWidthMode": "screenCoordinates", "outlineWidthFactor": 0.01, "outlineColorFactor": [1, 0, 0],
             "shadeMultiplyTexture": {"index": 0}}
    plain = {"name": "Eyes", "alphaMode": "MASK", "alphaCutoff": 0.4,
             "pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.2, 0.3, 1]}}
    skin, eyes = toon_looks({"materials": [{**MAT, "extensions": {"VRMC_materials_mtoon": mtoon}}, plain]})
    assert skin.base_color == (1.0, 0.5, 0.25, 1.0) and skin.shade_uses_texture and not skin.smooth_ramp
    assert skin.ramp == pytest.approx((-0.3, 0.1))  # linearstep(-1 + toony, 1 - toony, N.L + shift)
    assert skin.outline_metres(1.6) == pytest.approx(0.01 * 1.6 / FRAME_FILL)
    assert eyes.outline_metres(1.6) == 0 and eyes.shade_color == (0.1, 0.2, 0.3) and not eyes.has_texture
    assert eyes.alpha_mode == "MASK" and eyes.alpha_cutoff == 0.4


def test_the_godette_materials():
    looks = {lk.material: lk for lk in toon_looks(read_gltf_json(SHARED_ASSETS / "rigs" / "Godette_vrm_v4.vrm"))}
    body = looks["Body"]
    assert body.has_texture and body.shade_color == pytest.approx((0.5, 0.7857, 1.0), abs=1e-4)
    assert body.outline_mode == "screen" and body.outline_color == pytest.approx((0.137, 0.792, 0.698), abs=1e-3)
