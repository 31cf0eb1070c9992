"""The render-engine registry (datagen.render.engines): one source for the CLI, the config and capture."""
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
