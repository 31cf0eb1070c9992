"""Small rigs for the render tests, built with bpy and saved as .blend files.

* ``boxman``: an armature whose bones are named like the avatar20 keypoints, one skinned mesh of
  boxes (one box per bone), costumes in the docs/rigs.md convention (a hat shared by two costumes
  with different palettes, and a bare costume) and three clips: ``Idle``, ``ArmBehind`` (the left arm
  swung behind the back) and ``Ignored`` (tagged ``datagen_ignore``).
* ``markers``: the same armature with only a small sphere at every joint (alignment of keypoints
  with the rendered image).
* ``snake``: a non-humanoid chain of bones.
* ``plain``: the boxman's body in one colour, no costumes, with or without clips.
* ``partial``: the boxman's body (no costumes) with two clips that key different bones: ``ArmsUp``
  (both upper arms raised) and ``Bend`` (only the spine): a pose must not depend on the clip before it.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Quaternion, Vector

# name: (head, tail, parent); the character faces -Y, its left is +X, Z up, metres.
BONES = {
    "Hips": ((0, 0, 0.95), (0, 0, 1.10), None),
    "Spine": ((0, 0, 1.10), (0, 0, 1.40), "Hips"),
    "Neck": ((0, 0, 1.40), (0, 0, 1.50), "Spine"),
    "Head": ((0, 0, 1.50), (0, 0, 1.75), "Neck"),
}
for side, s in (("Left", 1), ("Right", -1)):
    BONES.update({
        f"{side}Shoulder": ((s * 0.04, 0, 1.37), (s * 0.18, 0, 1.37), "Spine"),
        f"{side}UpperArm": ((s * 0.18, 0, 1.37), (s * 0.45, 0, 1.37), f"{side}Shoulder"),
        f"{side}LowerArm": ((s * 0.45, 0, 1.37), (s * 0.70, 0, 1.37), f"{side}UpperArm"),
        f"{side}Hand": ((s * 0.70, 0, 1.37), (s * 0.80, 0, 1.37), f"{side}LowerArm"),
        f"{side}UpperLeg": ((s * 0.10, 0, 0.95), (s * 0.10, 0, 0.52), "Hips"),
        f"{side}LowerLeg": ((s * 0.10, 0, 0.52), (s * 0.10, 0, 0.08), f"{side}UpperLeg"),
        f"{side}Foot": ((s * 0.10, 0, 0.08), (s * 0.10, -0.12, 0.02), f"{side}LowerLeg"),
        f"{side}Toes": ((s * 0.10, -0.12, 0.02), (s * 0.10, -0.18, 0.02), f"{side}Foot"),
    })
OVERLAP = 0.02
# Half sizes (across, deep) of each bone's box.
THICK = {"Hips": (0.17, 0.10), "Spine": (0.18, 0.10), "Neck": (0.05, 0.05), "Head": (0.11, 0.11),
         "Shoulder": (0.05, 0.05), "UpperArm": (0.05, 0.05), "LowerArm": (0.04, 0.04), "Hand": (0.04, 0.02),
         "UpperLeg": (0.07, 0.07), "LowerLeg": (0.05, 0.05), "Foot": (0.05, 0.04), "Toes": (0.05, 0.02)}


def _reset() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _armature(name: str = "Armature", bones: dict = BONES, rename=lambda n: n) -> bpy.types.Object:
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for bname, (head, tail, parent) in bones.items():
        eb = arm.edit_bones.new(rename(bname))
        eb.head, eb.tail = head, tail
        eb.roll = 0
        if parent:
            eb.parent = arm.edit_bones[rename(parent)]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def _material(name: str, rgb) -> bpy.types.Material:
    m = bpy.data.materials.new(name)
    m.diffuse_color = (*rgb, 1.0)
    return m


def _box_mesh(name: str, bones: list[str], material: bpy.types.Material, scale: float = 1.0,
              offset=(0, 0, 0)) -> bpy.types.Object:
    """One mesh of boxes around the given bones, each box weighted fully to its bone."""
    verts, faces, groups = [], [], []
    for b in bones:
        head, tail, _ = BONES[b]
        h, t = Vector(head) + Vector(offset), Vector(tail) + Vector(offset)
        axis = (t - h).normalized()
        h, t = h - axis * OVERLAP, t + axis * OVERLAP  # neighbouring boxes overlap like a skin at a joint
        side = Vector((0, 1, 0)) if abs(axis.y) < 0.9 else Vector((1, 0, 0))
        u = axis.cross(side).normalized()
        v = axis.cross(u).normalized()
        key = b.replace("Left", "").replace("Right", "")
        a, d = (x * scale for x in THICK[key])
        base = len(verts)
        for p in (h, t):
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                verts.append(tuple(p + u * (su * a) + v * (sv * d)))
        faces += [tuple(base + i for i in f) for f in ((0, 1, 2, 3), (7, 6, 5, 4), (0, 4, 5, 1), (1, 5, 6, 2),
                                                    (2, 6, 7, 3), (3, 7, 4, 0))]
        groups.append((b, range(base, base + 8)))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], [tuple(f) for f in faces])
    mesh.materials.append(material)
    obj = bpy.data.objects.new(name, mesh)
    for b, idx in groups:
        obj.vertex_groups.new(name=b).add(list(idx), 1.0, "REPLACE")
    return obj


def _skin(obj: bpy.types.Object, arm: bpy.types.Object, collection: bpy.types.Collection) -> None:
    collection.objects.link(obj)
    obj.parent = arm
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm


def _key_rotation(arm: bpy.types.Object, bone: str, direction: Vector, frame: int) -> None:
    """Keyframe ``bone`` so that it points along ``direction`` (world, armature at the origin)."""
    pb = arm.pose.bones[bone]
    pb.rotation_mode = "QUATERNION"
    rest = arm.data.bones[bone].matrix_local
    rest_dir = (rest.to_3x3() @ Vector((0, 1, 0))).normalized()
    q = rest_dir.rotation_difference(direction.normalized())
    m = Matrix.Translation(rest.translation) @ q.to_matrix().to_4x4() @ rest.to_3x3().to_4x4()
    pb.matrix = m
    bpy.context.view_layer.update()
    pb.keyframe_insert("rotation_quaternion", frame=frame)


def _action(arm: bpy.types.Object, name: str) -> bpy.types.Action:
    arm.animation_data_create()
    action = bpy.data.actions.new(name)
    arm.animation_data.action = action
    return action


def _reset_pose(arm: bpy.types.Object) -> None:
    for pb in arm.pose.bones:
        pb.rotation_mode = "QUATERNION"
        pb.rotation_quaternion = Quaternion()
        pb.location = (0, 0, 0)


def _clips(arm: bpy.types.Object) -> None:
    _action(arm, "Idle")
    _reset_pose(arm)
    for f, ang in ((1, 0.0), (11, 0.3)):
        _key_rotation(arm, "Spine", Vector((0, 0, 1)), f)
        _key_rotation(arm, "RightUpperArm", Vector((-1, 0, -ang)), f)
        _key_rotation(arm, "LeftUpperArm", Vector((1, 0, -ang)), f)
    _action(arm, "ArmBehind")
    _reset_pose(arm)
    for f in (1, 5):
        # Upper arm from the shoulder down and back, elbow and hand behind the torso.
        _key_rotation(arm, "LeftUpperArm", Vector((-0.43, 0.66, -0.61)), f)
        _key_rotation(arm, "LeftLowerArm", Vector((-0.43, 0.66, -0.61)), f)
        _key_rotation(arm, "LeftHand", Vector((-0.43, 0.66, -0.61)), f)
        _key_rotation(arm, "RightUpperArm", Vector((-0.2, -0.4, -1)), f)  # right arm down, in front
        _key_rotation(arm, "RightLowerArm", Vector((-0.2, -0.4, -1)), f)
        _key_rotation(arm, "RightHand", Vector((-0.2, -0.4, -1)), f)
    ignored = _action(arm, "Ignored")
    _reset_pose(arm)
    _key_rotation(arm, "Head", Vector((0, -1, 1)), 1)
    ignored["datagen_ignore"] = True
    arm.animation_data.action = bpy.data.actions["Idle"]
    _reset_pose(arm)  # bones a clip does not animate keep their static pose: the rest pose
    for a in bpy.data.actions:
        a.use_fake_user = True


def build_boxman(path: Path) -> Path:
    _reset()
    scene = bpy.context.scene
    arm = _armature()
    body = _box_mesh("Body", list(BONES), _material("Skin", (0.9, 0.7, 0.55)))
    _skin(body, arm, scene.collection)
    costumes = bpy.data.collections.new("Costumes")
    scene.collection.children.link(costumes)
    cloth = _material("Cloth", (0.5, 0.5, 0.5))
    hat = _box_mesh("Hat", ["Head"], cloth, scale=1.25, offset=(0, 0, 0.12))
    for name, rgb in (("red", (1.0, 0.0, 0.0)), ("blue", (0.0, 0.1, 1.0))):
        c = bpy.data.collections.new(name)
        costumes.children.link(c)
        c["palette"] = '{"Cloth": [%f, %f, %f]}' % rgb
        if name == "red":
            _skin(hat, arm, c)
        else:
            c.objects.link(hat)
    costumes.children.link(bpy.data.collections.new("bare"))
    _clips(arm)
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "MATERIAL"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def build_plain(path: Path, rgb=(0.9, 0.7, 0.55), clips: bool = True) -> Path:
    """The boxman's body in one colour, without costumes (one costume, ``default``); with its clips or
    none (a rig that needs ``--motion``)."""
    _reset()
    scene = bpy.context.scene
    arm = _armature()
    _skin(_box_mesh("Body", list(BONES), _material("Skin", rgb)), arm, scene.collection)
    if clips:
        _clips(arm)
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "MATERIAL"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def build_partial(path: Path) -> Path:
    _reset()
    scene = bpy.context.scene
    arm = _armature()
    _skin(_box_mesh("Body", list(BONES), _material("Skin", (0.9, 0.7, 0.55))), arm, scene.collection)
    _action(arm, "ArmsUp")
    _reset_pose(arm)
    for f, up in ((1, 0.6), (9, 1.2)):
        _key_rotation(arm, "LeftUpperArm", Vector((1, 0, up)), f)
        _key_rotation(arm, "RightUpperArm", Vector((-1, 0, up)), f)
    _action(arm, "Bend")
    _reset_pose(arm)
    for f, lean in ((1, 0.2), (9, 0.6)):
        _key_rotation(arm, "Spine", Vector((0, -lean, 1)), f)
    _reset_pose(arm)
    for a in bpy.data.actions:
        a.use_fake_user = True
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "MATERIAL"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def build_markers(path: Path, radius: float = 0.025) -> Path:
    _reset()
    scene = bpy.context.scene
    arm = _armature()
    mat = _material("Marker", (0.1, 0.1, 0.1))
    for name in BONES:
        mesh = bpy.data.meshes.new(name + "_marker")
        obj = bpy.data.objects.new(name + "_marker", mesh)
        scene.collection.objects.link(obj)
        import bmesh
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=radius)
        bm.to_mesh(mesh)
        bm.free()
        mesh.materials.append(mat)
        obj.parent = arm
        obj.parent_type = "BONE"
        obj.parent_bone = name
        # Bone parenting places children at the bone's tail; move the sphere back to the head.
        obj.matrix_world = Matrix.Translation(BONES[name][0])
    _clips(arm)
    scene.display.shading.light = "FLAT"
    scene.display.shading.show_object_outline = False
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def build_snake(path: Path) -> Path:
    _reset()
    bones = {"Bone": ((0, 0, 0), (0, 0, 0.5), None)}
    for i in range(1, 5):
        bones[f"Bone.{i:03d}"] = ((0, 0, 0.5 * i), (0, 0, 0.5 * (i + 1)), "Bone" if i == 1 else f"Bone.{i - 1:03d}")
    arm = _armature("Snake", bones)
    _action(arm, "Slither")
    _reset_pose(arm)
    arm.pose.bones["Bone.001"].keyframe_insert("rotation_quaternion", frame=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def add_autorun_script(blend: Path, out: Path, marker: Path) -> Path:
    """Save a copy of ``blend`` with a text block registered to run on load that writes ``marker``."""
    bpy.ops.wm.open_mainfile(filepath=str(blend), use_scripts=False)
    text = bpy.data.texts.new("autorun.py")
    text.write(f"open({str(marker)!r}, 'w').write('ran')\n")
    text.use_module = True  # "Register": Blender runs it when the file is loaded with scripts trusted
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    return out


class CheckCamera:
    """An independent re-projection for the keypoint tests: Blender's own ``world_to_camera_view``
    through a camera placed from a row's stored extrinsics (50 mm lens, 36 mm sensor, size x size)."""

    def __init__(self, scene: bpy.types.Scene, size: int = 64) -> None:
        self.scene, self.size = scene, size
        self.cam = bpy.data.objects.new("check", bpy.data.cameras.new("check"))
        scene.collection.objects.link(self.cam)
        self.cam.data.lens, self.cam.data.sensor_width = 50, 36
        scene.render.resolution_x = scene.render.resolution_y = size

    def project(self, extrinsic: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(K, 3) world points -> (K, 2) pixels (top-left origin) and (K,) depths, seen from the camera
        whose OpenCV world-to-camera matrix is ``extrinsic`` (4 x 4)."""
        from bpy_extras.object_utils import world_to_camera_view

        # OpenCV world-to-camera -> Blender camera: invert, then flip the y and z axes.
        self.cam.matrix_world = Matrix((np.linalg.inv(extrinsic) @ np.diag([1, -1, -1, 1])).tolist())
        v = np.array([tuple(world_to_camera_view(self.scene, self.cam, Vector(p))) for p in points])
        return np.stack([v[:, 0] * self.size, (1 - v[:, 1]) * self.size], 1), v[:, 2]
