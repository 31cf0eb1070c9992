"""Everything of datagen that talks to Blender (bpy): the only package under datagen that imports it.

* :mod:`~datagen.render.blender.rig` -- loading rigs (.blend with scripts off, .glb/.gltf/.vrm, .fbx), the
  armature, costumes and motion clips (conventions in docs/rigs.md).
* :mod:`~datagen.render.blender.capture` -- render settings (from the engine registry), the camera,
  rendering to /dev/shm and reading the frame back, evaluated bone positions, framing geometry and
  occlusion ray casts.
* :mod:`~datagen.render.blender.session` -- one rig set up for a run, answering with arrays.
* :mod:`~datagen.render.blender.retarget_bpy` -- baking retargeted motion into Actions.

The maths on the arrays these functions return lives in plain modules (projection, visibility,
bone_mapping, retarget, compositing) that are tested without Blender. What ``rigs/`` (the avatar build)
uses is re-exported here as the layer's public API.
"""
from datagen.render.blender.retarget_bpy import add_bvh_action, assign_action, write_action
from datagen.render.blender.rig import Rig, load_rig
from datagen.render.blender.session import BlenderSession, quiet_fds

__all__ = ["add_bvh_action", "assign_action", "write_action", "Rig", "load_rig", "BlenderSession", "quiet_fds"]
