"""Building an MMD model (datagen.mmd.model.Model) as Blender objects: armature, skinned mesh, materials.

There is no MMD importer in bpy: this module makes the objects from the parsed arrays. Bones keep their
MMD names (Japanese as a rule); the mesh is skinned by vertex groups (BDEF1/2/4; SDEF as its two-bone
blend); each material gets its diffuse colour and texture (a Principled BSDF with an Image Texture
node for EEVEE and Cycles; the Workbench look shows the texture's mean colour times the diffuse). A
texture that is missing or unreadable is a warning: the material keeps its colour and the render goes on.
Not built: morphs, physics (rigid bodies, joints), MMD's inherited rotations and IK constraints (motions
are baked into plain bone rotations by the retargeting, which follows the deforming bones).
"""
from __future__ import annotations

import logging
from pathlib import Path

import bpy
import numpy as np

from datagen.mmd.model import Model, to_blender

log = logging.getLogger(__name__)

MIN_BONE = 0.01  # metres; Blender drops zero-length bones, MMD has many (IK targets, "dummy" bones)
REST_CLIP = "rest"


def build_model(model: Model) -> bpy.types.Object:
    """Create the model's armature and mesh in the current scene; return the armature object."""
    scene = bpy.context.scene
    name = model.path.stem
    arm_data = bpy.data.armatures.new(name)
    arm = bpy.data.objects.new(name, arm_data)
    scene.collection.objects.link(arm)
    bone_names = blender_bone_names(model)
    heads = to_blender([b.position for b in model.bones]) if model.bones else np.zeros((0, 3))
    tails = to_blender([b.tail for b in model.bones]) if model.bones else np.zeros((0, 3))
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    ebs = []
    for j, bn in enumerate(bone_names):
        eb = arm_data.edit_bones.new(bn)
        tail = tails[j] if np.linalg.norm(tails[j] - heads[j]) >= MIN_BONE else heads[j] + (0.0, 0.0, 2 * MIN_BONE)
        eb.head, eb.tail = heads[j].tolist(), tail.tolist()
        eb.roll = 0.0
        ebs.append(eb)
    for j, b in enumerate(model.bones):
        if 0 <= b.parent < len(ebs) and b.parent != j:
            ebs[j].parent = ebs[b.parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    _mesh(model, name, arm, bone_names)
    _rest_action(arm)
    return arm


def blender_bone_names(model: Model) -> list[str]:
    """The bones' names in Blender: MMD's, made unique (Blender needs unique names)."""
    return _unique([b.name or f"bone{j}" for j, b in enumerate(model.bones)])


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}.{k:03d}")
    return out


def _mesh(model: Model, name: str, arm: bpy.types.Object, bone_names: list[str]) -> None:
    me = bpy.data.meshes.new(name)
    tris = model.triangles[:, [0, 2, 1]]  # MMD's left-handed winding, seen in a right-handed frame
    me.vertices.add(len(model.positions))
    me.vertices.foreach_set("co", to_blender(model.positions).astype(np.float32).ravel())
    me.loops.add(tris.size)
    me.loops.foreach_set("vertex_index", tris.astype(np.int32).ravel())
    me.polygons.add(len(tris))
    me.polygons.foreach_set("loop_start", np.arange(0, tris.size, 3, dtype=np.int32))
    me.polygons.foreach_set("loop_total", np.full(len(tris), 3, dtype=np.int32))
    uv = me.uv_layers.new(name="UVMap")
    uvs = np.column_stack([model.uvs[:, 0], 1.0 - model.uvs[:, 1]])[tris.ravel()]
    uv.data.foreach_set("uv", uvs.astype(np.float32).ravel())
    mat_index = np.repeat(np.arange(len(model.materials), dtype=np.int32), [m.faces for m in model.materials])
    mat_index = np.concatenate([mat_index, np.zeros(len(tris) - len(mat_index), dtype=np.int32)])
    for m in model.materials:
        me.materials.append(_material(m, model.path.parent))
    if len(tris):
        me.polygons.foreach_set("material_index", mat_index)
        me.polygons.foreach_set("use_smooth", np.ones(len(tris), dtype=bool))
    me.update()
    me.validate(clean_customdata=False)
    obj = bpy.data.objects.new(name + "_mesh", me)
    bpy.context.scene.collection.objects.link(obj)
    obj.parent = arm
    groups = [obj.vertex_groups.new(name=bn) for bn in bone_names]
    idx, w = model.bone_indices, model.bone_weights
    for slot in range(idx.shape[1]):
        use = (idx[:, slot] >= 0) & (w[:, slot] > 0)
        for j in np.unique(idx[use, slot]):
            verts = np.nonzero(use & (idx[:, slot] == j))[0]
            for weight in np.unique(w[verts, slot]):
                groups[j].add(verts[w[verts, slot] == weight].tolist(), float(weight), "ADD")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm


def _material(m, folder: Path) -> bpy.types.Material:
    mat = bpy.data.materials.new(m.name)
    rgba = [float(np.clip(c, 0, 1)) for c in m.diffuse]
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (*rgba[:3], 1.0)
    mean = np.ones(3)
    image = _texture(folder, m.texture) if m.texture else None
    if image is not None:
        tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
        tex.image = image
        mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        px = np.empty(len(image.pixels), dtype=np.float32)
        image.pixels.foreach_get(px)  # a bulk read: a 2048x2048 texture as a Python tuple takes seconds
        px = px.reshape(-1, image.channels)
        mean = px[:, :3].mean(0) if len(px) and image.channels >= 3 else mean
    mat.diffuse_color = (*(np.array(rgba[:3]) * mean).tolist(), 1.0)
    return mat


def _texture(folder: Path, rel: str) -> bpy.types.Image | None:
    path = folder / rel
    if not path.is_file():
        log.warning("%s: texture is missing (the material keeps its colour)", path)
        return None
    try:
        image = bpy.data.images.load(str(path), check_existing=True)
    except RuntimeError:
        image = None
    if image is None or image.size[0] == 0 or not image.has_data and not _loads(image):
        log.warning("%s: texture cannot be read (the material keeps its colour)", path)
        if image is not None:
            bpy.data.images.remove(image)
        return None
    return image


def _loads(image: bpy.types.Image) -> bool:
    try:
        return len(image.pixels) > 0
    except RuntimeError:
        return False


def _rest_action(arm: bpy.types.Object) -> None:
    """One-key Action holding the rest pose: the clip an MMD model plays without ``--motion``."""
    act = bpy.data.actions.new(REST_CLIP)
    act.use_fake_user = True
    slot = act.slots.new(id_type="OBJECT", name=arm.name)
    bag = act.layers.new("Layer").strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
    for pb in arm.pose.bones:
        pb.rotation_mode = "QUATERNION"
        for i, v in enumerate((1.0, 0.0, 0.0, 0.0)):
            fc = bag.fcurves.new(f'pose.bones["{pb.name}"].rotation_quaternion', index=i, group_name=pb.name)
            fc.keyframe_points.insert(1, v)
    act.use_frame_range = True
    act.frame_start, act.frame_end = 1, 1
