"""`datagen preview`: overlays drawn where the keypoints are, captions, and the --clip/--costume/--rows filters."""
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from helpers.synthetic import write_synthetic
from datagen.cli import main
from datagen.errors import DatagenError
from datagen.format import DatasetHeader, DatasetWriter, open_dataset
from datagen.inspect.preview import contact_sheet
from datagen.inspect.selection import caption, row_meta, select_rows


def flat_file(path, n=4, size=64):
    """Grey images with one visible, one occluded and one absent keypoint at known places."""
    header = DatasetHeader("coco18", size, costume_names=["red", "blue"], clip_names=["idle", "walk"])
    xy = np.zeros((n, 18, 2), np.float32)
    vis = np.zeros((n, 18), np.uint8)
    xy[:, 0] = [16.5, 16.5]
    vis[:, 0] = 2  # Nose: visible
    xy[:, 17] = [48.5, 48.5]
    vis[:, 17] = 1  # LEar: occluded (its one limb, to LEye, is not drawn: LEye is absent)
    xy[:, 2] = [16.5, 48.5]  # RShoulder: absent (vis 0)
    rows = {"images": np.full((n, size, size, 3), 128, np.uint8), "pose/xy": xy, "pose/visibility": vis,
            "masks": np.zeros((n, size, size), np.uint8), "pose/xyz": np.zeros((n, 18, 3), np.float32),
            "camera/intrinsics": np.repeat(np.eye(3)[None], n, 0), "camera/extrinsics": np.repeat(np.eye(4)[None], n, 0),
            "meta/costume": np.arange(n, dtype=np.int32) % 2, "meta/clip": (np.arange(n, dtype=np.int32) // 2) % 2,
            "meta/frame": np.arange(n, dtype=np.float32) * 1.5}
    with DatasetWriter(path, header) as w:
        w.append(rows)
    return path


def test_overlay_draws_visible_filled_occluded_hollow_absent_not(tmp_path):
    f = flat_file(tmp_path / "f.h5")
    sheet = contact_sheet(f, rows="0", tile=64, overlay=True, captions=False)
    assert sheet.shape == (64 + 4, 64 + 4, 3)
    tile = sheet[2:66, 2:66].astype(int)
    drawn = np.abs(tile - 128).max(-1) > 30
    assert drawn[16, 16]  # visible: the centre is filled
    assert not drawn[48, 48] and drawn[44:53, 44:53].any()  # occluded: a ring with a grey centre
    assert not drawn[40:58, 8:26].any()  # absent: nothing
    ys, xs = np.nonzero((tile != 128).any(-1))  # the rest is the image itself
    assert (np.minimum(np.hypot(ys - 16, xs - 16), np.hypot(ys - 48, xs - 48)) < 5).all()


def test_captions_and_filters(tmp_path):
    f = flat_file(tmp_path / "f.h5", n=8)
    with open_dataset(f) as ds:
        meta = row_meta(ds)
        assert caption(meta[3]) == "3 walk blue f4.5"
        np.testing.assert_array_equal(select_rows(ds, clips=["walk"]), [2, 3, 6, 7])
        np.testing.assert_array_equal(select_rows(ds, clips=["walk"], costumes=["red"]), [2, 6])
        np.testing.assert_array_equal(select_rows(ds, rows="0:4", costumes=["blue"]), [1, 3])
        with pytest.raises(DatagenError, match="--clip 'run': not a clip of"):
            select_rows(ds, clips=["run"])
    with_captions = contact_sheet(f, rows="0", tile=64, overlay=True)
    assert with_captions.shape[0] > 68  # the caption band below the tile
    band = with_captions[66:-2, 2:66]
    assert (band < 100).any() and (band == 255).mean() > 0.5  # black text on white


def test_imported_caption_names_the_source(imported_file):
    with open_dataset(imported_file) as ds:
        assert caption(row_meta(ds)[2]) == "2 img_0002.jpg"
        with pytest.raises(DatagenError, match="has no clips"):
            select_rows(ds, clips=["idle"])


def test_cli_preview_overlay_filtered(tmp_path):
    f = flat_file(tmp_path / "f.h5", n=8)
    out = tmp_path / "s.png"
    r = CliRunner().invoke(main, ["preview", str(f), "-o", str(out), "--overlay", "--clip", "walk",
                                  "--costume", "red,blue", "--size", "32", "--cols", "4", "--no-captions"])
    assert r.exit_code == 0, r.output
    assert np.asarray(Image.open(out)).shape == (32 + 4, 4 * 34 + 2, 3)  # the 4 walk rows in one line
    r = CliRunner().invoke(main, ["preview", str(f), "-o", str(out), "--costume", "green", "--overwrite"])
    assert r.exit_code == 1 and "--costume 'green': not a costume of" in r.output


def test_preview_of_rendered_synthetic_with_captions(tmp_path):
    f = write_synthetic(tmp_path / "r.h5", n=6, size=32)
    sheet = contact_sheet(f, count=4, tile=32)
    assert sheet.shape[1] == 2 * (32 + 2 + 32) + 3 * 2  # 4 tiles: 2 per row, each image + skeleton
