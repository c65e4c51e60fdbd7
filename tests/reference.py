"""Independent reference computations for the 2D geometry tests (``test_laguerre.py``,
``test_measures.py``): brute-force power assignments on grids, in numpy, never calling otgan.

The hypothesis strategies live in one place, the public :mod:`otgan.testing`.
"""

from __future__ import annotations

import numpy as np
import shapely


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
