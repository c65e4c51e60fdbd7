"""Hypothesis strategies and independent reference computations for the 2D geometry tests
(``test_laguerre.py``, ``test_measures.py``).

The references never call otgan: power cells are checked against a brute-force argmin of
``||x - y_j||^2 - psi_j`` on a grid computed directly in numpy, and against shapely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from hypothesis import strategies as st

UNIT_SQUARE = shapely.box(0.0, 0.0, 1.0, 1.0)
L_SHAPE = shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)])
WITH_HOLE = shapely.Polygon(
    [(0, 0), (1, 0), (1, 1), (0, 1)], [[(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)]]
)
TRIANGLE = shapely.Polygon([(0, 0), (2, 0), (1, 1.5)])
DOMAINS = {"square": UNIT_SQUARE, "L": L_SHAPE, "hole": WITH_HOLE, "triangle": TRIANGLE}


@dataclass(frozen=True)
class Sites:
    y: np.ndarray  # (J, 2) distinct sites
    psi: np.ndarray  # (J,) weights


@st.composite
def sites(draw, j_min=1, j_max=40, psi_scale=None, box=(0.0, 1.0)):
    """Distinct random sites in ``box`` x ``box`` and weights of the order of the cell size
    (``psi_scale`` times the mean cell area by default, so that a few cells may be empty)."""
    J = draw(st.integers(j_min, j_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = box
    y = lo + (hi - lo) * rng.random((J, 2))
    if draw(st.booleans()):  # sometimes collinear sites
        y[:, 1] = lo + (hi - lo) * 0.37
    y = np.unique(y, axis=0)
    rng.shuffle(y)
    J = y.shape[0]
    scale = draw(st.sampled_from([0.0, 0.1, 0.5])) if psi_scale is None else psi_scale
    psi = scale * (hi - lo) ** 2 / J * rng.standard_normal(J)
    return Sites(y, psi)


def grid_points(domain, n):
    """Centres of an n x n grid of the domain's bounding box that lie in the domain, and the
    area of one grid cell."""
    x0, y0, x1, y1 = domain.bounds
    g = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(x0 + g * (x1 - x0), y0 + g * (y1 - y0))
    P = np.column_stack([X.ravel(), Y.ravel()])
    inside = shapely.contains_xy(domain, P[:, 0], P[:, 1])
    return P[inside], (x1 - x0) * (y1 - y0) / n**2


def brute_assign(x, y, psi, block=200_000):
    """argmin_j ||x_i - y_j||^2 - psi_j by explicit differences (numpy, blockwise)."""
    out = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), block):
        xb = x[s : s + block]
        out[s : s + block] = np.argmin(((xb[:, None, :] - y[None]) ** 2).sum(-1) - psi, axis=1)
    return out


def brute_power_min(x, y, psi):
    """min_j ||x_i - y_j||^2 - psi_j by explicit differences."""
    return (((x[:, None, :] - y[None]) ** 2).sum(-1) - psi).min(axis=1)


def envelope_gap(polygons, y, psi, block=4096):
    """Largest excess ``||v - y_i||^2 - psi_i - min_k (||v - y_k||^2 - psi_k)`` over the vertices
    ``v`` of every non-empty cell ``i`` (shapely polygons), by explicit differences.

    Zero (to rounding) means every vertex, hence (cells being convex before clipping) every cell
    lies in its true power cell; together with areas summing to the domain's area this proves
    the cells exact.
    """
    owner, verts = [], []
    for i, g in enumerate(polygons):
        if g is None or g.is_empty:
            continue
        c = shapely.get_coordinates(g)
        owner.append(np.full(len(c), i))
        verts.append(c)
    owner = np.concatenate(owner)
    verts = np.concatenate(verts)
    worst = 0.0
    for s in range(0, len(verts), block):
        v = verts[s : s + block]
        o = owner[s : s + block]
        own = ((v - y[o]) ** 2).sum(-1) - psi[o]
        worst = max(worst, float((own - brute_power_min(v, y, psi)).max()))
    return worst
