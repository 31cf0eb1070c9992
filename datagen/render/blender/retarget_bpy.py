"""Baking retargeted motion capture into an Action on any armature (the bpy side of datagen.pose.retarget).

    act = add_bvh_action(armature_obj, "clip.bvh", fps=30)   # a new Action, assigned with its slot

The maths (BVH and MMD motion parsing, direction-based retargeting) is pure numpy in datagen.pose.bvh,
datagen.mmd and datagen.pose.retarget (:func:`datagen.pose.motions.motion_source` by file type); this
module only reads the armature's rest pose and writes keyframes (Blender 5 slotted actions).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import bpy
import numpy as np

from datagen.pose import retarget
from datagen.pose.motions import motion_source

log = logging.getLogger(__name__)


def write_action(arm: bpy.types.Object, name: str, fps: float, quats: np.ndarray, locations: np.ndarray,
                 bones: list[str], location_bones: list[str], unit_scale: bool = False) -> bpy.types.Action:
    """A new slotted Action keying ``rotation_quaternion`` of ``bones`` (quats: (F,B,4) wxyz) and
    ``location`` of ``location_bones`` (locations: (F,L,3), in each bone's rest frame) on frames 1..F,
    linear interpolation, frame range set, fake user on, custom property ``fps``; with ``unit_scale``
    also ``scale`` = 1 on every bone (so nothing left over from another action survives). The
    armature's pose bones are switched to quaternion rotation. The action is not assigned."""
    act = bpy.data.actions.new(name)
    act.use_fake_user = True
    slot = act.slots.new(id_type="OBJECT", name=arm.name)
    strip = act.layers.new("Layer").strips.new(type="KEYFRAME")
    bag = strip.channelbag(slot, ensure=True)
    F = quats.shape[0]
    frames = np.arange(1, F + 1, dtype=np.float32)
    linear = np.full(F, bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value,
                     dtype=np.int32)

    def put(path: str, index: int, values: np.ndarray, group: str) -> None:
        fc = bag.fcurves.new(path, index=index, group_name=group)
        fc.keyframe_points.add(F)
        fc.keyframe_points.foreach_set("co", np.stack([frames, values.astype(np.float32)], 1).ravel())
        fc.keyframe_points.foreach_set("interpolation", linear)
        fc.update()

    for li, bn in enumerate(location_bones):
        for i in range(3):
            put(f'pose.bones["{bn}"].location', i, locations[:, li, i], bn)
    for bi, bn in enumerate(bones):
        arm.pose.bones[bn].rotation_mode = "QUATERNION"
        for i in range(4):
            put(f'pose.bones["{bn}"].rotation_quaternion', i, quats[:, bi, i], bn)
        if unit_scale:
            for i in range(3):
                put(f'pose.bones["{bn}"].scale', i, np.ones(F), bn)
    act.use_frame_range = True
    act.frame_start, act.frame_end = 1, max(F, 2)
    act["fps"] = float(fps)
    return act


def assign_action(arm: bpy.types.Object, act: bpy.types.Action) -> None:
    ad = arm.animation_data or arm.animation_data_create()
    ad.action = act
    ad.action_slot = act.slots[0]


def rig_from_armature(arm: bpy.types.Object, bone_map: Mapping[str, object] | None = None) -> retarget.TargetRig:
    """The rest pose of ``arm`` in world space (Z up, whatever the object's own rotation and uniform scale,
    as after a glTF or FBX import) with its keypoint -> bone map.

    bone_map: keypoint -> bone name or a ``JointSource`` (only bone heads count: a Hand/Toes keypoint
    standing on its parent's tail means the rig has no such bone). Default: datagen.pose.bone_mapping rules.
    """
    bones = list(arm.data.bones)
    names = [b.name for b in bones]
    if bone_map is None:
        from datagen.pose.bone_mapping import map_bones
        bone_map = map_bones(names, {b.name: b.parent.name if b.parent else None for b in bones}, rig=arm.name)
    idx = {n: i for i, n in enumerate(names)}
    mapping = {}
    for k, v in bone_map.items():
        if v is None:
            continue
        bone, end = (v, "head") if isinstance(v, str) else (v.bone, v.end)
        if end == "head" and bone in idx:
            mapping[k] = idx[bone]
    M = np.array(arm.matrix_world)
    R = M[:3, :3] / _scale(arm)
    return retarget.TargetRig(
        names=names,
        parents=np.array([idx[b.parent.name] if b.parent else -1 for b in bones]),
        heads=np.array([b.head_local for b in bones], dtype=float) @ M[:3, :3].T + M[:3, 3],
        tails=np.array([b.tail_local for b in bones], dtype=float) @ M[:3, :3].T + M[:3, 3],
        rest=np.array([R @ np.array(b.matrix_local)[:3, :3] for b in bones], dtype=float),
        bone_map=mapping,
    )


def _scale(arm: bpy.types.Object) -> float:
    return float(np.cbrt(abs(np.linalg.det(np.array(arm.matrix_world)[:3, :3]))))


def add_motion_action(arm: bpy.types.Object, motion_path: str | Path, fps: float | None = None,
                      bone_map: Mapping[str, object] | None = None, name: str | None = None,
                      assign: bool = True, skeleton=None) -> bpy.types.Action:
    """Retarget a motion file (BVH, or an MMD .vmd/.vpd played on ``skeleton``, an MMD model's, else MMD's
    standard one) onto armature object ``arm`` and bake it into a new Action named ``name`` (default:
    the file's stem), resampled to ``fps`` (default: the motion's own rate). Keys every bone's rotation,
    location and scale (so that no channel of another action lingers); assigns the action and its slot to
    ``arm`` unless ``assign`` is False. Bones of an MMD motion that the skeleton lacks are skipped with
    one warning. Raises DatagenError (one line) for an unreadable motion or an unmappable rig."""
    path = Path(motion_path)
    src, skipped = motion_source(path, skeleton)
    if skipped:
        shown = ", ".join(skipped[:12]) + (f" and {len(skipped) - 12} more" if len(skipped) > 12 else "")
        log.warning("%s: skipped %d bone(s) the skeleton does not have: %s", path, len(skipped), shown)
    if fps:
        src = retarget.resample(src, fps)
    rig = rig_from_armature(arm, bone_map)
    res = retarget.retarget(src, rig)
    # location channels are in armature units: undo the object's scale
    act = write_action(arm, name or path.stem, res.fps, res.quats, res.locations / _scale(arm),
                       rig.names, rig.names, unit_scale=True)
    if assign:
        assign_action(arm, act)
    return act


add_bvh_action = add_motion_action  # the BVH-era name
