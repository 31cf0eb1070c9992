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


def pytest_ignore_collect(collection_path, config):
    if (config.getoption("markexpr", "") == "not blender" and collection_path.suffix == ".py"
            and collection_path.name.startswith("test_") and imports_blender_at_top(collection_path)):
        return True
    return None


@pytest.fixture
def rendered_file(tmp_path: Path) -> Path:
    return write_synthetic(tmp_path / "rendered.h5")


@pytest.fixture
def imported_file(tmp_path: Path) -> Path:
    return write_synthetic(tmp_path / "imported.h5", keypoint_set="coco18", rendered=False)
