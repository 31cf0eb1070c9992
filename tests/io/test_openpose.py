import json

import numpy as np
import pytest

from helpers.synthetic import SHARED_ASSETS
from datagen.format.keypoint_sets import COCO18
from datagen.format.keypoint_sets import BODY25
from datagen.io.openpose import (OpenPoseError, from_format, image_stem,
                              openpose_document, parse_openpose, rank_people, read_openpose, to_format,
                              write_openpose)

V10 = SHARED_ASSETS / "openpose" / "coco18_v1.0" / "random_keypoints.json"
V13 = SHARED_ASSETS / "openpose" / "body25_v1.3" / "video_000000000000_keypoints.json"


def test_reads_version_1_0_coco18():
    people = read_openpose(V10)
    assert people.shape == (2, 18, 3)
    np.testing.assert_array_equal(people[0, COCO18.index("Nose")], [0, 0, 0])  # missing: 0, 0, 0
    np.testing.assert_array_equal(people[0, COCO18.index("Neck")], [447.67, 204.633, 0.833261])
    np.testing.assert_array_equal(people[1, COCO18.index("LEar")], [599.886, 425.426, 0.754479])


def test_reads_version_1_3_body25_by_part_name():
    people = read_openpose(V13)
    raw = np.asarray(json.loads(V13.read_text())["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    assert people.shape == (1, 18, 3)
    np.testing.assert_array_equal(people[0, COCO18.index("Nose")], raw[0])
    np.testing.assert_array_equal(people[0, COCO18.index("REye")], [605.839, 198.342, 0.901223])  # BODY_25 #15
    np.testing.assert_array_equal(people[0, COCO18.index("LEar")], raw[18])
    np.testing.assert_array_equal(people[0, COCO18.index("RHip")], raw[9])  # not MidHip (#8)
    # Read as BODY_25, the file comes back exactly as it is.
    np.testing.assert_array_equal(read_openpose(V13, BODY25)[0], raw)


def test_coco18_file_read_as_body25_lacks_feet():
    people = read_openpose(V10, "body25")
    assert people.shape == (2, 25, 3)
    for name in ("MidHip", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"):
        assert (people[:, BODY25.index(name)] == 0).all()
    np.testing.assert_array_equal(people[:, BODY25.index("LEar")], read_openpose(V10)[:, COCO18.index("LEar")])


def test_reads_version_1_2_key_with_coco18_values():
    doc = json.loads(V10.read_text())
    for p in doc["people"]:
        p["pose_keypoints_2d"] = p.pop("pose_keypoints")
    doc["version"] = 1.2
    np.testing.assert_array_equal(parse_openpose(doc), read_openpose(V10))


def test_rank_people_most_complete_then_most_confident():
    people = read_openpose(V10)  # person 0 has 15 parts, person 1 has 11
    assert list(rank_people(people)) == [0, 1]
    swapped = people[::-1]
    assert list(rank_people(swapped)) == [1, 0]
    # Same count: the more confident one first.
    twin = people[[0, 0]].copy()
    twin[1, :, 2] *= np.where(twin[1, :, 2] > 0, 1.01, 0)
    assert list(rank_people(twin)) == [1, 0]
    # --min-confidence removes parts before counting.
    assert (to_format(people, 0.9)[1].sum(-1) < to_format(people)[1].sum(-1)).all()


def test_format_conversion_and_back_is_exact():
    people = read_openpose(V10)
    xy, ok, conf = to_format(people)
    assert np.isnan(xy[~ok]).all() and (conf[~ok] == 0).all()
    np.testing.assert_array_equal(xy[ok], people[..., :2][ok] + 0.5)  # pixel centre i -> i + 0.5
    np.testing.assert_array_equal(from_format(xy, conf), people)
    # Through float32 (as stored) and back: still exact to the float32 values.
    xy32, conf32 = xy.astype(np.float32), conf.astype(np.float32)
    back = to_format(from_format(xy32, conf32))
    np.testing.assert_array_equal(back[0].astype(np.float32), xy32)


def test_write_is_openpose_1_3_and_reads_back(tmp_path):
    people = read_openpose(V13)
    path = tmp_path / "a_keypoints.json"
    write_openpose(path, people)
    doc = json.loads(path.read_text())
    assert doc["version"] == 1.3 and len(doc["people"][0]["pose_keypoints_2d"]) == 54
    assert doc["people"][0]["person_id"] == [-1] and doc["people"][0]["face_keypoints_2d"] == []
    np.testing.assert_array_equal(read_openpose(path), people)
    assert openpose_document(np.zeros((0, 18, 3)))["people"] == []


@pytest.mark.parametrize("text,reason,match", [
    (V10.read_text()[:300], "bad JSON", "not valid JSON"),
    ("hello", "bad JSON", "not valid JSON"),
    ('{"version": 1.3}', "not OpenPose output", "no 'people' list"),
    ('{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}', "wrong number of values", "has 3 pose_keypoints_2d values"),
    ('{"people": [{"pose_keypoints": [' + ",".join(["1"] * 53) + ', NaN]}]}', "NaN value", "NaN"),
    ('{"people": [{"pose_keypoints_2d": [' + ",".join(["1"] * 74) + ', "x"]}]}', "non-numeric value", "not a number"),
    ('{"people": [{"face_keypoints_2d": []}]}', "not OpenPose output", "neither"),
    ('{"people": [{"pose_keypoints_2d": [' + ",".join(["[1, 2, 3]"] * 54) + ']}]}', "non-numeric value",
     "not a number"),
    ('{"people": [{"pose_keypoints_2d": [' + ",".join(["true"] * 54) + ']}]}', "non-numeric value", "not a number"),
])
def test_bad_files_name_the_file(tmp_path, text, reason, match):
    path = tmp_path / "bad_keypoints.json"
    path.write_text(text)
    with pytest.raises(OpenPoseError, match=match) as e:
        read_openpose(path)
    assert str(path) in e.value.message and e.value.reason == reason
    with pytest.raises(OpenPoseError, match="cannot read"):
        read_openpose(tmp_path / "missing_keypoints.json")


def test_no_people_and_names():
    assert parse_openpose({"version": 1.3, "people": []}).shape == (0, 18, 3)
    assert image_stem("dir/video_000000000003_keypoints.json") == "video_000000000003"
    assert image_stem("notes.json") is None
