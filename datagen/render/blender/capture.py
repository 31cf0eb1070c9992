"""Render settings, the camera, rendering a frame to /dev/shm and reading it back, evaluated bone
positions, framing geometry and occlusion ray casts (docs/rendering.md)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

from datagen.render.compositing import decode_tga, sample_offsets
from datagen.render.engines import get_engine
from datagen.format.camera import SENSOR_MM, blender_from_extrinsics


def configure_render(scene: bpy.types.Scene, engine: str, size: int, samples: int | None,
                     keep_look: bool, toon: bool = False) -> dict:
    """Set the render settings the pipeline needs; return them (recorded in the dataset config).

    ``keep_look``: a .blend rig keeps its own Workbench shading (the avatar's toon matcap and
    outline); other rigs get a studio-lit, material-coloured look with an outline.
    """
    r = scene.render
    r.resolution_x = r.resolution_y = size
    r.resolution_percentage = 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_border = False
    r.film_transparent = True
    r.use_motion_blur = False
    r.use_compositing = False
    r.use_sequencer = False
    r.dither_intensity = 0.0  # deterministic 8-bit output
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.display_settings.display_device = "sRGB"
    s = r.image_settings
    s.media_type = "IMAGE"
    s.file_format = "TARGA_RAW"
    s.color_mode = "RGBA"
    eng = get_engine(engine)
    r.engine = eng.blender_id
    settings: dict = {"engine": engine, "view_transform": "Standard", "film_transparent": True,
                      "output": "TARGA_RAW RGBA on /dev/shm", "look": "rig" if keep_look else "toon" if toon else "default"}
    for path, value in eng.settings.items():
        _set(scene, path, value)
    if not keep_look:
        for path, value in (eng.default_look | (eng.toon_look if toon else {})).items():
            _set(scene, path, value)
    if eng.jitter is not None:
        # N renders with the renderer's anti-aliasing off, jittered and resolved by the pipeline.
        for path, value in eng.jitter.off_settings.items():
            _set(scene, path, value)
        n = eng.default_samples if samples is None else samples
        settings.update(samples=n, antialiasing=f"{n} jittered renders" if n > 1 else "off",
                        sample_offsets=sample_offsets(n).tolist(), filter_width=eng.jitter.filter_width,
                        offset_scale=eng.jitter.offset_scale,
                        **{path.rsplit(".", 1)[1]: _get(scene, path) for path in eng.jitter.off_settings})
    else:
        if not (samples is None and keep_look and eng.rig_keeps_samples):
            _set(scene, eng.samples_path, eng.samples_value(eng.default_samples if samples is None else samples))
        settings["samples"] = _get(scene, eng.samples_path)
        settings["antialiasing"] = "renderer"
    for path in eng.default_look | (eng.toon_look if toon else {}):
        settings[path.rsplit(".", 1)[1]] = _get(scene, path)
    if eng.world_light is not None:
        settings["lighting"] = light_scene(scene, eng.world_light)
    return settings


# A world dimmer than this (mean linear colour x strength) lights nothing a camera would show.
DARK_WORLD = 0.2


def world_emission(world: bpy.types.World | None) -> float:
    """The mean linear radiance a world sends in: its Background node's colour x strength; inf when
    something is plugged into them (a sky or an image: assume it lights), 0 without a world."""
    if world is None:
        return 0.0
    tree = world.node_tree
    out = next((n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputWorld" and n.is_active_output), None) \
        if tree is not None else None
    if out is None or not out.inputs["Surface"].is_linked:
        return 0.0 if tree is not None else float(sum(world.color) / 3)
    node = out.inputs["Surface"].links[0].from_node
    if node.bl_idname != "ShaderNodeBackground":
        return float("inf")
    color, strength = node.inputs["Color"], node.inputs["Strength"]
    if color.is_linked or strength.is_linked:
        return float("inf")
    return float(sum(color.default_value[:3]) / 3 * strength.default_value)


def light_scene(scene: bpy.types.Scene, strength: float) -> str:
    """Light a scene that has no light of its own (no lamp that renders, a dark world) with a new
    uniform white world of ``strength``; return what lights it (recorded in the dataset config)."""
    if any(o.type == "LIGHT" and not o.hide_render for o in scene.objects):
        return "the rig's lamps"
    if world_emission(scene.world) >= DARK_WORLD:
        return "the rig's world"
    world = bpy.data.worlds.new("datagen_white_world")
    bg = next(n for n in world.node_tree.nodes if n.bl_idname == "ShaderNodeBackground")
    bg.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    bg.inputs["Strength"].default_value = strength
    scene.world = world
    return f"a uniform white world of strength {strength:g}"


def _set(obj, path: str, value) -> None:
    *parents, name = path.split(".")
    for p in parents:
        obj = getattr(obj, p)
    setattr(obj, name, value)


def _get(obj, path: str):
    for p in path.split("."):
        obj = getattr(obj, p)
    return obj if isinstance(obj, (bool, int, float, str)) else [float(v) for v in obj]


def make_camera(scene: bpy.types.Scene, lens_mm: float) -> bpy.types.Object:
    """A new perspective camera (sensor fit AUTO, 36 mm sensor) made the scene camera."""
    data = bpy.data.cameras.new("datagen_camera")
    data.type = "PERSP"
    data.lens = lens_mm
    data.sensor_width = SENSOR_MM
    data.sensor_fit = "AUTO"
    data.shift_x = data.shift_y = 0.0
    cam = bpy.data.objects.new("datagen_camera", data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    return cam


def place_camera(cam: bpy.types.Object, world_to_cam: np.ndarray, near: float, far: float) -> None:
    cam.matrix_world = Matrix(blender_from_extrinsics(world_to_cam).tolist())
    cam.data.clip_start = near
    cam.data.clip_end = far


class FrameRenderer:
    """Renders the scene camera's view to an uncompressed TGA in /dev/shm and reads it back."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.folder = Path(tempfile.mkdtemp(prefix=f"datagen-{os.getpid()}-", dir=base))
        self.path = self.folder / "frame.tga"
        self.scene = scene
        scene.render.filepath = str(self.path)
        scene.render.use_file_extension = False

    def render(self) -> np.ndarray:
        """(S, S, 4) uint8 straight-alpha RGBA of the current frame."""
        bpy.ops.render.render(write_still=True)
        return decode_tga(self.path.read_bytes())

    def render_jittered(self, camera: bpy.types.Object, offsets: np.ndarray) -> list[np.ndarray]:
        """One render per sub-pixel offset (n, 2) (x right, y down, pixels): the camera's lens shift
        moves the image plane, so pixel centres sample the scene at centre + offset."""
        size = self.scene.render.resolution_x
        data = camera.data
        out = []
        try:
            for ox, oy in offsets:
                # Shift is in units of the sensor's fitted (here: the only) dimension; +y is up.
                data.shift_x, data.shift_y = ox / size, -oy / size
                out.append(self.render())
        finally:
            data.shift_x = data.shift_y = 0.0
        return out

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass


def bone_ends(armature: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> tuple[np.ndarray, np.ndarray]:
    """World heads and tails (B, 3) of every bone, in ``pose.bones`` order, in the evaluated pose."""
    ev = armature.evaluated_get(depsgraph)
    n = len(ev.pose.bones)
    heads, tails = np.empty(n * 3, np.float32), np.empty(n * 3, np.float32)
    ev.pose.bones.foreach_get("head", heads)
    ev.pose.bones.foreach_get("tail", tails)
    m = np.array(ev.matrix_world, dtype=np.float64)
    to_world = lambda p: p.reshape(n, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]
    return to_world(heads), to_world(tails)


def mesh_vertices(objects: list[bpy.types.Object], depsgraph: bpy.types.Depsgraph) -> np.ndarray:
    """World positions (n, 3) of the evaluated (deformed) vertices of mesh objects."""
    parts = []
    for obj in objects:
        ev = obj.evaluated_get(depsgraph)
        mesh = ev.to_mesh()
        try:
            co = np.empty(len(mesh.vertices) * 3, np.float32)
            mesh.vertices.foreach_get("co", co)
        finally:
            ev.to_mesh_clear()
        m = np.array(ev.matrix_world, dtype=np.float64)
        parts.append(co.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3])
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def attached_meshes(scene: bpy.types.Scene, armature: bpy.types.Object, names: set[str]) -> list[bpy.types.Object]:
    """The mesh objects among ``names`` that move with the armature (deformed by it or parented to it)."""
    out = []
    for name in sorted(names):
        obj = scene.objects.get(name)
        if obj is None or obj.type != "MESH":
            continue
        deformed = any(m.type == "ARMATURE" and m.object == armature for m in obj.modifiers)
        p = obj.parent
        while p is not None and p != armature:
            p = p.parent
        if deformed or p == armature:
            out.append(obj)
    return out


def ray_hits(scene: bpy.types.Scene, depsgraph: bpy.types.Depsgraph, origins: np.ndarray,
             directions: np.ndarray, max_distance: np.ndarray | float, min_distance: float = 0.0) -> np.ndarray:
    """Distance (n,) to the first surface along each ray (inf where nothing is hit within range).

    Hits closer than ``min_distance`` are stepped over (a ray that starts on a face).
    """
    n = len(origins)
    dmax = np.broadcast_to(np.asarray(max_distance, dtype=np.float64), (n,))
    out = np.full(n, np.inf)
    for i in range(n):
        if not dmax[i] > 0:
            continue
        o, d = Vector(origins[i]), Vector(directions[i])
        travelled = 0.0
        for _ in range(8):
            hit, loc, *_ = scene.ray_cast(depsgraph, o + d * travelled, d, distance=float(dmax[i] - travelled))
            if not hit:
                break
            t = (Vector(loc) - o).length
            if t >= min_distance:
                out[i] = t
                break
            travelled = t + max(min_distance, 1e-6)
    return out
