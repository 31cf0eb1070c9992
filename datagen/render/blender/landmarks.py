"""Evaluating keypoints of any set on an armature (the Blender side of :mod:`datagen.pose.landmarks`).

Every source becomes terms "a fixed point in the frame of a pose bone": a bone's head is (0, 0, 0) of
its frame, its tail (0, length, 0), an empty parented to a bone its rest position carried into that
bone's rest frame, a fallback its rest point likewise. A pose is then one ``foreach_get`` of the pose
bones' matrices and a weighted sum, fast enough for pose-only runs, and independent of whether the
empties are visible in the depsgraph.
"""
from __future__ import annotations

import bpy
import numpy as np

from datagen.pose.bone_mapping import RigError
from datagen.pose.face_geometry import MIN_VERTICES, face_points
from datagen.pose.landmarks import LandmarkSource, fallback_points

HEAD_WEIGHT = 0.5  # a vertex belongs to the head when the head bone carries at least this share of it


def bone_empties(armature: bpy.types.Object) -> dict[str, bpy.types.Object]:
    """Empties parented to a bone of ``armature`` (the ``kp_`` convention), by name."""
    return {o.name: o for o in bpy.data.objects
            if o.type == "EMPTY" and o.parent == armature and o.parent_type == "BONE" and o.parent_bone}


def head_vertices(armature: bpy.types.Object, bone: str, objects: list[bpy.types.Object]) -> np.ndarray:
    """(n, 3) rest-pose vertices, in armature space, of the meshes among ``objects`` that ``bone`` deforms
    (vertex group weight >= :data:`HEAD_WEIGHT`)."""
    to_arm = np.linalg.inv(np.array(armature.matrix_world, dtype=np.float64))
    parts = []
    for obj in objects:
        group = obj.vertex_groups.get(bone)
        if obj.type != "MESH" or group is None:
            continue
        mesh = obj.data
        weights = np.zeros(len(mesh.vertices))
        for v in mesh.vertices:
            for g in v.groups:
                if g.group == group.index:
                    weights[v.index] = g.weight
        co = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", co)
        m = to_arm @ np.array(obj.matrix_world, dtype=np.float64)
        pts = co.reshape(-1, 3).astype(np.float64)[weights >= HEAD_WEIGHT]
        parts.append(pts @ m[:3, :3].T + m[:3, 3])
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def has_head_mesh(vertices: np.ndarray) -> bool:
    return len(vertices) >= MIN_VERTICES


class KeypointEvaluator:
    """Keypoints (K, 3) world of the evaluated pose, for sources keyed by keypoint (None: unmapped)."""

    def __init__(self, armature: bpy.types.Object, sources: dict[str, LandmarkSource | None],
                 landmarks: list[str], rest_ends: dict[str, tuple[np.ndarray, np.ndarray]],
                 head: np.ndarray | None = None) -> None:
        """sources: keypoint -> source in set order; landmarks: each keypoint's landmark; rest_ends:
        avatar20 keypoint -> rest (head, tail) in armature space of its bone (for the fallbacks); head:
        the rest vertices the Head bone deforms (:func:`head_vertices`, for ``head_mesh`` sources)."""
        self.armature = armature
        bones = armature.data.bones
        names = [b.name for b in armature.pose.bones]
        index = {n: i for i, n in enumerate(names)}
        empties = bone_empties(armature)
        fallbacks = None
        kp, bone_idx, local, weight = [], [], [], []

        def add(k: int, bone: str, point_in_bone: np.ndarray, w: float) -> None:
            kp.append(k)
            bone_idx.append(index[bone])
            local.append(np.append(point_in_bone, 1.0))
            weight.append(w)

        def rest_to_bone(bone: str, p_arm: np.ndarray) -> np.ndarray:
            m = np.array(bones[bone].matrix_local, dtype=np.float64)
            return (np.linalg.inv(m) @ np.append(p_arm, 1.0))[:3]

        self.mapped = np.zeros(len(sources), bool)
        for k, src in enumerate(sources.values()):
            if src is None:
                continue
            self.mapped[k] = True
            if src.kind in ("joint", "mid", "eye_bone"):
                for j in src.joints:
                    y = bones[j.bone].length if j.end == "tail" else 0.0
                    add(k, j.bone, np.array([0.0, y, 0.0]), 1.0 / len(src.joints))
            elif src.kind == "empty":
                obj = empties[src.empty]
                # rest position in armature space: parent bone's rest frame, moved to the bone's tail
                # (Blender parents to the tail), then the empty's own parent-inverse and local matrix
                m = (np.array(bones[obj.parent_bone].matrix_local, dtype=np.float64)
                     @ _translation(0.0, bones[obj.parent_bone].length, 0.0)
                     @ np.array(obj.matrix_parent_inverse, dtype=np.float64)
                     @ np.array(obj.matrix_basis, dtype=np.float64))
                add(k, obj.parent_bone, rest_to_bone(obj.parent_bone, m[:3, 3]), 1.0)
            elif src.kind == "head_mesh":
                side = rest_ends["LeftUpperArm"][0] - rest_ends["RightUpperArm"][0]
                face = face_points(head, side)
                if face is None:
                    raise RigError(f"bone {src.fallback}: too few head vertices to place {landmarks[k]}")
                add(k, src.fallback, rest_to_bone(src.fallback, face[landmarks[k]]), 1.0)
            elif src.kind == "fallback":
                if fallbacks is None:
                    fallbacks = fallback_points(rest_ends)
                add(k, src.fallback, rest_to_bone(src.fallback, fallbacks[landmarks[k]]), 1.0)
            else:
                raise RigError(f"unknown landmark source {src.kind!r}")
        self._k = np.array(kp, dtype=np.intp)
        self._bone = np.array(bone_idx, dtype=np.intp)
        self._local = np.array(local, dtype=np.float64).reshape(-1, 4)
        self._w = np.array(weight, dtype=np.float64)
        self._n = len(sources)
        self._nbones = len(names)

    def evaluate(self, depsgraph: bpy.types.Depsgraph) -> np.ndarray:
        ev = self.armature.evaluated_get(depsgraph)
        mats = np.empty(self._nbones * 16, np.float32)
        ev.pose.bones.foreach_get("matrix", mats)
        # foreach_get flattens each matrix column by column
        pose = mats.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
        world = np.array(ev.matrix_world, dtype=np.float64)
        pts = np.einsum("tij,tj->ti", pose[self._bone], self._local)[:, :3]
        out = np.zeros((self._n, 3))
        np.add.at(out, self._k, pts * self._w[:, None])
        out = out @ world[:3, :3].T + world[:3, 3]
        out[~self.mapped] = np.nan
        return out


def _translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m

