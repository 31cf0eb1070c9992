"""Pose: which bone is which keypoint (:mod:`.bone_mapping`), motion capture (:mod:`.bvh`), and
retargeting it onto any rig (:mod:`.retarget`, :mod:`.rotations`). Pure numpy: no Blender here."""
from datagen.pose.rotations import continuous_quats, quat_from_matrix

__all__ = ["continuous_quats", "quat_from_matrix"]
