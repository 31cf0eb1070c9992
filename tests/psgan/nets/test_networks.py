"""psgan.nets.networks: shapes, fade-in at alpha 0 equals the previous resolution, --no-pose, CPU bf16."""
import pytest
import torch

from psgan.config import ModelConfig
from psgan.nets.layers import downsample2x, upsample2x
from psgan.nets.networks import Discriminator, Generator
from psgan.nets.pose_maps import pose_pyramid


def _setup(use_pose=True, n=4):
    torch.manual_seed(0)
    cfg = ModelConfig(num_keypoints=5, use_pose=use_pose, latent=16, fmap_base=128, fmap_max=32, max_res=32)
    xy = torch.rand(n, 5, 2) * 32
    vis = torch.randint(0, 3, (n, 5))
    return cfg, Generator(cfg), Discriminator(cfg), torch.randn(n, 16), pose_pyramid(xy, vis, 32, 32)


@pytest.mark.parametrize("use_pose", [True, False])
def test_shapes_at_every_resolution(use_pose):
    cfg, G, D, z, poses = _setup(use_pose)
    poses = poses if use_pose else None
    for r in (4, 8, 16, 32):
        img = G(z, poses, r, 0.5)
        assert img.shape == (4, 3, r, r)
        assert D(img, poses, 0.5).shape == (4, 1)


@pytest.mark.parametrize("use_pose", [True, False])
def test_fade_in_at_alpha_zero_equals_previous_resolution(use_pose):
    cfg, G, D, z, poses = _setup(use_pose)
    poses = poses if use_pose else None
    with torch.no_grad():
        for r in (8, 16, 32):
            torch.testing.assert_close(G(z, poses, r, 0.0), upsample2x(G(z, poses, r // 2, 1.0)))
            x = torch.randn(4, 3, r, r)
            torch.testing.assert_close(D(x, poses, 0.0), D(downsample2x(x), poses, 1.0))
            # and alpha actually matters
            assert not torch.allclose(G(z, poses, r, 0.5), G(z, poses, r, 0.0))


def test_pose_changes_the_output_and_full_map_equals_pyramid():
    cfg, G, D, z, poses = _setup(True)
    other = {r: p.roll(1, dims=0) for r, p in poses.items()}
    with torch.no_grad():
        assert not torch.allclose(G(z, poses, 16), G(z, other, 16))
        torch.testing.assert_close(G(z, poses[16], 16), G(z, poses, 16))   # one map -> max-pooled pyramid


def test_bf16_autocast_on_cpu_is_close_to_fp32():
    cfg, G, D, z, poses = _setup(True)
    with torch.no_grad():
        ref = G(z, poses, 16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            img = G(z, poses, 16)
            score = D(img, poses)
    assert img.dtype == torch.bfloat16 and torch.isfinite(score.float()).all()
    assert (img.float() - ref).abs().mean() < 0.05 * ref.abs().mean() + 0.02
