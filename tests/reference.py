"""Independent reference computations for the tests: brute force and quadrature, in numpy.

Nothing here calls otgan: explicit differences in float64, argmins by ``numpy.argmin`` (the
first minimiser on ties, otgan's convention too), midpoint grids clipped by shapely, power cells
in exact rational arithmetic, and exact ``W2^2`` by an optimal assignment (scipy's
``linear_sum_assignment``, not POT).

The hypothesis strategies live in one place, the public :mod:`otgan.testing`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment


def _exponent(cost):
    """The exponent ``p`` of ``||x - y||^p``: a number, a name, or an object with ``.p``."""
    names = {"sqeuclidean": 2.0, "euclidean": 1.0}
    if isinstance(cost, str):
        return names[cost]
    return float(getattr(cost, "p", cost))


def score_matrix(psi, y, x, cost=2.0):
    """``S[i, j] = ||x_i - y_j||^p - psi_j`` by explicit differences (float64).

    Parameters
    ----------
    psi : array_like, shape (m,)
        Potential on the sites.
    y : array_like, shape (m, d)
        Sites.
    x : array_like, shape (n, d)
        Points.
    cost : float, str or otgan.costs.Cost
        The exponent ``p`` (2: squared distances, computed without a square root), or
        ``"sqeuclidean"`` / ``"euclidean"``, or a cost with an attribute ``p``.

    Returns
    -------
    numpy.ndarray, shape (n, m)
    """
    p = _exponent(cost)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    c = sq if p == 2.0 else np.sqrt(sq) ** p
    return c - np.asarray(psi, dtype=np.float64)[None, :]


def brute_c_transform(psi, y, x, cost=2.0, *, block=100_000):
    """Brute-force c-transform: ``min_j ||x_i - y_j||^p - psi_j`` and its first argmin.

    The power-cell assignment of the points (``p = 2``: the Laguerre cells), by
    :func:`score_matrix` on blocks of ``block`` points.

    Parameters
    ----------
    psi, y, x, cost
        As for :func:`score_matrix`.
    block : int
        Points per block (memory ``8 * block * m`` bytes).

    Returns
    -------
    values : numpy.ndarray, shape (n,)
        ``psi^c(x_i)``.
    idx : numpy.ndarray of int64, shape (n,)
        The first minimiser of each row.
    """
    x = np.asarray(x, dtype=np.float64)
    values, idx = np.empty(len(x)), np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), block):
        S = score_matrix(psi, y, x[s:s + block], cost)
        idx[s:s + block] = S.argmin(axis=1)
        values[s:s + block] = S[np.arange(len(S)), idx[s:s + block]]
    return values, idx


def brute_assign(x, y, psi, block=200_000):
    """``argmin_j ||x_i - y_j||^2 - psi_j`` (:func:`brute_c_transform`'s ``idx``)."""
    return brute_c_transform(psi, y, x, 2.0, block=block)[1]


def brute_power_min(x, y, psi):
    """``min_j ||x_i - y_j||^2 - psi_j`` (:func:`brute_c_transform`'s ``values``)."""
    return brute_c_transform(psi, y, x, 2.0)[0]


def grid_points(domain, n):
    """Centres of an n x n grid of the domain's bounding box that lie in the domain, and the
    area of one grid cell (a midpoint quadrature of the uniform measure)."""
    x0, y0, x1, y1 = domain.bounds
    g = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(x0 + g * (x1 - x0), y0 + g * (y1 - y0))
    P = np.column_stack([X.ravel(), Y.ravel()])
    inside = shapely.contains_xy(domain, P[:, 0], P[:, 1])
    return P[inside], (x1 - x0) * (y1 - y0) / n**2


def w2_squared_by_assignment(x, y):
    """Exact ``W2^2`` between the uniform empirical measures on ``x`` (n points) and ``y`` (m).

    Each point is repeated to ``lcm(n, m)`` atoms of equal mass, where an optimal coupling is a
    permutation (Birkhoff), found by scipy's ``linear_sum_assignment``: independent of POT.

    Parameters
    ----------
    x, y : array_like, shapes (n, d) and (m, d)
        The two point sets (small: the assignment has ``lcm(n, m)`` rows).

    Returns
    -------
    float
        The optimal mean squared distance.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    k = math.lcm(len(x), len(y))
    X, Y = np.repeat(x, k // len(x), axis=0), np.repeat(y, k // len(y), axis=0)
    C = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    return float(C[r, c].mean())


def exact_power_cells(y, psi, box=(0, 0, 1, 1)):
    """Areas and centroids of the power cells of sites ``y``, weights ``psi``, clipped to ``box``.

    The box is clipped by every half-plane ``2 <x, y_k - y_i> <= |y_k|^2 - |y_i|^2 - psi_k +
    psi_i`` in exact rational arithmetic (the float inputs are converted exactly): no rounding
    anywhere, an independent reference for near-coincident sites and tiny cells.

    Returns
    -------
    areas : numpy array (J,)
    centroids : numpy array (J, 2)
        ``nan`` for empty cells.
    """
    Y = [(Fraction(a), Fraction(b)) for a, b in y]
    P = [Fraction(p) for p in psi]
    x0, y0, x1, y1 = (Fraction(v) for v in box)
    areas, cents = [], []
    for i, (yi0, yi1) in enumerate(Y):
        poly = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        for k, (yk0, yk1) in enumerate(Y):
            if k == i or not poly:
                continue
            a0, a1 = 2 * (yk0 - yi0), 2 * (yk1 - yi1)
            b = yk0**2 + yk1**2 - yi0**2 - yi1**2 - P[k] + P[i]
            s = [a0 * px + a1 * py - b for px, py in poly]
            out = []
            for c in range(len(poly)):
                cn = (c + 1) % len(poly)
                if s[c] <= 0:
                    out.append(poly[c])
                if (s[c] < 0 < s[cn]) or (s[c] > 0 > s[cn]):
                    t = s[c] / (s[c] - s[cn])
                    out.append((poly[c][0] + t * (poly[cn][0] - poly[c][0]),
                                poly[c][1] + t * (poly[cn][1] - poly[c][1])))
            poly = out
        A = Fraction(0)
        cx = Fraction(0)
        cy = Fraction(0)
        for c in range(len(poly)):
            (p0, q0), (p1, q1) = poly[c], poly[(c + 1) % len(poly)]
            cr = p0 * q1 - p1 * q0
            A += cr
            cx += (p0 + p1) * cr
            cy += (q0 + q1) * cr
        A /= 2
        areas.append(float(A))
        cents.append((float(cx / (6 * A)), float(cy / (6 * A))) if A else (np.nan, np.nan))
    return np.array(areas), np.array(cents)
