r"""Property-based testing of optimal-transport code: problems with known answers, and assertions.

Install with ``pip install "otgan[testing]"`` (the strategies need hypothesis,
https://hypothesis.readthedocs.io).

The package has four parts; every public name is importable from ``otgan.testing`` itself:

* :mod:`otgan.testing.strategies` -- hypothesis strategies drawing a problem **together with
  its exact answer**, computed independently of the code under test:
  :func:`discrete_problems` (weighted point clouds in dimension 1 to 3 with the quadratic,
  Euclidean or power cost; the exact value and an optimal potential on ``y`` come from POT's
  exact network simplex ``ot.emd``, checked on the spot against the semi-dual),
  :func:`semidiscrete_problems` (a 2D source measure -- uniform on a polygon, possibly
  non-convex or holed, or a piecewise-constant image density -- sites and masses for the
  quadratic cost, with the optimal potential and value known in closed form or by
  construction), and the building blocks :func:`site_sets`, :func:`potentials`,
  :func:`domains`, :func:`weights`. Bad parameters are rejected by name when the strategy is
  built.
* :mod:`otgan.testing.problems` -- the drawn records :class:`DiscreteProblem` and
  :class:`SemiDiscreteProblem`.
* :mod:`otgan.testing.references` -- the independent computations the answers rest on:
  :func:`cost_matrix` by explicit differences, :func:`semi_dual_value`, exact power cells by
  half-plane clipping, polygon moments by Green's formula.
* :mod:`otgan.testing.assertions` -- :func:`assert_weak_duality`, :func:`assert_duality_gap`,
  :func:`assert_potentials_close`, :func:`assert_transport_map`, :func:`assert_laguerre_valid`.
  They raise ``AssertionError`` with the numbers, accept numpy arrays and torch tensors (any
  device; the comparison is made in float64 on the CPU, with a tolerance that fits the input's
  dtype), and first check that every input -- the user's potential, coupling, map values or
  diagram, and the problem's own fields -- is finite, failing with the field's name otherwise.

Conventions are otgan's: ``psi`` is the potential on the discrete side ``y``, the cells are
:math:`\mathrm{argmin}_j\, c(x, y_j) - \psi_j`, the semi-dual is
:math:`H(\psi) = \sum_i a_i \psi^c(x_i) + \sum_j b_j \psi_j` (or :math:`\int \psi^c\, d\mu +
\nu\cdot\psi`), weak duality :math:`H(\psi) \le W` holds for every ``psi`` with equality exactly
at the optimum, and a problem's ``value`` is the transport cost (W2 squared for the quadratic
cost).

Examples
--------
A ten-line property test of a user's dual solver (here POT's, which passes):

>>> import ot
>>> from hypothesis import given, settings
>>> from otgan.testing import assert_duality_gap, discrete_problems
>>> def my_dual_solver(x, a, y, b, cost):
...     M = cost(x, y)
...     return ot.emd(a, b, M, log=True)[1]["v"]
>>> @settings(max_examples=20, deadline=None)
... @given(discrete_problems())
... def test_my_solver(p):
...     assert_duality_gap(my_dual_solver(p.x, p.a, p.y, p.b, p.cost), p)
>>> test_my_solver()
"""

from __future__ import annotations

from .assertions import (
    assert_duality_gap,
    assert_laguerre_valid,
    assert_potentials_close,
    assert_transport_map,
    assert_weak_duality,
)
from .problems import DiscreteProblem, SemiDiscreteProblem
from .references import cost_matrix, semi_dual_value
from .strategies import (
    DOMAINS,
    SITE_KINDS,
    discrete_problems,
    domains,
    potentials,
    semidiscrete_problems,
    site_sets,
    weights,
)

__all__ = [
    "DOMAINS",
    "SITE_KINDS",
    "DiscreteProblem",
    "SemiDiscreteProblem",
    "assert_duality_gap",
    "assert_laguerre_valid",
    "assert_potentials_close",
    "assert_transport_map",
    "assert_weak_duality",
    "cost_matrix",
    "discrete_problems",
    "domains",
    "potentials",
    "semi_dual_value",
    "semidiscrete_problems",
    "site_sets",
    "weights",
]
