r"""Independent reference computations: what the strategies' answers and the assertions rest on.

Nothing here calls otgan's solvers or blocked kernels: cost matrices by explicit differences in
float64 (numpy), exact power cells by shapely half-plane clipping, areas and second moments of
polygons by Green's formula and of 1D piecewise-constant densities in closed form. The one
exception is :func:`semi_dual_value` on a semi-discrete problem, which integrates on otgan's exact
Laguerre diagram (:func:`otgan.laguerre.diagram`, public API), itself checked against these
references by the tests.
"""

from __future__ import annotations

import numpy as np
import shapely

from .._utils import to_numpy
from ..costs import get_cost
from ..laguerre import diagram
from ._checks import check_problem, finite_float64, is_discrete

__all__ = [
    "cost_matrix",
    "discrete_semi_dual",
    "interval_moments",
    "polygon_moments",
    "power_cells",
    "semi_dual_value",
]


def cost_matrix(x, y, cost="sqeuclidean") -> np.ndarray:
    """Compute the cost matrix ``C[i, j] = c(x_i, y_j)`` by explicit differences in float64.

    Independent of otgan's blocked kernels (numpy broadcasting).

    Parameters
    ----------
    x : array_like, shape (n, d)
        Source points (numpy or torch).
    y : array_like, shape (m, d)
        Target points.
    cost : str or otgan.costs.Cost
        ``"sqeuclidean"``, ``"euclidean"``, or a power of the Euclidean distance.

    Returns
    -------
    numpy.ndarray, shape (n, m)
        The costs (float64).

    Examples
    --------
    >>> cost_matrix([[0.0], [1.0]], [[3.0]], "euclidean").tolist()
    [[3.0], [2.0]]
    """
    cost = get_cost(cost)
    x = to_numpy(x, dtype=np.float64)
    y = to_numpy(y, dtype=np.float64)
    sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    if cost.p == 2.0:
        return sq
    return np.sqrt(sq) ** cost.p


def discrete_semi_dual(psi, problem) -> float:
    r"""Compute the semi-dual :math:`\sum_i a_i \min_j (c(x_i, y_j) - \psi_j) + b\cdot\psi`.

    Parameters
    ----------
    psi : numpy.ndarray, shape (m,)
        Potential on ``problem.y`` (float64).
    problem : otgan.testing.DiscreteProblem
        The problem.

    Returns
    -------
    float
        The semi-dual value, by explicit differences (the inputs are not checked).
    """
    C = cost_matrix(problem.x, problem.y, problem.cost)
    return float(problem.a @ (C - psi[None, :]).min(axis=1) + problem.b @ psi)


def semi_dual_value(psi, problem) -> float:
    r"""Compute the exact semi-dual :math:`H(\psi)` of ``problem`` at ``psi`` (float64).

    Discrete problems: :math:`\sum_i a_i \min_j (c(x_i, y_j) - \psi_j) + b\cdot\psi` by explicit
    differences. Semi-discrete problems: :math:`\int \psi^c d\mu + \nu\cdot\psi` from the exact
    Laguerre diagram (:meth:`otgan.laguerre.LaguerreDiagram.semi_dual`).

    Parameters
    ----------
    psi : array_like, shape (m,)
        Potential on ``problem.y`` (numpy or torch); must be finite.
    problem : otgan.testing.DiscreteProblem or otgan.testing.SemiDiscreteProblem
        The problem; its fields must be finite.

    Returns
    -------
    float
        :math:`H(\psi)`.

    Raises
    ------
    AssertionError
        ``psi`` of the wrong shape, or ``psi`` or a field of ``problem`` not finite (named).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> from otgan.testing import DiscreteProblem
    >>> p = DiscreteProblem(np.zeros((1, 1)), np.ones(1), np.ones((1, 1)), np.ones(1),
    ...                     SquaredEuclidean(), 1.0, np.zeros(1))
    >>> semi_dual_value(np.array([5.0]), p)
    1.0
    """
    where = "testing.semi_dual_value"
    check_problem(problem, where)
    psi, _ = finite_float64(psi, "psi", where, shape=(len(problem.y),))
    return _semi_dual(psi, problem)


def _semi_dual(psi, problem):
    if is_discrete(problem):
        return discrete_semi_dual(psi, problem)
    return diagram(problem.y, psi, measure=problem.mu).semi_dual(problem.nu)


def interval_moments(edges, dens, lo, hi, s):
    r"""Mass and second moment about ``s`` of a 1D piecewise-constant density on ``[lo, hi]``.

    Parameters
    ----------
    edges : numpy.ndarray, shape (k + 1,)
        Increasing breakpoints of the density's pieces.
    dens : numpy.ndarray, shape (k,)
        The density on each piece.
    lo, hi : float
        The interval.
    s : float
        The centre of the moment.

    Returns
    -------
    mass : float
        :math:`\int_{lo}^{hi} \rho`.
    moment : float
        :math:`\int_{lo}^{hi} (t - s)^2 \rho(t)\, dt` (closed form: cubes).
    """
    a = np.clip(edges[:-1], lo, hi)
    b = np.clip(edges[1:], lo, hi)
    mass = float(np.sum(dens * (b - a)))
    mom = float(np.sum(dens * ((b - s) ** 3 - (a - s) ** 3) / 3.0))
    return mass, mom


def _halfplane(n, c, R, centre):
    """Build the polygon {x : <x, n> <= c} cut to a disc-containing box of radius R."""
    nn = float(np.hypot(*n))
    u = n / nn
    p0 = u * (c / nn)
    # move p0 close to the centre along the line (keeps coordinates small)
    tdir = np.array([-u[1], u[0]])
    p0 = p0 + tdir * float((centre - p0) @ tdir)
    return shapely.Polygon([p0 + R * tdir, p0 + R * tdir - 2 * R * u, p0 - R * tdir - 2 * R * u,
                            p0 - R * tdir])


def _ring_second_moment(coords, c):
    """Signed area and signed ``int |x - c|^2`` of a closed ring (Green's formula)."""
    x = coords[:, 0] - c[0]
    y = coords[:, 1] - c[1]
    x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
    cr = x0 * y1 - x1 * y0
    area = cr.sum() / 2
    mom = (cr * (x0 * x0 + x0 * x1 + x1 * x1 + y0 * y0 + y0 * y1 + y1 * y1)).sum() / 12
    return area, mom


def polygon_moments(geom, c):
    r"""Area and second moment :math:`\int_G \|x - c\|^2 dx` of a polygon (Green's formula).

    Parameters
    ----------
    geom : shapely.Polygon or shapely.MultiPolygon
        The region (holes are subtracted; other geometry types count as empty).
    c : array_like, shape (2,)
        The centre of the moment.

    Returns
    -------
    area : float
        The area of ``geom``.
    moment : float
        :math:`\int_G \|x - c\|^2 dx`.

    Examples
    --------
    >>> import shapely
    >>> polygon_moments(shapely.box(0, 0, 1, 1), (0.0, 0.0))  # 1 and 2/3
    (1.0, 0.6666666666666666)
    """
    area = mom = 0.0
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        for k, ring in enumerate([part.exterior, *part.interiors]):
            a, m = _ring_second_moment(np.asarray(ring.coords), c)
            sign = np.sign(a) * (1 if k == 0 else -1)
            area += sign * a
            mom += sign * m
    return float(area), float(mom)


def power_cells(y, psi, domain):
    r"""Exact power cells :math:`\{x \in D : \|x - y_j\|^2 - \psi_j \le \|x - y_k\|^2 - \psi_k\}`.

    By shapely half-plane clipping (``J - 1`` intersections per cell), independent of otgan's
    diagram code.

    Parameters
    ----------
    y : numpy.ndarray, shape (J, 2)
        Sites.
    psi : numpy.ndarray, shape (J,)
        Potential.
    domain : shapely.Polygon
        The domain ``D``.

    Returns
    -------
    list of shapely geometries
        Cell ``j`` of site ``j`` (possibly empty).
    """
    x0, y0, x1, y1 = domain.bounds
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    R = 4.0 * (np.hypot(x1 - x0, y1 - y0) + np.abs(y - centre).max()) + 1.0
    sq = (y**2).sum(1)
    cells = []
    for j in range(len(y)):
        cell = domain
        for k in range(len(y)):
            if k != j:
                n = 2.0 * (y[k] - y[j])
                c = sq[k] - sq[j] - psi[k] + psi[j]
                cell = shapely.intersection(cell, _halfplane(n, c, R, centre))
        cells.append(cell)
    return cells
