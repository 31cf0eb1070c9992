"""Framing (datagen.render.framing): views around a character, fits that frame every point, follow cameras."""
import numpy as np
import pytest

from datagen.format import camera as C
from datagen.render import framing as P


def test_project_matches_manual_pinhole():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, (50, 3))
    E = P.camera_from_fit(P.view_rotation([0, -1, 0], 30, 10), np.array([0.1, -0.2]), 6.0)
    K = C.intrinsics(35, 36, 256)
    xy, z = C.project(pts, K, E)
    cam = pts @ E[:3, :3].T + E[:3, 3]
    manual = np.stack([K[0, 0] * cam[:, 0] / cam[:, 2] + 128, K[1, 1] * cam[:, 1] / cam[:, 2] + 128], 1)
    np.testing.assert_allclose(xy, manual)
    np.testing.assert_allclose(z, cam[:, 2])


def test_character_front_and_view_rotation():
    # A character facing -Y has its left on +X (Blender's front view).
    f = P.character_front(np.array([[0.2, 0, 1]]), np.array([[-0.2, 0, 1]]))
    np.testing.assert_allclose(f, [0, -1, 0], atol=1e-12)
    R = P.view_rotation(f, 0, 0)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(R[2], [0, 1, 0], atol=1e-12)  # looks along +Y, at the character's face
    np.testing.assert_allclose(R[0], [1, 0, 0], atol=1e-12)  # image right = the character's left
    np.testing.assert_allclose(R[1], [0, 0, -1], atol=1e-12)  # image down = world down
    R90 = P.view_rotation(f, 90, 0)
    np.testing.assert_allclose(R90[2], [-1, 0, 0], atol=1e-12)  # from the character's left side
    Rup = P.view_rotation(f, 0, 30)
    assert Rup[2, 2] < 0  # looking down


@pytest.mark.parametrize("margin", [0.0, 0.1, -0.2])
def test_fit_frames_points_exactly(margin):
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(200, 3)) * [0.3, 0.2, 0.8] + [1, 2, 1]
    R = P.view_rotation([0, -1, 0], 20, 5)
    t = C.tan_half_fov(50) * (1 - margin)
    c, d = P.fit_distance(P.frame_bounds(pts, R, t), t)
    E = P.camera_from_fit(R, c, d)
    S = 512
    xy, z = C.project(pts, C.intrinsics(50, 36, S), E)
    assert (z > 0).all()
    lo, hi = S / 2 * margin, S - S / 2 * margin
    assert (xy >= lo - 1e-6).all() and (xy <= hi + 1e-6).all()
    # Tight: some point touches the framed border.
    assert min(xy.min() - lo, hi - xy.max()) < 1e-6


def test_bounds_merge_is_union():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 3)), rng.normal(size=(30, 3)) + 2
    R = P.view_rotation([0, -1, 0], 0, 0)
    np.testing.assert_allclose(P.merge_bounds(np.stack([P.frame_bounds(a, R, 0.3), P.frame_bounds(b, R, 0.3)])),
                               P.frame_bounds(np.concatenate([a, b]), R, 0.3))


def test_follow_cameras_keep_every_pose_framed_and_move_smoothly():
    rng = np.random.default_rng(4)
    n = 60
    R = P.view_rotation([0, -1, 0], 0, 0)
    t = C.tan_half_fov(50)
    poses = [rng.normal(size=(40, 3)) * 0.3 + [i * 0.05, 0, 1] for i in range(n)]  # walks to +X
    bounds = np.stack([P.frame_bounds(p, R, t) for p in poses])
    cams = P.follow_cameras(bounds, R, t, sigma=3.0)
    K = C.intrinsics(50, 36, 128)
    for p, E in zip(poses, cams):
        xy, z = C.project(p, K, E)
        assert (z > 0).all() and (xy >= -1e-6).all() and (xy <= 128 + 1e-6).all()
    centres = np.array([-E[:3, :3].T @ E[:3, 3] for E in cams])
    each = np.array([(lambda c, d: -R.T @ P.camera_from_fit(R, c, d)[:3, 3])(*P.fit_distance(b, t)) for b in bounds])
    jerk = lambda c: np.abs(np.diff(c, 2, axis=0)).max()
    assert jerk(centres) < 0.25 * jerk(each)  # much smoother than framing each pose on its own
    assert centres[-1, 0] - centres[0, 0] > 2.0  # it follows


def test_gaussian_smooth_preserves_constants():
    x = np.full((10, 2), 3.0)
    np.testing.assert_allclose(P.gaussian_smooth(x, 2.0), x)
    np.testing.assert_allclose(P.gaussian_smooth(np.arange(5.0), 0), np.arange(5.0))
