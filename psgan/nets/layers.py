"""Progressive GAN layers (Karras et al. 2018, sec. 4): equalized learning rate, pixelwise feature
normalisation, minibatch standard deviation, and the resampling used between resolutions.

Equalized learning rate: weights are drawn from N(0, 1) and scaled at run time by
``gain / sqrt(fan_in)`` (He's constant), with the gains of the official code: sqrt(2) for hidden
convolutions and dense layers, 1 for toRGB and the final dense layer, sqrt(2)/4 for G's first dense layer.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GAIN_HIDDEN = math.sqrt(2.0)
GAIN_G_DENSE = math.sqrt(2.0) / 4   # the official G's latent -> 4x4 dense layer
GAIN_LINEAR = 1.0                   # toRGB, D's output
LRELU_SLOPE = 0.2


def replicate_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H + 2p, W + 2p), the edge rows and columns repeated: F.pad's "replicate",
    written with slices and cat because torch.compile's inductor fails on the backward of
    replication_pad2d for channels_last tensors (torch 2.13, CPU); the values are the same."""
    x = torch.cat([x[:, :, :1].expand(-1, -1, p, -1), x, x[:, :, -1:].expand(-1, -1, p, -1)], 2)
    return torch.cat([x[:, :, :, :1].expand(-1, -1, -1, p), x, x[:, :, :, -1:].expand(-1, -1, -1, p)], 3)


class EqualizedConv2d(nn.Module):
    """Conv2d with run-time He scaling; ``same`` padding (zeros, or ``pad_mode="replicate"``: the
    border pixels repeated); bias initialised to 0 and not scaled."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, gain: float = GAIN_HIDDEN,
                 pad_mode: str = "zeros") -> None:
        super().__init__()
        assert pad_mode in ("zeros", "replicate"), pad_mode
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.scale = gain / math.sqrt(in_ch * kernel * kernel)
        self.padding = kernel // 2
        self.pad_mode = pad_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, in, H, W) -> (N, out, H, W)
        if self.pad_mode == "replicate" and self.padding:
            p = self.padding
            return F.conv2d(replicate_pad(x, p), self.weight * self.scale, self.bias)
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, kernel={k}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """Dense layer with run-time He scaling; bias initialised to 0."""

    def __init__(self, in_f: int, out_f: int, gain: float = GAIN_HIDDEN) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_f, in_f))
        self.bias = nn.Parameter(torch.zeros(out_f))
        self.scale = gain / math.sqrt(in_f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, in) -> (N, out)
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        o, i = self.weight.shape
        return f"{i}, {o}, scale={self.scale:.4g}"


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixelwise feature vector normalisation over the channel axis (dim 1)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LRELU_SLOPE)


def mbstd_group_size(batch: int, preferred: int = 4) -> int:
    """The largest group size <= ``preferred`` (and >= 2) that divides ``batch``; else the whole batch.

    Official Progressive GAN uses min(4, batch), which must divide the batch; the paper's batch of 5
    at 512x512 has no divisor in 2..4, so the whole minibatch forms one group (the paper's sec. 3).
    """
    for g in range(min(preferred, batch), 1, -1):
        if batch % g == 0:
            return g
    return batch


def minibatch_stddev(x: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """(N, C, H, W) -> (N, C+1, H, W): appends the mean over C, H, W of the per-group standard deviation.

    Computed in float32 even under autocast (a variance of bf16 values loses too much precision).
    """
    n, c, h, w = x.shape
    g = mbstd_group_size(n) if group_size is None else group_size
    assert n % g == 0, (n, g)
    with torch.autocast(device_type=x.device.type, enabled=False):
        y = x.float().reshape(g, n // g, c, h, w)         # group members are rows i, i + n/g, ... (official)
        y = y - y.mean(dim=0, keepdim=True)
        y = torch.sqrt(y.pow(2).mean(dim=0) + 1e-8)      # (n/g, C, H, W)
        y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1)   # (n/g, 1, 1, 1)
        y = y.repeat(g, 1, h, w)                         # (N, 1, H, W)
    return torch.cat([x, y.to(x.dtype)], dim=1)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling (N, C, H, W) -> (N, C, 2H, 2W)."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling (N, C, H, W) -> (N, C, H/2, W/2)."""
    return F.avg_pool2d(x, 2)
