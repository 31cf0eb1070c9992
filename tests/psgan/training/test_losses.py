"""psgan.training.losses: the WGAN-GP penalty on a known case, and the losses' formulas."""
import pytest
import torch

from psgan.training.losses import d_loss, g_loss, gradient_penalty


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = <w, x>: the gradient is w everywhere, so the penalty is (||w|| - 1)^2 for any mix.
    w = torch.randn(3, 4, 4)
    w = w / w.norm() * 3.0
    w.requires_grad_(True)
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    eps = torch.rand(5, 1, 1, 1)
    gp = gradient_penalty(lambda x: (x * w).flatten(1).sum(1, keepdim=True), real, fake, eps)
    torch.testing.assert_close(gp, torch.full((5,), 4.0))
    gp.sum().backward()               # create_graph: the penalty trains the critic
    torch.testing.assert_close(w.grad, 5 * 2 * (3.0 - 1) * w.detach() / 3.0)


def test_gradient_penalty_of_a_quadratic_critic():
    # D(x) = 0.5 ||x||^2: grad = x_hat, so the penalty is (||x_hat|| - 1)^2
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    eps = torch.full((4, 1, 1, 1), 0.25)
    gp = gradient_penalty(lambda x: 0.5 * x.pow(2).flatten(1).sum(1, keepdim=True), real, fake, eps)
    xh = real + 0.25 * (fake - real)
    torch.testing.assert_close(gp, (xh.flatten(1).norm(dim=1) - 1) ** 2)


def test_loss_formulas():
    d_real, d_fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[-1.0], [0.0]])
    gp = torch.tensor([0.5, 0.0])
    want = ((-1 - 1 + 10 * 0.5 + 0.001 * 1) + (0 - 3 + 0 + 0.001 * 9)) / 2
    assert d_loss(d_real, d_fake, gp).item() == pytest.approx(want)
    assert g_loss(d_fake).item() == pytest.approx(0.5)
    assert d_loss(d_real.bfloat16(), d_fake.bfloat16(), gp).dtype == torch.float32
