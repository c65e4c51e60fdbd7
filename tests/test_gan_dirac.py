"""Dirac-GAN (Mescheder et al. 2018): autograd fields from our losses equal the closed forms."""

import numpy as np
import pytest

from otgan.gan import dirac

GRID = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1.5, 1.5, 4))


@pytest.mark.parametrize("loss", dirac.LOSSES)
def test_autograd_field_equals_closed_form(loss):
    theta, psi = GRID
    psi = psi + 0.05  # keep away from psi = 0, the kink of WGAN-GP's |psi|
    vt, vp = dirac.vector_field(loss, theta, psi, lam=0.7, gamma=1.3)
    ct, cp = dirac.closed_form_field(loss, theta, psi, lam=0.7, gamma=1.3)
    np.testing.assert_allclose(vt, ct, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vp, cp, rtol=1e-12, atol=1e-15)


def test_closed_forms_hand_values():
    # f'(t) = 1 / (1 + e^t); at (theta, psi) = (1, 1): f'(1) = 0.2689414213699951
    fp1, fpm1 = 1 / (1 + np.e), 1 / (1 + 1 / np.e)
    np.testing.assert_allclose(dirac.closed_form_field("gan", 1.0, 1.0), (-fp1, fp1))
    np.testing.assert_allclose(dirac.closed_form_field("nsgan", 1.0, 1.0), (-fpm1, fp1))
    np.testing.assert_allclose(dirac.closed_form_field("wgan", 1.0, 1.0), (-1.0, 1.0))
    np.testing.assert_allclose(dirac.closed_form_field("wgan-gp", 1.0, 2.0, lam=0.5),
                               (-2.0, 1.0 - 1.0))
    np.testing.assert_allclose(dirac.closed_form_field("r1", 1.0, 1.0, gamma=0.3),
                               (-fp1, fp1 - 0.3))


def test_equilibrium_is_a_zero_of_every_field():
    for loss in dirac.LOSSES:
        vt, vp = dirac.vector_field(loss, 0.0, 0.0)
        assert (vt, vp) == (0.0, 0.0) or loss == "wgan-gp"
    # WGAN-GP: at psi = 0 the penalty's subgradient is 0 (sign(0) = 0)
    np.testing.assert_allclose(dirac.vector_field("wgan-gp", 0.0, 0.0), (0.0, 0.0))


def test_simultaneous_wgan_spirals_out_at_the_rate_of_the_linear_map():
    # v = (-psi, theta): one step is the matrix [[1, -h], [h, 1]], norm factor sqrt(1 + h^2)
    tr = dirac.trajectory("wgan", step=0.2, n_steps=30)
    r = np.hypot(tr.theta, tr.psi)
    np.testing.assert_allclose(r[1:] / r[:-1], np.sqrt(1.04), rtol=1e-12)
    # alternating updates: [[1, -h], [h, 1 - h^2]] has determinant 1 (bounded orbit)
    alt = dirac.trajectory("wgan", step=0.2, n_steps=300, mode="alternating")
    assert np.hypot(alt.theta, alt.psi).max() < 2.0
    M = np.array([[1, -0.2], [0.2, 1 - 0.04]])
    z = np.array([1.0, 1.0])
    for _ in range(300):
        z = M @ z
    np.testing.assert_allclose([alt.theta[-1], alt.psi[-1]], z, rtol=1e-9)


def test_r1_trajectory_converges_to_equilibrium():
    tr = dirac.trajectory("r1", gamma=1.0, step=0.2, n_steps=400, mode="alternating")
    np.testing.assert_allclose([tr.theta[-1], tr.psi[-1]], [0.0, 0.0], atol=1e-3)
    assert tr.theta.shape == (401,) and tr.theta[0] == 1.0 and tr.psi[0] == 1.0


def test_validation():
    with pytest.raises(ValueError, match="vector_field: 'loss' must be one of"):
        dirac.vector_field("lsgan", 0.0, 0.0)
    with pytest.raises(ValueError, match="'mode' must be 'simultaneous' or 'alternating'"):
        dirac.trajectory("gan", mode="leapfrog")
    with pytest.raises(ValueError, match="'theta' \\(2,\\) and 'psi' \\(3,\\)"):
        dirac.vector_field("gan", np.zeros(2), np.zeros(3))
