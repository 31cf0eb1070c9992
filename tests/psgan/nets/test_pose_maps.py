"""psgan.nets.pose_maps: the M-channel maps, their max-pool equality across scales, limb maps, and mirroring."""
import numpy as np
import torch

from psgan.nets.pose_maps import limb_maps, mirror_keypoints, pose_maps, pose_pyramid, pyramid_from_map


def test_single_keypoint_pixel_is_one_rest_minus_one():
    xy = torch.tensor([[[5.5, 2.2], [0.0, 0.0], [3.0, 3.0], [20.0, 1.0]]])
    vis = torch.tensor([[2, 2, 0, 1]])
    m = pose_maps(xy, vis, image_size=16, resolution=16)
    assert m.shape == (1, 4, 16, 16)
    assert m[0, 0, 2, 5] == 1 and (m[0, 0] == 1).sum() == 1
    assert m[0, 1, 0, 0] == 1
    assert (m[0, 2] == -1).all()          # absent (visibility 0)
    assert (m[0, 3] == -1).all()          # outside the frame
    assert set(m.unique().tolist()) == {-1.0, 1.0}


def test_lower_scales_equal_max_pooling_of_full_resolution():
    g = torch.Generator().manual_seed(0)
    n, k, s = 16, 20, 64
    xy = torch.rand(n, k, 2, generator=g) * s
    xy[0, :8] = torch.floor(xy[0, :8])                      # exact pixel corners
    xy[1, 0] = torch.tensor([0.0, 0.0])
    xy[1, 1] = torch.tensor([63.999, 63.999])
    xy[2, :4] = xy[2, 4:8]                                  # two keypoints in one pixel
    vis = (torch.rand(n, k, generator=g) * 3).floor().to(torch.uint8)
    direct = pose_pyramid(xy, vis, s, s)
    pooled = pyramid_from_map(pose_maps(xy, vis, s, s))
    assert sorted(direct) == sorted(pooled) == [4, 8, 16, 32, 64]
    for r in direct:
        assert torch.equal(direct[r], pooled[r]), r


def test_mirror_flips_maps_and_swaps_partners():
    flip = torch.tensor([0, 2, 1])              # keypoint 0 is central, 1 and 2 are partners
    xy = torch.tensor([[[3.3, 4.1], [1.2, 7.7], [10.6, 2.5]]])
    vis = torch.tensor([[2, 1, 2]])
    mxy, mvis = mirror_keypoints(xy, vis, flip, 16, torch.tensor([True]))
    assert torch.equal(mvis, vis[:, flip])
    m, mm = pose_maps(xy, vis, 16, 16), pose_maps(mxy, mvis, 16, 16)
    assert torch.equal(mm, m[:, flip].flip(-1))
    same_xy, _ = mirror_keypoints(xy, vis, flip, 16, torch.tensor([False]))
    assert torch.equal(same_xy, xy)
    back, _ = mirror_keypoints(mxy, mvis, flip, 16, torch.tensor([True]))
    torch.testing.assert_close(back, xy)


def _chords(p0, p1, r):
    """(r, r) [y, x]: the length of the segment p0-p1 inside each closed pixel square [x, x+1] x [y, y+1]
    of an r x r grid, negative where it misses (Liang-Barsky clipping)."""
    lo, hi = np.zeros((r, r)), np.ones((r, r))
    yy, xx = np.mgrid[0:r, 0:r].astype(float)
    for axis, cell in ((0, xx), (1, yy)):
        d = p1[axis] - p0[axis]
        if d == 0:
            inside = (cell <= p0[axis]) & (p0[axis] <= cell + 1)
            hi = np.where(inside, hi, -1.0)
            continue
        t0, t1 = (cell - p0[axis]) / d, (cell + 1 - p0[axis]) / d
        lo, hi = np.maximum(lo, np.minimum(t0, t1)), np.minimum(hi, np.maximum(t0, t1))
    return np.where(hi >= lo, (hi - lo) * np.hypot(p1[0] - p0[0], p1[1] - p0[1]), -1.0)


def test_limb_maps_light_the_pixels_their_segment_crosses():
    g = torch.Generator().manual_seed(1)
    n, k, s = 6, 5, 64
    xy = torch.rand(n, k, 2, generator=g) * s
    xy[0, 1] = xy[0, 0] + torch.tensor([0.0, 9.0])                      # vertical, horizontal, one pixel
    xy[0, 2] = xy[0, 0] + torch.tensor([12.0, 0.0])
    xy[1, 1] = xy[1, 0] + 0.1
    xy[2, 0], xy[2, 1] = torch.tensor([0.0, 0.0]), torch.tensor([64.0, 64.0])   # corner to far corner
    vis = torch.full((n, k), 2)
    limbs = [(0, 1), (0, 2), (1, 3), (3, 4)]
    for r in (4, 16, 64):
        m = limb_maps(xy, vis, s, r, torch.tensor(limbs))
        assert m.shape == (n, len(limbs), r, r) and set(m.unique().tolist()) <= {-1.0, 1.0}
        for row in range(n):
            for c, (a, b) in enumerate(limbs):
                p0, p1 = (xy[row, a] * r / s).tolist(), (xy[row, b] * r / s).tolist()
                chord = _chords(p0, p1, r)
                step = float(np.hypot(p1[0] - p0[0], p1[1] - p0[1])) / (2 * r)
                lit = m[row, c].numpy() > 0
                assert (chord[lit] >= -1e-6).all(), (r, row, c)          # lit: the segment reaches it
                assert (chord[~lit] < step + 1e-6).all(), (r, row, c)    # dark: less than a sample step
                assert lit.sum() >= np.hypot(p1[0] - p0[0], p1[1] - p0[1]) / np.sqrt(2) - 1e-6


def test_limb_maps_follow_their_keypoints_presence_and_sit_after_the_point_maps():
    xy = torch.tensor([[[2.0, 2.0], [10.0, 12.0], [14.0, 3.0], [40.0, 5.0]]])
    vis = torch.tensor([[2, 1, 0, 2]])          # keypoint 2 absent, keypoint 3 outside the 16 px frame
    limbs = [(0, 1), (1, 2), (0, 3)]
    p = pose_pyramid(xy, vis, 16, 16, limbs=limbs)
    assert sorted(p) == [4, 8, 16] and all(v.shape[1] == 4 + 3 for v in p.values())
    for r, v in p.items():
        assert torch.equal(v[:, :4], pose_maps(xy, vis, 16, r))
        assert (v[0, 4] > 0).any() and (v[0, 5] == -1).all() and (v[0, 6] == -1).all()
    assert (p[16][0, 4] > 0).sum() >= 10 and p[16][0, 4, 2, 2] == 1 and p[16][0, 4, 12, 10] == 1
    assert torch.equal(pose_pyramid(xy, vis, 16, 16)[16], p[16][:, :4])      # no limbs: the paper's maps
