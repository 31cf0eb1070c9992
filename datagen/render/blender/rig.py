"""Loading a rig into Blender and reading its armature, costumes and motion clips (docs/rigs.md).

Conventions (the default avatar in rigs/ follows them):

* Costumes: the children of a top-level collection ``Costumes``; objects linked into a costume
  collection render only for that costume, all other objects always. A costume collection may carry
  a custom property ``palette``: JSON ``{material name: [r, g, b]}`` (linear 0..1).
* Clips: every Action that animates the armature (``datagen_ignore`` property: skipped); Blender 5
  slotted actions are assigned with their slot.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from bpy_extras import anim_utils

from datagen.mmd import MODEL_SUFFIXES
from datagen.mmd.names import mmd_keypoints
from datagen.pose.bone_mapping import VRM_EYES, RigError, read_gltf_json, vrm_humanoid
from datagen.render.blender import vrm
from datagen.render.vrm import vrm_version

log = logging.getLogger(__name__)

COSTUMES_COLLECTION = "Costumes"
DEFAULT_COSTUME = "default"
IGNORE_PROPERTY = "datagen_ignore"
RIG_SUFFIXES = (".blend", ".glb", ".gltf", ".vrm", ".fbx") + MODEL_SUFFIXES


@dataclass
class Clip:
    """One motion clip: an Action (and its slot for the armature) over [start, end] in frames."""

    name: str
    action: bpy.types.Action
    slot: bpy.types.ActionSlot
    start: float
    end: float

    @property
    def duration(self) -> float:
        # A one-key pose still is shown for one frame.
        return max(self.end - self.start, 1.0)


@dataclass
class Costume:
    name: str
    objects: set[str]  # objects shown only for this costume
    palette: dict[str, tuple[float, float, float]] = field(default_factory=dict)


@dataclass
class Rig:
    path: Path
    scene: bpy.types.Scene
    armature: bpy.types.Object
    from_blend: bool
    humanoid: dict[str, str]  # keypoint -> bone, from a VRM humanoid table
    costumes: list[Costume]
    clips: list[Clip]
    mmd_model: object | None = None  # datagen.mmd.model.Model of a .pmx/.pmd rig (its skeleton plays VMDs)
    warnings: list[str] = field(default_factory=list)  # one line each (e.g. a VRM texture that cannot be read)
    toon: bool = False  # brings its own toon materials and outline (a VRM)

    @property
    def bone_names(self) -> list[str]:
        return [b.name for b in self.armature.data.bones]

    @property
    def bone_parents(self) -> dict[str, str | None]:
        return {b.name: b.parent.name if b.parent else None for b in self.armature.data.bones}


def load_rig(path: Path) -> Rig:
    """Open or import ``path`` into a fresh Blender session (a .blend never runs its scripts)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RIG_SUFFIXES:
        raise RigError(f"{path}: unsupported rig type {suffix or '(none)'} (use {', '.join(RIG_SUFFIXES)})")
    if not path.is_file():
        raise RigError(f"{path}: no such rig file")
    # Never trust a rig file: no registered text blocks, no Python drivers.
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    humanoid: dict[str, str] = {}
    mmd_model = None
    gltf: dict | None = None
    try:
        if suffix == ".blend":
            bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False, use_scripts=False)
        else:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            bpy.context.preferences.filepaths.use_scripts_auto_execute = False
            if suffix == ".fbx":
                bpy.ops.import_scene.fbx(filepath=str(path))
            elif suffix in MODEL_SUFFIXES:
                from datagen.mmd.model import load_model
                from datagen.render.blender.mmd_bpy import blender_bone_names, build_model

                mmd_model = load_model(path)
                build_model(mmd_model)
                names = blender_bone_names(mmd_model)
                humanoid = mmd_keypoints(names, {n: b.name_en for n, b in zip(names, mmd_model.bones)})
            else:
                gltf = read_gltf_json(path)  # a truncated or garbage file is named before the importer runs
                # Point bones at their children, so a bone's tail is the next joint (the Hand and
                # Toes fallbacks use tails; glTF itself has no tails).
                bpy.ops.import_scene.gltf(filepath=str(path), bone_heuristic="TEMPERANCE")
                humanoid = {**vrm_humanoid(gltf), **vrm_humanoid(gltf, VRM_EYES)}
    except RuntimeError as e:
        msg = str(e).strip().splitlines()[-1].removeprefix("Error: ") if str(e).strip() else type(e).__name__
        raise RigError(f"{path}: cannot load rig ({msg})") from None
    scene = bpy.context.scene
    armature = _find_armature(scene, path)
    toon = gltf is not None and vrm_version(gltf) is not None
    warnings = vrm.dress(path, scene, gltf) if toon else []
    return Rig(path=path, scene=scene, armature=armature, from_blend=suffix == ".blend", humanoid=humanoid,
               costumes=_costumes(scene), clips=find_clips(armature), mmd_model=mmd_model, warnings=warnings,
               toon=toon)


def _find_armature(scene: bpy.types.Scene, path: Path) -> bpy.types.Object:
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    if not arms:
        raise RigError(f"{path}: has no armature (a rig needs a humanoid skeleton)")
    return max(arms, key=lambda o: (len(o.data.bones), o.name))


def _costumes(scene: bpy.types.Scene) -> list[Costume]:
    top = scene.collection.children.get(COSTUMES_COLLECTION)
    if top is None or not top.children:
        return [Costume(DEFAULT_COSTUME, set())]
    out = []
    for c in top.children:
        palette = {}
        if "palette" in c:
            try:
                palette = {k: tuple(float(x) for x in v[:3]) for k, v in json.loads(str(c["palette"])).items()}
            except (ValueError, TypeError, AttributeError) as e:
                raise RigError(f"costume {c.name!r}: bad palette property ({e})") from None
        out.append(Costume(c.name, {o.name for o in c.all_objects}, palette))
    return out


def _animated_bones(action: bpy.types.Action, slot: bpy.types.ActionSlot) -> set[str]:
    bag = anim_utils.action_get_channelbag_for_slot(action, slot)
    if bag is None:
        return set()
    out = set()
    for fc in bag.fcurves:
        if fc.data_path.startswith('pose.bones["'):
            out.add(fc.data_path.split('"')[1])
    return out


def find_clips(armature: bpy.types.Object) -> list[Clip]:
    """Every Action that animates ``armature`` (docs/rigs.md), in Blender's (name) order."""
    bones = {b.name for b in armature.data.bones}
    clips = []
    for action in bpy.data.actions:
        if IGNORE_PROPERTY in action:
            continue
        slots = [s for s in action.slots if s.target_id_type == "OBJECT" and _animated_bones(action, s) & bones]
        if not slots:
            continue
        # Prefer the slot made for this armature (identifier "OB<name>").
        slot = next((s for s in slots if s.identifier == "OB" + armature.name), slots[0])
        start, end = (float(x) for x in action.frame_range)
        clips.append(Clip(action.name, action, slot, start, end))
    return clips


def rendered_objects(scene: bpy.types.Scene) -> set[str]:
    """Names of the objects a render would show (ignoring costume switching)."""
    out: set[str] = set()

    def walk(lc: bpy.types.LayerCollection, parent_visible: bool) -> None:
        visible = parent_visible and not lc.exclude and not lc.collection.hide_render
        if visible:
            out.update(o.name for o in lc.collection.objects if not o.hide_render)
        for child in lc.children:
            walk(child, visible)

    walk(scene.view_layers[0].layer_collection, True)
    return out


class CostumeSwitcher:
    """Shows one costume at a time, in the render and in the viewport depsgraph (for ray casts)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.base = rendered_objects(rig.scene)
        self.managed = set().union(*(c.objects for c in rig.costumes))
        self._original_colors: dict[str, tuple] = {}
        self.current: str | None = None
        # The viewport depsgraph must hold exactly what renders, so that ray casts see the same scene.
        for coll in bpy.data.collections:
            coll.hide_viewport = coll.hide_render
        for obj in rig.scene.objects:
            obj.hide_viewport = obj.name not in self.base
            if obj.name in self.base:
                obj.hide_set(False)

    def always(self) -> set[str]:
        return self.base - self.managed

    def show(self, costume: Costume) -> None:
        if self.current == costume.name:
            return
        for name in self.managed & self.base:
            obj = bpy.data.objects[name]
            hidden = name not in costume.objects
            if obj.hide_render != hidden:
                obj.hide_render = hidden
            if obj.hide_viewport != hidden:
                obj.hide_viewport = hidden
        self._restore_colors()
        for mat_name, rgb in costume.palette.items():
            mat = bpy.data.materials.get(mat_name)
            if mat is None:
                log.warning("costume %s: palette names unknown material %r", costume.name, mat_name)
                continue
            self._set_color(mat, rgb)
        self.current = costume.name

    def show_union(self, costumes: list[Costume]) -> None:
        """The objects of all these costumes visible at once (framing over every costume)."""
        wanted = set().union(*(c.objects for c in costumes))
        for name in self.managed & self.base:
            obj = bpy.data.objects[name]
            obj.hide_render = obj.hide_viewport = name not in wanted
        self.current = None

    def _color_sockets(self, mat: bpy.types.Material) -> list:
        socks = []
        if mat.node_tree is not None:
            rgb = mat.node_tree.nodes.get("BaseColor")
            if rgb is not None and rgb.type == "RGB":
                socks.append(rgb.outputs[0])
            else:
                socks += [n.inputs["Base Color"] for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"]
        return socks

    def _set_color(self, mat: bpy.types.Material, rgb: tuple[float, float, float]) -> None:
        if mat.name not in self._original_colors:
            self._original_colors[mat.name] = (tuple(mat.diffuse_color),
                                               [tuple(s.default_value) for s in self._color_sockets(mat)])
        mat.diffuse_color = (*rgb, mat.diffuse_color[3])
        for s in self._color_sockets(mat):
            s.default_value = (*rgb, s.default_value[3])

    def _restore_colors(self) -> None:
        for name, (diffuse, sockets) in self._original_colors.items():
            mat = bpy.data.materials[name]
            mat.diffuse_color = diffuse
            for s, v in zip(self._color_sockets(mat), sockets):
                s.default_value = v
        self._original_colors.clear()


def assign_clip(rig: Rig, clip: Clip) -> None:
    """Play ``clip`` on the armature (action + slot), and on every other ID its action animates."""
    for slot in clip.action.slots:
        users = [rig.armature] if slot == clip.slot else [u for u in slot.users() if u != rig.armature]
        for user in users:
            ad = user.animation_data or user.animation_data_create()
            ad.use_nla = False  # the clip alone, not the NLA stack an importer may have built
            if ad.action != clip.action:
                ad.action = clip.action
            ad.action_slot = slot
            ad.action_influence = 1.0


def reset_pose(armature: bpy.types.Object) -> None:
    """Every pose bone at rest (identity location, rotation and scale, in every rotation mode).

    An Action sets only the channels it keys; the others keep whatever was evaluated last. Resetting
    before a clip is played makes a pose a function of (clip, frame) alone: the same in the plan, in
    every worker and after ``--resume``, whichever clip ran before.
    """
    for pb in armature.pose.bones:
        pb.location = (0.0, 0.0, 0.0)
        pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pb.rotation_euler = (0.0, 0.0, 0.0)
        pb.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
        pb.scale = (1.0, 1.0, 1.0)


def set_time(scene: bpy.types.Scene, frame: float) -> None:
    """Go to a (fractional) frame and evaluate the scene there."""
    whole = math.floor(frame)
    scene.frame_set(int(whole), subframe=float(frame - whole))
