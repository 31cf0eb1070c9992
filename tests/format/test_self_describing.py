"""Files explain themselves: units, pixel convention and visibility meaning on the datasets; command line
and versions in the config (Blender's only where bpy is loaded)."""
import json
import platform
import sys
import types

import h5py

from helpers.synthetic import write_synthetic
from datagen import __version__
from datagen.format.schema import FIELD_ATTRS, provenance


def test_datasets_carry_their_meaning(tmp_path):
    f = write_synthetic(tmp_path / "r.h5", n=5, size=16)
    with h5py.File(f, "r") as h:
        assert h["pose/xy"].attrs["units"] == "pixels"
        assert "top-left corner" in h["pose/xy"].attrs["pixel_convention"]
        assert h["pose/visibility"].attrs["meaning"].startswith("0 absent") and "2 visible" in h["pose/visibility"].attrs["meaning"]
        assert h["pose/xyz"].attrs["units"] == "metres"
        assert "OpenCV" in h["camera/extrinsics"].attrs["description"]
        for r in (16, 8, 4):
            assert "pyramid level" in h[f"images/{r}"].attrs["description"]
        assert h["masks/16"].attrs["units"].startswith("255")
        assert "frames" in h["meta/frame"].attrs["units"]
        assert h["keypoints/flip"].attrs["description"] and h["meta/clip_names"].attrs["description"]
        # Every dataset of the file is described.
        undescribed = []
        h.visititems(lambda n, o: undescribed.append(n) if isinstance(o, h5py.Dataset) and "description" not in o.attrs else None)
        assert undescribed == []
        config = json.loads(h.attrs["config"])
    p = config["provenance"]
    assert p["tool"] == f"datagen {__version__}" and p["python"] == platform.python_version()
    assert p["command"] and ("blender" in p) == ("bpy" in sys.modules)


def test_blender_version_only_where_bpy_is_loaded(monkeypatch):
    monkeypatch.delitem(sys.modules, "bpy", raising=False)
    assert "blender" not in provenance()
    fake = types.SimpleNamespace(app=types.SimpleNamespace(version_string="5.0.1"))
    monkeypatch.setitem(sys.modules, "bpy", fake)
    assert provenance()["blender"] == "5.0.1"


def test_imported_file_describes_source(imported_file):
    with h5py.File(imported_file, "r") as h:
        assert h["meta/source"].attrs["units"] == "file name"
    assert set(FIELD_ATTRS["pose/xy"]) >= {"description", "units", "pixel_convention"}
