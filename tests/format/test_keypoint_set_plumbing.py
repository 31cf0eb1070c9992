"""Keypoint sets chosen by name end to end: import OpenPose as body25, export it, convert on export."""
import json

import numpy as np

from datagen.format import open_dataset
from datagen.format.keypoint_sets import BODY25, COCO17, COCO18
from datagen.format.validate import validate_dataset
from datagen.io.exporters import export_dataset, read_coco
from datagen.io.importers import ImportOptions, import_openpose
from datagen.io.openpose import read_openpose
from helpers.openpose_files import openpose_dirs  # noqa: F401  (the real OpenPose files with images)


def test_import_body25_keeps_feet_and_midhip(openpose_dirs, tmp_path):  # noqa: F811
    img, kp = openpose_dirs
    opts = ImportOptions(size=256, keypoint_set="body25", min_keypoints=0, workers=1)
    summary = import_openpose(img, kp, tmp_path / "b25.h5", opts)
    assert summary.imported > 0
    validate_dataset(tmp_path / "b25.h5")
    with open_dataset(tmp_path / "b25.h5") as ds:
        assert ds.keypoint_set is BODY25 and ds.xy.shape[1:] == (25, 2)
        src = list(ds.read("meta/source"))
        row = next(i for i, s in enumerate(src) if s.startswith("video_000000000000"))
        raw = np.asarray(json.loads((kp / "video_000000000000_keypoints.json").read_text())
                         ["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
        # The BODY_25 file's own feet come through (COCO-18 has no toes or heels).
        for name in ("LBigToe", "RHeel", "MidHip"):
            k = BODY25.index(name)
            assert (ds.visibility[row, k] > 0) == (raw[k, 2] > 0)
        # A COCO-18 file imported as body25 has no feet: visibility 0 there.
        row10 = src.index(next(s for s in src if s.startswith("random")))
        assert (ds.visibility[row10, [BODY25.index(n) for n in ("LBigToe", "LHeel", "MidHip")]] == 0).all()
        confidence = ds.read("pose/confidence")[row]

    # Export as OpenPose: a body25 dataset is written as BODY_25 (75 values), the confidences kept.
    export_dataset(tmp_path / "b25.h5", "openpose", tmp_path / "op")
    people = read_openpose(tmp_path / "op" / "keypoints" / f"{row:06d}_keypoints.json", BODY25)
    doc = json.loads((tmp_path / "op" / "keypoints" / f"{row:06d}_keypoints.json").read_text())
    assert len(doc["people"][0]["pose_keypoints_2d"]) == 75
    np.testing.assert_allclose(people[0, :, 2], confidence, rtol=1e-6)

    # Export as COCO-18 (OpenPose's 18-point layout): converted by landmark.
    export_dataset(tmp_path / "b25.h5", "coco18", tmp_path / "coco")
    names, xy, vis = read_coco(tmp_path / "coco" / "person_keypoints.json")
    assert xy.shape[1] == COCO18.size
    with open_dataset(tmp_path / "b25.h5") as ds:
        for name in COCO18.names:
            np.testing.assert_array_equal(vis[:, COCO18.index(name)], ds.visibility[:, BODY25.index(name)])
    # And as standard COCO (17 points): the same landmarks under COCO's names (nose, left_eye, ...).
    export_dataset(tmp_path / "b25.h5", "coco", tmp_path / "coco17")
    names, xy17, vis17 = read_coco(tmp_path / "coco17" / "person_keypoints.json")
    assert xy17.shape[1] == COCO17.size == 17
    np.testing.assert_array_equal(vis17[:, COCO17.index("left_ankle")], vis[:, COCO18.index("LAnkle")])
    np.testing.assert_allclose(xy17[:, COCO17.index("nose")], xy[:, COCO18.index("Nose")])
