"""WGAN-GP losses as Progressive GAN uses them (Gulrajani et al. 2017; Karras et al. 2018, sec. A.1):

    L_D = D(fake) - D(real) + lambda * (||grad_x D(x_hat)|| - 1)^2 + drift * D(real)^2,  lambda 10, drift 0.001
    L_G = -D(fake)

with x_hat = real + eps * (fake - real), eps ~ U(0, 1) per sample. Reductions and the penalty are
computed in float32 even when the networks run under bf16 autocast.
"""
from __future__ import annotations

from typing import Callable

import torch


def gradient_penalty(d: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """(N,) per-sample (||grad D(x_hat)||_2 - 1)^2; ``d`` maps images (N, 3, r, r) -> scores (N, 1).

    ``eps`` is (N, 1, 1, 1) in [0, 1]. The graph is kept (create_graph) so the penalty trains D.
    """
    x = torch.lerp(real.detach().float(), fake.detach().float(), eps).requires_grad_(True)
    out = d(x).float()
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    norm = grad.float().flatten(1).norm(dim=1)
    return (norm - 1.0).pow(2)


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor, penalty: torch.Tensor, gp_lambda: float = 10.0,
           drift: float = 0.001) -> torch.Tensor:
    """Scalar critic loss from (N, 1) scores and the (N,) penalty, reduced in float32."""
    d_real, d_fake = d_real.float().flatten(), d_fake.float().flatten()
    return (d_fake - d_real + gp_lambda * penalty.float() + drift * d_real.pow(2)).mean()


def g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Scalar generator loss -D(fake), reduced in float32."""
    return -d_fake.float().mean()
