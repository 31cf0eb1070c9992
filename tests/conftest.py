"""Shared fixtures: small, valid format-v1 datasets written through the real writer."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.synthetic import write_synthetic

# Test modules that are Blender through and through import bpy (or tests/helpers/blender_rigs.py or vrm_files.py, which do)
# at the top. Selecting ``-m "not blender"`` (what the base install, which has no bpy, runs:
# scripts/check_base_install.sh) must not even import them.
BLENDER_IMPORTS = {"bpy", "mathutils", "bpy_extras", "helpers.blender_rigs", "helpers.vrm_files"}


def imports_blender_at_top(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            names = []
        if any(n in BLENDER_IMPORTS or n.split(".")[0] in BLENDER_IMPORTS for n in names):
            return True
    return False


# tests/export/ needs the export venv's libraries (datasets, diffusers, ultralytics, controlnet_aux: `make
# test-export`); it is collected only when the run selects it with ``-m export``, and every other run
# (``make test``, ``-m "not blender"``) leaves it out without importing it.
EXPORT_TESTS = Path(__file__).resolve().parent / "export"


def pytest_ignore_collect(collection_path, config):
    markexpr = config.getoption("markexpr", "")
    if Path(collection_path).resolve().is_relative_to(EXPORT_TESTS) and markexpr != "export":
        return True
    if (markexpr == "not blender" and collection_path.suffix == ".py"
            and collection_path.name.startswith("test_") and imports_blender_at_top(collection_path)):
        return True
    return None


# Heavy tests outside Blender: whole tiny training runs, multi-process runs, detector training, the demo.
SLOW_MODULES = {"test_training_run.py", "test_training_loop.py", "test_ddp.py", "test_evaluate.py", "test_posenet.py",
                "test_demo.py", "test_generate.py"}


def pytest_collection_modifyitems(config, items):
    """`slow`: every test that starts Blender, and the heavy modules above; `-m "not slow"` is the quick loop."""
    for item in items:
        if item.get_closest_marker("blender") or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def rendered_file(tmp_path: Path) -> Path:
    return write_synthetic(tmp_path / "rendered.h5")


@pytest.fixture
def imported_file(tmp_path: Path) -> Path:
    return write_synthetic(tmp_path / "imported.h5", keypoint_set="coco18", rendered=False)
