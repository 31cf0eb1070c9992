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


def test_nothing_marks_the_border_of_a_generated_image():
    """With no spatial signal (the 4x4 map a constant, no keypoint present) G paints a uniform image:
    its padding gives the corners no input of their own. Zero padding (the paper's) does, and that
    input drew a coloured dot in every corner of every image of a short run (16x16, 3 kimg: the corner
    pixels 34/255 from white on average against 3.7 with replicate padding; docs/training.md)."""
    torch.manual_seed(0)
    spread = {}
    for pad in ("zeros", "replicate"):
        cfg = ModelConfig(num_keypoints=4, latent=8, fmap_base=64, fmap_max=16, max_res=32, g_padding=pad)
        G = Generator(cfg).eval()
        with torch.no_grad():
            G.blocks["4"].dense.weight.zero_()
            ch = G.blocks["4"].ch                                    # every 4x4 pixel the same features
            G.blocks["4"].dense.bias.copy_(torch.randn(ch, 1).expand(ch, 16).reshape(-1))
        xy = torch.zeros(2, 4, 2)
        vis = torch.zeros(2, 4, dtype=torch.uint8)                  # no keypoint: the maps are all -1
        img = G(torch.randn(2, 8), pose_pyramid(xy, vis, 32, 32), 32, 1.0)
        spread[pad] = float((img - img[..., 16:17, 16:17]).abs().amax())
    assert spread["replicate"] < 1e-5
    assert spread["zeros"] > 1e-2


def test_checkpoints_without_g_padding_keep_zero_padding():
    from psgan.config import TrainConfig

    old = TrainConfig(data="d.h5", out="o").to_json().replace('"g_padding": "replicate",', "")
    assert '"g_padding"' not in old
    assert TrainConfig.from_json(old).model.g_padding == "zeros"
    assert ModelConfig().g_padding == "replicate"
