import numpy as np
import pytest
import torch

from otgan.costs import Euclidean, PowerEuclidean, SquaredEuclidean, get_cost
from otgan.testing import cost_matrix as brute_cost_matrix

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("d", [1, 2, 5, 20])
@pytest.mark.parametrize("cost", [SquaredEuclidean(), Euclidean(), PowerEuclidean(1.5)])
def test_pairwise_matches_explicit_differences(cost, d):
    x, y = RNG.normal(size=(7, d)), RNG.normal(size=(5, d))
    np.testing.assert_allclose(cost(x, y), brute_cost_matrix(x, y, cost), rtol=1e-12, atol=1e-12)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    out = cost(xt, yt)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (7, 5)
    np.testing.assert_allclose(out.numpy(), brute_cost_matrix(x, y, cost), rtol=1e-4, atol=1e-5)


def test_squared_euclidean_factor_is_one():
    # ||x - y||^2, as POT's ot.dist, not ||x - y||^2 / 2
    np.testing.assert_allclose(SquaredEuclidean()(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])),
                               [[25.0]])
    np.testing.assert_allclose(Euclidean()(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])), [[5.0]])


@pytest.mark.parametrize("cost", [SquaredEuclidean(), Euclidean(), PowerEuclidean(3.0),
                                  PowerEuclidean(1.5)])
def test_grad_x_equals_autograd_and_finite_differences(cost):
    x = torch.tensor(RNG.normal(size=(6, 3)), requires_grad=True)
    y = torch.tensor(RNG.normal(size=(6, 3)))
    cost.matched(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), cost.grad_x(x.detach(), y).numpy(), rtol=1e-10)
    # central finite differences in numpy, independent of torch
    xn, yn, h = x.detach().numpy(), y.numpy(), 1e-6
    fd = np.zeros_like(xn)
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        fd[:, k] = (cost.matched(xn + e, yn) - cost.matched(xn - e, yn)) / (2 * h)
    np.testing.assert_allclose(cost.grad_x(xn, yn), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cost", [Euclidean(), PowerEuclidean(1.5), SquaredEuclidean()])
def test_gradient_at_coincident_points_is_zero_not_nan(cost):
    x = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(2, 2, dtype=torch.float64)
    cost.matched(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    np.testing.assert_array_equal(cost.grad_x(np.zeros((2, 2)), np.zeros((2, 2))), 0.0)


def test_euclidean_gradient_has_unit_norm():
    x, y = RNG.normal(size=(50, 4)), RNG.normal(size=(50, 4))
    np.testing.assert_allclose(np.linalg.norm(Euclidean().grad_x(x, y), axis=1), 1.0, rtol=1e-12)


def test_power_special_cases_agree_with_named_costs():
    x, y = RNG.normal(size=(4, 2)), RNG.normal(size=(3, 2))
    np.testing.assert_allclose(PowerEuclidean(1)(x, y), Euclidean()(x, y), rtol=1e-12)
    np.testing.assert_allclose(PowerEuclidean(2)(x, y), SquaredEuclidean()(x, y), rtol=1e-12)
    assert PowerEuclidean(1) == Euclidean() and PowerEuclidean(2) == SquaredEuclidean()
    assert Euclidean() != SquaredEuclidean()


def test_get_cost_strings_and_errors():
    assert isinstance(get_cost("sqeuclidean"), SquaredEuclidean)
    assert isinstance(get_cost("EUCLIDEAN"), Euclidean)
    c = PowerEuclidean(3)
    assert get_cost(c) is c
    with pytest.raises(ValueError, match="unknown 'cost' 'manhattan'"):
        get_cost("manhattan")
    with pytest.raises(TypeError, match="'cost' must be a string"):
        get_cost(2)


def test_power_rejects_bad_p():
    with pytest.raises(ValueError, match="'p' must be >= 1"):
        PowerEuclidean(0.5)
    with pytest.raises(TypeError, match="'p' must be a finite real"):
        PowerEuclidean(float("nan"))
    with pytest.raises(TypeError, match="'p' must be a finite real"):
        PowerEuclidean("2")


def test_pairwise_validates_points():
    with pytest.raises(ValueError, match="'y' must have shape \\(n, 2\\)"):
        SquaredEuclidean()(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="'x' contains NaN"):
        Euclidean()(np.array([[np.nan, 0.0]]), np.zeros((3, 2)))
