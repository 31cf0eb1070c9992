"""``datagen render``: rigged avatar -> format-v1 dataset with exact keypoints (docs/rendering.md).

Plan (:mod:`~datagen.render.plan`), rows (:mod:`~datagen.render.rows`), the run with its workers
(:mod:`~datagen.render.run`, :mod:`~datagen.render.workers`), and the pure maths they use:
projection, visibility, compositing, and the engine registry. :mod:`datagen.render.blender` is the
only place under datagen that imports bpy; nothing here imports it at module level.
"""
from datagen.render.config import DEFAULT_RIG, RenderConfig, RenderError, file_sha256
from datagen.render.listing import describe_rigs
from datagen.render.run import RunOptions, run_render

__all__ = ["DEFAULT_RIG", "RenderConfig", "RenderError", "file_sha256", "RunOptions", "describe_rigs", "run_render"]
