"""The new exports' own logic, without the libraries they are for (those read them in tests/export/):
YOLO labels and the split by pose, captions and the view, the OpenPose-style drawing, --size,
--overwrite and the one line naming the extra to install."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from click.testing import CliRunner

from helpers.cli_checks import check_one_line_error, snapshot
from helpers.synthetic import write_synthetic
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.keypoint_sets import AVATAR20, COCO18
from datagen.format.openpose_draw import COCO18_COLORS, LIMB_SHADE, draw_openpose
from datagen.io.captions import DEFAULT_CAPTION, fill, view_of
from datagen.io.coco import mask_bbox
from datagen.io.exporters import ExportOptions, export_dataset
from datagen.io.yolo import pose_keys, split_rows


def _fails(args, named, root):
    """The command exits 1 with one Error line naming ``named`` and leaves ``root`` as it was."""
    before = snapshot(root)
    check_one_line_error(CliRunner().invoke(main, [str(a) for a in args]), 1, named, before, root)


def _labels(folder):
    out = {}
    for split in ("train", "val"):
        for p in sorted((folder / "labels" / split).glob("*.txt")):
            out[int(p.stem)] = (split, np.loadtxt(p))
    return out


def test_yolo_labels_are_the_rows_keypoints_and_mask_box(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=12, size=16)
    export_dataset(src, "yolo", tmp_path / "y")
    labels = _labels(tmp_path / "y")
    assert sorted(labels) == list(range(12))
    with open_dataset(src) as r:
        for row, (split, lab) in labels.items():
            assert (tmp_path / "y" / "images" / split / f"{row:06d}.png").exists()
            assert lab[0] == 0 and lab.shape == (5 + 3 * 20,)
            x, y, w, h = mask_bbox(r.file["masks/16"][row])
            np.testing.assert_allclose(lab[1:5], [(x + w / 2) / 16, (y + h / 2) / 16, w / 16, h / 16], atol=1e-6)
            kp = lab[5:].reshape(20, 3)
            pix = r.xy[row].astype(np.float64) - 0.5  # YOLO, like COCO, puts pixel centres at i
            inside = (pix >= 0).all(1) & (pix <= 15).all(1)
            np.testing.assert_allclose(kp[inside, :2], pix[inside] / 16, atol=1e-6)
            np.testing.assert_array_equal(kp[inside, 2], r.visibility[row][inside])
            assert (kp[~inside] == 0).all()  # outside the image: not labelled (Ultralytics refuses > 1)
    yaml = (tmp_path / "y" / "data.yaml").read_text()
    assert "kpt_shape: [20, 3]" in yaml and f"flip_idx: {list(AVATAR20.flip)}" in yaml


def test_split_is_by_pose():
    keys = ["walk@1", "walk@1", "walk@2", "run@1", "run@1", "run@2", "idle@0", "walk@2"] * 3
    held = split_rows(keys, 0.25)
    for k in set(keys):
        sides = {bool(h) for h, kk in zip(held, keys) if kk == k}
        assert len(sides) == 1, k  # every row of a pose on one side
    assert {k for h, k in zip(held, keys) if h} and not held.all()
    np.testing.assert_array_equal(split_rows(keys, 0.25), held)  # the same split every time
    assert split_rows(["a", "b"], 0.01).sum() == 1 and not split_rows(["a", "b"], 0.0).any()
    assert pose_keys({"clip": ["walk", "walk"], "costume": ["a", "b"], "frame": [3.0, 3.0]}, 2) == ["walk@3"] * 2


def test_yolo_export_keeps_costumes_of_one_pose_together(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=12, size=16)
    import h5py

    with h5py.File(src, "r+") as f:  # 12 rows = 4 poses x 3 costumes
        f["meta/clip"][:] = np.repeat([0, 1, 2, 0], 3)
        f["meta/frame"][:] = np.repeat([1.0, 1.0, 1.0, 2.0], 3)
    export_dataset(src, "yolo", tmp_path / "y", options=ExportOptions(val_fraction=0.25))
    sides = {row: split for row, (split, _) in _labels(tmp_path / "y").items()}
    assert [len({sides[3 * p + c] for c in range(3)}) for p in range(4)] == [1, 1, 1, 1]
    assert sorted(sides.values()).count("val") == 3


def test_size_exports_a_pyramid_level(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=4, size=16)
    export_dataset(src, "yolo", tmp_path / "y", options=ExportOptions(size=8))
    from datagen.io.importers import read_image

    with open_dataset(src) as r:
        img = next((tmp_path / "y" / "images").glob("*/000001.png"))
        np.testing.assert_array_equal(read_image(img), r.images(8)[1])
    _fails(["export", src, "--to", "yolo", "--size", "12", "-o", tmp_path / "z"], "--size 12", tmp_path)


def test_overwrite_replaces_only_when_asked(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=4, size=16)
    out = tmp_path / "y"
    r = CliRunner().invoke(main, ["export", str(src), "--to", "coco", "-o", str(out)])
    assert r.exit_code == 0, r.output                                  # an earlier export (another layout)
    _fails(["export", src, "--to", "yolo", "-o", out], "use --overwrite", tmp_path)
    r = CliRunner().invoke(main, ["export", str(src), "--to", "yolo", "-o", str(out), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert not (out / "person_keypoints.json").exists() and (out / "data.yaml").exists()
    assert not list(tmp_path.glob(".y.*"))
    # A folder holding files no export writes is never replaced (the output policy, README "Outputs").
    (out / "notes.txt").write_text("mine")
    _fails(["export", src, "--to", "yolo", "-o", out, "--overwrite"], "which `export` does not write", tmp_path)
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("to,extra", [("hf", "hf"), ("controlnet", "controlnet")])
def test_missing_library_names_the_extra(tmp_path, monkeypatch, to, extra):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else real(name, *a))
    src = write_synthetic(tmp_path / "r.h5", n=2, size=16)
    _fails(["export", src, "--to", to, "-o", tmp_path / "o"], f"pip install 'psgan-toolkit[{extra}]'", tmp_path)


def test_caption_fields_and_views():
    fields = {"character": "avatar character", "costume": "schoolgirl", "clip": "walk", "view": "front view",
              "background": "plain white background"}
    assert fill(DEFAULT_CAPTION, fields) == "avatar character, schoolgirl outfit, walk, front view, plain white background"
    assert fill(DEFAULT_CAPTION, {**fields, "costume": "", "clip": ""}) == \
        "avatar character, front view, plain white background"
    k = COCO18
    xy = np.zeros((18, 2))
    vis = np.zeros(18, np.uint8)
    rs, ls, rh, lh = (k.index(n) for n in ("RShoulder", "LShoulder", "RHip", "LHip"))
    vis[[rs, ls, rh, lh]] = 2
    xy[[rh, lh]] = [[45, 100], [55, 100]]
    xy[[rs, ls]] = [[40, 50], [60, 50]]  # the right shoulder on the image's left: facing the camera
    assert view_of(xy, vis, k) == "front view"
    xy[[rs, ls]] = [[60, 50], [40, 50]]
    assert view_of(xy, vis, k) == "back view"
    xy[[rs, ls]] = [[52, 50], [48, 50]]  # 4 px of shoulders over 50 px of torso
    assert view_of(xy, vis, k) == "side view"
    assert view_of(xy, np.zeros(18, np.uint8), k) == ""


def test_bad_caption_template():
    from datagen.io.captions import CaptionError, check_template

    with pytest.raises(CaptionError, match=r"unknown field \{mood\}"):
        check_template("{character}, {mood}")
    with pytest.raises(CaptionError, match="--caption"):
        check_template("{character")


def test_openpose_drawing_colours():
    xy = np.full((18, 2), np.nan)
    present = np.zeros(18, bool)
    neck, rsh = COCO18.index("Neck"), COCO18.index("RShoulder")
    xy[[neck, rsh]] = [[20.0, 30.0], [60.0, 30.0]]
    present[[neck, rsh]] = True
    img = draw_openpose(xy, present, COCO18, 96)
    assert img[30, 40].tolist() == [int(c * LIMB_SHADE) for c in COCO18_COLORS[0]]  # limb 0: Neck-RShoulder
    assert img[30, 20].tolist() == list(COCO18_COLORS[neck]) and img[30, 60].tolist() == list(COCO18_COLORS[rsh])
    assert img[0, 0].tolist() == [0, 0, 0] and img[30 + 6, 40].tolist() == [0, 0, 0]  # black, 4 px half-width
    assert draw_openpose(xy, np.zeros(18, bool), COCO18, 96).max() == 0
