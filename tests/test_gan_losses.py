"""Losses and penalties of otgan.gan against hand-computed values and independent methods."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from otgan import gan
from tests.tolerances import F32, F64, F64_LOOSE, NEGLIGIBLE, POWER_ITERATION

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sig(t):
    return 1.0 / (1.0 + math.exp(-t))


def test_discriminator_loss_hand_values():
    real = torch.tensor([0.3, -1.2], dtype=torch.float64)
    fake = torch.tensor([2.0, 0.0, -0.5], dtype=torch.float64)
    # -E log D(y) - E log(1 - D(g(z))) with D = sigmoid(logit)
    want = -np.mean([math.log(_sig(0.3)), math.log(_sig(-1.2))]) - np.mean(
        [math.log(1 - _sig(2.0)), math.log(1 - _sig(0.0)), math.log(1 - _sig(-0.5))]
    )
    np.testing.assert_allclose(float(gan.discriminator_loss(real, fake)), want, rtol=F64)
    # all-zero logits: 2 log 2 (D = 1/2 everywhere: the optimum when mu_theta = nu)
    np.testing.assert_allclose(
        float(gan.discriminator_loss(torch.zeros(4), torch.zeros(3))), 2 * math.log(2), rtol=1e-6
    )


def test_discriminator_loss_matches_torch_bce():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(7, generator=g, dtype=torch.float64) * 3
    fake = torch.randn(5, generator=g, dtype=torch.float64) * 3
    ones = torch.ones(7, dtype=torch.float64)
    bce = nn.functional.binary_cross_entropy(torch.sigmoid(real), ones)
    bce = bce + nn.functional.binary_cross_entropy(torch.sigmoid(fake),
                                                   torch.zeros(5, dtype=torch.float64))
    np.testing.assert_allclose(float(gan.discriminator_loss(real, fake)), float(bce), rtol=F64_LOOSE)


def test_discriminator_loss_no_overflow_on_large_logits():
    out = gan.discriminator_loss(torch.tensor([200.0]), torch.tensor([-200.0]))
    np.testing.assert_allclose(float(out), 0.0, atol=NEGLIGIBLE)
    out = gan.discriminator_loss(torch.tensor([-200.0]), torch.tensor([200.0]))
    np.testing.assert_allclose(float(out), 400.0, rtol=F32)


def test_generator_losses_hand_values():
    fake = torch.tensor([1.5, -0.25], dtype=torch.float64)
    sat = np.mean([math.log(1 - _sig(1.5)), math.log(1 - _sig(-0.25))])
    ns = -np.mean([math.log(_sig(1.5)), math.log(_sig(-0.25))])
    np.testing.assert_allclose(float(gan.generator_loss(fake, saturating=True)), sat, rtol=F64)
    np.testing.assert_allclose(float(gan.generator_loss(fake)), ns, rtol=F64)


def test_saturating_gradient_vanishes_where_discriminator_rejects():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) -> 0 as l -> -inf; non-saturating: sigmoid(l) - 1 -> -1
    logit = torch.tensor([-12.0], dtype=torch.float64, requires_grad=True)
    (g_sat,) = torch.autograd.grad(gan.generator_loss(logit, saturating=True), logit)
    (g_ns,) = torch.autograd.grad(gan.generator_loss(logit), logit)
    np.testing.assert_allclose(float(g_sat), -_sig(-12.0), rtol=F64_LOOSE)
    np.testing.assert_allclose(float(g_ns), _sig(-12.0) - 1.0, rtol=F64_LOOSE)


def test_wgan_losses_hand_values():
    real = torch.tensor([1.0, 2.0, 6.0])
    fake = torch.tensor([0.5, -0.5])
    np.testing.assert_allclose(float(gan.critic_loss(real, fake)), 0.0 - 3.0)
    np.testing.assert_allclose(float(gan.wgan_generator_loss(fake)), -0.0)
    np.testing.assert_allclose(float(gan.wgan_generator_loss(torch.tensor([1.0, 3.0]))), -2.0)


def test_losses_validate_inputs():
    with pytest.raises(TypeError, match="discriminator_loss: 'real_logits' must be a torch"):
        gan.discriminator_loss(np.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="critic_loss: 'fake_values' must not be empty"):
        gan.critic_loss(torch.zeros(3), torch.zeros(0))
    with pytest.raises(TypeError, match="floating tensor; got dtype torch.int64"):
        gan.generator_loss(torch.zeros(3, dtype=torch.long))


def _linear(w, b=0.0):
    w = torch.as_tensor(w, dtype=torch.float64)
    return lambda x: x @ w + b


def test_gradient_penalty_zero_for_unit_linear_critic():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(32, 2, generator=g, dtype=torch.float64)
    y = torch.randn(32, 2, generator=g, dtype=torch.float64) + 3
    critic = _linear([0.6, -0.8], 0.3)
    for pairs in ("matched", "all"):
        for one_sided in (False, True):
            gp = gan.gradient_penalty(critic, y, x, pairs=pairs, one_sided=one_sided, rng=0)
            np.testing.assert_allclose(float(gp.detach()), 0.0, atol=NEGLIGIBLE)


def test_gradient_penalty_linear_critic_closed_form():
    # ||grad D|| = ||w|| everywhere: two-sided (||w|| - 1)^2, one-sided max(||w|| - 1, 0)^2
    x = torch.randn(10, 3, dtype=torch.float64)
    y = torch.randn(10, 3, dtype=torch.float64)
    big, small = _linear([2.0, 0.0, 0.0]), _linear([0.0, 0.3, 0.4])
    np.testing.assert_allclose(float(gan.gradient_penalty(big, y, x)), 1.0, rtol=F64)
    np.testing.assert_allclose(float(gan.gradient_penalty(small, y, x)), 0.25, rtol=F64)
    np.testing.assert_allclose(float(gan.gradient_penalty(big, y, x, one_sided=True)), 1.0,
                               rtol=F64)
    np.testing.assert_allclose(float(gan.gradient_penalty(small, y, x, one_sided=True)), 0.0,
                               atol=NEGLIGIBLE)


def test_gradient_penalty_quadratic_critic_against_hand_computation():
    # D(a) = ||a||^2 / 2 has grad a: GP = mean (||a_i|| - 1)^2 at the interpolates, which we
    # rebuild from the same uniform draws (same seed) by hand.
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([[2.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(5)
    u = torch.rand((2, 1), generator=gen, dtype=torch.float64).numpy()
    a = (1 - u) * x.numpy() + u * y.numpy()
    want = np.mean((np.linalg.norm(a, axis=1) - 1) ** 2)
    gp = gan.gradient_penalty(lambda t: 0.5 * (t * t).sum(1), y, x,
                              rng=torch.Generator().manual_seed(5))
    np.testing.assert_allclose(float(gp.detach()), want, rtol=F64)


def test_gradient_penalty_is_differentiable_in_critic_parameters():
    lin = nn.Linear(2, 1).double()
    x, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    gp = gan.gradient_penalty(lambda t: lin(t).squeeze(-1), y, x)
    gp.backward()
    w = lin.weight.detach().numpy()[0]
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    want = 2 * (np.linalg.norm(w) - 1) * w / np.linalg.norm(w)
    np.testing.assert_allclose(lin.weight.grad.numpy()[0], want, rtol=F64_LOOSE)


def test_interpolates_all_pairs_lie_on_segments():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0], [2.0, 1.0]], dtype=torch.float64)
    a = gan.interpolates(x, y, pairs="all", rng=3).numpy()
    assert a.shape == (6, 2)
    for i in range(3):
        for j in range(2):
            p, q, r = x[i].numpy(), y[j].numpy(), a[i * 2 + j]
            # r = (1 - u) p + u q with u in [0, 1]: collinear and between
            u = np.dot(r - p, q - p) / np.dot(q - p, q - p)
            assert 0.0 <= u <= 1.0
            np.testing.assert_allclose(r, (1 - u) * p + u * q, atol=F64)


def test_interpolates_validates():
    with pytest.raises(ValueError, match="pairs='matched' needs as many 'x' as 'y'; got 3 and 2"):
        gan.interpolates(torch.zeros(3, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="'pairs' must be 'matched' or 'all'; got 'some'"):
        gan.interpolates(torch.zeros(2, 2), torch.zeros(2, 2), pairs="some")
    with pytest.raises(ValueError, match="must have the same shape beyond the first axis"):
        gan.interpolates(torch.zeros(2, 2), torch.zeros(2, 3))


def test_r1_r2_factor_gamma_over_two():
    critic = _linear([3.0, 4.0])  # ||grad D||^2 = 25
    pts = torch.randn(6, 2, dtype=torch.float64)
    np.testing.assert_allclose(float(gan.r1_penalty(critic, pts, gamma=0.4)), 0.2 * 25, rtol=F64)
    np.testing.assert_allclose(float(gan.r2_penalty(critic, pts, gamma=2.0)), 25.0, rtol=F64)
    # non-constant gradient: D(x) = sum x^3 / 3, grad = x^2
    pts = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    want = 0.5 * 1.5 * np.mean([(1 + 16), (0.0625 + 1)])
    got = gan.r1_penalty(lambda t: (t**3).sum(1) / 3, pts, gamma=1.5)
    np.testing.assert_allclose(float(got.detach()), want, rtol=F64)
    with pytest.raises(ValueError, match="r1_penalty: 'gamma' must be a finite non-negative number"):
        gan.r1_penalty(critic, pts, gamma=-1.0)


def test_lipschitz_estimate_linear_and_relu():
    x = torch.randn(5, 2, dtype=torch.float64)
    y = torch.randn(4, 2, dtype=torch.float64)
    est = gan.lipschitz_estimate(_linear([1.0, -2.0]), x, y)
    np.testing.assert_allclose([est.mean, est.max], [math.sqrt(5)] * 2, rtol=F64)
    # |x_1| has gradient norm 1 away from 0
    est = gan.lipschitz_estimate(lambda t: t[:, 0].abs(), x, y, pairs="all", rng=0)
    np.testing.assert_allclose([est.mean, est.max], [1.0, 1.0], rtol=F64)


def test_clip_weights():
    net = nn.Sequential(nn.Linear(2, 5), nn.LeakyReLU(0.2), nn.Linear(5, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-1, 1)
    gan.clip_weights(net, 0.01)
    for p in net.parameters():
        assert float(p.detach().abs().max()) <= 0.01
    with pytest.raises(ValueError, match="clip_weights: 'clip' must be a finite positive number; got 0"):
        gan.clip_weights(net, 0)


def test_spectral_normalize_against_svd():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 3))
    gan.spectral_normalize(net, n_power_iterations=1)
    net.train()
    x = torch.randn(2, 4)
    for _ in range(50):  # power iterations run at each training-mode forward
        net(x)
    net.eval()
    for layer in (net[0], net[2]):
        sv = torch.linalg.svdvals(layer.weight.detach())
        np.testing.assert_allclose(float(sv[0]), 1.0, rtol=POWER_ITERATION)
    with pytest.raises(TypeError, match="spectral_normalize: 'module' must be a torch.nn.Module"):
        gan.spectral_normalize(lambda t: t)
