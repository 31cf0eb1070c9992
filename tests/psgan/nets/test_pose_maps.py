"""psgan.nets.pose_maps: the M-channel maps, their max-pool equality across scales, and mirroring."""
import torch

from psgan.nets.pose_maps import mirror_keypoints, pose_maps, pose_pyramid, pyramid_from_map


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
