import json
import pickle

import h5py
import numpy as np
import pytest

from helpers.synthetic import synthetic_rows, write_synthetic
from datagen.format import DatasetHeader, DatasetWriter, open_dataset
from datagen.errors import DatasetError
from datagen.format.pyramid import build_pyramid


def test_round_trip(tmp_path):
    rows = synthetic_rows(6, 16)
    path = write_synthetic(tmp_path / "d.h5", n=6, size=16)
    with open_dataset(path) as ds:
        assert ds.n == 6 and ds.image_size == 16 and ds.resolutions == [16, 8, 4]
        assert ds.attrs["format"] == "pose-dataset" and ds.attrs["version"] == 1
        assert ds.attrs["keypoint_set"] == "avatar20"
        config = json.loads(ds.attrs["config"])
        assert config.pop("provenance")["python"] and config == {"test": True}
        np.testing.assert_array_equal(ds.images(16)[:], rows["images"])
        for r, level in build_pyramid(rows["images"]).items():
            np.testing.assert_array_equal(ds.images(r)[:], level)
            assert ds.images(r).chunks == (1, r, r, 3)
        np.testing.assert_array_equal(ds.xy, rows["pose/xy"])
        np.testing.assert_array_equal(ds.read("masks/16"), rows["masks"])
        np.testing.assert_array_equal(ds.read("camera/extrinsics"), rows["camera/extrinsics"])
        assert ds.names("costume") == ["red", "blue"] and ds.names("clip") == ["idle", "walk", "run"]
        assert list(ds.read("keypoints/names"))[:2] == ["Hips", "Spine"]
        assert ds.read("keypoints/edges").shape == (19, 2)


def test_reader_pickles_without_handle(rendered_file):
    ds = open_dataset(rendered_file)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._file is None
    np.testing.assert_array_equal(clone.images(4)[0], ds.images(4)[0])


def test_no_output_until_close_and_resume(tmp_path):
    out = tmp_path / "d.h5"
    header = DatasetHeader("avatar20", 8, config={"seed": 1})
    rows = synthetic_rows(10, 8)
    part = lambda a, b: {k: v[a:b] for k, v in rows.items()}  # noqa: E731
    w = DatasetWriter(out, header, segment_rows=3)
    w.append(part(0, 4))  # committed as one segment of 4 rows
    w.append(part(4, 5))  # pending, lost when the process dies
    del w
    assert not out.exists() and (tmp_path / "d.h5.partial").is_dir()
    w = DatasetWriter(out, header, resume=True, segment_rows=3)
    assert w.rows == 4
    w.append(part(4, 10))
    w.close()
    assert not (tmp_path / "d.h5.partial").exists()
    with open_dataset(out) as ds:
        np.testing.assert_array_equal(ds.xy, rows["pose/xy"])
        np.testing.assert_array_equal(ds.images(8)[:], rows["images"])


def test_resume_with_other_settings_is_refused(tmp_path):
    out = tmp_path / "d.h5"
    w = DatasetWriter(out, DatasetHeader("avatar20", 8, config={"seed": 1}), segment_rows=1)
    w.append({k: v[:1] for k, v in synthetic_rows(1, 8).items()})
    with pytest.raises(DatasetError, match="config differ"):
        DatasetWriter(out, DatasetHeader("avatar20", 8, config={"seed": 2}), resume=True)


def test_exception_keeps_partial_but_makes_no_file(tmp_path):
    out = tmp_path / "d.h5"
    with pytest.raises(RuntimeError):
        with DatasetWriter(out, DatasetHeader("avatar20", 8), segment_rows=2) as w:
            w.append(synthetic_rows(2, 8))
            raise RuntimeError("killed")
    assert not out.exists()
    assert DatasetWriter(out, DatasetHeader("avatar20", 8), resume=True).rows == 2


@pytest.mark.parametrize("field,value,message", [
    ("pose/xy", np.zeros((2, 19, 2), np.float32), "expected \\(20, 2\\)"),
    ("images", np.zeros((2, 16, 16, 3), np.uint8), "expected \\(8, 8, 3\\)"),
    ("pose/visibility", np.full((2, 20), 3, np.uint8), "visibility 3"),
    ("pose/xy", np.full((2, 20, 2), np.nan, np.float32), "not finite but has visibility"),
    ("meta/frame", np.zeros(5, np.float32), "has 5 rows"),
])
def test_bad_rows_are_rejected(tmp_path, field, value, message):
    rows = synthetic_rows(2, 8)
    rows[field] = value
    w = DatasetWriter(tmp_path / "d.h5", DatasetHeader("avatar20", 8))
    with pytest.raises(DatasetError, match=message):
        w.append(rows)


def test_header_rejects_bad_size_and_set():
    with pytest.raises(DatasetError, match="power of two"):
        DatasetHeader("avatar20", 48)
    with pytest.raises(DatasetError, match="unknown keypoint set"):
        DatasetHeader("hands", 64)


@pytest.mark.parametrize("breakage,message", [
    (lambda f: f.attrs.__setitem__("version", 2), "version 2 is not supported"),
    (lambda f: f.attrs.__setitem__("format", "other"), "not a pose dataset"),
    (lambda f: f.__delitem__("images/8"), "/images/8 is missing"),
    (lambda f: f.__delitem__("pose/visibility"), "/pose/visibility is missing"),
    (lambda f: (f.__delitem__("pose/xy"), f.create_dataset("pose/xy", data=np.zeros((5, 20, 2), np.float32))),
     "/pose/visibility has shape \\(6, 20\\), expected \\(5, 20\\)"),
    (lambda f: f.attrs.__delitem__("created"), "'created' is missing"),
])
def test_open_rejects_broken_files(rendered_file, breakage, message):
    with h5py.File(rendered_file, "a") as f:
        breakage(f)
    with pytest.raises(DatasetError, match=message) as e:
        open_dataset(rendered_file)
    assert str(rendered_file) in str(e.value) and "\n" not in str(e.value)


def test_open_rejects_truncated_and_foreign_files(rendered_file, tmp_path):
    data = rendered_file.read_bytes()
    rendered_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        open_dataset(rendered_file)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        open_dataset(text)
    with pytest.raises(DatasetError, match="no such file"):
        open_dataset(tmp_path / "missing.h5")


@pytest.mark.parametrize("compression", ["lzf", "none"])
def test_image_compression_choices(tmp_path, compression):
    rows = synthetic_rows(3, 8)
    out = tmp_path / "d.h5"
    with DatasetWriter(out, DatasetHeader("avatar20", 8, image_compression=compression), segment_rows=2) as w:
        w.append(rows)
    with open_dataset(out) as ds:
        assert ds.images(8).compression == (None if compression == "none" else compression)
        np.testing.assert_array_equal(ds.images(8)[:], rows["images"])
    with pytest.raises(DatasetError, match="image compression 'zstd'"):
        DatasetHeader("avatar20", 8, image_compression="zstd")
