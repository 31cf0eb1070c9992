"""A VRM's own look and facing in Blender, after the glTF import (docs/rigs.md, "Your own characters").

What :mod:`datagen.render.vrm` read from the file is applied here, the same for every engine:

* a VRM 0.x character is turned to face -Y (the cameras' azimuth 0), like a VRM 1.0 one;
* each MToon material becomes a toon node graph (EEVEE, Cycles): base colour x texture where N.L
  (a fixed key light from the camera's upper left) passes the MToon ramp, shade colour elsewhere,
  unlit like MToon; and its viewport side (Workbench): ``diffuse_color`` = base colour, the base
  texture its active image node (the ``TEXTURE`` colour type of the default look shows it);
* the MToon outline is an inverted hull: a Solidify shell after the armature, back faces culled, in
  the outline colour, its thickness per vertex the outline width of the vertex's materials;
* a base texture that is missing or cannot be decoded is a warning; that material shows its base colour.

Expressions (blend shapes) and spring bones are not evaluated: faces keep their neutral shape and
hair and skirts follow their bones' rest offsets.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from datagen.render.vrm import ToonLook, facing_turn, toon_looks

OUTLINE_GROUP = "datagen_outline"
OUTLINE_MODIFIER = "datagen_outline"
# The toon key light in the shader's camera space (x right, y up, z forward into the scene): from the
# upper left, in front of the character.
KEY_LIGHT = tuple((np.array([-0.4, 0.5, -0.75]) / np.linalg.norm([-0.4, 0.5, -0.75])).tolist())


def dress(path: Path, scene: bpy.types.Scene, gltf: dict) -> list[str]:
    """Face the character to -Y and give it its toon look; return the warnings (one line each)."""
    turn = facing_turn(gltf)
    if turn:
        rot = Matrix.Rotation(turn, 4, "Z")
        for obj in scene.objects:
            if obj.parent is None:
                obj.matrix_world = rot @ obj.matrix_world
        bpy.context.view_layer.update()
    warnings: list[str] = []
    looks = {}
    for look in toon_looks(gltf):
        mat = bpy.data.materials.get(look.material)
        if mat is None or mat.node_tree is None:
            continue
        image = _base_image(mat)
        if look.has_texture and not _readable(image):
            name = image.name if image is not None else "(none)"
            warnings.append(f"{path}: material {look.material!r}: base texture {name} is missing or unreadable; "
                            f"it shows its base colour")
            image = None
        _toon_material(mat, look, image if look.has_texture else None)
        looks[mat.name] = look
    meshes = [o for o in scene.objects if o.type == "MESH"]
    height = _height(meshes)
    for obj in meshes:
        _outline(obj, looks, height)
    return warnings


def _base_image(mat: bpy.types.Material) -> bpy.types.Image | None:
    """The image the importer wired into the base colour: the first linked image node."""
    for node in mat.node_tree.nodes:
        if node.type == "TEX_IMAGE" and any(link for out in node.outputs for link in out.links):
            return node.image
    return None


def _readable(image: bpy.types.Image | None) -> bool:
    """Whether the image's file or packed bytes decode (reading a pixel makes Blender load it)."""
    if image is None:
        return False
    try:
        if not image.has_data:
            image.pixels[0]
        return bool(image.has_data and image.size[0] > 0 and image.size[1] > 0)
    except (RuntimeError, IndexError):
        return False


def _uv_of(mat: bpy.types.Material, image: bpy.types.Image):
    """(node tree's UV source socket or None) feeding the importer's image node (keeps texture transforms)."""
    for node in mat.node_tree.nodes:
        if node.type == "TEX_IMAGE" and node.image == image and node.inputs["Vector"].links:
            return node.inputs["Vector"].links[0].from_socket
    return None


def _toon_material(mat: bpy.types.Material, look: ToonLook, image: bpy.types.Image | None) -> None:
    nt = mat.node_tree
    uv = _uv_of(mat, image) if image is not None else None
    keep = {n for n in nt.nodes if uv is not None and n == uv.node or n.type in ("MAPPING", "UVMAP", "TEX_COORD")}
    for node in list(nt.nodes):
        if node not in keep:
            nt.nodes.remove(node)
    new, link = nt.nodes.new, nt.links.new
    out = new("ShaderNodeOutputMaterial")
    base = new("ShaderNodeRGB")
    base.outputs[0].default_value = look.base_color
    lit, shade_col = base.outputs[0], new("ShaderNodeRGB")
    shade_col.outputs[0].default_value = (*look.shade_color, 1.0)
    shade = shade_col.outputs[0]
    alpha = None
    if image is not None:
        tex = new("ShaderNodeTexImage")
        tex.image = image
        if uv is not None:
            link(uv, tex.inputs["Vector"])
        nt.nodes.active = tex  # Workbench's TEXTURE colour type shows the active image node
        lit = _multiply(nt, lit, tex.outputs["Color"])
        if look.shade_uses_texture:
            shade = _multiply(nt, shade, tex.outputs["Color"])
        alpha = tex.outputs["Alpha"]
    # N.L in camera space: the key light moves with the camera, as a toon render is lit for its view.
    geo = new("ShaderNodeNewGeometry")
    to_cam = new("ShaderNodeVectorTransform")
    to_cam.vector_type, to_cam.convert_from, to_cam.convert_to = "NORMAL", "WORLD", "CAMERA"
    link(geo.outputs["Normal"], to_cam.inputs["Vector"])
    dot = new("ShaderNodeVectorMath")
    dot.operation = "DOT_PRODUCT"
    link(to_cam.outputs["Vector"], dot.inputs[0])
    dot.inputs[1].default_value = KEY_LIGHT
    ramp = new("ShaderNodeMapRange")
    ramp.interpolation_type = "SMOOTHSTEP" if look.smooth_ramp else "LINEAR"
    ramp.clamp = True
    link(dot.outputs["Value"], ramp.inputs["Value"])
    ramp.inputs["From Min"].default_value, ramp.inputs["From Max"].default_value = look.ramp
    mix = _mix(nt, "MIX", shade, lit)
    link(ramp.outputs["Result"], mix.node.inputs["Factor"])
    emit = new("ShaderNodeEmission")
    link(mix, emit.inputs["Color"])
    surface = emit.outputs[0]
    if look.alpha_mode in ("MASK", "BLEND") and alpha is not None:
        cut = new("ShaderNodeMath")
        cut.operation = "GREATER_THAN" if look.alpha_mode == "MASK" else "MULTIPLY"
        link(alpha, cut.inputs[0])
        cut.inputs[1].default_value = look.alpha_cutoff if look.alpha_mode == "MASK" else look.base_color[3]
        see_through = new("ShaderNodeMixShader")
        link(cut.outputs[0], see_through.inputs[0])
        link(new("ShaderNodeBsdfTransparent").outputs[0], see_through.inputs[1])
        link(surface, see_through.inputs[2])
        surface = see_through.outputs[0]
    link(surface, out.inputs["Surface"])
    mat.diffuse_color = look.base_color


def _multiply(nt: bpy.types.NodeTree, a, b):
    return _mix(nt, "MULTIPLY", a, b)


def _mix(nt: bpy.types.NodeTree, blend: str, a, b):
    """A colour Mix node blending sockets a and b (factor 1); its colour output. (The node has one A, B and
    Result socket per data type under the same name: the colour ones are picked by identifier.)"""
    m = nt.nodes.new("ShaderNodeMix")
    m.data_type, m.blend_type = "RGBA", blend
    m.inputs["Factor"].default_value = 1.0
    by_id = {s.identifier: s for s in m.inputs}
    nt.links.new(a, by_id["A_Color"])
    nt.links.new(b, by_id["B_Color"])
    return next(s for s in m.outputs if s.identifier == "Result_Color")


def _height(meshes: list[bpy.types.Object]) -> float:
    zs = []
    for o in meshes:
        co = np.empty(len(o.data.vertices) * 3, np.float32)
        o.data.vertices.foreach_get("co", co)
        m = np.array(o.matrix_world, dtype=np.float64)
        zs.append(co.reshape(-1, 3) @ m[2, :3] + m[2, 3])
    z = np.concatenate(zs) if zs else np.zeros(0)
    return float(np.ptp(z)) if len(z) else 1.0


def _outline_material(look: ToonLook) -> bpy.types.Material:
    name = f"{look.material} (outline)"
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)  # Blender 5: always with nodes
    nt = mat.node_tree
    nt.nodes.clear()
    emit = nt.nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (*look.outline_color, 1.0)
    nt.links.new(emit.outputs[0], nt.nodes.new("ShaderNodeOutputMaterial").inputs["Surface"])
    mat.diffuse_color = (*look.outline_color, 1.0)
    mat.use_backface_culling = True  # the shell shows only where it stands out behind the body
    return mat


def _outline(obj: bpy.types.Object, looks: dict[str, ToonLook], height: float) -> None:
    mats = [s.material for s in obj.material_slots]
    widths = np.array([looks[m.name].outline_metres(height) if m is not None and m.name in looks else 0.0
                       for m in mats])
    if not len(widths) or widths.max() <= 0:
        return
    mesh = obj.data
    n = len(mats)
    for m in mats:
        look = looks.get(m.name) if m is not None else None
        mesh.materials.append(_outline_material(look) if look is not None else None)
    # Per-vertex thickness: the widest outline among the materials of the faces around the vertex.
    face_mat = np.empty(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("material_index", face_mat)
    loop_start = np.empty(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("loop_start", loop_start)
    loop_total = np.empty(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("loop_total", loop_total)
    loop_vert = np.empty(len(mesh.loops), np.int32)
    mesh.loops.foreach_get("vertex_index", loop_vert)
    per_loop = np.repeat(widths[np.clip(face_mat, 0, n - 1)], loop_total)
    w = np.zeros(len(mesh.vertices))
    np.maximum.at(w, loop_vert, per_loop)
    group = obj.vertex_groups.new(name=OUTLINE_GROUP)
    top = float(widths.max())
    for level in np.unique(w):
        if level > 0:
            group.add(np.flatnonzero(w == level).tolist(), float(level / top), "REPLACE")
    mod = obj.modifiers.new(OUTLINE_MODIFIER, "SOLIDIFY")
    mod.thickness = top
    mod.offset = 1.0  # outwards, along the normals
    mod.use_flip_normals = True
    mod.use_rim = False
    mod.material_offset = n
    mod.vertex_group = OUTLINE_GROUP
    mod.thickness_vertex_group = 0.0
    mod.use_even_offset = False
