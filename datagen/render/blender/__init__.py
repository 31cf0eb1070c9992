"""Everything of datagen that talks to Blender (bpy): the only package that imports it.

* :mod:`datagen.render.blender.rig` -- loading rigs (.blend with scripts off, .glb/.gltf/.vrm, .fbx), the
  armature, costumes and motion clips (conventions in docs/rigs.md).
* :mod:`datagen.render.blender.capture` -- render settings, the camera, rendering to /dev/shm and reading the
  frame back, evaluated bone positions, framing geometry and occlusion ray casts.

The maths on the arrays these functions return lives in plain modules (projection, visibility,
bone_mapping, compositing) that are tested without Blender.
"""
