"""Small generator / discriminator models of otgan.gan."""

import numpy as np
import pytest
import torch
from torch import nn

from otgan import gan

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_mlp_generator_lecture_defaults():
    g = gan.MLPGenerator()
    assert g.latent_dim == 10 and g.out_dim == 2
    lin = [m for m in g.modules() if isinstance(m, nn.Linear)]
    elu = [m for m in g.modules() if isinstance(m, nn.ELU)]
    assert len(lin) == 4 and len(elu) == 3 and lin[0].in_features == 10
    assert isinstance(list(g.net)[-1], nn.Sigmoid)
    x = g.sample(500, rng=0)
    assert x.shape == (500, 2) and float(x.min()) > 0 and float(x.max()) < 1
    np.testing.assert_array_equal(x.detach().numpy(), g.sample(500, rng=0).detach().numpy())
    lin_out = gan.MLPGenerator(4, 3, hidden=(8,), output="linear")
    assert not isinstance(list(lin_out.net)[-1], nn.Sigmoid)
    assert lin_out(torch.zeros(5, 4)).shape == (5, 3)


def test_mlp_discriminator_is_2_10_10_1_leaky_on_logits():
    d = gan.MLPDiscriminator()
    shapes = [tuple(p.shape) for p in d.parameters()]
    assert shapes == [(10, 2), (10,), (10, 10), (10,), (1, 10), (1,)]
    slopes = [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2, 0.2]
    x = torch.randn(7, 2)
    logits = d(x)
    assert logits.shape == (7,)
    np.testing.assert_allclose(d.prob(x).detach().numpy(),
                               1 / (1 + np.exp(-logits.detach().numpy())), rtol=1e-6)


@pytest.mark.parametrize("size", [8, 28])
def test_conv_pair_shapes_and_range(size):
    g = gan.ConvGenerator(size, latent_dim=16, channels=8)
    d = gan.ConvDiscriminator(size, channels=8)
    x = g.sample(3, rng=1)
    assert x.shape == (3, size * size) and g.out_dim == size * size
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    assert d(x).shape == (3,)
    assert d(x.reshape(3, 1, size, size)).shape == (3,)
    # the penalty machinery runs through the conv critic
    gp = gan.gradient_penalty(d, x.detach(), torch.rand(3, size * size), rng=0)
    assert gp.ndim == 0 and float(gp.detach()) >= 0


def test_model_validation():
    with pytest.raises(ValueError, match="ConvGenerator: 'size' must be one of \\(8, 28\\)"):
        gan.ConvGenerator(16)
    with pytest.raises(ValueError, match="MLPGenerator: 'output' must be 'sigmoid' or 'linear'"):
        gan.MLPGenerator(output="tanh")
    with pytest.raises(ValueError, match="MLPDiscriminator: 'in_dim' must be a positive integer"):
        gan.MLPDiscriminator(0)


def test_noisy_data_generator():
    data = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    g = gan.NoisyDataGenerator(data, std=0.0)
    x = g.sample(3000, rng=0)
    # noiseless: every sample is a data point, each chosen with probability 1/3
    d = torch.cdist(x, data).min(1).values
    np.testing.assert_allclose(d.numpy(), 0.0, atol=1e-6)
    counts = np.bincount(torch.cdist(x, data).argmin(1).numpy(), minlength=3)
    assert np.all(np.abs(counts - 1000) < 4 * np.sqrt(3000 * 2 / 9))
    assert list(g.parameters()) == []
    noisy = gan.NoisyDataGenerator(data, std=0.5).sample(5000, rng=1)
    res = noisy - data[torch.cdist(noisy, data).argmin(1)]
    np.testing.assert_allclose(float(res.std()), 0.5, rtol=0.05)
