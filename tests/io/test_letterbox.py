import numpy as np
import pytest

from datagen.io.letterbox import PAD_VALUE, letterbox_for, letterbox_image


def test_square_of_the_target_size_is_left_alone():
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out, box = letterbox_image(img, 64)
    assert out is img and box.is_identity
    xy = np.array([[0.5, 63.5], [10.25, 3.0]])
    np.testing.assert_array_equal(box.apply_points(xy), xy)


@pytest.mark.parametrize("w,h,size,new,pad", [
    (300, 150, 256, (256, 128), (0, 64)),   # wide, shrink
    (176, 256, 256, (176, 256), (40, 0)),   # the DeepFashion crop: no scaling, 40 px each side
    (64, 32, 256, (256, 128), (0, 64)),     # enlarge
    (750, 1101, 256, (174, 256), (41, 0)),  # odd aspect: rounded width, floor of half the padding
    (512, 512, 256, (256, 256), (0, 0)),
])
def test_geometry_and_corners(w, h, size, new, pad):
    box = letterbox_for(w, h, size)
    assert (box.new_width, box.new_height) == new and (box.pad_x, box.pad_y) == pad
    # The image's corners land exactly on the corners of the content rectangle.
    corners = box.apply_points(np.array([[0, 0], [w, h]], float))
    np.testing.assert_allclose(corners, [[pad[0], pad[1]], [pad[0] + new[0], pad[1] + new[1]]], atol=1e-12)
    np.testing.assert_allclose(box.invert_points(corners), [[0, 0], [w, h]], atol=1e-9)


def test_padding_is_white_and_content_kept():
    img = np.zeros((100, 200, 3), np.uint8)
    out, box = letterbox_image(img, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert (out[:box.pad_y] == PAD_VALUE).all() and (out[box.pad_y + box.new_height:] == PAD_VALUE).all()
    assert (out[box.pad_y:box.pad_y + box.new_height] == 0).all()


def _centroid(gray: np.ndarray) -> np.ndarray:
    """Intensity centroid in format-v1 pixels (pixel i's centre at i + 0.5)."""
    ys, xs = np.mgrid[0:gray.shape[0], 0:gray.shape[1]]
    w = gray.astype(np.float64)
    return np.array([(w * (xs + 0.5)).sum() / w.sum(), (w * (ys + 0.5)).sum() / w.sum()])


@pytest.mark.parametrize("w,h,size", [(1000, 500, 256), (100, 140, 256), (37, 53, 64)])
def test_keypoints_follow_the_pixels(w, h, size):
    """A bright block's centroid in the output is where apply_points puts its centroid in the input."""
    img = np.zeros((h, w, 3), np.uint8)
    x0, y0 = int(w * 0.3), int(h * 0.6)
    bw, bh = max(2, w // 10), max(2, h // 10)
    img[y0:y0 + bh, x0:x0 + bw] = 200
    out, box = letterbox_image(img, size)
    content = out[box.pad_y:box.pad_y + box.new_height, box.pad_x:box.pad_x + box.new_width, 0]
    got = _centroid(content) + [box.pad_x, box.pad_y]
    want = box.apply_points(_centroid(img[..., 0]))
    # Interpolation blurs the edges but keeps the centroid; a fraction of an output pixel.
    np.testing.assert_allclose(got, want, atol=0.06)


def test_bad_sizes():
    with pytest.raises(ValueError):
        letterbox_for(0, 10, 256)
