"""Face landmarks from the head's own geometry (datagen.pose.face_geometry), on synthetic heads of adult and
large anime proportions, without Blender. The real heads (the default avatar's empties, the Godette VRM's
eyes) are checked in tests/render/test_vrm.py."""
from __future__ import annotations

import numpy as np
import pytest

from datagen.pose.face_geometry import EYE_HEIGHT, face_points, head_frame
from datagen.pose.landmarks import fallback_points

LEFT = np.array([1.0, 0.0, 0.0])  # the character's left; it faces -Y, Z up


def ellipsoid_head(centre, height, width, depth, n=4000, seed=0) -> np.ndarray:
    """Points on an ellipsoid's surface (semi-axes width/2, depth/2, height/2) (a head without a face: proportions only)."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.asarray(centre, float) + d * np.array([width, depth, height]) / 2


# Adult: 23 cm chin to crown, head bone from the skull base (a little below mid-head) 25 cm up.
ADULT = dict(centre=(0.0, 0.0, 1.60), height=0.23, width=0.15, depth=0.20)
ADULT_BONE = (np.array([0.0, 0.02, 1.52]), np.array([0.0, 0.02, 1.77]))
# Large anime head: 43 cm tall and as wide, the head bone's joint at the chin (like the Godette VRM).
ANIME = dict(centre=(0.0, 0.0, 1.17), height=0.43, width=0.42, depth=0.38)
ANIME_BONE = (np.array([0.0, 0.0, 0.98]), np.array([0.0, 0.0, 1.25]))


def on_front_surface(p, head) -> float:
    """How far a point is from the ellipsoid's surface along the forward (-Y) axis, metres."""
    c, (w, d, h) = np.asarray(head["centre"]), (head["width"] / 2, head["depth"] / 2, head["height"] / 2)
    x, z = p[0] - c[0], p[2] - c[2]
    y_surface = -d * np.sqrt(max(0.0, 1 - (x / w) ** 2 - (z / h) ** 2))
    return abs((p[1] - c[1]) - y_surface)


@pytest.mark.parametrize("head", [ADULT, ANIME], ids=["adult", "anime"])
def test_face_points_sit_on_the_face_of_either_proportion(head):
    pts = face_points(ellipsoid_head(**head), LEFT)
    bottom = head["centre"][2] - head["height"] / 2
    for eye, sign in (("left_eye", 1), ("right_eye", -1)):
        e = pts[eye]
        # at the same fraction of the head's height, whatever its size
        assert (e[2] - bottom) / head["height"] == pytest.approx(EYE_HEIGHT, abs=0.02)
        assert np.sign(e[0]) == sign and 0.25 < abs(e[0]) / (head["width"] / 2) < 0.5  # on its own side
        assert on_front_surface(e, head) < 0.02 * head["depth"] / 0.2  # on the front surface
    nose = pts["nose"]
    assert abs(nose[0]) < 0.03 * head["width"] and nose[2] < pts["left_eye"][2] and on_front_surface(nose, head) < 0.01
    for ear, sign in (("left_ear", 1), ("right_ear", -1)):
        a = pts[ear]
        assert np.sign(a[0]) == sign and abs(a[0]) > 0.9 * head["width"] / 2  # on the side of the head
        assert a[1] > pts["nose"][1] + 0.3 * head["depth"]  # well behind the face


def test_the_fixed_offsets_miss_a_large_anime_head_and_the_geometry_does_not():
    side = {"LeftUpperArm": (np.array([0.2, 0, 0.9]), None), "RightUpperArm": (np.array([-0.2, 0, 0.9]), None)}
    fixed = fallback_points({"Head": ANIME_BONE, **side})
    geom = face_points(ellipsoid_head(**ANIME), LEFT)
    bottom = ANIME["centre"][2] - ANIME["height"] / 2
    fraction = lambda p: (p[2] - bottom) / ANIME["height"]  # noqa: E731
    assert fraction(fixed["left_eye"]) < 0.25  # towards the chin
    assert on_front_surface(fixed["left_eye"], ANIME) > 0.04  # and 4 cm inside the head, not on the face
    assert fraction(geom["left_eye"]) == pytest.approx(EYE_HEIGHT, abs=0.02)


def test_the_points_turn_with_the_character():
    """A character facing +Y (its left at -X, as a VRM 0.x in armature space) gets the same points turned."""
    v = ellipsoid_head(**ADULT)
    turn = np.diag([-1.0, -1.0, 1.0])  # half a turn about Z
    a = face_points(v, LEFT)
    b = face_points(v @ turn.T, turn @ LEFT)
    for k in a:
        np.testing.assert_allclose(b[k], turn @ a[k], atol=1e-9)


def test_head_frame_is_left_up_front():
    np.testing.assert_allclose(head_frame(np.array([2.0, 0.0, 0.3])), [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12)


def test_too_few_vertices_give_none():
    assert face_points(np.zeros((5, 3)), LEFT) is None
    assert face_points(np.zeros((100, 3)), LEFT) is None  # no extent to measure
