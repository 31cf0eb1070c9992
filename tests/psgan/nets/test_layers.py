"""psgan.nets.layers: equalized learning rate, pixel norm, minibatch stddev (also under CPU bf16 autocast)."""
import math

import pytest
import torch
import torch.nn.functional as F

from psgan.config import ModelConfig
from psgan.nets.layers import EqualizedConv2d, EqualizedLinear, mbstd_group_size, minibatch_stddev, pixel_norm
from psgan.nets.networks import Discriminator, Generator


def test_equalized_conv_scales_weights_at_run_time():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    assert conv.weight.shape == (32, 64, 3, 3)
    assert abs(conv.weight.std().item() - 1.0) < 0.05          # stored N(0, 1)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(64 * 9))
    x = torch.randn(2, 64, 8, 8)
    ref = F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    assert conv(x).shape == (2, 32, 8, 8)
    torch.testing.assert_close(conv(x), ref)
    # He scaling keeps unit-variance activations at about variance gain^2 = 2
    assert 1.5 < conv(x).var().item() < 2.5


def test_equalized_linear_and_official_gains():
    lin = EqualizedLinear(512, 10, gain=1.0)
    assert lin(torch.randn(3, 512)).shape == (3, 10)
    assert lin.scale == pytest.approx(1 / math.sqrt(512))
    cfg = ModelConfig(num_keypoints=20, max_res=16)
    G, D = Generator(cfg), Discriminator(cfg)
    assert G.blocks["4"].dense.scale == pytest.approx(math.sqrt(2) / 4 / math.sqrt(512))
    assert G.to_rgb["16"].scale == pytest.approx(1 / math.sqrt(512))                  # gain 1, 1x1
    assert G.blocks["8"].conv0.scale == pytest.approx(math.sqrt(2) / math.sqrt((512 + 20) * 9))
    assert D.from_rgb["8"].scale == pytest.approx(math.sqrt(2) / math.sqrt(3))
    assert D.blocks["4"].dense1.scale == pytest.approx(1 / math.sqrt(512))
    assert D.blocks["4"].conv.weight.shape[1] == 512 + 1 + 20                         # mbstd + pose


def test_feature_maps_follow_the_paper():
    cfg = ModelConfig()
    assert [cfg.nf(r) for r in cfg.resolutions] == [512, 512, 512, 512, 256, 128, 64, 32, 16]


def test_pixel_norm_gives_unit_rms_per_pixel():
    y = pixel_norm(torch.randn(2, 16, 4, 4) * 7)
    torch.testing.assert_close(y.pow(2).mean(1), torch.ones(2, 4, 4), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch,group", [(16, 4), (12, 4), (5, 5), (2, 2), (1, 1), (6, 3), (7, 7)])
def test_mbstd_group_divides_batch(batch, group):
    assert mbstd_group_size(batch) == group
    assert minibatch_stddev(torch.randn(batch, 3, 4, 4)).shape == (batch, 4, 4, 4)


def test_mbstd_known_case():
    # groups are rows (0, 2) and (1, 3): values a, a+2 have std 1 everywhere; b, b both 0
    x = torch.zeros(4, 2, 2, 2)
    x[2] += 2.0
    y = minibatch_stddev(x, group_size=2)
    torch.testing.assert_close(y[:, 2], torch.tensor([1.0, 0.0, 1.0, 0.0]).view(4, 1, 1).expand(4, 2, 2),
                               atol=1e-3, rtol=0)


def test_mbstd_runs_in_fp32_under_cpu_bf16_autocast():
    # bf16 inputs near 100 (spacing 0.5): the spread is exact in bf16 but a bf16 variance is not
    torch.manual_seed(0)
    x = (100 + torch.randint(0, 4, (8, 16, 4, 4)) * 0.5).bfloat16()
    ref = minibatch_stddev(x.float())[:, -1]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = minibatch_stddev(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y[:, -1].float(), ref, rtol=1e-2, atol=0)


def test_replicate_pad_equals_torch_replicate_padding():
    from psgan.nets.layers import replicate_pad

    x = torch.randn(2, 3, 5, 4).to(memory_format=torch.channels_last).requires_grad_()
    ours = replicate_pad(x, 1)
    assert torch.equal(ours, F.pad(x, (1, 1, 1, 1), mode="replicate"))
    g = torch.randn_like(ours)
    a, = torch.autograd.grad(ours, x, g)
    b, = torch.autograd.grad(F.pad(x, (1, 1, 1, 1), mode="replicate"), x, g)
    assert torch.allclose(a, b)
