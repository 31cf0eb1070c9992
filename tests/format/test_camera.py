"""The camera convention of the format (datagen.format.camera): intrinsics, extrinsics, projection."""
import numpy as np
import pytest

from datagen.format import camera as C


def _random_rigid(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    m = np.eye(4)
    m[:3, :3] = q
    m[:3, 3] = rng.normal(size=3) * 3
    return m


def test_intrinsics_pixel_convention():
    K = C.intrinsics(50, 36, 64)
    assert K[0, 0] == K[1, 1] == pytest.approx(50 / 36 * 64)
    # The optical axis pierces the image centre, the corner between pixels 31 and 32.
    xy, z = C.project(np.array([[0.0, 0.0, 5.0]]), K, np.eye(4))
    np.testing.assert_allclose(xy, [[32.0, 32.0]])
    assert z[0] == 5.0
    # A point on the frustum's right/bottom edge lands on the image's far edge (x = S, y = S).
    t = C.tan_half_fov(50)
    xy, _ = C.project(np.array([[t * 2.0, t * 2.0, 2.0]]), K, np.eye(4))
    np.testing.assert_allclose(xy, [[64.0, 64.0]])


def test_extrinsics_round_trip_and_axes():
    rng = np.random.default_rng(0)
    for _ in range(5):
        cam = _random_rigid(rng)
        E = C.extrinsics_from_blender(cam)
        np.testing.assert_allclose(C.blender_from_extrinsics(E), cam, atol=1e-12)
        np.testing.assert_allclose(E[3], [0, 0, 0, 1])
        # A point 2 m in front of a Blender camera (its local -Z) has OpenCV z = +2.
        front = cam[:3, :3] @ np.array([0, 0, -2.0]) + cam[:3, 3]
        up = cam[:3, :3] @ np.array([0, 1.0, -2.0]) + cam[:3, 3]
        c = C.to_camera(np.stack([front, up]), E)
        np.testing.assert_allclose(c[0], [0, 0, 2], atol=1e-12)
        assert c[1, 1] < 0  # Blender's up is OpenCV's -y


def test_project_batched_cameras_equal_per_row():
    rng = np.random.default_rng(5)
    pts = rng.uniform(-1, 1, (4, 7, 3))
    Ks = np.stack([np.array([[f, 0, 32], [0, f, 30], [0, 0, 1.0]]) for f in (50, 60, 70, 80)])
    Es = np.stack([np.eye(4) for _ in range(4)])
    Es[:, :3, 3] = rng.uniform(-0.5, 0.5, (4, 3)) + [0, 0, 4]
    xy, z = C.project(pts, Ks, Es)
    for n in range(4):
        xy_n, z_n = C.project(pts[n], Ks[n], Es[n])
        np.testing.assert_allclose(xy[n], xy_n)
        np.testing.assert_allclose(z[n], z_n)
