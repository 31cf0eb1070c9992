"""The pipeline's anti-aliasing maths (jittered samples resolved in numpy; no Blender)."""
import numpy as np
import pytest

from datagen.render.compositing import (
    blackman_harris,
    composite_on_white,
    resolve_samples,
    sample_offsets,
    splat_kernels,
)
from datagen.render.engines import ENGINES, get_engine


def test_sample_offsets_one_grid_and_rooks():
    assert sample_offsets(1).tolist() == [[0.0, 0.0]]  # no anti-aliasing: the pixel centre
    np.testing.assert_allclose(sorted(map(tuple, sample_offsets(4))), [(-.25, -.25), (-.25, .25), (.25, -.25), (.25, .25)])
    g = sample_offsets(9)
    assert sorted(set(np.round(g[:, 0], 6))) == sorted(set(np.round(g[:, 1], 6))) == pytest.approx([-1 / 3, 0, 1 / 3])
    for n in (2, 3, 5, 6, 7, 8, 11):
        o = sample_offsets(n)
        assert o.shape == (n, 2) and (o >= -0.5).all() and (o < 0.5).all()
        for axis in (0, 1):  # N rooks: one sample in every row and every column of the N x N sub-grid
            assert sorted(np.floor((o[:, axis] + 0.5) * n + 1e-9).astype(int).tolist()) == list(range(n))
        np.testing.assert_allclose(o.mean(0), 0, atol=1e-12)  # centred: the image is not shifted
    with pytest.raises(ValueError):
        sample_offsets(0)


def test_blackman_harris_window():
    assert blackman_harris(np.array(0.0), 3.0) == pytest.approx(1.0)
    assert blackman_harris(np.array([1.5, 1.6, 4.0]), 3.0).tolist() == [pytest.approx(0, abs=1e-4), 0, 0]
    r = np.linspace(0, 1.5, 50)
    assert (np.diff(blackman_harris(r, 3.0)) <= 1e-12).all()


def _edge_samples(offsets, size, edge_x, rgba):
    """Samples of a scene that is ``rgba`` left of x = edge_x and empty right of it."""
    out = []
    for ox, _ in offsets:
        s = np.zeros((size, size, 4), np.uint8)
        s[:, (np.arange(size) + 0.5 + ox) < edge_x] = rgba
        out.append(s)
    return out


def test_resolve_matches_a_direct_sum_of_the_filter():
    """cv2's correlation against a plain loop over pixels, neighbours and samples (the Workbench
    convention: the sample of pixel p + n taken at offset o weighs BH(|n + 1.5 o|) in pixel p)."""
    offsets = sample_offsets(3)
    width = 3.0
    size = 12
    samples = _edge_samples(offsets, size, 5.4, (200, 40, 10, 255))
    got = resolve_samples(samples, offsets, width)
    lin = lambda c: np.where(c / 255 <= 0.04045, c / 255 / 12.92, ((c / 255 + 0.055) / 1.055) ** 2.4)
    R = splat_kernels(offsets, width).shape[1] // 2
    y = 6
    for x in range(size):
        acc, total = np.zeros(4), 0.0
        for s, (ox, oy) in zip(samples, offsets):
            for dy in range(-R, R + 1):
                for dx in range(-R, R + 1):
                    w = float(blackman_harris(np.hypot(dx + 1.5 * ox, dy + 1.5 * oy), width))
                    total += w
                    q = s[y + dy, x + dx] if 0 <= x + dx < size else np.zeros(4)
                    a = q[3] / 255
                    acc += w * np.array([*(lin(q[:3].astype(float)) * a), a])
        acc /= total
        assert abs(int(got[y, x, 3]) - acc[3] * 255) <= 0.51
        if acc[3] > 0.02:  # the colour of nearly empty pixels is not worth comparing
            straight = acc[:3] / acc[3]
            srgb = 255 * np.where(straight <= 0.0031308, straight * 12.92, 1.055 * straight ** (1 / 2.4) - 0.055)
            np.testing.assert_allclose(got[y, x, :3], srgb, atol=0.51)
    # away from the edge (and from the image border, beyond which nothing was rendered): exactly the
    # colour, exactly empty
    assert got[6, R].tolist() == [200, 40, 10, 255] and got[6, -1].tolist() == [0, 0, 0, 0]


def test_resolve_blends_in_linear_light_and_keeps_empty_pixels_exact():
    offsets = sample_offsets(2)
    black = np.zeros((8, 8, 4), np.uint8)
    black[..., 3] = 255
    white = np.full((8, 8, 4), 255, np.uint8)
    inner = (slice(2, -2), slice(2, -2))  # the filter's reach inside the image border
    mixed = resolve_samples([black, white], offsets, 3.0)[inner]
    assert (mixed[..., :3] == 188).all() and (mixed[..., 3] == 255).all()  # sRGB of 0.5 linear, not 128
    # half coverage of black over nothing: straight colour stays black, alpha is 1/2
    half = resolve_samples([black, np.zeros_like(black)], offsets, 3.0)[inner]
    assert (half[..., :3] == 0).all() and (np.abs(half[..., 3].astype(int) - 128) <= 1).all()
    # a dot in the middle of a large empty frame: far pixels stay exactly (0, 0, 0, 0) -> exactly white
    dot = [np.zeros((40, 40, 4), np.uint8) for _ in offsets]
    for s in dot:
        s[20, 20] = (90, 20, 30, 255)
    out = resolve_samples(dot, offsets, 3.0)
    assert (out[:17] == 0).all() and (out[24:] == 0).all() and (out[:, :17] == 0).all() and (out[:, 24:] == 0).all()
    rgb, _ = composite_on_white(out)
    assert (rgb[:17] == 255).all()
    assert resolve_samples([np.zeros((5, 5, 4), np.uint8)] * 2, offsets, 3.0).max() == 0


def test_one_sample_is_returned_as_rendered():
    s = np.random.default_rng(0).integers(0, 256, (6, 6, 4), dtype=np.uint8)
    assert resolve_samples([s], sample_offsets(1), 3.0) is s
    with pytest.raises(ValueError):
        resolve_samples([s, s], sample_offsets(1), 3.0)


def test_resolve_is_deterministic_and_centred():
    """A symmetric edge (a vertical bar) stays symmetric: the sample pattern does not shift the image."""
    for n in (2, 3, 4, 5):
        offsets = sample_offsets(n)
        samples = []
        for ox, oy in offsets:
            s = np.zeros((16, 16, 4), np.uint8)
            xs = np.arange(16) + 0.5 + ox
            s[:, (xs > 5.3) & (xs < 10.7)] = (10, 10, 10, 255)
            samples.append(s)
        a = resolve_samples(samples, offsets, 3.0)
        assert np.array_equal(a, resolve_samples(samples, offsets, 3.0))
        alpha = a[8, :, 3].astype(float)
        centre = (alpha * (np.arange(16) + 0.5)).sum() / alpha.sum()
        assert abs(centre - 8.0) < 0.05, n


def test_engines_registry():
    wb, taa = get_engine("workbench"), get_engine("workbench-taa")
    assert wb.jitter is not None and wb.jitter.off_settings == {"display.render_aa": "OFF"}
    assert wb.default_samples == 2 and not wb.rig_keeps_samples
    assert taa.jitter is None and taa.default_samples == 8 and taa.rig_keeps_samples
    assert wb.blender_id == taa.blender_id and wb.default_look == taa.default_look
    assert all(e.jitter is None for n, e in ENGINES.items() if n != "workbench")
