"""Assemble the avatar scene with bpy from the numpy parts: armature, body, face, garments, costumes,
motion clips and the toon Workbench look; and the content fingerprint the rebuild test compares."""
from __future__ import annotations

import json
import logging

import bpy
import numpy as np
from mathutils import Matrix

from datagen.render.blender import assign_action, write_action

from . import body, bpy_build, costumes, face, garments, landmarks, motions
from .skeleton import BONE_NAMES

log = logging.getLogger(__name__)

SKIN = (0.93, 0.74, 0.62)


def _scene_look(scene: bpy.types.Scene) -> None:
    """Toon look in Workbench: toon matcap times the material colour, object outlines."""
    scene.render.engine = "BLENDER_WORKBENCH"
    sh = scene.display.shading
    sh.light = "MATCAP"
    sh.studio_light = "toon_light.exr"
    sh.color_type = "MATERIAL"
    sh.show_object_outline = True
    sh.object_outline_color = (0.08, 0.05, 0.05)
    sh.show_cavity = False
    sh.show_specular_highlight = False
    scene.view_settings.view_transform = "Standard"
    scene.render.fps = 24
    world = bpy.data.worlds.new("World")
    world.color = (1.0, 1.0, 1.0)
    scene.world = world


def assemble() -> None:
    scene = bpy.context.scene
    _scene_look(scene)
    arm = bpy_build.new_armature("Avatar")

    bm = body.BodyModel.build()
    v, q, W = bm.verts, bm.quads, bm.weights
    base = bpy.data.collections.new("Character")
    scene.collection.children.link(base)
    ob = bpy_build.new_mesh_object("Body", v, q, base)
    ob.data.materials.append(bpy_build.material("Skin", SKIN))
    bpy_build.skin(ob, arm, W)

    fv, ft, fm, fmats = face.face_mesh()
    fo = bpy_build.new_mesh_object("Face", fv, ft, base, material_index=fm)
    for name, rgb in fmats.items():
        fo.data.materials.append(bpy_build.material(name, rgb))
    bpy_build.rigid_skin(fo, arm, "Head")

    _landmark_empties(arm, base)

    parts = bpy.data.collections.new("GarmentParts")  # holds nothing itself; see costumes below
    objs = {}
    for g in garments.GARMENTS:
        gv, gq, gW = garments.garment_mesh(g, bm)
        go = bpy.data.objects.new(g.name, _mesh(g.name, gv, gq))
        go.data.materials.append(bpy_build.material(g.material, g.color))
        bpy_build.skin(go, arm, gW)
        objs[g.name] = go
        log.info("garment %s: %d vertices", g.name, len(gv))

    root = bpy.data.collections.new("Costumes")
    scene.collection.children.link(root)
    for cname, cparts, palette in costumes.costumes():
        c = bpy.data.collections.new(cname)
        root.children.link(c)
        c["palette"] = json.dumps(palette, sort_keys=True)
        for p in cparts:
            c.objects.link(objs[p])
    bpy.data.collections.remove(parts)

    heads, rest = bpy_build.rest_matrices(arm)
    first = None
    for name in motions.CLIPS:
        clip = motions.make_clip(name)
        act = write_action(arm, name, clip.fps, clip.local_quaternions(rest), clip.root_location(rest)[:, None],
                           list(BONE_NAMES), ["Hips"])
        first = first or act
    assign_action(arm, first)
    scene.frame_start, scene.frame_end = 1, int(first.frame_range[1])


def _landmark_empties(arm: bpy.types.Object, coll: bpy.types.Collection) -> None:
    """Empties kp_<Name> on the face and feet, parented to their bones (docs/rigs.md convention)."""
    for name, (bone, p) in landmarks.landmark_points().items():
        e = bpy.data.objects.new(name, None)
        e.empty_display_type = "SPHERE"
        e.empty_display_size = 0.01
        coll.objects.link(e)
        e.parent = arm
        e.parent_type = "BONE"
        e.parent_bone = bone
        b = arm.data.bones[bone]
        # A bone child hangs from the bone's tail: express p in that frame (armature at the origin).
        tail_frame = np.array(b.matrix_local) @ _translation(0.0, b.length, 0.0)
        e.matrix_parent_inverse = Matrix.Identity(4)
        e.matrix_basis = Matrix((np.linalg.inv(tail_frame) @ _translation(*p)).tolist())


def _translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def _mesh(name, v, q):
    """A mesh datablock (not linked to any collection)."""
    tmp = bpy.data.collections.new("_tmp")
    o = bpy_build.new_mesh_object(name, v, q, tmp)
    me = o.data
    bpy.data.objects.remove(o)
    bpy.data.collections.remove(tmp)
    return me


def fingerprint() -> dict:
    """Content fingerprint of the open avatar file (no timestamps): compare with a tolerance."""
    arm = bpy.data.objects["Avatar"]
    bones = {b.name: np.round(np.array(b.matrix_local), 5).ravel().tolist() for b in arm.data.bones}
    meshes = {}
    for o in sorted(bpy.data.objects, key=lambda o: o.name):
        if o.type != "MESH":
            continue
        co = np.empty(len(o.data.vertices) * 3, np.float32)
        o.data.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3).astype(float)
        meshes[o.name] = {"verts": len(o.data.vertices), "faces": len(o.data.polygons),
                          "sum": np.round(co.sum(0), 4).tolist(), "sq": round(float((co ** 2).sum()), 4),
                          "groups": sorted(g.name for g in o.vertex_groups),
                          "materials": [m.name for m in o.data.materials if m]}
    costumes = {}
    root = bpy.data.collections.get("Costumes")
    if root:
        for c in root.children:
            costumes[c.name] = {"objects": sorted(o.name for o in c.objects),
                                "palette": json.loads(c.get("palette", "{}"))}
    actions = {}
    for a in sorted(bpy.data.actions, key=lambda a: a.name):
        keys = []
        for layer in a.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    for fc in bag.fcurves:
                        co = np.empty(len(fc.keyframe_points) * 2, np.float32)
                        fc.keyframe_points.foreach_get("co", co)
                        keys.append((fc.data_path, fc.array_index, np.round(co.astype(float), 3).sum()))
        actions[a.name] = {"frame_range": list(a.frame_range), "curves": len(keys),
                           "checksum": round(float(sum(k[2] for k in keys)), 2)}
    empties = {}
    for o in sorted(bpy.data.objects, key=lambda o: o.name):
        if o.type == "EMPTY" and o.parent_type == "BONE":
            b = arm.data.bones[o.parent_bone]
            rest = (np.array(b.matrix_local) @ _translation(0.0, b.length, 0.0) @ np.array(o.matrix_parent_inverse)
                    @ np.array(o.matrix_basis))
            empties[o.name] = {"parent_bone": o.parent_bone, "rest": np.round(rest[:3, 3], 4).tolist()}
    return {"bones": bones, "meshes": meshes, "costumes": costumes, "actions": actions,
            "bone_names": list(BONE_NAMES), "landmarks": empties}
