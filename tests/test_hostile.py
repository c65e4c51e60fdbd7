"""Hostile inputs on laguerre and semidiscrete (Newton, ASGD): each is refused with an error that
names the argument the user passed.

The hostile tests of the other modules live in their modules' test files, marked ``hostile``
(``pytest -m hostile`` runs them all); these will join ``test_laguerre.py`` and
``test_semidiscrete.py``.
"""

import numpy as np
import pytest
import torch

from otgan import laguerre, measures, semidiscrete

pytestmark = [pytest.mark.hostile, pytest.mark.usefixtures("one_torch_thread")]

RNG = np.random.default_rng(1234)
X2 = RNG.random((7, 2))
Y2 = RNG.random((4, 2))


def test_complex_sites_rejected():
    with pytest.raises(TypeError, match="'y' must be real"):
        laguerre.diagram(Y2.astype(complex), np.zeros(4))


@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float16),
    lambda a: torch.as_tensor(a, dtype=torch.float16),
    lambda a: torch.as_tensor(a, dtype=torch.bfloat16),
])
def test_half_precision_sites_of_a_solver_name_the_users_argument(make):
    # the message names 'y', never the default 'nu' the user did not pass
    with pytest.raises(TypeError, match="'y' has dtype .*16") as info:
        semidiscrete.asgd(measures.Uniform(), make(Y2), n_iter=5, rng=0)
    assert "'nu'" not in str(info.value)


def test_nan_tolerances_never_switch_a_check_off():
    nan = float("nan")
    with pytest.raises(ValueError, match="'tol' must be a finite"):
        semidiscrete.newton(measures.Uniform(), Y2, tol=nan)
    with pytest.raises(ValueError, match="'tol' must be a finite"):
        semidiscrete.solve(measures.Uniform(), Y2, cost="euclidean", method="newton", tol=nan)
    with pytest.raises(TypeError, match="'tol' must be a finite non-negative number"):
        semidiscrete.newton(measures.Uniform(), Y2, tol="1e-9")


def test_asgd_sampler_of_the_wrong_dimension_names_mu():
    with pytest.raises(ValueError, match="asgd: 'mu' must draw points of shape \\(8, 3\\)"):
        semidiscrete.asgd(measures.Uniform(), RNG.random((5, 3)), batch_size=8, n_iter=3, rng=0)


def test_non_integer_counts_are_one_error_type():
    from otgan.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match="must be a (positive|non-negative) integer"):
        semidiscrete.asgd(measures.Uniform(), Y2, n_iter=2.5)


def test_more_modules_name_their_arguments():
    with pytest.raises(TypeError, match="laguerre.assign: 'x' has dtype float16"):
        laguerre.assign(X2.astype(np.float16), Y2, np.zeros(4))
    with pytest.raises(TypeError, match="asgd: 'mu.sample\\(8\\)' has dtype float16"):
        semidiscrete.asgd(measures.Sampler(
            lambda n, rng: np.random.default_rng(0).random((n, 2)).astype(np.float16)),
            Y2, batch_size=8, n_iter=3)
