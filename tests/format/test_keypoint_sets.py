import numpy as np
import pytest

from datagen.errors import DatasetError
from datagen.format.keypoint_sets import (AVATAR20, BODY25, COCO17, COCO18, KEYPOINT_SETS, KeypointSet, conversion_index,
                                          convert_keypoints, get_keypoint_set, register_keypoint_set,
                                          shared_keypoints)


def test_registry_holds_the_four_sets():
    assert list(KEYPOINT_SETS) == ["avatar20", "coco18", "body25", "coco17"]
    for name, kps in KEYPOINT_SETS.items():
        assert get_keypoint_set(name) is kps and kps.description


def test_avatar20_layout():
    assert AVATAR20.size == 20
    assert AVATAR20.names[:4] == ("Hips", "Spine", "Neck", "Head")
    assert AVATAR20.names[AVATAR20.flip[AVATAR20.index("LeftHand")]] == "RightHand"
    assert AVATAR20.flip[AVATAR20.index("Head")] == AVATAR20.index("Head")
    # Every joint is connected: the skeleton is one tree over 20 nodes.
    assert len(AVATAR20.edges) == 19 and {j for e in AVATAR20.edges for j in e} == set(range(20))


def test_coco17_is_the_coco_person_layout():
    assert COCO17.names == ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    assert [COCO17.names[i] for i in COCO17.flip][:5] == ["nose", "right_eye", "left_eye", "right_ear", "left_ear"]
    assert len(COCO17.edges) == 19 and (15, 13) in COCO17.edges  # COCO's [16, 14], 0-based
    # Every COCO-18 point but the neck is a COCO-17 point; avatar20 gives the 12 body joints.
    assert sorted(conversion_index("coco18", "coco17")) == sorted(set(range(18)) - {COCO18.index("Neck")})
    assert (conversion_index("avatar20", "coco17") >= 0).sum() == 12


def test_coco18_is_openpose_order():
    assert COCO18.names == ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow",
                            "LWrist", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye",
                            "LEye", "REar", "LEar")
    assert [COCO18.names[i] for i in COCO18.flip][:8] == ["Nose", "Neck", "LShoulder", "LElbow", "LWrist",
                                                          "RShoulder", "RElbow", "RWrist"]


def test_body25_is_openpose_order():
    # POSE_BODY_25_BODY_PARTS of OpenPose (and the shared assets' README).
    assert BODY25.names == ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
                            "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
                            "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
    assert BODY25.names[BODY25.flip[BODY25.index("LHeel")]] == "RHeel"
    assert BODY25.flip[BODY25.index("MidHip")] == BODY25.index("MidHip")
    assert len(BODY25.edges) == 24 and {j for e in BODY25.edges for j in e} == set(range(25))


@pytest.mark.parametrize("kps", list(KEYPOINT_SETS.values()), ids=list(KEYPOINT_SETS))
def test_flip_partners_mirror_landmarks(kps):
    for k, f in enumerate(kps.flip):
        lm, partner = kps.landmarks[k], kps.landmarks[f]
        assert partner == lm.replace("left_", "@").replace("right_", "left_").replace("@", "right_")


def test_name_tables_keep_sides():
    table = shared_keypoints(AVATAR20, COCO18)
    assert len(table) == 13 and table["LeftUpperArm"] == "LShoulder" and table["RightFoot"] == "RAnkle"
    for a, c in table.items():
        if a.startswith("Left"):
            assert c.startswith("L")
        if a.startswith("Right"):
            assert c.startswith("R")
    # BODY_25 holds every COCO-18 point under the same name.
    assert shared_keypoints(COCO18, BODY25) == {n: n for n in COCO18.names}


def test_convert_avatar20_to_coco18():
    xy = np.arange(40, dtype=np.float32).reshape(1, 20, 2)
    vis = np.full((1, 20), 2, np.uint8)
    cxy, cvis = convert_keypoints(xy, vis, AVATAR20, "coco18")
    assert cxy.shape == (1, 18, 2)
    assert (cxy[0, COCO18.index("LWrist")] == xy[0, AVATAR20.index("LeftHand")]).all()
    assert cvis[0, COCO18.index("Nose")] == 0 and np.isnan(cxy[0, COCO18.index("Nose")]).all()
    assert cvis.sum() == 2 * 13


def test_convert_body25_round_trip_through_coco18():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 64, (3, 25, 2)).astype(np.float32)
    vis = rng.integers(0, 3, (3, 25)).astype(np.uint8)
    cxy, cvis = convert_keypoints(xy, vis, "body25", "coco18")
    bxy, bvis = convert_keypoints(cxy, cvis, "coco18", "body25")
    kept = conversion_index("body25", "coco18")
    np.testing.assert_array_equal(bxy[:, kept], xy[:, kept])
    np.testing.assert_array_equal(bvis[:, kept], vis[:, kept])
    lost = np.setdiff1d(np.arange(25), kept)
    assert (bvis[:, lost] == 0).all() and np.isnan(bxy[:, lost]).all()
    assert sorted(BODY25.names[i] for i in lost) == sorted(
        ["MidHip", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"])


def test_register_a_new_set():
    hand = KeypointSet("test_pair", ("LWrist", "RWrist"), ((0, 1),), (1, 0), ((0, 0, 0),),
                       ("left_wrist", "right_wrist"))
    register_keypoint_set(hand)
    try:
        xy, vis = convert_keypoints(np.zeros((18, 2)) + np.arange(18)[:, None], np.full(18, 2), "coco18", "test_pair")
        assert xy[:, 0].tolist() == [COCO18.index("LWrist"), COCO18.index("RWrist")]
        with pytest.raises(ValueError):
            register_keypoint_set(hand)
    finally:
        del KEYPOINT_SETS["test_pair"]


def test_unknown_set():
    with pytest.raises(DatasetError, match="unknown keypoint set 'hand21'"):
        get_keypoint_set("hand21")
