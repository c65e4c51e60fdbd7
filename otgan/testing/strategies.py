r"""Hypothesis strategies: OT problems drawn together with their exact answers.

* :func:`discrete_problems` -- weighted point clouds in dimension 1 to 3 with the quadratic,
  Euclidean or power cost; the exact value and an optimal potential on ``y`` come from POT's
  exact network simplex (``ot.emd``), checked on the spot against the semi-dual.
* :func:`semidiscrete_problems` -- a 2D source measure (uniform on a polygon, possibly
  non-convex or holed, or a piecewise-constant image density), sites and masses for the
  quadratic cost, with the optimal potential and value known in closed form (1D quantiles and
  their products on rectangles, symmetric lattices) or by construction (any potential is
  optimal for the masses of its own Laguerre cells, computed by
  :func:`otgan.testing.references.power_cells`, not by otgan).
* building blocks :func:`site_sets`, :func:`potentials`, :func:`domains`, :func:`weights`.

Arrays are built with ``hypothesis.extra.numpy`` from drawn structure (sizes, kinds, values),
never from a drawn random seed, so a failing example shrinks to a small one. Every strategy
checks its parameters when it is built, naming the bad one (``discrete_problems(dims=(0,))``
raises a ``ValueError`` about ``'dims'``).
"""

from __future__ import annotations

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "otgan.testing needs the 'hypothesis' package, which is not installed. Install it with "
        "`pip install \"otgan[testing]\"` (or `pip install hypothesis`)."
    ) from _exc

from collections.abc import Sequence

import numpy as np
import ot
import shapely

from .._utils import ArgumentTypeError, check_real
from ..costs import Euclidean, PowerEuclidean, SquaredEuclidean, get_cost
from ..measures import ImageDensity, Uniform
from .problems import DiscreteProblem, SemiDiscreteProblem
from .references import (
    cost_matrix,
    discrete_semi_dual,
    interval_moments,
    polygon_moments,
    power_cells,
)

__all__ = [
    "DOMAINS",
    "SITE_KINDS",
    "discrete_problems",
    "domains",
    "potentials",
    "semidiscrete_problems",
    "site_sets",
    "weights",
]

#: Named test domains (shapely polygons): convex, non-convex and holed.
DOMAINS = {
    "square": shapely.box(0.0, 0.0, 1.0, 1.0),
    "rectangle": shapely.box(0.0, 0.0, 2.0, 1.0),
    "L": shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)]),
    "hole": shapely.Polygon(
        [(0, 0), (1, 0), (1, 1), (0, 1)], [[(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)]]
    ),
    "triangle": shapely.Polygon([(0, 0), (2, 0), (1, 1.5)]),
}

#: The kinds of site sets drawn by :func:`site_sets`.
SITE_KINDS = ("spread", "lattice", "clustered", "collinear", "near-duplicate")
SOURCES = ("separable", "cells")

_DEFAULT_COSTS = (SquaredEuclidean(), Euclidean(), PowerEuclidean(1.5))


def _sizes(lo, hi):
    # uniform over the sizes (st.integers favours the bounds); shrinks towards ``lo``
    return st.sampled_from(range(int(lo), int(hi) + 1))


def _floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


# --------------------------------------------------------------------------------------------
# parameter checks: each names the parameter the user passed
# --------------------------------------------------------------------------------------------


def _int(v, name, where, minimum):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ArgumentTypeError(f"{where}: {name!r} must be an integer >= {minimum}; got {v!r} "
                                f"({type(v).__name__})")
    if v < minimum:
        raise ValueError(f"{where}: {name!r} must be >= {minimum}; got {v!r}")
    return int(v)


def _flag(v, name, where):
    if not isinstance(v, (bool, np.bool_)):
        raise ArgumentTypeError(f"{where}: {name!r} must be True or False; got {v!r}")
    return bool(v)


def _sizes_range(lo, hi, where, lo_name="min_size", hi_name="max_size"):
    lo, hi = _int(lo, lo_name, where, 1), _int(hi, hi_name, where, 1)
    if hi < lo:
        raise ValueError(f"{where}: {hi_name!r} must be >= {lo_name!r}; got {lo_name}={lo}, "
                         f"{hi_name}={hi}")
    return lo, hi


def _choices(values, name, allowed, where):
    """Check a non-empty sequence of entries of ``allowed`` (a string alone is not one)."""
    ok = isinstance(values, Sequence) and not isinstance(values, str) and len(values) > 0
    if ok:
        try:
            ok = all(v in allowed for v in values)
        except TypeError:  # unhashable entries
            ok = False
    if not ok:
        raise ValueError(f"{where}: {name!r} must be among {tuple(allowed)} (a non-empty "
                         f"sequence); got {values!r}")
    return tuple(values)


def _dims(dims, where):
    ok = isinstance(dims, Sequence) and not isinstance(dims, str) and len(dims) > 0
    ok = ok and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                    for d in dims)
    if not ok:
        raise ValueError(f"{where}: 'dims' must be a non-empty sequence of positive integers "
                         f"(dimensions of the points); got {dims!r}")
    return tuple(int(d) for d in dims)


def _costs(costs, where):
    if isinstance(costs, str) or not isinstance(costs, Sequence) or len(costs) == 0:
        raise ValueError(f"{where}: 'costs' must be a non-empty sequence of costs (names or "
                         f"otgan.costs.Cost); got {costs!r}")
    try:
        return tuple(get_cost(c) for c in costs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: 'costs' holds an entry that is not a cost: {exc}") from exc


def _box(box, where):
    try:
        lo, hi = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: 'box' must be two numbers (lo, hi); got {box!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{where}: 'box' must be finite with lo < hi; got {box!r}")
    return lo, hi


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def weights(n, *, tiny=False, zeros=False):
    """Strategy: a probability vector of length ``n`` (float64, entries summing to 1).

    Parameters
    ----------
    n : int
        Length (at least 1).
    tiny : bool
        Allow entries of relative size ``1e-9`` (masses near zero).
    zeros : bool
        Allow exact zeros (at least one entry stays positive).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of numpy arrays of shape ``(n,)``, non-negative (positive unless ``zeros``).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(weights(4, tiny=True))
    ... def check(w):
    ...     assert w.shape == (4,) and abs(w.sum() - 1) < 1e-12 and (w > 0).all()
    >>> check()
    """
    where = "testing.weights"
    return _weights(_int(n, "n", where, 1), _flag(tiny, "tiny", where),
                    _flag(zeros, "zeros", where))


@st.composite
def _weights(draw, n, tiny, zeros):
    elements = _floats(0.05, 1.0)
    if tiny:
        elements = st.one_of(elements, st.just(1e-9))
    if zeros:
        elements = st.one_of(elements, st.just(0.0))
    w = draw(hnp.arrays(np.float64, n, elements=elements))
    if not w.sum() > 0:
        w[0] = 1.0
    return w / w.sum()


def potentials(n, *, scale=1.0):
    """Strategy: a potential ``psi`` of length ``n`` with entries in ``[-scale, scale]``.

    Ties and zeros happen (``0`` gives the Voronoi diagram).

    Parameters
    ----------
    n : int
        Length (at least 0).
    scale : float
        Bound on the entries (finite, non-negative).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of float64 numpy arrays of shape ``(n,)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(potentials(3, scale=0.1))
    ... def check(psi):
    ...     assert psi.shape == (3,) and abs(psi).max() <= 0.1
    >>> check()
    """
    where = "testing.potentials"
    return _potentials(_int(n, "n", where, 0),
                       check_real(scale, "scale", where, nonnegative=True))


@st.composite
def _potentials(draw, n, scale):
    elements = st.one_of(st.just(0.0), _floats(-1.0, 1.0))
    return scale * draw(hnp.arrays(np.float64, n, elements=elements))


def site_sets(*, min_size=1, max_size=20, dim=2, kinds=SITE_KINDS, box=(0.0, 1.0),
              distinct=True):
    """Strategy: a point set of shape ``(n, dim)`` (float64) in ``box`` ^ dim, of a drawn kind.

    Kinds (:data:`SITE_KINDS`):

    * ``"spread"`` -- independent coordinates;
    * ``"lattice"`` -- centres of a regular ``k^dim`` grid (ties and cocircular points);
    * ``"clustered"`` -- one to three tight clusters (radius down to ``1e-3`` of the box);
    * ``"collinear"`` -- points on one segment (axis-parallel or not);
    * ``"near-duplicate"`` -- points plus copies moved by ``1e-7`` of the box; with
      ``distinct=False`` also exact copies (repeated points).

    Parameters
    ----------
    min_size, max_size : int
        Bounds on ``n``, ``1 <= min_size <= max_size`` (``distinct=True`` removes exact
        duplicates before the check).
    dim : int
        Dimension (at least 1).
    kinds : sequence of str
        Kinds to draw from.
    box : (float, float)
        The coordinates lie in ``[box[0], box[1]]`` (finite, ``box[0] < box[1]``).
    distinct : bool
        Remove exact duplicate rows (needed for Laguerre diagrams).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of float64 numpy arrays of shape ``(n, dim)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(site_sets(max_size=5, kinds=("lattice",)))
    ... def check(y):
    ...     assert y.ndim == 2 and y.shape[1] == 2 and 1 <= len(y) <= 5
    >>> check()
    """
    where = "testing.site_sets"
    min_size, max_size = _sizes_range(min_size, max_size, where)
    return _site_sets(min_size, max_size, _int(dim, "dim", where, 1),
                      _choices(kinds, "kinds", SITE_KINDS, where), _box(box, where),
                      _flag(distinct, "distinct", where))


@st.composite
def _site_sets(draw, min_size, max_size, dim, kinds, box, distinct):
    lo, hi = box
    kind = draw(st.sampled_from(tuple(kinds)))
    n = draw(_sizes(min_size, max_size))
    unit = _floats(0.0, 1.0)
    if kind == "spread":
        pts = draw(hnp.arrays(np.float64, (n, dim), elements=unit))
    elif kind == "lattice":
        k = draw(st.integers(1, 6))
        idx = draw(hnp.arrays(np.int64, (n, dim), elements=st.integers(0, k - 1),
                              unique=False))
        if distinct:
            idx = np.unique(idx, axis=0)
        pts = (idx + 0.5) / k
    elif kind == "clustered":
        c = draw(st.integers(1, 3))
        centres = draw(hnp.arrays(np.float64, (c, dim), elements=_floats(0.1, 0.9)))
        radius = draw(st.sampled_from([1e-3, 1e-2, 0.05]))
        which = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
        off = draw(hnp.arrays(np.float64, (n, dim), elements=_floats(-1.0, 1.0)))
        pts = np.clip(centres[which] + radius * off, 0.0, 1.0)
    elif kind == "collinear":
        ends = draw(hnp.arrays(np.float64, (2, dim), elements=unit))
        if draw(st.booleans()):  # axis-parallel: exactly collinear in float64
            ends[1, 1:] = ends[0, 1:]
        t = draw(hnp.arrays(np.float64, n, elements=unit))
        pts = ends[0] + t[:, None] * (ends[1] - ends[0])
    else:  # near-duplicate
        m = max(1, n // 2)
        base = draw(hnp.arrays(np.float64, (m, dim), elements=_floats(0.0, 1.0 - 1e-6)))
        src = draw(hnp.arrays(np.int64, n - m, elements=st.integers(0, m - 1)))
        exact = (not distinct) and draw(st.booleans())
        delta = 0.0 if exact else 1e-7
        sign = draw(hnp.arrays(np.float64, (n - m, dim), elements=st.sampled_from([0.0, 1.0])))
        pts = np.vstack([base, base[src] + delta * sign])
    pts = lo + (hi - lo) * pts
    if distinct:  # after the scaling, which may merge points
        _, first = np.unique(pts, axis=0, return_index=True)
        pts = pts[np.sort(first)]
    assume(len(pts) >= min_size)
    return pts




def domains(kinds=tuple(DOMAINS), *, transform=True):
    """Strategy: a shapely polygon from :data:`DOMAINS`, optionally translated and scaled.

    The domains are a square, a 2 x 1 rectangle, an L-shape, a square with a square hole and a
    triangle.

    Parameters
    ----------
    kinds : sequence of str
        Keys of :data:`DOMAINS` to draw from.
    transform : bool
        Scale by 0.5, 1 or 3 and translate the drawn domain.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of shapely polygons.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(domains(("L", "hole")))
    ... def check(D):
    ...     assert D.is_valid and D.area > 0
    >>> check()
    """
    where = "testing.domains"
    kinds = _choices(kinds, "kinds", tuple(DOMAINS), where)
    base = st.sampled_from([DOMAINS[k] for k in kinds])
    if not _flag(transform, "transform", where):
        return base
    return _moved(base)


@st.composite
def _moved(draw, base):
    dom = draw(base)
    s = draw(st.sampled_from([1.0, 0.5, 3.0]))
    t = draw(hnp.arrays(np.float64, 2, elements=st.sampled_from([0.0, -1.5, 10.25])))
    return shapely.affinity.translate(shapely.affinity.scale(dom, s, s, origin=(0, 0)), *t)


# --------------------------------------------------------------------------------------------
# discrete problems
# --------------------------------------------------------------------------------------------


def discrete_problems(*, dims=(1, 2, 3), costs=_DEFAULT_COSTS, min_size=1, max_size=20,
                      degenerate=True):
    r"""Strategy: a :class:`DiscreteProblem` with its exact value and an optimal potential.

    Draws ``d`` in ``dims``, two point clouds of ``min_size..max_size`` points
    (:func:`site_sets`, repeated points allowed), positive weights (:func:`weights`) and a cost,
    then solves the linear program exactly with POT's network simplex ``ot.emd`` (duals ``v``
    give ``psi``). The reference is checked on the spot: the semi-dual at ``psi``, computed here
    by explicit differences, must equal the LP value to ``1e-9`` (relative), else the draw
    raises ``RuntimeError`` (a failure of the reference, never hidden).

    Parameters
    ----------
    dims : sequence of int
        Dimensions to draw from (positive; 1 to 3 by default).
    costs : sequence of otgan.costs.Cost or str
        Costs to draw from (quadratic, Euclidean and ``||x-y||^1.5`` by default).
    min_size, max_size : int
        Number of points of each cloud, ``1 <= min_size <= max_size``.
    degenerate : bool
        Include degenerate draws (default): repeated points, lattice ties, masses of ``1e-9``,
        a single atom (``min_size=1``).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`DiscreteProblem`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from otgan.ctransform import semi_dual
    >>> @settings(max_examples=20, deadline=None)
    ... @given(discrete_problems(max_size=8))
    ... def check(p):
    ...     h = semi_dual(p.psi, p.y, p.x, nu=p.b, a=p.a, cost=p.cost)
    ...     assert abs(h - p.value) <= 1e-9 * max(1.0, abs(p.value))
    >>> check()
    """
    where = "testing.discrete_problems"
    min_size, max_size = _sizes_range(min_size, max_size, where)
    return _discrete_problems(_dims(dims, where), _costs(costs, where), min_size, max_size,
                              _flag(degenerate, "degenerate", where))


@st.composite
def _discrete_problems(draw, dims, costs, min_size, max_size, degenerate):
    d = draw(st.sampled_from(dims))
    kinds = SITE_KINDS if degenerate else ("spread", "clustered", "collinear")
    x = draw(site_sets(min_size=min_size, max_size=max_size, dim=d, kinds=kinds, box=(-1.0, 1.0),
                       distinct=not degenerate))
    y = draw(site_sets(min_size=min_size, max_size=max_size, dim=d, kinds=kinds, box=(-1.0, 1.0),
                       distinct=not degenerate))
    a = draw(weights(len(x), tiny=degenerate))
    b = draw(weights(len(y), tiny=degenerate))
    cost = draw(st.sampled_from(costs))
    M = cost_matrix(x, y, cost)
    _, log = ot.emd(a, b, M, log=True, numItermax=10**7)
    if log["result_code"] != 1:  # pragma: no cover - the reference must succeed
        raise RuntimeError(f"testing.discrete_problems: ot.emd failed: {log['warning']}")
    value = float(log["cost"])
    psi = np.asarray(log["v"], dtype=np.float64)
    psi = psi - psi.mean()
    p = DiscreteProblem(x, a, y, b, cost, value, psi)
    h = discrete_semi_dual(psi, p)
    if abs(h - value) > 1e-9 * max(1.0, abs(value)):  # pragma: no cover
        raise RuntimeError(f"testing.discrete_problems: POT's dual potential gives the semi-dual "
                           f"{h!r} but the LP value is {value!r}")
    return p


# --------------------------------------------------------------------------------------------
# semi-discrete problems
# --------------------------------------------------------------------------------------------


@st.composite
def _one_d(draw, lo, hi, edges, dens, p, lattice):
    """Sites s (increasing), potential and cells of a 1D semi-discrete problem on [lo, hi].

    The ``p`` cells are drawn first: breakpoints are the quantiles, psi follows by recurrence.
    """
    if lattice:
        bp = lo + (hi - lo) * np.arange(p + 1) / p
        s = (bp[:-1] + bp[1:]) / 2
    else:
        w = draw(hnp.arrays(np.float64, p, elements=_floats(0.2, 1.0)))
        bp = lo + (hi - lo) * np.concatenate([[0.0], np.cumsum(w) / w.sum()])
        bp[-1] = hi
        # a site in (or, when drawn, outside) each cell, strictly increasing
        u = draw(hnp.arrays(np.float64, p, elements=_floats(0.1, 0.9)))
        s = bp[:-1] + u * (bp[1:] - bp[:-1])
        if p == 1 and draw(st.booleans()):
            s = s + (hi - lo) * draw(st.sampled_from([-0.7, 1.3]))
    # boundary between cells i and i+1 at bp[i+1]:
    # (t - s_i)^2 - a_i = (t - s_{i+1})^2 - a_{i+1}  =>  a_{i+1} - a_i = s_{i+1}^2 - s_i^2
    #                                                                 - 2 t (s_{i+1} - s_i)
    steps = s[1:] ** 2 - s[:-1] ** 2 - 2 * bp[1:-1] * (s[1:] - s[:-1])
    psi = np.concatenate([[0.0], np.cumsum(steps)])
    mass = np.empty(p)
    mom = np.empty(p)
    for i in range(p):
        mass[i], mom[i] = interval_moments(edges, dens, bp[i], bp[i + 1], s[i])
    return s, psi, mass, mom


@st.composite
def _separable_problem(draw, max_sites):
    """Product of two 1D problems on a rectangle.

    The cell of (s_i, t_k) for the potential a_i + b_k is I_i x J_k (the power function
    separates), with a uniform or product image density.
    """
    W = draw(st.sampled_from([1.0, 2.0]))
    H = 1.0
    image = draw(st.booleans())
    if image:
        ncols, nrows = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        f = draw(hnp.arrays(np.float64, ncols, elements=_floats(0.2, 1.0)))
        g = draw(hnp.arrays(np.float64, nrows, elements=_floats(0.2, 1.0)))  # row 0 = top
        xe = np.linspace(0.0, W, ncols + 1)
        ye = np.linspace(0.0, H, nrows + 1)
        fx = f / (f.sum() * W / ncols)
        gy = (g / (g.sum() * H / nrows))[::-1]  # bottom to top
        mu = ImageDensity(np.outer(g, f), extent=(0.0, W, 0.0, H))
    else:
        xe, fx = np.array([0.0, W]), np.array([1.0 / W])
        ye, gy = np.array([0.0, H]), np.array([1.0 / H])
        mu = Uniform(shapely.box(0.0, 0.0, W, H))
    lattice = draw(st.booleans()) and not image
    p = draw(_sizes(1, max_sites))
    q = draw(_sizes(1, max(1, max_sites // p))) if draw(st.booleans()) else 1  # 1: collinear
    s, a, mx, Mx = draw(_one_d(0.0, W, xe, fx, p, lattice))
    t, b, my, My = draw(_one_d(0.0, H, ye, gy, q, lattice))
    S, T = np.meshgrid(s, t, indexing="ij")
    y = np.column_stack([S.ravel(), T.ravel()])
    psi = (a[:, None] + b[None, :]).ravel()
    nu = (mx[:, None] * my[None, :]).ravel()
    value = float(Mx.sum() + My.sum())  # sum_ik my_k Mx_i + mx_i My_k, masses summing to 1
    return mu, y, psi, nu, value




@st.composite
def _cell_problem(draw, max_sites, domain_kinds):
    """Any sites inside a drawn domain, and a potential under which each lies in its own cell.

    nu = the exact masses of the cells (then psi is optimal: the semi-dual gradient nu - mu(L)
    vanishes), value = sum_j int_{L_j} |x - y_j|^2 dmu (= H(psi)).
    """
    dom = draw(domains(domain_kinds, transform=False))
    x0, y0, x1, y1 = dom.bounds
    L = max(x1 - x0, y1 - y0)
    pts = draw(site_sets(max_size=max(1, 2 * max_sites), kinds=("spread", "lattice", "collinear",
                                                    "clustered")))
    y = np.column_stack([x0 + L * pts[:, 0], y0 + L * pts[:, 1]])
    y = y[shapely.contains_xy(dom, y[:, 0], y[:, 1])][:max_sites]
    assume(len(y) >= 1)
    J = len(y)
    # every site strictly inside its own power cell: psi_k - psi_j < |y_j - y_k|^2
    d2 = ((y[:, None] - y[None]) ** 2).sum(-1) + np.diag(np.full(J, np.inf))
    dmin = float(d2.min()) if J > 1 else 1.0
    assume(dmin >= (1e-3 * L) ** 2)  # the half-plane clipping needs separated sites
    psi = draw(potentials(J, scale=0.45 * dmin))
    image = draw(st.booleans()) and dom.equals(DOMAINS["square"])
    cells = power_cells(y, psi, dom)
    if image:
        nr, nc = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        img = draw(hnp.arrays(np.float64, (nr, nc), elements=_floats(0.2, 1.0)))
        mu = ImageDensity(img, extent=(0.0, 1.0, 0.0, 1.0))
        rho = img / (img.sum() / (nr * nc))  # density on the unit square
        nu = np.zeros(J)
        mom = np.zeros(J)
        for r in range(nr):
            for c in range(nc):
                pix = shapely.box(c / nc, 1 - (r + 1) / nr, (c + 1) / nc, 1 - r / nr)
                for j in range(J):
                    ar, m = polygon_moments(shapely.intersection(cells[j], pix), y[j])
                    nu[j] += rho[r, c] * ar
                    mom[j] += rho[r, c] * m
    else:
        mu = Uniform(dom)
        am = np.array([polygon_moments(cell, y[j]) for j, cell in enumerate(cells)])
        nu = am[:, 0] / dom.area
        mom = am[:, 1] / dom.area
    assume(nu.min() > 1e-9)
    return mu, y, psi, nu / nu.sum(), float(mom.sum())


def _translate_measure(mu, t, s):
    if isinstance(mu, ImageDensity):
        e = np.asarray(mu.extent)
        return ImageDensity(mu.weights, extent=(s * e[0] + t[0], s * e[1] + t[0],
                                                s * e[2] + t[1], s * e[3] + t[1]))
    dom = shapely.affinity.scale(mu.domain, s, s, origin=(0, 0))
    return Uniform(shapely.affinity.translate(dom, *t))


def semidiscrete_problems(*, sources=SOURCES, max_sites=12, domain_kinds=tuple(DOMAINS),
                          transform=True):
    r"""Strategy: a :class:`SemiDiscreteProblem` (quadratic cost, 2D) with its exact answer.

    Sources of known answers:

    * ``"separable"`` -- sites on a product grid :math:`(s_i, t_k)` in a rectangle with a
      uniform density or a product image density; the potential :math:`a_i + b_k` makes the
      power function separate, so the cells are the rectangles :math:`I_i \times J_k` of two 1D
      problems whose breakpoints are drawn (they are the quantiles of ``nu``) and whose
      potentials follow by recurrence; masses and value in closed form. Includes collinear
      sites (one row), symmetric lattices (``psi = 0``, equal masses), two sites (a half-plane
      cut) and a single site (possibly outside the domain).
    * ``"cells"`` -- any sites inside a polygon of :func:`domains` (non-convex and holed
      included) and a potential under which each site lies inside its own cell (``psi = 0``,
      the Voronoi diagram, is drawn often); ``nu`` is set to the masses of the cells, computed
      here by exact half-plane clipping (shapely) and Green's formula (uniform density, or an
      image density on the unit square, pixel by pixel), not by otgan. Then ``psi`` is optimal
      (the gradient ``nu - mu(L_psi)`` of the concave semi-dual vanishes) and the value is
      :math:`\sum_j \int_{L_j} \|x - y_j\|^2 d\mu`.

    With ``transform`` the problem is then translated and scaled by ``s`` (``psi`` and the
    value scale by ``s**2``, ``nu`` is unchanged).

    Parameters
    ----------
    sources : sequence of str
        ``"separable"`` and/or ``"cells"``.
    max_sites : int
        Maximal number of sites ``J`` (at least 1).
    domain_kinds : sequence of str
        Domains of the ``"cells"`` source (keys of :data:`DOMAINS`).
    transform : bool
        Translate and scale the solved problem.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`SemiDiscreteProblem`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from otgan.laguerre import diagram
    >>> @settings(max_examples=10, deadline=None)
    ... @given(semidiscrete_problems(max_sites=6))
    ... def check(p):
    ...     D = diagram(p.y, p.psi, measure=p.mu)
    ...     assert abs(D.masses - p.nu).max() < 1e-9
    >>> check()
    """
    where = "testing.semidiscrete_problems"
    return _semidiscrete_problems(_choices(sources, "sources", SOURCES, where),
                                  _int(max_sites, "max_sites", where, 1),
                                  _choices(domain_kinds, "domain_kinds", tuple(DOMAINS), where),
                                  _flag(transform, "transform", where))


@st.composite
def _semidiscrete_problems(draw, sources, max_sites, domain_kinds, transform):
    source = draw(st.sampled_from(sources))
    if source == "separable":
        mu, y, psi, nu, value = draw(_separable_problem(max_sites))
    else:
        mu, y, psi, nu, value = draw(_cell_problem(max_sites, domain_kinds))
    if transform:
        s = draw(st.sampled_from([1.0, 0.5, 4.0]))
        t = draw(hnp.arrays(np.float64, 2, elements=st.sampled_from([0.0, -3.0, 0.125, 100.0])))
        mu = _translate_measure(mu, t, s)
        y = s * y + t
        psi = s**2 * psi
        value = s**2 * value
    psi = psi - psi.mean()
    return SemiDiscreteProblem(mu, y, nu, SquaredEuclidean(), float(value), psi, source)
