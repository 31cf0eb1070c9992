"""`datagen render` with Blender at 64x64: the plan before rendering, --dry-run, Blender's version recorded."""
import pytest
from click.testing import CliRunner

from helpers import blender_rigs
from datagen.cli import main
from datagen.format import open_dataset

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def boxman(tmp_path_factory):
    return blender_rigs.build_boxman(tmp_path_factory.mktemp("rig") / "boxman.blend")


def test_dry_run_prints_the_plan_and_writes_nothing(boxman, tmp_path):
    out = tmp_path / "d.h5"
    r = CliRunner().invoke(main, ["render", "--rig", str(boxman), "--frames", "4", "--size", "64", "--dry-run",
                                  "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "plan: 12 rows = 4 poses x 3 costumes" in r.output and "disk: about" in r.output
    assert "s/frame from 3 test frames (not written)" in r.output
    assert list(tmp_path.iterdir()) == []


def test_render_prints_plan_and_estimate_and_records_blender(boxman, tmp_path):
    out = tmp_path / "r.h5"
    r = CliRunner().invoke(main, ["render", "--rig", str(boxman), "--frames", "6", "--size", "64", "--quiet",
                                  "--costumes", "red", "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "plan: 6 rows = 6 poses x 1 costumes"
    assert any(x.startswith("estimate: ") and "from the first 4 frames" in x for x in lines)
    with open_dataset(out) as ds:
        p = ds.config["provenance"]
    assert p["blender"].startswith("5.") and p["tool"].startswith("datagen ")
