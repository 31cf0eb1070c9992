"""The COCO export as the standard tools read it: pycocotools loads it, annToMask gives back the
dataset's masks, and COCOeval scores the export against itself at AP 1.0."""
import contextlib
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from helpers.synthetic import write_synthetic
from datagen.cli import main
from datagen.format import open_dataset
from datagen.format.keypoint_sets import COCO17, COCO17_SIGMAS, convert_keypoints
from datagen.io.coco import mask_bbox, mask_rle, rle_counts
from datagen.io.exporters import COCO_FILE, export_dataset
from test_exporters import imported  # noqa: F401  (fixture: the shared OpenPose files imported)
from helpers.openpose_files import openpose_dirs  # noqa: F401  (fixture)


def load(path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its timings
        return COCO(str(path))


def evaluate_against_itself(coco: COCO) -> COCOeval:
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
               for a in coco.dataset["annotations"] if a["num_keypoints"] > 0]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("shape", [(7, 5), (1, 1), (16, 16)])
def test_rle_matches_pycocotools(shape):
    rng = np.random.default_rng(sum(shape))
    for mask in (rng.random(shape) > 0.6, np.zeros(shape, bool), np.ones(shape, bool),
                 np.pad(np.ones((1, 1), bool), ((0, shape[0] - 1), (shape[1] - 1, 0)))):
        mask = mask.astype(np.uint8) * 255
        ref = mask_utils.encode(np.asfortranarray((mask > 0).astype(np.uint8)))
        ours = mask_rle(mask)
        assert ours["counts"] == ref["counts"].decode() and ours["size"] == list(ref["size"])
        assert sum(rle_counts(mask)) == mask.size
        assert mask_bbox(mask) == pytest.approx(mask_utils.toBbox(ref).tolist())


def test_rle_of_long_runs_matches_pycocotools():
    # Runs longer than 2**5 and differences that go negative exercise the multi-group, signed code.
    mask = np.zeros((300, 200), np.uint8)
    mask[10:290, 50:60] = 1
    mask[5:7, 100:180] = 1
    ref = mask_utils.encode(np.asfortranarray(mask))
    assert mask_rle(mask)["counts"] == ref["counts"].decode()


def test_coco_export_is_accepted_by_pycocotools(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=6, size=32, keypoint_set="coco18")
    export_dataset(src, "coco", tmp_path / "coco")
    coco = load(tmp_path / "coco" / COCO_FILE)
    assert coco.loadCats(1)[0]["keypoints"] == list(COCO17.names)
    assert coco.loadCats(1)[0]["skeleton"][0] == [16, 14]  # COCO's own skeleton, 1-based
    with open_dataset(src) as ds:
        masks = ds.read("masks/32")
        want_xy, want_vis = convert_keypoints(ds.xy, ds.visibility, "coco18", "coco17")
        clips, costumes, frames = ds.read("meta/clip"), ds.read("meta/costume"), ds.read("meta/frame")
    assert len(coco.getImgIds()) == 6
    for row in range(6):
        img = coco.loadImgs(row + 1)[0]
        assert img["row"] == row and img["clip"] == ["idle", "walk", "run"][clips[row]]
        assert img["costume"] == ["red", "blue"][costumes[row]] and img["frame"] == pytest.approx(frames[row])
        ann = coco.loadAnns(coco.getAnnIds(imgIds=row + 1))[0]
        np.testing.assert_array_equal(coco.annToMask(ann), masks[row] > 0)
        assert ann["area"] == np.count_nonzero(masks[row])
        ys, xs = np.nonzero(masks[row])
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        kp = np.asarray(ann["keypoints"]).reshape(17, 3)
        np.testing.assert_array_equal(kp[:, 2], want_vis[row])
        np.testing.assert_allclose(kp[:, :2], want_xy[row] - 0.5, atol=1e-5)

    ev = evaluate_against_itself(coco)
    assert ev.stats[0] == pytest.approx(1.0)  # AP at OKS .50:.95
    np.testing.assert_allclose(ev.params.kpt_oks_sigmas, COCO17_SIGMAS)  # our table is COCOeval's


def test_coco_export_of_real_openpose_import_evaluates(imported, tmp_path):  # noqa: F811
    """An import of the shared real OpenPose output (no masks): keypoint boxes, COCOeval AP 1.0."""
    export_dataset(imported, "coco", tmp_path / "coco")
    coco = load(tmp_path / "coco" / COCO_FILE)
    anns = coco.dataset["annotations"]
    assert anns and all("segmentation" not in a and a["area"] > 0 for a in anns)
    assert all(im["source"] for im in coco.dataset["images"])
    assert evaluate_against_itself(coco).stats[0] == pytest.approx(1.0)


def test_coco18_export_keeps_18_points(tmp_path):
    src = write_synthetic(tmp_path / "r.h5", n=3, size=16, keypoint_set="coco18")
    r = CliRunner().invoke(main, ["export", str(src), "--to", "coco18", "-o", str(tmp_path / "c18")])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "c18" / COCO_FILE).read_text())
    assert len(doc["categories"][0]["keypoints"]) == 18 and len(doc["annotations"][0]["keypoints"]) == 54
    assert load(tmp_path / "c18" / COCO_FILE).annToMask(doc["annotations"][0]).shape == (16, 16)
