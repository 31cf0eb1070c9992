import numpy as np

from datagen.format.pyramid import build_pyramid, downsample2x, downsample2x_reference, pyramid_sizes


def test_sizes():
    assert pyramid_sizes(64) == [64, 32, 16, 8, 4]
    assert pyramid_sizes(4) == [4]


def test_downsample_is_rounded_box_average():
    img = np.array([[[0], [1]], [[1], [1]]], np.uint8)[None]  # sum 3 -> 0.75 -> rounds to 1
    assert downsample2x(img)[0, 0, 0, 0] == 1
    img = np.array([[[0], [0]], [[1], [1]]], np.uint8)[None]  # 0.5 rounds half up
    assert downsample2x(img)[0, 0, 0, 0] == 1
    img = np.full((1, 2, 2, 3), 255, np.uint8)  # white stays exactly white
    assert (downsample2x(img) == 255).all()


def test_pyramid_matches_float_box_filter():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    levels = build_pyramid(img)
    assert sorted(levels) == [4, 8, 16, 32]
    for r in (16, 8, 4):
        above = levels[2 * r].astype(np.float64)
        ref = above.reshape(3, r, 2, r, 2, 3).mean((2, 4))
        assert np.abs(levels[r] - ref).max() <= 0.5


def test_fast_path_equals_definition():
    rng = np.random.default_rng(2)
    for shape in [(2, 64, 64, 3), (1, 8, 8, 3), (3, 4, 4, 1), (1, 1024, 1024, 3)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(downsample2x(img), downsample2x_reference(img))
