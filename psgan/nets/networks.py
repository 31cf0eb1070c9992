"""PSGAN generator and discriminator: Progressive GAN (Karras et al. 2018, Table 2) with the pose map of
each block's resolution concatenated to the input of every block of both networks (Hamada et al. 2018,
Fig. 2). docs/training.md draws the exact wiring.

Blocks live in ``nn.ModuleDict``s keyed by resolution ("4", "8", ...). A network is called at a
``resolution`` with a fade-in weight ``alpha`` in [0, 1]: at alpha 0 the top block is bypassed and the
result equals the network at half the resolution (tests/psgan/nets/test_networks.py).
"""
from __future__ import annotations

from typing import Mapping, Union

import torch
from torch import nn

from psgan.config import ModelConfig
from psgan.nets.layers import (
    GAIN_G_DENSE,
    GAIN_LINEAR,
    EqualizedConv2d,
    EqualizedLinear,
    downsample2x,
    lrelu,
    minibatch_stddev,
    pixel_norm,
    upsample2x,
)
from psgan.nets.pose_maps import pyramid_from_map

# Pose conditions: {resolution: (N, M, r, r)}, or one (N, M, R, R) map (lower scales by max-pooling),
# or None for the unconditional network (--no-pose).
Poses = Union[Mapping[int, torch.Tensor], torch.Tensor, None]


def _pose_at(poses: Poses, res: int, pose_ch: int) -> torch.Tensor | None:
    if pose_ch == 0:
        return None
    assert poses is not None, "this network is pose-conditioned: pass pose maps"
    p = poses[res]
    assert p.shape[1] == pose_ch and p.shape[-1] == res, (tuple(p.shape), pose_ch, res)
    return p


def _as_pyramid(poses: Poses) -> Poses:
    return pyramid_from_map(poses) if isinstance(poses, torch.Tensor) else poses


def _cat(x: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
    return x if pose is None else torch.cat([x, pose.to(x.dtype)], dim=1)


class GFirstBlock(nn.Module):
    """4x4: z -> pixel norm -> dense (gain sqrt(2)/4) -> 4x4 -> [pose 4x4] -> conv 3x3."""

    def __init__(self, latent: int, ch: int, pose_ch: int, pad_mode: str = "zeros") -> None:
        super().__init__()
        self.ch = ch
        self.dense = EqualizedLinear(latent, ch * 16, gain=GAIN_G_DENSE)
        self.conv = EqualizedConv2d(ch + pose_ch, ch, 3, pad_mode=pad_mode)

    def forward(self, z: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        x = self.dense(pixel_norm(z)).view(-1, self.ch, 4, 4)     # (N, C, 4, 4)
        x = pixel_norm(lrelu(x))
        x = pixel_norm(lrelu(self.conv(_cat(x, pose))))
        return x


class GBlock(nn.Module):
    """r x r: upsample -> [pose r x r] -> conv 3x3 -> conv 3x3 (each LReLU + pixel norm)."""

    def __init__(self, in_ch: int, ch: int, pose_ch: int, pad_mode: str = "zeros") -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_ch + pose_ch, ch, 3, pad_mode=pad_mode)
        self.conv1 = EqualizedConv2d(ch, ch, 3, pad_mode=pad_mode)

    def forward(self, x: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        x = upsample2x(x)
        x = pixel_norm(lrelu(self.conv0(_cat(x, pose))))
        return pixel_norm(lrelu(self.conv1(x)))


class Generator(nn.Module):
    """G(z (N, latent), poses) -> (N, 3, r, r) images, linear output (about [-1, 1]).

    ``resolution`` and ``alpha`` default to the attributes of the same name, which training and
    :func:`psgan.checkpoint.load_generator` set to the checkpoint's current values.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        pc = cfg.pose_channels
        self.blocks = nn.ModuleDict()
        self.to_rgb = nn.ModuleDict()
        for r in cfg.resolutions:
            if r == 4:
                self.blocks["4"] = GFirstBlock(cfg.latent, cfg.nf(4), pc, cfg.g_padding)
            else:
                self.blocks[str(r)] = GBlock(cfg.nf(r // 2), cfg.nf(r), pc, cfg.g_padding)
            self.to_rgb[str(r)] = EqualizedConv2d(cfg.nf(r), 3, 1, gain=GAIN_LINEAR)
        self.resolution = cfg.max_res
        self.alpha = 1.0

    def forward(self, z: torch.Tensor, poses: Poses = None, resolution: int | None = None,
                alpha: float | torch.Tensor | None = None) -> torch.Tensor:
        res = self.resolution if resolution is None else resolution
        alpha = self.alpha if alpha is None else alpha
        pc = self.cfg.pose_channels
        poses = _as_pyramid(poses)
        assert z.ndim == 2 and z.shape[1] == self.cfg.latent, tuple(z.shape)
        x = self.blocks["4"](z, _pose_at(poses, 4, pc))
        prev = x
        r = 8
        while r <= res:
            prev = x
            x = self.blocks[str(r)](x, _pose_at(poses, r, pc))
            r *= 2
        img = self.to_rgb[str(res)](x)
        if res > 4 and not (isinstance(alpha, float) and alpha >= 1.0):
            low = upsample2x(self.to_rgb[str(res // 2)](prev))
            img = torch.lerp(low, img, alpha)
        return img


class DBlock(nn.Module):
    """r x r: [pose r x r] -> conv 3x3 -> conv 3x3 (to the next block's width) -> 2x2 average pool."""

    def __init__(self, ch: int, out_ch: int, pose_ch: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(ch + pose_ch, ch, 3)
        self.conv1 = EqualizedConv2d(ch, out_ch, 3)

    def forward(self, x: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        x = lrelu(self.conv0(_cat(x, pose)))
        return downsample2x(lrelu(self.conv1(x)))


class DLastBlock(nn.Module):
    """4x4: minibatch stddev -> [pose 4x4] -> conv 3x3 -> dense -> dense (gain 1) -> (N, 1)."""

    def __init__(self, ch: int, hidden: int, pose_ch: int) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(ch + 1 + pose_ch, ch, 3)
        self.dense0 = EqualizedLinear(ch * 16, hidden)
        self.dense1 = EqualizedLinear(hidden, 1, gain=GAIN_LINEAR)

    def forward(self, x: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
        x = minibatch_stddev(x)
        x = lrelu(self.conv(_cat(x, pose)))
        x = lrelu(self.dense0(x.flatten(1)))
        return self.dense1(x)


class Discriminator(nn.Module):
    """D(image (N, 3, r, r), poses) -> (N, 1) scores; the resolution is the image's."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        pc = cfg.pose_channels
        self.from_rgb = nn.ModuleDict()
        self.blocks = nn.ModuleDict()
        for r in cfg.resolutions:
            self.from_rgb[str(r)] = EqualizedConv2d(3, cfg.nf(r), 1)
            if r == 4:
                self.blocks["4"] = DLastBlock(cfg.nf(4), cfg.nf_stage(0), pc)
            else:
                self.blocks[str(r)] = DBlock(cfg.nf(r), cfg.nf(r // 2), pc)

    def forward(self, img: torch.Tensor, poses: Poses = None,
                alpha: float | torch.Tensor = 1.0) -> torch.Tensor:
        res = img.shape[-1]
        pc = self.cfg.pose_channels
        poses = _as_pyramid(poses)
        assert img.ndim == 4 and img.shape[1] == 3 and img.shape[-2] == res, tuple(img.shape)
        x = lrelu(self.from_rgb[str(res)](img))
        r = res
        if res > 4:
            x = self.blocks[str(res)](x, _pose_at(poses, res, pc))
            if not (isinstance(alpha, float) and alpha >= 1.0):
                low = lrelu(self.from_rgb[str(res // 2)](downsample2x(img)))
                x = torch.lerp(low, x, alpha)
            r = res // 2
        while r > 4:
            x = self.blocks[str(r)](x, _pose_at(poses, r, pc))
            r //= 2
        return self.blocks["4"](x, _pose_at(poses, 4, pc))
