"""Small VRM characters written by the tests: a glTF binary (.vrm) with the VRM extension JSON, no Blender needed.

:func:`write_vrm` builds a box character on a humanoid skeleton (the bones of ``helpers.blender_rigs.BONES``,
named like VRoid's ``J_Bip_*`` and mapped by the VRM humanoid table), skinned box by box, with

* material ``Skin``: a base colour texture (:data:`TEXTURE_RGB`, an 8 x 8 PNG) on the head and arms,
* material ``Cloth``: a base colour factor (:data:`CLOTH_RGB`) without texture on the torso and legs,

both MToon (shade colours, ramp, a world-space outline), in VRM 0.x (``extensions.VRM``, the character facing
-Z as VRM 0.x files do) or VRM 1.0 (``VRMC_vrm`` + ``VRMC_materials_mtoon``, facing +Z), and one animation
``Wave`` (the left arm raised over one second). ``head`` scales the head box (1: adult, about 1/7 of
the height; 2.2: a large anime head).
"""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

# Blender space of helpers.blender_rigs (Z up, the character faces -Y, its left is +X), metres.
from helpers.blender_rigs import BONES, THICK

TEXTURE_RGB = (250, 140, 20)  # orange
CLOTH_RGB = (0.05, 0.35, 0.95)  # linear base colour factor: blue
SHADE = {"Skin": (0.6, 0.2, 0.5), "Cloth": (0.1, 0.1, 0.4)}
OUTLINE_RGB = (0.0, 0.6, 0.2)
OUTLINE_WIDTH_M = 0.004
VRM_NAMES = {n: n[0].lower() + n[1:] for n in BONES}  # "LeftUpperArm" -> "leftUpperArm"
SKIN_BONES = {"Head", "Neck"} | {s + p for s in ("Left", "Right") for p in ("Shoulder", "UpperArm", "LowerArm", "Hand")}


def node_name(bone: str) -> str:
    side = "L_" if bone.startswith("Left") else "R_" if bone.startswith("Right") else "C_"
    return "J_Bip_" + side + bone.removeprefix("Left").removeprefix("Right")


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an (H, W, 3) uint8 array."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(rgb, np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _to_gltf(p, version: str) -> np.ndarray:
    """Blender (X, Y, Z) -> glTF (X, Z, -Y) (the importer's inverse); VRM 0.x is also half a turn about +Y."""
    x, y, z = np.asarray(p, float).T
    g = np.stack([x, z, -y], -1)
    return g * np.array([-1.0, 1.0, -1.0]) if version == "0" else g


def _bones(head: float) -> dict:
    bones = dict(BONES)
    h0, t0, parent = bones["Head"]
    bones["Head"] = (h0, (0, 0, h0[2] + (t0[2] - h0[2]) * head), parent)
    return bones


def _box(h, t, a, d, front_bias=0.0):
    """8 corners and 6 quads of a box around the segment h -> t (Blender space), half sizes a (across), d (deep)."""
    h, t = np.asarray(h, float), np.asarray(t, float)
    axis = (t - h) / np.linalg.norm(t - h)
    side = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, side)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    shift = np.array([0.0, -front_bias, 0.0])
    corners = [p + u * su * a + v * sv * d + shift for p in (h - axis * 0.02, t + axis * 0.02)
               for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    quads = [(0, 1, 2, 3), (7, 6, 5, 4), (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0)]
    return corners, [q[::-1] for q in quads]  # counter-clockwise seen from outside: normals point out


def _mesh(bones: dict, head: float):
    """Positions, normals-free triangles (per material), UVs and joints of the box character."""
    pos, uv, joint, tris = [], [], [], {"Skin": [], "Cloth": []}
    order = list(bones)
    for b, (h, t, _) in bones.items():
        key = b.replace("Left", "").replace("Right", "")
        a, d = THICK[key]
        if b == "Head":
            a, d = a * head, d * head
        corners, quads = _box(h, t, a, d)
        mat = "Skin" if b in SKIN_BONES else "Cloth"
        for q in quads:  # each quad its own 4 vertices, so that its UVs cover the texture
            base = len(pos)
            for k, c in enumerate(q):
                pos.append(corners[c])
                uv.append(((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9))[k])
                joint.append(order.index(b))
            tris[mat] += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return np.array(pos), np.array(uv), np.array(joint), tris


def _mtoon0(name: str, textured: bool, outline: float, colours: dict) -> dict:
    color = [1, 1, 1, 1] if textured else [*colours["cloth"], 1]
    return {"name": name, "shader": "VRM/MToon", "renderQueue": 2000,
            "floatProperties": {"_ShadeShift": -0.1, "_ShadeToony": 0.9, "_OutlineWidth": outline * 100,
                                "_OutlineWidthMode": 1, "_CullMode": 2},
            "vectorProperties": {"_Color": color, "_ShadeColor": [*colours["shade"][name], 1],
                                 "_OutlineColor": [*colours["outline"], 1]},
            "textureProperties": {"_MainTex": 0, "_ShadeTexture": 0} if textured else {},
            "keywordMap": {}, "tagMap": {"RenderType": "Opaque"}}


def _mtoon1(name: str, textured: bool, outline: float, colours: dict) -> dict:
    out = {"specVersion": "1.0", "shadeColorFactor": list(colours["shade"][name]), "shadingToonyFactor": 0.9,
           "shadingShiftFactor": -0.1, "outlineWidthMode": "worldCoordinates", "outlineWidthFactor": outline,
           "outlineColorFactor": list(colours["outline"]), "outlineLightingMixFactor": 0.0}
    if textured:
        out["shadeMultiplyTexture"] = {"index": 0}
    return out


def write_vrm(path: Path, version: str = "0", head: float = 1.0, texture: bytes | None = None,
              texture_uri: str | None = None, outline: float = OUTLINE_WIDTH_M, grey: bool = False) -> Path:
    """Write a VRM ``version`` "0" (0.x) or "1" (1.0) box character to ``path``.

    texture: the base texture's bytes in the file (default an orange PNG; other bytes: an unreadable
    texture); texture_uri: refer to an external image file instead (e.g. a missing one).
    """
    bones = _bones(head)
    order = list(bones)
    colours = ({"texture": (128, 128, 128), "cloth": (0.5, 0.5, 0.5), "shade": {"Skin": (0.3,) * 3, "Cloth": (0.3,) * 3},
                "outline": (0.2, 0.2, 0.2)} if grey else
               {"texture": TEXTURE_RGB, "cloth": CLOTH_RGB, "shade": SHADE, "outline": OUTLINE_RGB})
    pos, uv, joint, tris = _mesh(bones, head)
    blob = bytearray()
    views, accessors = [], []

    def add(arr: np.ndarray, ctype: int, kind: str, target: int | None = None, minmax: bool = False) -> int:
        data = np.ascontiguousarray(arr).tobytes()
        while len(blob) % 4:
            blob.append(0)
        view = {"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)}
        if target:
            view["target"] = target
        views.append(view)
        blob.extend(data)
        acc = {"bufferView": len(views) - 1, "componentType": ctype, "count": len(arr), "type": kind}
        if minmax:
            acc["min"], acc["max"] = np.atleast_1d(arr.min(0)).tolist(), np.atleast_1d(arr.max(0)).tolist()
        accessors.append(acc)
        return len(accessors) - 1

    world = {b: _to_gltf(h, version) for b, (h, _, _) in bones.items()}
    nodes = []
    for b, (h, _, parent) in bones.items():
        local = world[b] - (world[parent] if parent else 0.0)
        nodes.append({"name": node_name(b), "translation": local.tolist(),
                      "children": [order.index(c) for c, (_, _, p) in bones.items() if p == b]})
    for n in nodes:
        if not n["children"]:
            del n["children"]
    a_pos = add(_to_gltf(pos, version).astype(np.float32), 5126, "VEC3", 34962, minmax=True)
    a_uv = add(uv.astype(np.float32), 5126, "VEC2", 34962)
    joints = np.zeros((len(pos), 4), np.uint16)
    joints[:, 0] = joint
    weights = np.zeros((len(pos), 4), np.float32)
    weights[:, 0] = 1.0
    a_j, a_w = add(joints, 5123, "VEC4", 34962), add(weights, 5126, "VEC4", 34962)
    primitives = []
    for m, (name, t) in enumerate(tris.items()):
        idx = add(np.array(t, np.uint32).reshape(-1), 5125, "SCALAR", 34963)
        primitives.append({"attributes": {"POSITION": a_pos, "TEXCOORD_0": a_uv, "JOINTS_0": a_j, "WEIGHTS_0": a_w},
                           "indices": idx, "material": m})
    ibm = np.stack([np.linalg.inv(np.block([[np.eye(3), world[b][:, None]], [np.zeros((1, 3)), np.ones((1, 1))]])).T
                    for b in order]).astype(np.float32)  # column-major
    a_ibm = add(ibm.reshape(len(order), 16), 5126, "MAT4")
    nodes.append({"name": "Body", "mesh": 0, "skin": 0})
    # Wave: the left arm raised about the character's forward axis over one second.
    times = np.array([0.0, 1.0], np.float32)
    fwd = _to_gltf([[0.0, -1.0, 0.0]], version)[0]
    ang = 0.6
    quats = np.array([[0, 0, 0, 1], [*(fwd * np.sin(ang / 2)), np.cos(ang / 2)]], np.float32)
    a_t = add(times, 5126, "SCALAR", minmax=True)
    a_q = add(quats, 5126, "VEC4")
    if texture_uri is not None:
        images = [{"name": "SkinTexture", "uri": texture_uri}]
    else:
        tex = png(np.broadcast_to(np.array(colours["texture"], np.uint8), (8, 8, 3))) if texture is None else texture
        while len(blob) % 4:
            blob.append(0)
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(tex)})
        blob.extend(tex)
        images = [{"name": "SkinTexture", "bufferView": len(views) - 1, "mimeType": "image/png"}]
    materials = []
    for name in tris:
        textured = name == "Skin"
        pbr = {"baseColorFactor": [1, 1, 1, 1] if textured else [*colours["cloth"], 1], "metallicFactor": 0.0}
        if textured:
            pbr["baseColorTexture"] = {"index": 0}
        mat = {"name": name, "pbrMetallicRoughness": pbr, "extensions": {"KHR_materials_unlit": {}}}
        if version == "1":
            mat["extensions"]["VRMC_materials_mtoon"] = _mtoon1(name, textured, outline, colours)
        materials.append(mat)
    humanoid = [(VRM_NAMES[b], order.index(b)) for b in order]
    meta = {"title": "box character", "author": "datagen tests"}
    if version == "1":
        ext = {"VRMC_vrm": {"specVersion": "1.0", "meta": {"name": meta["title"], "authors": [meta["author"]],
                                                           "licenseUrl": "https://vrm.dev/licenses/1.0/"},
                            "humanoid": {"humanBones": {k: {"node": i} for k, i in humanoid}}}}
        used = ["KHR_materials_unlit", "VRMC_vrm", "VRMC_materials_mtoon"]
    else:
        ext = {"VRM": {"specVersion": "0.0", "meta": meta,
                       "humanoid": {"humanBones": [{"bone": k, "node": i, "useDefaultValues": True} for k, i in humanoid]},
                       "materialProperties": [_mtoon0(n, n == "Skin", outline, colours) for n in tris]}}
        used = ["KHR_materials_unlit", "VRM"]
    while len(blob) % 4:
        blob.append(0)
    doc = {"asset": {"version": "2.0", "generator": "datagen tests"}, "scene": 0,
           "scenes": [{"nodes": [0, len(nodes) - 1]}], "nodes": nodes,
           "meshes": [{"name": "Body", "primitives": primitives}],
           "skins": [{"joints": list(range(len(order))), "inverseBindMatrices": a_ibm, "skeleton": 0}],
           "animations": [{"name": "Wave", "samplers": [{"input": a_t, "output": a_q, "interpolation": "LINEAR"}],
                           "channels": [{"sampler": 0, "target": {"node": order.index("LeftUpperArm"), "path": "rotation"}}]}],
           "materials": materials, "textures": [{"source": 0}], "images": images,
           "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(blob)}],
           "extensionsUsed": used, "extensions": ext}
    raw = json.dumps(doc).encode()
    raw += b" " * (-len(raw) % 4)
    body = (struct.pack("<II", len(raw), 0x4E4F534A) + raw + struct.pack("<II", len(blob), 0x004E4942) + bytes(blob))
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body)
    return path
