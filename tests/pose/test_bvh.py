"""datagen.pose.bvh: parsing real CMU BVH and forward kinematics against hand-computed poses."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.synthetic import SHARED_ASSETS
from datagen.pose.bvh import BVHError, axis_rotation, load_bvh, parse_bvh

CMU = SHARED_ASSETS / "motion" / "131_01.bvh"

TWO_JOINTS = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Arm
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 0 0 0
1 2 3 90 0 0 0 0 90
"""


def test_parse_cmu_file():
    b = load_bvh(CMU)
    assert b.num_frames == 994 and b.fps == pytest.approx(120, rel=1e-4)
    assert b.names[0] == "Hips" and b.parents[0] == -1
    assert {"LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "LeftCollar", "LeftShoulder",
            "LeftElbow", "LeftWrist", "Head"} <= set(b.names)
    assert b.motion.shape == (994, sum(len(c) for c in b.channels))
    # the 3dsMax conversion orders the arm channels Z X Y
    assert b.channels[b.index("LeftElbow")] == ["Zrotation", "Xrotation", "Yrotation"]
    assert b.parents[b.index("LeftKnee")] == b.index("LeftHip")
    assert b.index("LeftToe") in b.end_sites


def test_forward_kinematics_by_hand():
    b = parse_bvh(TWO_JOINTS)
    P, R = b.forward_kinematics()
    np.testing.assert_allclose(P[0, 1], [1, 0, 0])
    # frame 1: root at (1,2,3) turned 90 deg about Z; the arm's offset (1,0,0) becomes (0,1,0)
    np.testing.assert_allclose(P[1, 0], [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(P[1, 1], [1, 3, 3], atol=1e-12)
    # the arm turns 90 deg about its X: end site (0,2,0) -> (0,0,2) locally, then the root's Z turn
    end = b.end_positions(P, R)[1]
    np.testing.assert_allclose(end[1], [1, 3, 5], atol=1e-12)
    np.testing.assert_allclose(b.rest_positions(), [[0, 0, 0], [1, 0, 0]])


def test_channel_order_matters():
    b = load_bvh(CMU)
    R, _ = b.local_transforms()
    j = b.index("LeftElbow")
    c0 = sum(len(c) for c in b.channels[:j])
    z, x, y = np.radians(b.motion[10, c0:c0 + 3])
    want = axis_rotation(2, np.array(z)) @ axis_rotation(0, np.array(x)) @ axis_rotation(1, np.array(y))
    np.testing.assert_allclose(R[10, j], want, atol=1e-12)


def test_cmu_rest_pose_is_a_standing_person():
    b = load_bvh(CMU)
    rest = b.rest_positions()
    head, toe = rest[b.index("Head")], rest[b.index("LeftToe")]
    assert head[1] > 5 and toe[1] < -10  # Y up
    assert rest[b.index("LeftHip")][0] > 0 > rest[b.index("RightHip")][0]  # left = +X


@pytest.mark.parametrize("text, msg", [
    ("nothing here", "no HIERARCHY"),
    ("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n}\n", "no MOTION"),
    (TWO_JOINTS.replace("OFFSET 1 0 0", "OFFSET 1 zero 0"), ":8: expected a number"),
    (TWO_JOINTS.replace("Frames: 2", "Frames: 3"), "3 frames announced, 2 found"),
    (TWO_JOINTS.replace("Xrotation\n", "Wrotation\n"), "unknown channel"),
    (TWO_JOINTS.replace("0 0 0 0 0 0 0 0 0", "0 0 0 0 0 0 0 0"), "each frame needs 9 values"),
])
def test_malformed_files_give_one_line_errors(tmp_path, text, msg):
    p = tmp_path / "bad.bvh"
    p.write_text(text)
    with pytest.raises(BVHError, match=msg) as e:
        load_bvh(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(BVHError, match="cannot read"):
        load_bvh(tmp_path / "nope.bvh")
