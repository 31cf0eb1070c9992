import json

import numpy as np
import pytest
from click.testing import CliRunner

from helpers.synthetic import write_synthetic
from datagen.cli import main
from datagen.format import open_dataset
from datagen.io.coco import KEYPOINT_BOX_MARGIN
from datagen.io.exporters import COCO_FILE, ExportError, export_dataset, read_coco
from datagen.io.importers import ImportOptions, import_openpose, read_image
from datagen.format.keypoint_sets import COCO18, convert_keypoints
from datagen.io.openpose import read_openpose
from helpers.openpose_files import openpose_dirs  # noqa: F401  (fixture)


@pytest.fixture
def imported(openpose_dirs, tmp_path):  # noqa: F811
    img, kp = openpose_dirs
    out = tmp_path / "imported.h5"
    import_openpose(img, kp, out, ImportOptions(person="all", workers=1))
    return out


def assert_same_rows(a_path, b_path, names=("pose/xy", "pose/visibility", "pose/confidence", "images/256")):
    with open_dataset(a_path) as a, open_dataset(b_path) as b:
        assert len(a) == len(b)
        for name in names:
            np.testing.assert_array_equal(a.read(name), b.read(name), err_msg=name)


def test_openpose_round_trip_is_exact(imported, tmp_path):
    out = tmp_path / "op"
    assert export_dataset(imported, "openpose", out) == 6
    assert sorted(p.name for p in (out / "images").iterdir())[:2] == ["000000.png", "000001.png"]
    doc = json.loads((out / "keypoints" / "000000_keypoints.json").read_text())
    assert doc["version"] == 1.3 and len(doc["people"]) == 1 and len(doc["people"][0]["pose_keypoints_2d"]) == 54
    again = tmp_path / "again.h5"
    s = import_openpose(out / "images", out / "keypoints", again, ImportOptions(workers=1))
    assert s.imported == 6 and not s.skipped
    assert_same_rows(imported, again)
    # The exported values are the original OpenPose ones letterboxed (800x700 -> 256x224 + 16 px on top)
    # about pixel centres: centre i is at i + 0.5 while scaling, and back at i in the file.
    orig = read_openpose(next((imported.parent / "keypoints").glob("random_*")))[0]
    exported = read_openpose(out / "keypoints" / "000000_keypoints.json")[0]
    ok = orig[:, 2] > 0
    want = (orig[ok, :2] + 0.5) * 256 / 800 + [0, 16] - 0.5
    assert np.abs(exported[ok, :2] - want).max() < 1e-4


def test_coco18_export(imported, tmp_path):
    out = tmp_path / "coco"
    export_dataset(imported, "coco18", out)
    doc = json.loads((out / COCO_FILE).read_text())
    cat = doc["categories"][0]
    assert cat["keypoints"] == list(COCO18.names) and [1, 2] not in cat["skeleton"] and [2, 3] in cat["skeleton"]
    assert len(doc["images"]) == len(doc["annotations"]) == 6
    assert doc["images"][0] == {"id": 1, "file_name": "000000.png", "width": 256, "height": 256, "row": 0,
                                "source": "random.jpg"}
    ann = doc["annotations"][0]
    names, xy, vis = read_coco(out / COCO_FILE)
    with open_dataset(imported) as ds:
        np.testing.assert_array_equal(vis, ds.visibility)
        np.testing.assert_array_equal(xy.astype(np.float32), ds.xy)  # NaN where missing, too
        assert ann["num_keypoints"] == int((ds.visibility[0] > 0).sum())
        np.testing.assert_array_equal(read_image(out / "images" / names[3]), ds.images()[3])
        # No masks in an import: the keypoints' box widened by the documented margin, inside the image.
        pts = ds.xy[0][ds.visibility[0] > 0].astype(np.float64) - 0.5
        pad = KEYPOINT_BOX_MARGIN * (pts.max(0) - pts.min(0)).max()
        lo, hi = np.clip(pts.min(0) - pad, 0, 256), np.clip(pts.max(0) + pad, 0, 256)
        np.testing.assert_allclose(ann["bbox"], [*lo, *(hi - lo)])
        assert ann["area"] == pytest.approx(ann["bbox"][2] * ann["bbox"][3]) and "segmentation" not in ann


def test_avatar20_exports_the_mapped_coco18_points(tmp_path):
    src = write_synthetic(tmp_path / "avatar.h5", n=5, size=32)
    with open_dataset(src) as ds:
        want_xy, want_vis = convert_keypoints(ds.xy, ds.visibility, "avatar20", "coco18")
    export_dataset(src, "coco18", tmp_path / "coco")
    _, xy, vis = read_coco(tmp_path / "coco" / COCO_FILE)
    np.testing.assert_array_equal(vis, want_vis)  # occluded (1) stays 1 in COCO
    np.testing.assert_array_equal(xy.astype(np.float32)[want_vis > 0], want_xy[want_vis > 0])
    assert (vis[:, [COCO18.index(n) for n in ("Nose", "REye", "LEye", "REar", "LEar")]] == 0).all()

    export_dataset(src, "openpose", tmp_path / "op")
    back = tmp_path / "back.h5"
    import_openpose(tmp_path / "op" / "images", tmp_path / "op" / "keypoints", back, ImportOptions(size=32, workers=1))
    with open_dataset(back) as b, open_dataset(src) as a:
        np.testing.assert_array_equal(b.images()[:], a.images()[:])
        np.testing.assert_array_equal(b.xy[want_vis > 0], want_xy[want_vis > 0])
        # OpenPose has no occlusion flag: every exported point comes back as detected (2).
        np.testing.assert_array_equal(b.visibility, np.where(want_vis > 0, 2, 0))


def test_target_must_be_new_or_empty(imported, tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ExportError, match=r"exists \(use --overwrite to replace it\)"):
        export_dataset(imported, "coco", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    export_dataset(imported, "coco", tmp_path / "empty")
    assert (tmp_path / "empty" / COCO_FILE).exists()
    assert not list(tmp_path.glob(".*export*"))


def test_cli_export(imported, tmp_path):
    r = CliRunner().invoke(main, ["export", str(imported), "--to", "openpose", "-o", str(tmp_path / "x")])
    assert r.exit_code == 0, r.output
    assert f"exported 6 rows to {tmp_path / 'x'}" in r.output
    r = CliRunner().invoke(main, ["export", str(imported), "--to", "openpose", "-o", str(tmp_path / "x")])
    assert r.exit_code == 1 and r.output.strip() == f"Error: {tmp_path / 'x'}: exists (use --overwrite to replace it)"
    r = CliRunner().invoke(main, ["export", str(imported), "--to", "coco", "-o", str(tmp_path / "x"), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["images", "person_keypoints.json"]  # coco only
