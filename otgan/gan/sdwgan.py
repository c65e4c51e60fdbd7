"""Semi-discrete WGAN (the lectures' "Alternate algorithm for semi-discrete WGAN learning").

The data are a finite set ``Y = {y_1..y_J}`` with masses ``nu`` (uniform by default); the critic
is parametrised by a vector ``psi`` in ``R^J`` through the c-transform
``psi^c(x) = min_j c(x, y_j) - psi_j``, and the objective is the semi-dual

``H(psi, theta) = E_Z[psi^c(g_theta(Z))] + sum_j nu_j psi_j``,  ``W(mu_theta, nu) = max_psi H``.

Each outer iteration alternates

1. ``psi ~ argmax H(., theta)``: ``n_inner`` ASGD steps (Genevay et al. 2016) on batches of
   ``g_theta(Z)`` drawn under ``torch.no_grad()`` (:class:`otgan.semidiscrete.AveragedSGD`);
2. ``theta ~ argmin H(psi, .)``: Adam step(s) on ``mean_k psi^c(g_theta(z_k))``, by autograd
   through the c-transform, whose gradient in ``x`` is ``grad_x c(x, T_psi(x))``
   (``2 (x - T_psi(x))`` for the quadratic cost, the unit vector ``(x - T_psi(x)) / ||.||`` for
   the Euclidean one). By the envelope theorem (Grad-OT, Houdard et al. 2023) this is the
   gradient of ``theta -> W(mu_theta, nu)`` when ``psi`` is optimal.

The argmin ``T_psi`` is found blockwise by :func:`otgan.ctransform.c_transform` (memory bounded:
``J = 60000`` MNIST images in ``d = 784`` fit on one GPU); only the ``(n, d)`` matched costs
carry a graph. This module holds the differentiable pieces; :class:`otgan.gan.trainer.Trainer`
(``loss="sdwgan"``) runs the loop.

References
----------
Genevay, Cuturi, Peyre, Bach (2016). Stochastic optimization for large-scale optimal transport.
Houdard, Leclaire, Papadakis, Rabin (2023). On the gradient formula for learning generative
models with regularized optimal transport costs.
"""

from __future__ import annotations

import torch

from .._utils import check_tensor
from ..costs import get_cost
from ..ctransform import c_transform

__all__ = ["SemiDiscreteCritic", "sdwgan_generator_loss", "semi_dual_estimate"]


def sdwgan_generator_loss(psi: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
                          cost="sqeuclidean", *, memory=None) -> torch.Tensor:
    """Compute the generator's objective ``mean_i psi^c(x_i)`` (differentiable in ``x``).

    Parameters
    ----------
    psi : Tensor (J,)
        Dual weights on the data (treated as a constant: detached).
    y : Tensor (J, d)
        Data points.
    x : Tensor (n, d)
        Generated points ``g_theta(z_i)`` (with their graph).
    cost : str or otgan.costs.Cost
        ``"sqeuclidean"`` (``||x - y||^2``) or ``"euclidean"`` (``||x - y||``).
    memory : int, optional
        Byte budget of one block of the c-transform.

    Returns
    -------
    Tensor, scalar
        ``mean_i min_j c(x_i, y_j) - psi_j``; its gradient in ``x_i`` is
        ``grad_x c(x_i, T_psi(x_i)) / n``.
    """
    where = "gan.sdwgan_generator_loss"
    check_tensor(psi, "psi", where, floating=False)
    check_tensor(y, "y", where, floating=False)
    check_tensor(x, "x", where, floating=False)
    values, _ = c_transform(psi.detach(), y, x, get_cost(cost), memory=memory)
    return values.mean()


def semi_dual_estimate(psi: torch.Tensor, y: torch.Tensor, x: torch.Tensor, nu=None,
                       cost="sqeuclidean", *, memory=None) -> torch.Tensor:
    """Batch estimate ``mean_i psi^c(x_i) + sum_j nu_j psi_j`` of ``H(psi, theta)``.

    By weak duality ``H(psi, theta) <= W(mu_theta, nu)`` for every ``psi`` (in expectation over
    the batch), with equality at the optimal ``psi``.

    Parameters
    ----------
    psi : Tensor (J,)
        Dual weights on the data.
    y : Tensor (J, d)
        Data points.
    x : Tensor (n, d)
        Generated points.
    nu : array (J,), optional
        Masses of the data (default uniform).
    cost : str or otgan.costs.Cost
        The ground cost.
    memory : int, optional
        Byte budget of one block of the c-transform.

    Returns
    -------
    Tensor, scalar
        ``mean_i psi^c(x_i) + nu . psi``.
    """
    where = "gan.semi_dual_estimate"
    check_tensor(psi, "psi", where, floating=False)
    values, _ = c_transform(psi, y, x, get_cost(cost), memory=memory)
    mass = psi.mean() if nu is None else torch.dot(torch.as_tensor(nu).to(psi), psi)
    return values.mean() + mass


class SemiDiscreteCritic:
    """The c-transform ``x -> psi^c(x)`` as a callable critic (for grids, Lipschitz estimates).

    Parameters
    ----------
    psi : Tensor (J,)
        Dual weights (detached).
    y : Tensor (J, d)
        Data points.
    cost : str or otgan.costs.Cost
        The ground cost.
    memory : int, optional
        Byte budget of one block of the c-transform.
    """

    def __init__(self, psi: torch.Tensor, y: torch.Tensor, cost="sqeuclidean", *, memory=None):
        where = "gan.SemiDiscreteCritic"
        self.psi = check_tensor(psi, "psi", where, floating=False).detach()
        self.y = check_tensor(y, "y", where, floating=False)
        self.cost = get_cost(cost)
        self.memory = memory

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate ``psi^c(x)`` (differentiable in ``x``)."""
        values, _ = c_transform(self.psi, self.y, x, self.cost, memory=self.memory)
        return values

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Find ``T_psi(x)``, the index of the Laguerre cell of each point.

        Parameters
        ----------
        x : Tensor (n, d)
            Points.

        Returns
        -------
        Tensor (n,) of int64
        """
        with torch.no_grad():
            return c_transform(self.psi, self.y, x, self.cost, memory=self.memory)[1]
