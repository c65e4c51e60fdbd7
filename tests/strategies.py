"""Hypothesis strategies shared by the test-suite.

Where possible a strategy generates a problem *together with its known answer* (STYLE.md #11):
``discrete_ot_problems`` draws a random discrete OT problem and solves it with POT's exact network
simplex, independently of otgan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ot
from hypothesis import strategies as st

from otgan.costs import Euclidean, PowerEuclidean, SquaredEuclidean

COSTS = {
    "sqeuclidean": SquaredEuclidean(),
    "euclidean": Euclidean(),
    "power1.5": PowerEuclidean(1.5),
}


def brute_cost_matrix(x, y, cost):
    """Cost matrix by explicit differences (float64), independent of otgan's blocked kernels."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    dist = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))
    return dist**cost.p


@st.composite
def point_clouds(draw, n_min=1, n_max=40, d=None, scale=1.0):
    """A float64 array of shape (n, d) with coordinates in [-scale, scale] on a 1e-6 lattice
    (exact ties are possible: they exercise tie handling)."""
    d = draw(st.integers(1, 3)) if d is None else d
    n = draw(st.integers(n_min, n_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-scale, scale, size=(n, d))
    if draw(st.booleans()):  # sometimes a coarse lattice: repeated coordinates and ties
        pts = np.round(pts * 4) / 4
    return pts


@st.composite
def probability_vectors(draw, n):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, size=n)
    if n > 1 and draw(st.booleans()):
        w[rng.integers(n)] *= 20.0  # an uneven one
    return w / w.sum()


@dataclass(frozen=True)
class DiscreteProblem:
    x: np.ndarray
    a: np.ndarray
    y: np.ndarray
    nu: np.ndarray
    cost_name: str
    cost: object
    value: float  # exact OT cost from POT's ot.emd2
    psi: np.ndarray  # an optimal dual potential on y from POT's ot.emd


@st.composite
def discrete_ot_problems(draw, cost_names=tuple(COSTS)):
    """A random discrete OT problem (up to 40 atoms a side, d in 1..3, random weights) with its
    exact value and optimal potential computed by POT's network simplex."""
    d = draw(st.integers(1, 3))
    x = draw(point_clouds(d=d))
    y = draw(point_clouds(d=d))
    a = draw(probability_vectors(len(x)))
    nu = draw(probability_vectors(len(y)))
    name = draw(st.sampled_from(cost_names))
    cost = COSTS[name]
    M = brute_cost_matrix(x, y, cost)
    _, log = ot.emd(a, nu, M, log=True, numItermax=10**7)
    assert log["result_code"] == 1, log["warning"]  # the reference solver itself must succeed
    return DiscreteProblem(x, a, y, nu, name, cost, float(log["cost"]), np.asarray(log["v"]))
