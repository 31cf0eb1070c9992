"""Render engines as data (docs/rendering.md): one registry that the command line's choices, the
config's validation and the Blender layer's set-up all read. Pure Python: no bpy here.

Every setting is a dotted attribute path under ``bpy.types.Scene`` (``"cycles.samples"``), so the
Blender layer applies an engine without knowing which one it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from datagen.errors import DatagenError

# Workbench's anti-aliasing is a choice of sample counts (Scene.display.render_aa).
WORKBENCH_AA_COUNTS = (5, 8, 11, 16, 32)


def workbench_aa(samples: int) -> str:
    """N anti-aliasing samples -> the nearest ``render_aa`` choice ('OFF' for 1, ties to fewer)."""
    if samples <= 1:
        return "OFF"
    return str(min(WORKBENCH_AA_COUNTS, key=lambda c: (abs(c - samples), c)))


@dataclass(frozen=True)
class Jitter:
    """Anti-aliasing done by the pipeline instead of the renderer (docs/rendering.md#anti-aliasing):
    N renders with the renderer's own anti-aliasing off (``off_settings``), the camera shifted by a
    sub-pixel offset each time (:func:`datagen.render.compositing.sample_offsets`), resolved in numpy
    with a radial Blackman-Harris filter of ``filter_width`` pixels
    (:func:`datagen.render.compositing.resolve_samples`)."""

    off_settings: dict[str, Any]
    filter_width: float = 3.0
    offset_scale: float = 1.5  # between the samples' true places (1) and Workbench's TAA (2): compositing.splat_kernels


@dataclass(frozen=True)
class Engine:
    name: str  # the --engine value
    blender_id: str  # Scene.render.engine
    default_samples: int
    samples_path: str  # the scene setting that takes the sample count
    samples_value: Callable[[int], Any] = int  # sample count -> the value that setting takes
    settings: dict[str, Any] = field(default_factory=dict)  # always applied (determinism, CPU)
    # Applied to rigs that bring no look of their own (glTF, FBX, VRM); a .blend rig keeps its own.
    default_look: dict[str, Any] = field(default_factory=dict)
    # Applied on top of default_look to rigs that bring their own toon materials and outline hull (VRM).
    toon_look: dict[str, Any] = field(default_factory=dict)
    # The rig's own sample setting is kept when --samples is not given and the rig has its own look.
    rig_keeps_samples: bool = False
    # Set: --samples N means N jittered renders resolved by the pipeline (samples_path is then unused).
    jitter: Jitter | None = None
    # Renderers that shade with the scene's lights: a scene that brings no light of its own (no lamp,
    # a dark world; Blender's default world is a 0.05 grey) is lit by a uniform white world of this
    # strength instead. Under a uniform white world of strength 1 a diffuse surface shows its own
    # colour, darkened where the body hides the sky: Workbench's flat colours without its outline.
    world_light: float | None = None
    description: str = ""


_WORKBENCH_LOOK = {"display.shading.light": "STUDIO", "display.shading.color_type": "TEXTURE",
                   "display.shading.show_object_outline": True, "display.shading.object_outline_color": (0.0, 0.0, 0.0),
                   "display.shading.show_cavity": False, "display.shading.show_shadows": False}

# Workbench ignores a material's back-face culling: the VRM outline hull (datagen.render.blender.vrm)
# needs it for the whole scene. The toon matcap is the default avatar's (rigs/avatar/assemble.py).
_WORKBENCH_TOON = {"display.shading.show_backface_culling": True, "display.shading.light": "MATCAP",
                   "display.shading.studio_light": "toon_light.exr"}
# What EEVEE skips (docs/benchmarks.md): shadow maps and screen-space ray tracing cost most of a frame
# and change little under the flat world light a lamp-less rig gets.
_EEVEE_FAST = {"eevee.use_shadows": False, "eevee.use_raytracing": False, "eevee.use_fast_gi": False,
               "eevee.use_volumetric_shadows": False}

# Workbench's own anti-aliasing redraws the whole scene once per sample and costs more per sample
# than a whole anti-aliasing-off render; jittered renders resolved in numpy match its look (PSNR
# against its 32-sample images: 2 renders ~48 dB, its own 8 samples 47.3 dB) at a third of the cost
# (docs/benchmarks.md#rendering-issue-11).
ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("workbench", "BLENDER_WORKBENCH", 2, "display.render_aa", workbench_aa, default_look=_WORKBENCH_LOOK,
           toon_look=_WORKBENCH_TOON, jitter=Jitter(off_settings={"display.render_aa": "OFF"}),
           description="OpenGL, flat/toon look (default; fastest); --samples N = N jittered renders"),
    Engine("workbench-taa", "BLENDER_WORKBENCH", 8, "display.render_aa", workbench_aa, default_look=_WORKBENCH_LOOK,
           toon_look=_WORKBENCH_TOON, rig_keeps_samples=True,
           description="the same with Workbench's own anti-aliasing (5, 8, 11, 16 or 32 samples; slower)"),
    Engine("eevee", "BLENDER_EEVEE", 4, "eevee.taa_render_samples", settings=_EEVEE_FAST, world_light=0.6,
           description="OpenGL real-time renderer: the rig's materials, lit by its lamps or a white world; "
                       "no shadows or ray tracing (slow on a CPU)"),
    Engine("cycles", "CYCLES", 32, "cycles.samples", world_light=0.6,
           settings={"cycles.device": "CPU", "cycles.seed": 0, "cycles.use_animated_seed": False,
                     "cycles.use_denoising": False},
           description="path tracer on the CPU: the rig's materials, lit by its lamps or a white world"),
)}


def get_engine(name: str) -> Engine:
    try:
        return ENGINES[name]
    except (KeyError, TypeError):
        raise DatagenError(f"--engine {name!r}: unknown render engine (known: {', '.join(ENGINES)})") from None
