"""bpy helpers of the avatar build: meshes from numpy arrays, skin weights, materials, actions.

Everything here takes plain arrays made by the numpy modules of this package; nothing decides geometry.
"""
from __future__ import annotations

import bpy
import numpy as np

from .skeleton import BONES, BONE_NAMES


def new_armature(name: str = "Avatar") -> bpy.types.Object:
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    eb = {}
    for b in BONES:
        e = data.edit_bones.new(b.name)
        e.head = b.head
        e.tail = b.tail
        e.roll = 0.0
        if b.parent:
            e.parent = eb[b.parent]
            e.use_connect = False
        eb[b.name] = e
    bpy.ops.object.mode_set(mode="OBJECT")
    data.display_type = "STICK"
    obj.show_in_front = True
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return obj


def rest_matrices(arm: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """Rest heads (B,3) and 3x3 rest rotations (B,3,3) in armature space, BONES order."""
    heads = np.array([arm.data.bones[n].head_local for n in BONE_NAMES], dtype=float)
    rots = np.array([np.array(arm.data.bones[n].matrix_local)[:3, :3] for n in BONE_NAMES], dtype=float)
    return heads, rots


def new_mesh_object(name: str, verts: np.ndarray, faces: np.ndarray, collection,
                    material_index: np.ndarray | None = None, smooth: bool = True) -> bpy.types.Object:
    """faces: (F, n) int array of n-gons (all the same n). Coordinates are snapped to 1/8192 m: binary
    fractions compress well in the .blend and make the build reproducible to the bit."""
    me = bpy.data.meshes.new(name)
    n = faces.shape[1]
    me.vertices.add(len(verts))
    me.vertices.foreach_set("co", (np.round(np.asarray(verts, float) * 8192) / 8192).astype(np.float32).ravel())
    me.loops.add(faces.size)
    me.loops.foreach_set("vertex_index", np.asarray(faces, np.int32).ravel())
    me.polygons.add(len(faces))
    me.polygons.foreach_set("loop_start", np.arange(0, faces.size, n, dtype=np.int32))
    if material_index is not None:
        me.polygons.foreach_set("material_index", np.asarray(material_index, np.int32))
    me.update()
    me.validate()
    if smooth:
        me.shade_smooth()
    for a in (".select_vert", ".select_edge", ".select_poly"):
        if a in me.attributes:
            me.attributes.remove(me.attributes[a])
    obj = bpy.data.objects.new(name, me)
    collection.objects.link(obj)
    return obj


def skin(obj: bpy.types.Object, arm: bpy.types.Object, W: np.ndarray) -> None:
    """Vertex groups from (V, B) weights (quantised to 1/1024) and an Armature modifier."""
    Wq = np.round(W * 1024) / 1024
    for bi, name in enumerate(BONE_NAMES):
        col = Wq[:, bi]
        nz = np.nonzero(col > 0)[0]
        if len(nz) == 0:
            continue
        vg = obj.vertex_groups.new(name=name)
        vals = col[nz]
        for w in np.unique(vals):
            vg.add(nz[vals == w].tolist(), float(w), "REPLACE")
    obj.parent = arm
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm


def rigid_skin(obj: bpy.types.Object, arm: bpy.types.Object, bone: str) -> None:
    vg = obj.vertex_groups.new(name=bone)
    vg.add(list(range(len(obj.data.vertices))), 1.0, "REPLACE")
    obj.parent = arm
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm


def material(name: str, rgb) -> bpy.types.Material:
    """A flat material: diffuse_color for Workbench, an RGB node named BaseColor for EEVEE/Cycles."""
    m = bpy.data.materials.get(name)
    if m is not None:
        return m
    m = bpy.data.materials.new(name)
    m.diffuse_color = (*[float(c) for c in rgb], 1.0)
    m.roughness = 0.8
    m.metallic = 0.0
    nt = m.node_tree
    bsdf = nt.nodes.get("Principled BSDF")
    rgbn = nt.nodes.new("ShaderNodeRGB")
    rgbn.name = rgbn.label = "BaseColor"
    rgbn.outputs[0].default_value = (*[float(c) for c in rgb], 1.0)
    rgbn.location = (-300, 200)
    nt.links.new(rgbn.outputs[0], bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = 0.8
    return m
