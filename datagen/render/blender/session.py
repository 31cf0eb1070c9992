"""A rig loaded and set up for rendering: the Blender side of ``datagen render`` (docs/rendering.md).

Thin by design: it answers questions about the scene with arrays (keypoints of a pose, framing
vertices, ray-cast distances, a rendered RGBA frame); the decisions are made by the pure modules.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import bpy
import numpy as np

from datagen.format.keypoint_sets import get_keypoint_set
from datagen.render.blender import capture, rig as rigmod
from datagen.render.blender.landmarks import KeypointEvaluator, bone_empties, has_head_mesh, head_vertices
from datagen.render.compositing import resolve_samples
from datagen.render.engines import get_engine
from datagen.render.names import match_names
from datagen.pose.bone_mapping import JointSource, RigError, map_bones
from datagen.pose.landmarks import LandmarkSource, eye_bones, plan_landmarks

log = logging.getLogger(__name__)


@contextlib.contextmanager
def quiet_fds(enabled: bool = True):
    """Silence Blender's C-level chatter on stdout/stderr (render 'Saved:' lines, importer logs)."""
    if not enabled:
        yield
        return
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


class BlenderSession:
    """One rig in this process's Blender, with the costumes and clips chosen for a run."""

    def __init__(self, rig_path: Path, *, keymap: dict | None = None, costumes: list[str] | None = None,
                 clips: list[str] | None = None, motions: list[str] | None = None,
                 motion_fps: float | None = None, keypoint_set: str = "avatar20", quiet: bool = True,
                 require_clips: bool = True) -> None:
        self.quiet = quiet
        with quiet_fds(quiet):
            self.rig = rigmod.load_rig(rig_path)
        arm = self.rig.armature
        kps = get_keypoint_set(keypoint_set)
        # The avatar20 bones; complete for avatar20 itself, what the rig has for the other sets.
        self.body_mapping: dict[str, JointSource | None] = map_bones(
            self.rig.bone_names, self.rig.bone_parents, humanoid=self.rig.humanoid, keymap=keymap,
            rig=str(rig_path), strict=kps.name == "avatar20")
        if kps.name == "avatar20":
            self.mapping: dict = dict(self.body_mapping)
            sources = {k: LandmarkSource("joint", (j,)) if j else None for k, j in self.body_mapping.items()}
            head = None
        else:
            head = self._head_vertices()
            sources = plan_landmarks(kps, self.body_mapping, list(bone_empties(arm)),
                                     eye_bones(self.rig.bone_names, self.rig.humanoid), rig=str(rig_path),
                                     head_mesh=has_head_mesh(head))
            self.mapping = dict(sources)
        rest = {k: (np.array(arm.data.bones[j.bone].head_local), np.array(arm.data.bones[j.bone].tail_local))
                for k, j in self.body_mapping.items() if j is not None and j.end == "head"}
        self.evaluator = KeypointEvaluator(arm, sources, list(kps.landmarks), rest, head)
        self.own_clips = list(self.rig.clips)  # the rig's Actions (--motion replaces them as clips)
        if motions:
            self.rig.clips = self._add_motions(motions, motion_fps)
        self.rig_path = rig_path
        self.select(costumes, clips, require_clips)
        self.mapped = self.evaluator.mapped
        self.switcher = rigmod.CostumeSwitcher(self.rig)
        self.scene = self.rig.scene
        self._clip: int | None = None
        self._frame: float | None = None
        self.camera = None
        self.renderer = None
        self._jitter = None  # (offsets (n, 2), engines.Jitter) when the pipeline anti-aliases

    def select(self, costumes: list[str] | None, clips: list[str] | None, require_clips: bool = True) -> None:
        """Render these costumes and play these clips (by name; None: all), in the rig's order."""
        self.costumes = _select(self.rig.costumes, costumes, "costume", self.rig_path)
        self.clips = _select(self.rig.clips, clips, "clip", self.rig_path)
        self._clip = None
        if not self.clips and require_clips:
            raise RigError(f"{self.rig_path}: has no Action that animates armature {self.rig.armature.name!r} "
                           f"(no motion clip); play motion capture on it with --motion FILE.bvh")

    def _head_vertices(self) -> np.ndarray:
        """The rest vertices the Head bone deforms, on the always-shown meshes (the body), or else on the
        first costume's: the face, not a hat or hair of one outfit."""
        head = self.body_mapping.get("Head")
        if head is None:
            return np.zeros((0, 3))
        shown = rigmod.rendered_objects(self.rig.scene)
        managed = set().union(*(c.objects for c in self.rig.costumes))
        names = (shown - managed) or (self.rig.costumes[0].objects & shown)
        objects = capture.attached_meshes(self.rig.scene, self.rig.armature, names)
        return head_vertices(self.rig.armature, head.bone, objects)

    def _add_motions(self, motions: list[str], fps: float | None) -> list:
        """Retarget motion files (BVH, VMD, VPD) onto the armature as new Actions: they become the clips
        (in this order). An MMD model plays MMD motions on its own skeleton."""
        from datagen.mmd.skeleton import Skeleton
        from datagen.render.blender.retarget_bpy import add_motion_action

        scene = self.rig.scene
        fps = fps or scene.render.fps / scene.render.fps_base
        skeleton = Skeleton.from_model(self.rig.mmd_model) if self.rig.mmd_model is not None else None
        names = [add_motion_action(self.rig.armature, m, fps=fps, bone_map=self.body_mapping, assign=False,
                                   skeleton=skeleton).name for m in motions]
        by_name = {c.name: c for c in rigmod.find_clips(self.rig.armature)}
        return [by_name[n] for n in names]

    # -- set-up --------------------------------------------------------------------------------

    def configure(self, engine: str, size: int, samples: int | None, lens_mm: float) -> dict:
        settings = capture.configure_render(self.scene, engine, size, samples, keep_look=self.rig.from_blend,
                                            toon=self.rig.toon)
        self.camera = capture.make_camera(self.scene, lens_mm)
        self.renderer = capture.FrameRenderer(self.scene)
        jitter = get_engine(engine).jitter
        self._jitter = None if jitter is None else (np.array(settings["sample_offsets"]), jitter)
        return settings

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()

    @property
    def depsgraph(self) -> bpy.types.Depsgraph:
        return bpy.context.evaluated_depsgraph_get()

    # -- poses -----------------------------------------------------------------------------------

    def keypoints(self) -> np.ndarray:
        """(K, 3) world keypoints of the current evaluated pose (NaN where unmapped)."""
        return self.evaluator.evaluate(self.depsgraph)

    def all_bone_points(self) -> np.ndarray:
        heads, tails = capture.bone_ends(self.rig.armature, self.depsgraph)
        return np.concatenate([heads, tails])

    def go_to(self, clip: int, frame: float) -> None:
        """Evaluate clip ``clip`` at absolute frame ``frame`` (per-clip work only when it changes)."""
        if clip != self._clip:
            rigmod.reset_pose(self.rig.armature)  # bones the clip does not key: at rest, not the last clip's
            rigmod.assign_clip(self.rig, self.clips[clip])
            self._clip, self._frame = clip, None
        if frame != self._frame:
            rigmod.set_time(self.scene, frame)
            self._frame = frame

    def rest_keypoints(self) -> np.ndarray:
        """(K, 3) keypoints in the armature's rest pose."""
        arm = self.rig.armature.data
        old = arm.pose_position
        arm.pose_position = "REST"
        try:
            self.depsgraph.update()
            return self.keypoints()
        finally:
            arm.pose_position = old
            self.depsgraph.update()

    def framing_objects(self) -> list:
        """Mesh objects that move with the character, over every selected costume."""
        names = self.switcher.always() | set().union(*(c.objects for c in self.costumes))
        return capture.attached_meshes(self.scene, self.rig.armature, names & self.switcher.base)

    def framing_points(self, objects: list) -> np.ndarray:
        """(n, 3) world points that must stay in frame at the current pose: vertices and bone ends."""
        return np.concatenate([capture.mesh_vertices(objects, self.depsgraph), self.all_bone_points()])

    def joint_surface_depths(self, points: np.ndarray, directions: np.ndarray, reach: float) -> np.ndarray:
        """(K, M) depth of body surface in front of each point as seen from each direction.

        In the rest pose, with only the always-shown objects (the body; or else the first costume):
        a ray comes from ``reach`` away along each direction towards the point; the depth is the
        distance from its first hit to the point (0 when nothing is hit before the point). This is the
        same test the renderer makes with the camera's ray, so it measures what a joint's own skin
        looks like to it.
        """
        arm = self.rig.armature.data
        always = {n for n in self.switcher.always() if self.scene.objects[n].type == "MESH"}
        self.switcher.show(self.costumes[0])
        hidden = []
        if always:
            for c in self.costumes:
                for n in c.objects & self.switcher.base:
                    obj = self.scene.objects[n]
                    if not obj.hide_viewport:
                        obj.hide_viewport = True
                        hidden.append(obj)
        old = arm.pose_position
        arm.pose_position = "REST"
        try:
            dg = self.depsgraph
            dg.update()
            out = np.zeros((len(points), len(directions)))
            for k, p in enumerate(points):
                if np.isfinite(p).all():
                    t = capture.ray_hits(self.scene, dg, p + directions * reach, -directions, reach)
                    out[k] = np.where(np.isfinite(t), reach - t, 0.0)
        finally:
            arm.pose_position = old
            for obj in hidden:
                obj.hide_viewport = False
            self.switcher.current = None
            self.depsgraph.update()
        return out

    def skeleton_only(self) -> None:
        """Leave only the armature in the depsgraph (pose-only runs): a frame change then deforms no
        mesh, which is most of what evaluating a pose costs."""
        for obj in self.scene.objects:
            if obj.type == "MESH" and not obj.hide_viewport:
                obj.hide_viewport = True
        self.depsgraph.update()

    # -- views -----------------------------------------------------------------------------------

    def show_all_costumes(self) -> None:
        """Every selected costume at once (the planning pass frames them all)."""
        self.switcher.show_union(self.costumes)
        self.depsgraph.update()

    def render_view(self, costume: int, world_to_cam: np.ndarray, near: float, far: float,
                    joints: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Render the current pose in ``costume`` from a camera; return (RGBA (S, S, 4) uint8,
        hit distances (K,) of rays camera -> joint, stopped ``radius`` before each joint)."""
        self.switcher.show(self.costumes[costume])
        capture.place_camera(self.camera, world_to_cam, near, far)
        dg = self.depsgraph
        dg.update()
        with quiet_fds(self.quiet):
            if self._jitter is None:
                rgba = self.renderer.render()
            else:
                offsets, jitter = self._jitter
                samples = self.renderer.render_jittered(self.camera, offsets)
        if self._jitter is not None:
            rgba = resolve_samples(samples, offsets, jitter.filter_width, jitter.offset_scale)
        centre = -world_to_cam[:3, :3].T @ world_to_cam[:3, 3]
        vec = joints - centre
        dist = np.linalg.norm(vec, axis=1)
        ok = np.isfinite(dist) & (dist > 0)
        dirs = np.where(ok[:, None], vec / np.where(ok, dist, 1)[:, None], 0.0)
        hits = capture.ray_hits(self.scene, dg, np.repeat(centre[None], len(joints), 0), dirs,
                                np.where(ok, dist - radius, 0.0))
        return rgba, hits


def _select(items: list, names: list[str] | None, what: str, rig_path: Path) -> list:
    if not names:
        return list(items)
    try:
        wanted = set(match_names([i.name for i in items], names, what, str(rig_path)))
    except ValueError as e:
        raise RigError(str(e)) from None
    return [i for i in items if i.name in wanted]  # rig order, so the row order does not depend on the option's order

