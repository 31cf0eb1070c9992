"""`datagen render --list --motion clip.bvh` lists the BVH clips that would play, not the rig's own."""
import pytest
from click.testing import CliRunner

from helpers.synthetic import SHARED_ASSETS
from datagen.cli import main

pytestmark = pytest.mark.blender


def test_list_honours_motion():
    bvh = SHARED_ASSETS / "motion" / "131_01.bvh"
    own = CliRunner().invoke(main, ["render", "--list"])
    moved = CliRunner().invoke(main, ["render", "--list", "--motion", str(bvh)])
    assert own.exit_code == 0 and moved.exit_code == 0, moved.output
    clips = next(line for line in moved.output.splitlines() if line.startswith("--motion clips"))
    assert clips.startswith("--motion clips (1): 131_01 [")
    assert not any(line.startswith("--motion clips") for line in own.output.splitlines())
