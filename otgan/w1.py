r"""Exact W1 tools in 2D: the optimal (Kantorovich) critic of a semi-discrete W1 problem.

For a source :math:`\mu` with a density on a 2D polygon (:class:`otgan.measures.Uniform`, an
image density) and data :math:`\nu = \sum_j \nu_j \delta_{y_j}`, the exact W1 semi-discrete
solver (``semidiscrete.solve(mu, y, nu, cost="euclidean")``, damped Newton on the exact
Apollonius cells of ``laguerre.diagram(..., cost="euclidean")``) gives the optimal potential
:math:`\psi` and the Kantorovich potential

.. math:: \psi^c(x) = \min_j \|x - y_j\| - \psi_j,

1-Lipschitz with :math:`\|\nabla \psi^c\| = 1` wherever it is differentiable (everywhere but
on the cell boundaries and at the sites), and
:math:`W_1(\mu, \nu) = \int \psi^c d\mu + \sum_j \nu_j \psi_j`. The optimal WGAN critic
(high on the data, :math:`\max_{\mathrm{Lip}(f) \le 1} E_\nu f - E_\mu f`) is
:math:`f = -\psi^c` up to an additive constant: this is what a trained WGAN-GP or
weight-clipping critic approximates (``demos/fig12_w1_critic.py``).

The exact cells themselves are ``laguerre.diagram(y, psi, cost="euclidean")``, a
:class:`W1Diagram` (areas, masses, centroids, transport costs, hyperbolic adjacency, Hessian).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._utils import to_numpy
from .ctransform import c_transform
from .laguerre import W1Diagram
from .semidiscrete import solve

__all__ = ["W1Critic", "W1Diagram", "optimal_critic"]


@dataclass(frozen=True)
class W1Critic:
    r"""The exact optimal W1 critic of a semi-discrete problem (:func:`optimal_critic`).

    Attributes
    ----------
    y : numpy array (J, 2)
        The data points (sites).
    nu : numpy array (J,)
        Their masses.
    psi : numpy array (J,)
        The optimal dual potential on the sites (mean zero).
    w1 : float
        :math:`W_1(\mu, \nu)` (exact to the solver's tolerance).
    result : otgan.semidiscrete.SemiDiscreteResult
        The solver's result (convergence history, masses).
    """

    y: np.ndarray
    nu: np.ndarray
    psi: np.ndarray
    w1: float
    result: object

    def potential(self, x):
        r"""Evaluate the Kantorovich potential :math:`\psi^c(x) = \min_j \|x - y_j\| - \psi_j`.

        Parameters
        ----------
        x : array (n, 2)
            Points, numpy or torch.

        Returns
        -------
        array (n,)
            :math:`\psi^c(x_i)`, in the library, device and dtype of ``x`` (a torch result is
            differentiable in ``x``).
        """
        return c_transform(self.psi, self.y, x, cost="euclidean")[0]

    def __call__(self, x):
        r"""Evaluate the optimal WGAN critic :math:`f(x) = -\psi^c(x) + C` (high on the data).

        The constant :math:`C` makes :math:`\sum_j \nu_j f(y_j) = 0`.

        Parameters
        ----------
        x : array (n, 2)
            Points, numpy or torch.

        Returns
        -------
        array (n,)
            :math:`f(x_i)`, in the library, device and dtype of ``x`` (differentiable in ``x``
            for torch).
        """
        shift = float(to_numpy(self.potential(self.y)) @ self.nu)
        return shift - self.potential(x)


def optimal_critic(mu, y, nu=None, *, tol=1e-9) -> W1Critic:
    r"""Solve the semi-discrete W1 problem exactly and return its optimal critic.

    The problem goes from ``mu`` to ``nu = sum_j nu_j delta_{y_j}`` with the cost
    ``||x - y||``; it is solved by :func:`otgan.semidiscrete.solve` with ``method="newton"``
    on the exact Apollonius cells.

    Parameters
    ----------
    mu : otgan.measures.Uniform or otgan.measures.ImageDensity
        The generated (source) distribution, a density on a 2D polygon.
    y : array (J, 2)
        Data points (distinct).
    nu : array (J,), optional
        Their masses (default uniform).
    tol : float
        Relative mass tolerance of the Newton solver.

    Returns
    -------
    W1Critic
        The critic, with numpy ``y``, ``nu``, ``psi`` (mean zero), ``w1`` and the solver's
        result.

    Raises
    ------
    ValueError, TypeError
        Raised by :func:`otgan.semidiscrete.solve` (whose name the messages give), naming the
        argument: ``mu`` without a density, sites not (J, 2) or not distinct, masses not
        positive or not summing to one.

    Warns
    -----
    otgan.errors.NotConvergedWarning
        When Newton stops before ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.measures import Uniform
    >>> crit = optimal_critic(Uniform(), np.array([[0.25, 0.5], [0.75, 0.5]]))
    >>> round(crit.w1, 6)  # mean distance to the centre of a 0.5 x 1 rectangle
    0.296617
    >>> bool(abs(crit.potential(np.array([[0.1, 0.1]]))[0]
    ...          - crit.potential(np.array([[0.1, 0.2]]))[0]) <= 0.1)
    True
    """
    res = solve(mu, y, nu, cost="euclidean", method="newton", tol=tol)
    yn = to_numpy(y, dtype=np.float64)
    J = len(yn)
    nun = np.full(J, 1.0 / J) if nu is None else to_numpy(nu, dtype=np.float64)
    psi = to_numpy(res.psi, dtype=np.float64)
    return W1Critic(y=yn, nu=nun, psi=psi - psi.mean(), w1=float(res.value), result=res)
