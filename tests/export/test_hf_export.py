"""The Hugging Face export read back by `datasets` with no code of ours: every column equals the file."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from helpers.synthetic import write_synthetic
from datagen.format import open_dataset
from datagen.io import hf
from datagen.io.exporters import ExportOptions, export_dataset

pytestmark = pytest.mark.export
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"


def _load(folder, tmp_path):
    from datasets import load_dataset

    return load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))


def test_rendered_rows_load_as_they_are(tmp_path):
    from datasets import Image

    src = write_synthetic(tmp_path / "r.h5", n=9, size=16)
    export_dataset(src, "hf", tmp_path / "hf")
    ds = _load(tmp_path / "hf", tmp_path)
    assert isinstance(ds.features["image"], Image) and isinstance(ds.features["mask"], Image)
    with open_dataset(src) as r:
        assert len(ds) == 9 and ds["row"] == list(range(9))
        for i in range(9):
            row = ds[i]
            np.testing.assert_array_equal(np.asarray(row["image"]), r.images()[i])
            np.testing.assert_array_equal(np.asarray(row["mask"]), r.file["masks/16"][i])
            np.testing.assert_array_equal(np.asarray(row["keypoints"], np.float32), r.xy[i])
            assert row["visibility"] == r.visibility[i].tolist()
            np.testing.assert_array_equal(np.asarray(row["keypoints_3d"], np.float32), r.read("pose/xyz")[i])
            np.testing.assert_array_equal(row["camera_intrinsics"], r.read("camera/intrinsics")[i])
            assert row["clip"] == r.names("clip")[r.read("meta/clip")[i]]
            assert row["costume"] == r.names("costume")[r.read("meta/costume")[i]]
            assert row["frame"] == pytest.approx(float(r.read("meta/frame")[i]))
    prov = json.loads((tmp_path / "hf" / "provenance.json").read_text())
    assert prov["source_file"] == "r.h5" and prov["rows"] == 9 and prov["keypoint_names"][0] == "Hips"
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "from `r.h5`" in card and '"source_sha256_first_mb"' in card


def test_pyramid_level_and_imports(tmp_path):
    src = write_synthetic(tmp_path / "i.h5", n=5, size=16, keypoint_set="coco18", rendered=False)
    export_dataset(src, "hf", tmp_path / "hf", options=ExportOptions(size=8))
    ds = _load(tmp_path / "hf", tmp_path)
    assert "mask" not in ds.column_names and "camera_intrinsics" not in ds.column_names
    with open_dataset(src) as r:
        np.testing.assert_array_equal(np.asarray(ds[3]["image"]), r.images(8)[3])
        assert ds[3]["source"] == "img_0003.jpg"
        # Pixel i covers [i, i + 1) at every level: halving the image halves the coordinates.
        ok = r.visibility[3] > 0
        np.testing.assert_allclose(np.asarray(ds[3]["keypoints"])[ok], r.xy[3][ok] / 2, rtol=1e-6)


def test_shards_stream_and_keep_the_row_order(tmp_path, monkeypatch):
    monkeypatch.setattr(hf, "SHARD_BYTES", 1)  # a shard per block
    monkeypatch.setattr("datagen.io.export_rows.BLOCK_ROWS", 4)
    src = write_synthetic(tmp_path / "r.h5", n=10, size=16)
    export_dataset(src, "hf", tmp_path / "hf")
    names = sorted(p.name for p in (tmp_path / "hf" / "data").iterdir())
    assert names == [f"train-0000{k}-of-00003.parquet" for k in range(3)]
    assert _load(tmp_path / "hf", tmp_path)["row"] == list(range(10))
