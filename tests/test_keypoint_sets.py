import numpy as np
import pytest

from datagen.errors import DatasetError
from datagen.keypoint_sets import (AVATAR20, AVATAR20_TO_COCO18, COCO18, avatar20_to_coco18,
                                   get_keypoint_set)


def test_avatar20_layout():
    assert AVATAR20.size == 20
    assert AVATAR20.names[:4] == ("Hips", "Spine", "Neck", "Head")
    assert AVATAR20.names[AVATAR20.flip[AVATAR20.index("LeftHand")]] == "RightHand"
    assert AVATAR20.flip[AVATAR20.index("Head")] == AVATAR20.index("Head")
    # Every joint is connected: the skeleton is one tree over 20 nodes.
    assert len(AVATAR20.edges) == 19 and {j for e in AVATAR20.edges for j in e} == set(range(20))


def test_coco18_is_openpose_order():
    assert COCO18.names == ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow",
                            "LWrist", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye",
                            "LEye", "REar", "LEar")
    assert [COCO18.names[i] for i in COCO18.flip][:8] == ["Nose", "Neck", "LShoulder", "LElbow", "LWrist",
                                                          "RShoulder", "RElbow", "RWrist"]


def test_mapping_keeps_sides():
    for a, c in AVATAR20_TO_COCO18.items():
        if a.startswith("Left"):
            assert c.startswith("L")
        if a.startswith("Right"):
            assert c.startswith("R")


def test_avatar20_to_coco18():
    xy = np.arange(40, dtype=np.float32).reshape(1, 20, 2)
    vis = np.full((1, 20), 2, np.uint8)
    cxy, cvis = avatar20_to_coco18(xy, vis)
    assert cxy.shape == (1, 18, 2)
    assert (cxy[0, COCO18.index("LWrist")] == xy[0, AVATAR20.index("LeftHand")]).all()
    assert cvis[0, COCO18.index("Nose")] == 0 and np.isnan(cxy[0, COCO18.index("Nose")]).all()
    assert cvis.sum() == 2 * len(AVATAR20_TO_COCO18)


def test_unknown_set():
    with pytest.raises(DatasetError, match="unknown keypoint set 'hand21'"):
        get_keypoint_set("hand21")
