"""The render-engine registry (datagen.render.engines): one source for the CLI, the config and capture."""
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from datagen.cli import main
from datagen.errors import DatagenError
from datagen.render import RenderConfig
from datagen.render.engines import ENGINES, get_engine, workbench_aa


def test_registry():
    assert list(ENGINES) == ["workbench", "workbench-taa", "eevee", "cycles"]
    assert {e.blender_id for e in ENGINES.values()} == {"BLENDER_WORKBENCH", "BLENDER_EEVEE", "CYCLES"}
    for e in ENGINES.values():
        assert e.default_samples >= 1 and "." in e.samples_path and e.description


def test_workbench_samples_map_to_the_nearest_aa_choice():
    assert [workbench_aa(n) for n in (1, 2, 5, 6, 7, 8, 10, 13, 20, 32, 100)] == \
        ["OFF", "5", "5", "5", "8", "8", "11", "11", "16", "32", "32"]
    assert get_engine("workbench-taa").samples_value(8) == "8"
    assert get_engine("cycles").samples_value(64) == 64


def test_unknown_engine_is_one_line():
    with pytest.raises(DatagenError, match=r"--engine 'banana': unknown render engine \(known: workbench, workbench-taa, eevee, cycles\)"):
        get_engine("banana")
    with pytest.raises(DatagenError, match="unknown render engine"):
        RenderConfig(rig="r.blend", rig_sha256="0", engine="banana")
    with pytest.raises(DatagenError, match="unknown keypoint set"):
        RenderConfig(rig="r.blend", rig_sha256="0", keypoint_set="hand21")


def test_cli_choices_come_from_the_registry():
    r = CliRunner().invoke(main, ["render", "--help"])
    assert r.exit_code == 0
    for name, e in ENGINES.items():
        assert name in r.output
    r = CliRunner().invoke(main, ["render", "--engine", "banana", "-o", "x.h5"])
    assert r.exit_code == 2 and "'banana' is not one of 'workbench', 'workbench-taa', 'eevee', 'cycles'" in r.output


# -- how eevee and cycles draw the default avatar -----------------------------------------------------

@pytest.mark.blender
def test_a_scene_without_light_gets_a_white_world_and_a_lit_one_keeps_its_own():
    import bpy

    from datagen.render.blender.capture import DARK_WORLD, light_scene, world_emission

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.world = bpy.data.worlds.new("rig_world")            # Blender's default: a 0.05 grey background
    assert world_emission(scene.world) < DARK_WORLD
    assert light_scene(scene, 0.6) == "a uniform white world of strength 0.6"
    assert scene.world.name != "rig_world" and world_emission(scene.world) == pytest.approx(0.6)
    # A bright world of the rig's own is kept, and so is one lit by a texture.
    bright = scene.world = bpy.data.worlds.new("bright")
    bg = bright.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (1.0, 0.9, 0.8, 1.0)
    assert light_scene(scene, 0.6) == "the rig's world" and scene.world == bright
    sky = bright.node_tree.nodes.new("ShaderNodeTexSky")
    bright.node_tree.links.new(sky.outputs[0], bg.inputs["Color"])
    assert world_emission(bright) == float("inf")
    # A lamp lights the scene even under a dark world.
    scene.world = bpy.data.worlds.new("dark")
    lamp = bpy.data.objects.new("lamp", bpy.data.lights.new("lamp", "SUN"))
    scene.collection.objects.link(lamp)
    assert light_scene(scene, 0.6) == "the rig's lamps" and scene.world.name == "dark"


@pytest.mark.blender
@pytest.mark.slow
def test_eevee_and_cycles_draw_the_avatar_lit_like_workbench(tmp_path):
    """The default avatar brings only Workbench's look (matcap, outline) and Blender's dark default
    world: EEVEE and Cycles drew it nearly black (31% of the figure's pixels below 48 in every channel,
    mean colour (60, 56, 57) against Workbench's (152, 140, 142)). Lit by the pipeline's white world
    they draw its own colours; keypoints, visibility and cameras do not depend on the engine."""
    import h5py

    from helpers.look import figure_stats, psnr

    runs = {"workbench": (), "eevee": ("--samples", "4"), "cycles": ("--samples", "8")}
    files = {}
    for engine, extra in runs.items():
        out = tmp_path / f"{engine}.h5"
        r = CliRunner().invoke(main, ["render", "--quiet", "--frames", "2", "--size", "64", "--costumes",
                                      "schoolgirl_1", "--engine", engine, *extra, "-o", str(out)])
        assert r.exit_code == 0, r.output
        with h5py.File(out) as f:
            files[engine] = {k: f[k][()] for k in ("images/64", "masks/64", "pose/xy", "pose/visibility",
                                                   "camera/extrinsics", "camera/intrinsics")}
            files[engine]["render"] = json.loads(f.attrs["config"])["render"]
    wb = files["workbench"]
    ref = figure_stats(wb["images/64"], wb["masks/64"])
    for engine in ("eevee", "cycles"):
        d = files[engine]
        assert d["render"]["lighting"] == "a uniform white world of strength 0.6", engine
        for k in ("pose/xy", "pose/visibility", "camera/extrinsics", "camera/intrinsics"):
            assert np.array_equal(d[k], wb[k]), (engine, k)
        # The mask is the engine's own alpha: Workbench's outline widens its silhouette by a rim.
        m, w = d["masks/64"] >= 128, wb["masks/64"] >= 128   # the 50% silhouettes (docs/format.md, masks)
        assert (m & w).sum() / (m | w).sum() > 0.85, engine
        near = np.stack([cv2.dilate(x.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0 for x in m])
        assert (d["images/64"][~near] == 255).all(), engine             # white beyond the mask's rim
        st = figure_stats(d["images/64"], d["masks/64"])
        assert st["near_black"] <= ref["near_black"] + 0.02, (engine, st, ref)
        assert np.abs(np.subtract(st["mean_rgb"], ref["mean_rgb"])).max() < 20, (engine, st, ref)
        assert psnr(d["images/64"], wb["images/64"]) > 24, engine
