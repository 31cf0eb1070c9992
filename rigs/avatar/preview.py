"""Minimal bpy preview renders of the avatar (the 3x3 docs sheet, tests): costume switch, camera, render.

The real renderer is ``datagen render``; this follows the same conventions (docs/rigs.md): objects in a
costume collection render only for that costume, the costume's ``palette`` recolours materials.
"""
from __future__ import annotations

import json
import math

import bpy
import numpy as np


def costume_names() -> list[str]:
    root = bpy.data.collections.get("Costumes")
    return [c.name for c in root.children] if root else []


def set_costume(name: str | None) -> None:
    """Show only the garments of costume ``name`` and apply its palette (restoring other colours)."""
    root = bpy.data.collections["Costumes"]
    show = set()
    palette = {}
    for c in root.children:
        if c.name == name:
            show = {o.name for o in c.objects}
            palette = json.loads(c.get("palette", "{}"))
    # collect first: changing visibility while iterating all_objects invalidates its cache (crash)
    garments = {o.name for c in root.children for o in c.objects}
    for name in sorted(garments):
        bpy.data.objects[name].hide_render = name not in show
    for m in bpy.data.materials:
        if "rest_color" not in m:
            m["rest_color"] = list(m.diffuse_color)[:3]
        rgb = palette.get(m.name, m["rest_color"])
        m.diffuse_color = (*rgb, 1.0)
        if m.node_tree and "BaseColor" in m.node_tree.nodes:
            m.node_tree.nodes["BaseColor"].outputs[0].default_value = (*rgb, 1.0)


def set_pose(arm: bpy.types.Object, action_name: str, frame: int) -> None:
    act = bpy.data.actions[action_name]
    arm.animation_data.action = act
    arm.animation_data.action_slot = act.slots[0]
    bpy.context.scene.frame_set(frame)


def setup_camera(size: int, target=(0.0, 0.0, 0.8), ortho_scale: float = 1.9, yaw_deg: float = 0.0,
                 pitch_deg: float = 0.0) -> bpy.types.Object:
    """Orthographic camera looking at ``target`` from the character's front (-Y), white background."""
    sc = bpy.context.scene
    cam = bpy.data.objects.get("PreviewCamera")
    if cam is None:
        cam = bpy.data.objects.new("PreviewCamera", bpy.data.cameras.new("PreviewCamera"))
        sc.collection.objects.link(cam)
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = ortho_scale
    yaw = math.radians(yaw_deg)
    pitch = math.radians(pitch_deg)
    d = np.array([math.sin(yaw) * math.cos(pitch), -math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
    cam.location = tuple(np.asarray(target) + 5.0 * d)
    cam.rotation_euler = (math.pi / 2 - pitch, 0.0, yaw)
    sc.camera = cam
    sc.render.resolution_x = sc.render.resolution_y = size
    sc.render.resolution_percentage = 100
    sc.render.film_transparent = False
    sc.view_settings.view_transform = "Standard"
    world = sc.world or bpy.data.worlds.new("World")
    sc.world = world
    world.color = (1.0, 1.0, 1.0)
    sc.display.shading.background_type = "WORLD" if hasattr(sc.display.shading, "background_type") else None
    return cam


def render(path: str) -> None:
    sc = bpy.context.scene
    sc.render.filepath = path
    sc.render.image_settings.file_format = "PNG"
    bpy.ops.render.render(write_still=True)
