r"""The problems drawn by :mod:`otgan.testing.strategies`: an OT problem with its exact answer.

:class:`DiscreteProblem` (weighted point clouds) and :class:`SemiDiscreteProblem` (a 2D density
and weighted sites, quadratic cost) are frozen records. Build your own to test a solver on a
problem you know the answer of; the assertions of :mod:`otgan.testing.assertions` check that
every field is finite before using it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..costs import Cost

__all__ = ["DiscreteProblem", "SemiDiscreteProblem"]


@dataclass(frozen=True, eq=False)
class DiscreteProblem:
    r"""A discrete OT problem with its exact answer.

    Between :math:`\sum_i a_i \delta_{x_i}` and :math:`\sum_j b_j \delta_{y_j}`.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, d)
        Source points.
    a : numpy.ndarray, shape (n,)
        Source masses, positive, summing to one.
    y : numpy.ndarray, shape (m, d)
        Target points.
    b : numpy.ndarray, shape (m,)
        Target masses, positive, summing to one.
    cost : otgan.costs.Cost
        The ground cost.
    value : float
        :math:`W = \min_{\pi \in \Pi(a, b)} \sum_{ij} \pi_{ij} c(x_i, y_j)` (POT's ``ot.emd``).
    psi : numpy.ndarray, shape (m,)
        An optimal potential on ``y``: :math:`\sum_i a_i \min_j (c(x_i, y_j) - \psi_j) + b
        \cdot\psi = W` (not unique in general: compare values, not potentials).
    """

    x: np.ndarray
    a: np.ndarray
    y: np.ndarray
    b: np.ndarray
    cost: Cost
    value: float
    psi: np.ndarray

    #: The numeric fields, checked for NaN and inf by every assertion.
    ARRAYS = ("x", "a", "y", "b", "value", "psi")

    @property
    def nu(self) -> np.ndarray:
        """Alias of ``b`` (otgan's name for the target masses)."""
        return self.b

    def __repr__(self):
        """Every field, so that a failing example can be rebuilt."""
        return (f"DiscreteProblem(n={len(self.x)}, m={len(self.y)}, d={self.x.shape[1]}, "
                f"cost={self.cost!r}, value={self.value!r},\n  x={self.x.tolist()},\n  "
                f"a={self.a.tolist()},\n  y={self.y.tolist()},\n  b={self.b.tolist()},\n  "
                f"psi={self.psi.tolist()})")


@dataclass(frozen=True, eq=False)
class SemiDiscreteProblem:
    r"""A semi-discrete OT problem (quadratic cost, 2D) with its exact answer.

    Parameters
    ----------
    mu : otgan.measures.Uniform or otgan.measures.ImageDensity
        Source measure (a density on a polygon).
    y : numpy.ndarray, shape (J, 2)
        Distinct sites.
    nu : numpy.ndarray, shape (J,)
        Target masses, positive, summing to one.
    cost : otgan.costs.SquaredEuclidean
        The quadratic cost.
    value : float
        :math:`W_2^2(\mu, \nu) = \max_\psi \int \psi^c\, d\mu + \nu\cdot\psi`.
    psi : numpy.ndarray, shape (J,)
        The optimal potential (unique up to an additive constant: the support is connected and
        every mass positive), with mean zero.
    source : str
        How the answer is known: ``"separable"`` (closed form) or ``"cells"`` (exact
        half-plane clipping).
    """

    mu: object
    y: np.ndarray
    nu: np.ndarray
    cost: Cost
    value: float
    psi: np.ndarray
    source: str

    #: The numeric fields, checked for NaN and inf by every assertion.
    ARRAYS = ("y", "nu", "value", "psi")

    @property
    def b(self) -> np.ndarray:
        """Alias of ``nu``."""
        return self.nu

    def __repr__(self):
        """Every field, so that a failing example can be rebuilt."""
        return (f"SemiDiscreteProblem(source={self.source!r}, J={len(self.y)}, mu={self.mu!r}, "
                f"value={self.value!r},\n  y={self.y.tolist()},\n  nu={self.nu.tolist()},\n  "
                f"psi={self.psi.tolist()})")
