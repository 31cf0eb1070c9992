import numpy as np

from datagen.render.compositing import composite_on_white, decode_tga
from datagen.render.visibility import joint_radii, view_directions, visibility_flags


def test_flags_cover_every_case():
    S = 64
    xy = np.array([[10, 10], [70, 10], [10, -0.5], [32, 32], [32, 32], [32, 32], [40, 40], [63.9, 0]], float)
    depth = np.array([2, 2, 2, -1, 2, 2, 2, 2], float)
    dist = np.full(8, 2.0)
    hits = np.array([np.inf, np.inf, np.inf, np.inf, 1.95, 1.5, np.inf, np.inf])
    radius = np.full(8, 0.1)
    mapped = np.array([1, 1, 1, 1, 1, 1, 0, 1], bool)
    # Callers stop the ray `radius` before the joint, so a hit within the radius is never reported;
    # the decision must still not depend on that.
    vis = visibility_flags(xy, depth, S, dist, hits, radius, mapped)
    assert vis.tolist() == [2, 0, 0, 0, 2, 1, 0, 2]
    assert vis.dtype == np.uint8


def test_nan_keypoints_are_absent():
    vis = visibility_flags(np.full((2, 2), np.nan), np.full(2, np.nan), 64, np.full(2, np.nan), np.full(2, np.inf),
                           np.zeros(2))
    assert vis.tolist() == [0, 0]


def test_view_directions_are_unit_rings():
    d = view_directions(8, (-20.0, 0.0, 20.0))
    assert d.shape == (24, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1)
    np.testing.assert_allclose(d[8:16, 2], 0, atol=1e-12)
    np.testing.assert_allclose(d[:8, 2], -np.sin(np.radians(20)))


def test_joint_radius_ignores_the_few_directions_along_a_limb():
    # A joint in a limb of radius 0.05 seen from 16 directions, 2 of them along the limb (0.4 deep).
    depths = np.full((1, 16), 0.05)
    depths[0, :2] = 0.4
    r = joint_radii(depths, tolerance=0.01)
    np.testing.assert_allclose(r, [0.06])
    assert joint_radii(np.zeros((2, 4)), 0.02).tolist() == [0.02, 0.02]


def _tga(rgba, top_first):
    h, w = rgba.shape[:2]
    header = bytes([0, 0, 2]) + bytes(9) + w.to_bytes(2, "little") + h.to_bytes(2, "little") + \
        bytes([32, 0x28 if top_first else 0x08])
    px = rgba[..., [2, 1, 0, 3]]
    return header + (px if top_first else px[::-1]).tobytes()


def test_decode_tga_both_orientations():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    np.testing.assert_array_equal(decode_tga(_tga(rgba, False)), rgba)
    np.testing.assert_array_equal(decode_tga(_tga(rgba, True)), rgba)


def test_composite_on_white_is_exact():
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 0, 0, 128], [200, 100, 0, 127]]], np.uint8)
    rgb, mask = composite_on_white(rgba)
    assert rgb[0, 0].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [10, 20, 30]
    assert rgb[0, 2].tolist() == [127, 127, 127]  # 255 * 127 / 255
    assert mask[0].tolist() == [0, 255, 128, 127]  # the coverage (alpha), not a threshold of it
