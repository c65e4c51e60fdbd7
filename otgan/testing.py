r"""Property-based testing of optimal-transport code: problems with known answers, and assertions.

Install with ``pip install "otgan[testing]"`` (the strategies need hypothesis,
https://hypothesis.readthedocs.io).

Strategies draw a problem **together with its exact answer**, computed independently of the
code under test:

* :func:`discrete_problems` -- weighted point clouds in dimension 1 to 3 with the quadratic,
  Euclidean or power cost; the exact value and an optimal potential on ``y`` come from POT's
  exact network simplex (``ot.emd``), checked on the spot against the semi-dual.
* :func:`semidiscrete_problems` -- a 2D source measure (uniform on a polygon, possibly
  non-convex or holed, or a piecewise-constant image density), sites and masses for the
  quadratic cost, with the optimal potential and value known in closed form (1D quantiles and
  their products on rectangles, symmetric lattices) or by construction (any potential is
  optimal for the masses of its own Laguerre cells, which are computed here by exact half-plane
  clipping with shapely, not by otgan).
* building blocks :func:`site_sets`, :func:`potentials`, :func:`domains`, :func:`weights`.

Arrays are built with ``hypothesis.extra.numpy`` from drawn structure (sizes, kinds, values),
never from a drawn random seed, so a failing example shrinks to a small one.

Assertions raise ``AssertionError`` with the numbers: :func:`assert_weak_duality`,
:func:`assert_duality_gap`, :func:`assert_potentials_close`, :func:`assert_transport_map`,
:func:`assert_laguerre_valid`. They accept numpy arrays and torch tensors (any device; the
comparison is made in float64 on the CPU, with a tolerance that fits the input's dtype).

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

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "otgan.testing needs the 'hypothesis' package, which is not installed. Install it with "
        "`pip install \"otgan[testing]\"` (or `pip install hypothesis`)."
    ) from _exc

from dataclasses import dataclass

import numpy as np
import ot
import shapely

from ._utils import as_float_array, check_tol, default_rtol, to_numpy
from .costs import Cost, Euclidean, PowerEuclidean, SquaredEuclidean, get_cost
from .measures import ImageDensity, Uniform

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

_DEFAULT_COSTS = (SquaredEuclidean(), Euclidean(), PowerEuclidean(1.5))


def _sizes(lo, hi):
    # uniform over the sizes (st.integers favours the bounds); shrinks towards ``lo``
    return st.sampled_from(range(int(lo), int(hi) + 1))


def _floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


@st.composite
def weights(draw, n, *, tiny=False, zeros=False):
    """Strategy: a probability vector of length ``n`` (float64, positive entries summing to 1).

    Parameters
    ----------
    n : int
        Length.
    tiny : bool
        Allow entries of relative size ``1e-9`` (masses near zero).
    zeros : bool
        Allow exact zeros (at least one entry stays positive).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(weights(4, tiny=True))
    ... def check(w):
    ...     assert w.shape == (4,) and abs(w.sum() - 1) < 1e-12 and (w > 0).all()
    >>> check()
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"testing.weights: 'n' must be >= 1; got {n}")
    elements = _floats(0.05, 1.0)
    if tiny:
        elements = st.one_of(elements, st.just(1e-9))
    if zeros:
        elements = st.one_of(elements, st.just(0.0))
    w = draw(hnp.arrays(np.float64, n, elements=elements))
    if not w.sum() > 0:
        w[0] = 1.0
    return w / w.sum()


@st.composite
def potentials(draw, n, *, scale=1.0):
    """Strategy: a potential ``psi`` of length ``n`` with entries in ``[-scale, scale]``
    (float64; ties and zeros happen: ``0`` gives the Voronoi diagram).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(potentials(3, scale=0.1))
    ... def check(psi):
    ...     assert psi.shape == (3,) and abs(psi).max() <= 0.1
    >>> check()
    """
    n = int(n)
    elements = st.one_of(st.just(0.0), _floats(-1.0, 1.0))
    return float(scale) * draw(hnp.arrays(np.float64, n, elements=elements))


@st.composite
def site_sets(draw, *, min_size=1, max_size=20, dim=2, kinds=SITE_KINDS, box=(0.0, 1.0),
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
        Bounds on ``n`` (``distinct=True`` removes exact duplicates before the check).
    dim : int
        Dimension.
    kinds : sequence of str
        Kinds to draw from.
    box : (float, float)
        The coordinates lie in ``[box[0], box[1]]``.
    distinct : bool
        Remove exact duplicate rows (needed for Laguerre diagrams).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(site_sets(max_size=5, kinds=("lattice",)))
    ... def check(y):
    ...     assert y.ndim == 2 and y.shape[1] == 2 and 1 <= len(y) <= 5
    >>> check()
    """
    bad = [k for k in kinds if k not in SITE_KINDS]
    if bad or not kinds:
        raise ValueError(f"testing.site_sets: 'kinds' must be among {SITE_KINDS}; got {kinds!r}")
    if not 1 <= min_size <= max_size:
        raise ValueError(f"testing.site_sets: need 1 <= min_size <= max_size; got {min_size}, "
                         f"{max_size}")
    lo, hi = float(box[0]), float(box[1])
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
    """Strategy: a shapely polygon from :data:`DOMAINS` (square, 2 x 1 rectangle, L-shape, square
    with a square hole, triangle), optionally translated and scaled.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, deadline=None)
    ... @given(domains(("L", "hole")))
    ... def check(D):
    ...     assert D.is_valid and D.area > 0
    >>> check()
    """
    bad = [k for k in kinds if k not in DOMAINS]
    if bad or not kinds:
        raise ValueError(f"testing.domains: 'kinds' must be among {tuple(DOMAINS)}; got "
                         f"{kinds!r}")
    base = st.sampled_from([DOMAINS[k] for k in kinds])
    if not transform:
        return base

    @st.composite
    def moved(draw):
        dom = draw(base)
        s = draw(st.sampled_from([1.0, 0.5, 3.0]))
        t = draw(hnp.arrays(np.float64, 2, elements=st.sampled_from([0.0, -1.5, 10.25])))
        return shapely.affinity.translate(shapely.affinity.scale(dom, s, s, origin=(0, 0)), *t)

    return moved()


# --------------------------------------------------------------------------------------------
# discrete problems
# --------------------------------------------------------------------------------------------


def cost_matrix(x, y, cost="sqeuclidean") -> np.ndarray:
    """Reference cost matrix ``C[i, j] = c(x_i, y_j)`` by explicit differences in float64
    (numpy; independent of otgan's blocked kernels).

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


@dataclass(frozen=True, eq=False)
class DiscreteProblem:
    r"""A discrete OT problem between :math:`\sum_i a_i \delta_{x_i}` and
    :math:`\sum_j b_j \delta_{y_j}`, with its exact answer.

    Attributes
    ----------
    x : numpy array (n, d)
    a : numpy array (n,)
        Positive, sums to one.
    y : numpy array (m, d)
    b : numpy array (m,)
        Positive, sums to one.
    cost : otgan.costs.Cost
    value : float
        :math:`W = \min_{\pi \in \Pi(a, b)} \sum_{ij} \pi_{ij} c(x_i, y_j)` (POT's ``ot.emd``).
    psi : numpy array (m,)
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

    @property
    def nu(self) -> np.ndarray:
        """Alias of ``b`` (otgan's name for the target masses)."""
        return self.b

    def __repr__(self):
        return (f"DiscreteProblem(n={len(self.x)}, m={len(self.y)}, d={self.x.shape[1]}, "
                f"cost={self.cost!r}, value={self.value!r},\n  x={self.x.tolist()},\n  "
                f"a={self.a.tolist()},\n  y={self.y.tolist()},\n  b={self.b.tolist()},\n  "
                f"psi={self.psi.tolist()})")


def _discrete_semi_dual(psi, p):
    C = cost_matrix(p.x, p.y, p.cost)
    return float(p.a @ (C - psi[None, :]).min(axis=1) + p.b @ psi)


@st.composite
def discrete_problems(draw, *, dims=(1, 2, 3), costs=_DEFAULT_COSTS, min_size=1, max_size=20,
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
        Dimensions to draw from (1 to 3 by default).
    costs : sequence of otgan.costs.Cost or str
        Costs to draw from (quadratic, Euclidean and ``||x-y||^1.5`` by default).
    min_size, max_size : int
        Number of points of each cloud.
    degenerate : bool
        Include degenerate draws (default): repeated points, lattice ties, masses of ``1e-9``,
        a single atom (``min_size=1``).

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
    costs = tuple(get_cost(c) for c in costs)
    d = draw(st.sampled_from(tuple(dims)))
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
    h = _discrete_semi_dual(psi, p)
    if abs(h - value) > 1e-9 * max(1.0, abs(value)):  # pragma: no cover
        raise RuntimeError(f"testing.discrete_problems: POT's dual potential gives the semi-dual "
                           f"{h!r} but the LP value is {value!r}")
    return p


# --------------------------------------------------------------------------------------------
# semi-discrete problems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SemiDiscreteProblem:
    r"""A semi-discrete OT problem (quadratic cost, 2D) with its exact answer.

    Attributes
    ----------
    mu : otgan.measures.Uniform or otgan.measures.ImageDensity
        Source measure (a density on a polygon).
    y : numpy array (J, 2)
        Distinct sites.
    nu : numpy array (J,)
        Target masses, positive, summing to one.
    cost : otgan.costs.SquaredEuclidean
    value : float
        :math:`W_2^2(\mu, \nu) = \max_\psi \int \psi^c\, d\mu + \nu\cdot\psi`.
    psi : numpy array (J,)
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

    @property
    def b(self) -> np.ndarray:
        """Alias of ``nu``."""
        return self.nu

    def __repr__(self):
        return (f"SemiDiscreteProblem(source={self.source!r}, J={len(self.y)}, mu={self.mu!r}, "
                f"value={self.value!r},\n  y={self.y.tolist()},\n  nu={self.nu.tolist()},\n  "
                f"psi={self.psi.tolist()})")


def _interval_moments(edges, dens, lo, hi, s):
    """Mass and ``int_lo^hi (t - s)^2 rho(t) dt`` of the piecewise-constant density ``dens`` on
    the pieces ``edges`` (closed form, cubes)."""
    a = np.clip(edges[:-1], lo, hi)
    b = np.clip(edges[1:], lo, hi)
    mass = float(np.sum(dens * (b - a)))
    mom = float(np.sum(dens * ((b - s) ** 3 - (a - s) ** 3) / 3.0))
    return mass, mom


@st.composite
def _one_d(draw, lo, hi, edges, dens, p, lattice):
    """Sites s (increasing), potential and cells of a 1D semi-discrete problem on [lo, hi] with
    ``p`` cells drawn first: breakpoints are the quantiles, psi follows by recurrence."""
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
        mass[i], mom[i] = _interval_moments(edges, dens, bp[i], bp[i + 1], s[i])
    return s, psi, mass, mom


@st.composite
def _separable_problem(draw, max_sites):
    """Product of two 1D problems on a rectangle: the cell of (s_i, t_k) for the potential
    a_i + b_k is I_i x J_k (the power function separates), with a uniform or product image
    density."""
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


def _halfplane(n, c, R, centre):
    """The polygon {x : <x, n> <= c} intersected with a disc-containing box of radius R."""
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


def _polygon_moments(geom, c):
    """Area and ``int_geom |x - c|^2 dx`` of a shapely (Multi)Polygon; holes subtracted."""
    area = mom = 0.0
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        for k, ring in enumerate([part.exterior, *part.interiors]):
            a, m = _ring_second_moment(np.asarray(ring.coords), c)
            sign = np.sign(a) * (1 if k == 0 else -1)
            area += sign * a
            mom += sign * m
    return area, mom


def _cells(y, psi, domain):
    """Exact power cells of (y, psi) in ``domain`` by shapely half-plane clipping."""
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


@st.composite
def _cell_problem(draw, max_sites, domain_kinds):
    """Any sites inside a drawn domain and a potential under which every site lies inside its own
    cell; nu = the exact masses of the cells (then psi is optimal: the semi-dual gradient
    nu - mu(L) vanishes), value = sum_j int_{L_j} |x - y_j|^2 dmu (= H(psi))."""
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
    cells = _cells(y, psi, dom)
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
                    ar, m = _polygon_moments(shapely.intersection(cells[j], pix), y[j])
                    nu[j] += rho[r, c] * ar
                    mom[j] += rho[r, c] * m
    else:
        mu = Uniform(dom)
        am = np.array([_polygon_moments(cell, y[j]) for j, cell in enumerate(cells)])
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


@st.composite
def semidiscrete_problems(draw, *, sources=("separable", "cells"), max_sites=12,
                          domain_kinds=tuple(DOMAINS), transform=True):
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
        Maximal number of sites ``J``.
    domain_kinds : sequence of str
        Domains of the ``"cells"`` source (keys of :data:`DOMAINS`).
    transform : bool
        Translate and scale the solved problem.

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
    bad = [s for s in sources if s not in ("separable", "cells")]
    if bad or not sources:
        raise ValueError("testing.semidiscrete_problems: 'sources' must be among ('separable', "
                         f"'cells'); got {sources!r}")
    if int(max_sites) < 1:
        raise ValueError(f"testing.semidiscrete_problems: 'max_sites' must be >= 1; got "
                         f"{max_sites}")
    source = draw(st.sampled_from(tuple(sources)))
    if source == "separable":
        mu, y, psi, nu, value = draw(_separable_problem(int(max_sites)))
    else:
        mu, y, psi, nu, value = draw(_cell_problem(int(max_sites), tuple(domain_kinds)))
    if transform:
        s = draw(st.sampled_from([1.0, 0.5, 4.0]))
        t = draw(hnp.arrays(np.float64, 2, elements=st.sampled_from([0.0, -3.0, 0.125, 100.0])))
        mu = _translate_measure(mu, t, s)
        y = s * y + t
        psi = s**2 * psi
        value = s**2 * value
    psi = psi - psi.mean()
    return SemiDiscreteProblem(mu, y, nu, SquaredEuclidean(), float(value), psi, source)


# --------------------------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------------------------


def _as_float64(v, name, where, shape=None):
    v = as_float_array(v, name, where)  # complex, half precision, non-numeric: TypeError
    dtype = v.dtype
    out = to_numpy(v, dtype=np.float64)
    if shape is not None and out.shape != shape:
        raise AssertionError(f"{where}: '{name}' must have shape {shape}; got {out.shape}")
    if not np.isfinite(out).all():
        bad = np.flatnonzero(~np.isfinite(out.ravel()))
        raise AssertionError(f"{where}: '{name}' is not finite at index {bad[:5].tolist()} "
                             f"(values {out.ravel()[bad[:5]].tolist()})")
    return out, default_rtol(dtype)


def _is_discrete(problem):
    return isinstance(problem, DiscreteProblem)


def _check_problem(problem, where):
    if not isinstance(problem, (DiscreteProblem, SemiDiscreteProblem)):
        raise TypeError(f"{where}: 'problem' must be a DiscreteProblem or SemiDiscreteProblem "
                        f"(from otgan.testing strategies); got {type(problem).__name__}")


def _scale(problem):
    """A cost scale of the problem: max(|value|, typical cost) (for absolute tolerances)."""
    if _is_discrete(problem):
        # rounding errors of the costs scale with the coordinates, not with the costs
        r = max(float(np.abs(problem.x).max()), float(np.abs(problem.y).max()))
        r *= np.sqrt(problem.x.shape[1])
        C = cost_matrix(problem.x, problem.y, problem.cost)
        return max(abs(problem.value), float(C.max()), r**problem.cost.p, 1e-300)
    x0, y0, x1, y1 = problem.mu.domain.bounds
    return max(abs(problem.value), (x1 - x0) ** 2 + (y1 - y0) ** 2)


def semi_dual_value(psi, problem) -> float:
    r"""The exact semi-dual :math:`H(\psi)` of ``problem`` at ``psi`` (float64).

    Discrete problems: :math:`\sum_i a_i \min_j (c(x_i, y_j) - \psi_j) + b\cdot\psi` by explicit
    differences. Semi-discrete problems: :math:`\int \psi^c d\mu + \nu\cdot\psi` from the exact
    Laguerre diagram (:meth:`otgan.laguerre.LaguerreDiagram.semi_dual`).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> p = DiscreteProblem(np.zeros((1, 1)), np.ones(1), np.ones((1, 1)), np.ones(1),
    ...                     SquaredEuclidean(), 1.0, np.zeros(1))
    >>> semi_dual_value(np.array([5.0]), p)
    1.0
    """
    where = "testing.semi_dual_value"
    _check_problem(problem, where)
    psi, _ = _as_float64(psi, "psi", where, shape=(len(problem.y),))
    if _is_discrete(problem):
        return _discrete_semi_dual(psi, problem)
    from .laguerre import diagram

    return diagram(problem.y, psi, measure=problem.mu).semi_dual(problem.nu)


def _mass_report(psi, problem):
    """Where the cells of psi carry the wrong mass (a hint for the failure message)."""
    if _is_discrete(problem):
        C = cost_matrix(problem.x, problem.y, problem.cost) - psi[None, :]
        m = np.bincount(np.argmin(C, axis=1), problem.a, len(problem.y))
    else:
        from .laguerre import diagram

        m = diagram(problem.y, psi, measure=problem.mu).masses
    err = m - problem.nu
    j = int(np.argmax(np.abs(err)))
    return (f"the cells of psi carry masses differing from the target by up to {abs(err[j]):.3g}"
            f" (site {j}: cell mass {m[j]:.6g}, target {problem.nu[j]:.6g})")


def assert_weak_duality(psi, problem, *, phi=None, value=None, atol=None):
    r"""Assert weak duality: a dual objective never exceeds the optimal transport cost.

    Checks :math:`H(\psi) \le W` for the exact semi-dual at ``psi`` (:func:`semi_dual_value`),
    and, when given,

    * ``value`` (a float: your own code's dual value at ``psi``): ``value <= W``;
    * ``phi`` (discrete problems: a potential on ``x``): the dual constraints
      :math:`\phi_i + \psi_j \le c(x_i, y_j)` and :math:`a\cdot\phi + b\cdot\psi \le W`.

    Parameters
    ----------
    psi : array (m,)
        Potential on ``problem.y`` (numpy or torch).
    problem : DiscreteProblem or SemiDiscreteProblem
    phi : array (n,), optional
    value : float, optional
    atol : float, optional
        Absolute slack; default: a dtype-aware relative tolerance times the problem's cost
        scale.

    Raises
    ------
    AssertionError
        With the values and the excess.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> p = DiscreteProblem(np.zeros((1, 1)), np.ones(1), np.ones((1, 1)), np.ones(1),
    ...                     SquaredEuclidean(), 1.0, np.zeros(1))
    >>> assert_weak_duality(np.array([0.3]), p)
    >>> assert_weak_duality(np.zeros(1), p, value=1.5)
    Traceback (most recent call last):
    ...
    AssertionError: weak duality violated: the dual value 1.5 exceeds the OT cost W = 1 by 0.5 ...
    """
    where = "testing.assert_weak_duality"
    _check_problem(problem, where)
    psi_n, rtol = _as_float64(psi, "psi", where, shape=(len(problem.y),))
    atol = check_tol(atol, "atol", where) if atol is not None else None
    tol = rtol * _scale(problem) if atol is None else atol
    W = problem.value
    h = semi_dual_value(psi_n, problem)
    if h > W + tol:
        raise AssertionError(
            f"weak duality violated: the exact semi-dual H(psi) = {h:.12g} exceeds the OT cost "
            f"W = {W:.12g} by {h - W:.3g} (tolerance {tol:.3g}); H(psi) <= W holds for every "
            "psi, so the problem or the cost convention is inconsistent"
        )
    if value is not None:
        v = float(to_numpy(value, dtype=np.float64))
        if not v <= W + tol:
            raise AssertionError(
                f"weak duality violated: the dual value {v:.12g} exceeds the OT cost W = {W:.12g}"
                f" by {v - W:.3g} (tolerance {tol:.3g}); the exact semi-dual at this psi is "
                f"{h:.12g}"
            )
    if phi is not None:
        if not _is_discrete(problem):
            raise TypeError(f"{where}: 'phi' is only defined for a DiscreteProblem")
        phi_n, _ = _as_float64(phi, "phi", where, shape=(len(problem.x),))
        C = cost_matrix(problem.x, problem.y, problem.cost)
        slack = phi_n[:, None] + psi_n[None, :] - C
        i, j = np.unravel_index(int(np.argmax(slack)), slack.shape)
        if slack[i, j] > tol:
            raise AssertionError(
                f"dual constraint violated: phi[{i}] + psi[{j}] = {phi_n[i] + psi_n[j]:.12g} "
                f"exceeds c(x[{i}], y[{j}]) = {C[i, j]:.12g} by {slack[i, j]:.3g} "
                f"(tolerance {tol:.3g})"
            )
        d = float(problem.a @ phi_n + problem.b @ psi_n)
        if d > W + tol:
            raise AssertionError(f"weak duality violated: a.phi + b.psi = {d:.12g} exceeds "
                                 f"W = {W:.12g} by {d - W:.3g} (tolerance {tol:.3g})")


def assert_duality_gap(psi, problem, *, rtol=None, atol=None):
    r"""Assert that ``psi`` is optimal: the exact semi-dual at ``psi`` equals the OT cost.

    Fails when :math:`|W - H(\psi)| > \mathrm{atol} + \mathrm{rtol}\, S`, where the scale
    :math:`S = \max(|W|, \max_{ij} c(x_i, y_j), R^p)` is that of the costs (``R`` the largest
    coordinate norm; the squared diameter of the domain for semi-discrete problems): an error
    ``delta`` on every ``psi_j`` moves ``H`` by at most ``delta``, and ``W`` itself may be tiny
    next to the costs. The gap is never negative (weak duality), so a negative gap beyond the
    tolerance fails too. The message says which cell carries the wrong mass.

    Parameters
    ----------
    psi : array (m,)
        Potential on ``problem.y`` (numpy or torch, any device).
    problem : DiscreteProblem or SemiDiscreteProblem
    rtol : float, optional
        Relative tolerance; default ``1e-9`` for float64 input, ``1e-5`` for float32.
    atol : float, optional
        Absolute tolerance (default 0).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> x = np.array([[0.0], [1.0]])
    >>> p = DiscreteProblem(x, np.array([0.5, 0.5]), x, np.array([0.5, 0.5]),
    ...                     SquaredEuclidean(), 0.0, np.zeros(2))
    >>> assert_duality_gap(np.zeros(2), p)
    >>> assert_duality_gap(np.array([0.0, 2.0]), p)
    Traceback (most recent call last):
    ...
    AssertionError: duality gap too large: W = 0, H(psi) = -0.5, gap W - H(psi) = 0.5 ...
    """
    where = "testing.assert_duality_gap"
    _check_problem(problem, where)
    psi_n, dt_rtol = _as_float64(psi, "psi", where, shape=(len(problem.y),))
    if rtol is None:
        rtol = 1e-9 if dt_rtol < 1e-10 else 1e-5
    rtol = check_tol(rtol, "rtol", where)
    atol = 0.0 if atol is None else check_tol(atol, "atol", where)
    tol = atol + rtol * _scale(problem)
    W = problem.value
    h = semi_dual_value(psi_n, problem)
    gap = W - h
    if abs(gap) > tol:
        rel = f"relative {abs(gap) / abs(W):.3g}; " if W != 0 else ""
        what = ("weak duality violated (H(psi) > W): the problem or the cost convention is "
                "inconsistent" if gap < 0 else _mass_report(psi_n, problem))
        raise AssertionError(
            f"duality gap too large: W = {W:.12g}, H(psi) = {h:.12g}, gap W - H(psi) = "
            f"{gap:.3g} ({rel}tolerance {tol:.3g}); "
            f"{what}"
        )


def assert_potentials_close(p, q, *, problem=None, rtol=None, atol=None):
    """Assert that two potentials are equal up to an additive constant.

    The best constant in the max norm is removed: ``c = (max(p - q) + min(p - q)) / 2``; fails
    when ``max |p - q - c| > atol + rtol * S`` with the scale ``S = max(|p|, |q|)`` or, when
    ``problem`` is given, the problem's cost scale (as in :func:`assert_duality_gap`; needed
    when the potentials are close to zero).

    Semi-discrete optimal potentials are unique up to a constant (connected support, positive
    masses); discrete ones in general are not -- compare values with
    :func:`assert_duality_gap` there.

    Parameters
    ----------
    p, q : arrays (m,)
        numpy or torch.
    problem : DiscreteProblem or SemiDiscreteProblem, optional
        Gives the scale of the costs.
    rtol, atol : float, optional
        Defaults fit the least precise input dtype (``1e-7`` relative for float64, ``1e-4``
        for float32).

    Examples
    --------
    >>> import numpy as np
    >>> assert_potentials_close(np.array([1.0, 2.0]), np.array([11.0, 12.0]))
    >>> assert_potentials_close(np.array([1.0, 2.0]), np.array([2.0, 1.0]))
    Traceback (most recent call last):
    ...
    AssertionError: potentials differ by more than an additive constant: ...
    """
    where = "testing.assert_potentials_close"
    pn, r1 = _as_float64(p, "p", where)
    qn, r2 = _as_float64(q, "q", where)
    if pn.shape != qn.shape:
        raise AssertionError(f"{where}: shapes differ: {pn.shape} and {qn.shape}")
    if pn.size == 0:
        return
    single = max(r1, r2) > 1e-10
    if rtol is None:
        rtol = 1e-4 if single else 1e-7
    rtol = check_tol(rtol, "rtol", where)
    atol = None if atol is None else check_tol(atol, "atol", where)
    if problem is not None:
        _check_problem(problem, where)
        scale = _scale(problem)
    else:
        scale = max(np.abs(pn).max(), np.abs(qn).max(), 1e-300)
    tol = (0.0 if atol is None else float(atol)) + rtol * scale
    d = pn - qn
    c = (d.max() + d.min()) / 2
    err = np.abs(d - c)
    j = int(np.argmax(err))
    if err[j] > tol:
        raise AssertionError(
            f"potentials differ by more than an additive constant: after removing c = {c:.6g}, "
            f"max |p - q - c| = {err[j]:.3g} at index {j} (p[{j}] = {pn[j]:.12g}, q[{j}] = "
            f"{qn[j]:.12g}; tolerance {tol:.3g}; {int((err > tol).sum())} of {err.size} entries "
            "off)"
        )


def _site_indices(T, problem, where):
    T = to_numpy(T)
    if T.ndim == 2:  # site coordinates: map back to indices
        if T.shape[1] != problem.y.shape[1]:
            raise AssertionError(f"{where}: the map returns points of shape {T.shape}; expected "
                                 f"indices (n,) or sites (n, {problem.y.shape[1]})")
        d = ((T[:, None, :] - problem.y[None]) ** 2).sum(-1)
        idx = np.argmin(d, axis=1)
        far = np.sqrt(d[np.arange(len(T)), idx])
        if (far > 1e-9 * (1 + np.abs(problem.y).max())).any():
            k = int(np.argmax(far))
            raise AssertionError(f"{where}: T maps a point to {T[k].tolist()}, which is not a "
                                 "site of the problem")
        return idx
    if T.ndim != 1 or not np.issubdtype(T.dtype, np.integer):
        raise AssertionError(f"{where}: expected integer site indices of shape (n,); got dtype "
                             f"{T.dtype}, shape {T.shape}")
    if T.size and (T.min() < 0 or T.max() >= len(problem.y)):
        raise AssertionError(f"{where}: site indices must lie in [0, {len(problem.y)}); got "
                             f"range [{T.min()}, {T.max()}]")
    return T.astype(np.int64)


def assert_transport_map(T, problem, *, optimal=False, rtol=None, n_samples=200_000, rng=0,
                         z=6.0):
    r"""Assert that ``T`` transports the source onto the target: the pushed-forward masses
    equal ``nu`` (and, with ``optimal``, that its cost is the OT cost).

    * Discrete problems: ``T`` is an integer array ``(n,)`` (the site index of each ``x_i``, a
      Monge map: pushed-forward masses ``bincount(T, a)``) or a float coupling matrix
      ``(n, m)`` (its marginals must be ``a`` and ``b``). Compared to
      ``rtol`` (default ``1e-9``, ``1e-5`` for float32).
    * Semi-discrete problems: ``T`` is a callable mapping points ``(k, 2)`` to site indices
      ``(k,)`` or sites ``(k, 2)``. The masses are estimated from ``n_samples`` points drawn
      from ``mu`` (seeded by ``rng``): when ``T`` pushes ``mu`` to ``nu``, the count of site
      ``j`` is Binomial(n, nu_j), and the assertion fails when a count is more than ``z``
      standard deviations away (false alarm below ``1e-8`` per site for ``z = 6``). With
      ``optimal``, the mean transport cost must match ``value`` within ``z`` standard errors.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> x = np.array([[0.0], [1.0]])
    >>> p = DiscreteProblem(x, np.array([0.5, 0.5]), x + 1, np.array([0.5, 0.5]),
    ...                     SquaredEuclidean(), 1.0, np.zeros(2))
    >>> assert_transport_map(np.array([0, 1]), p, optimal=True)
    >>> assert_transport_map(np.array([0, 0]), p)
    Traceback (most recent call last):
    ...
    AssertionError: T does not push the source onto the target: ...
    """
    where = "testing.assert_transport_map"
    _check_problem(problem, where)
    if _is_discrete(problem):
        Tn = to_numpy(T)
        single = Tn.dtype == np.float32
        tol = (1e-5 if single else 1e-9) if rtol is None else check_tol(rtol, "rtol", where)
        n, m = len(problem.x), len(problem.y)
        C = cost_matrix(problem.x, problem.y, problem.cost)
        if Tn.ndim == 2 and np.issubdtype(Tn.dtype, np.floating):
            if Tn.shape != (n, m):
                raise AssertionError(f"{where}: a coupling must have shape ({n}, {m}); got "
                                     f"{Tn.shape}")
            P = Tn.astype(np.float64)
        else:
            idx = _site_indices(Tn, problem, where)
            if idx.shape != (n,):
                raise AssertionError(f"{where}: expected one site index per source point "
                                     f"({n},); got {idx.shape}")
            P = np.zeros((n, m))
            P[np.arange(n), idx] = problem.a
        if (P < -tol).any():
            raise AssertionError(f"{where}: the coupling has negative entries (min {P.min():.3g})")
        for name, got, ref in (("source (rows)", P.sum(1), problem.a),
                               ("target (columns)", P.sum(0), problem.b)):
            err = np.abs(got - ref)
            j = int(np.argmax(err))
            if err[j] > tol:
                raise AssertionError(
                    f"T does not push the source onto the target: the {name} marginal differs "
                    f"by {err[j]:.3g} at index {j} (got {got[j]:.12g}, expected {ref[j]:.12g}; "
                    f"tolerance {tol:.3g})"
                )
        if optimal:
            cost = float((P * C).sum())
            if abs(cost - problem.value) > tol * _scale(problem):
                raise AssertionError(f"{where}: the transport cost of T is {cost:.12g}, the OT "
                                     f"cost is {problem.value:.12g} (excess "
                                     f"{cost - problem.value:.3g})")
        return
    if not callable(T):
        raise TypeError(f"{where}: for a SemiDiscreteProblem, 'T' must be a callable mapping "
                        f"points (k, 2) to site indices; got {type(T).__name__}")
    x = problem.mu.sample(int(n_samples), rng=rng)
    idx = _site_indices(T(x), problem, where)
    if idx.shape != (len(x),):
        raise AssertionError(f"{where}: T returned {idx.shape} for {len(x)} points")
    n = len(x)
    counts = np.bincount(idx, minlength=len(problem.y))
    nu = problem.nu
    std = np.sqrt(n * nu * (1 - nu)) + 1e-300
    zs = np.abs(counts - n * nu) / std
    j = int(np.argmax(zs))
    if zs[j] > z:
        raise AssertionError(
            f"T does not push the source onto the target: site {j} receives {counts[j] / n:.6g} "
            f"of {n} samples, its mass is {nu[j]:.6g} ({zs[j]:.1f} standard deviations off; "
            f"threshold {z}); worst sites: "
            + ", ".join(f"{k}: {counts[k] / n:.4g} vs {nu[k]:.4g}" for k in np.argsort(-zs)[:3])
        )
    if optimal:
        c = ((x - problem.y[idx]) ** 2).sum(1)
        se = c.std() / np.sqrt(n) + 1e-12 * _scale(problem)
        if abs(c.mean() - problem.value) > z * se:
            raise AssertionError(
                f"{where}: the transport cost of T is {c.mean():.6g} +- {se:.2g} (Monte Carlo, "
                f"{n} samples), the OT cost is {problem.value:.6g}")


def _envelope_gap(polygons, y, psi, diam2):
    """Excess of each cell vertex's own power value over the lower envelope
    ``min_k ||v - y_k||^2 - psi_k`` (explicit differences): arrays of the excess, of the excess
    relative to ``diam2 + |own value|`` (the scale of its rounding error), of the cell index and
    of the vertices."""
    ex_all, rel_all, own_all, v_all = [np.zeros(0)], [np.zeros(0)], [np.zeros(0, int)], []
    for i, g in enumerate(polygons):
        if g is None or g.is_empty:
            continue
        v = shapely.get_coordinates(g)
        pw = ((v[:, None, :] - y[None]) ** 2).sum(-1) - psi[None]
        ex = pw[:, i] - pw.min(axis=1)
        ex_all.append(ex)
        rel_all.append(ex / (diam2 + np.abs(pw[:, i])))
        own_all.append(np.full(len(v), i))
        v_all.append(v)
    v_all = np.concatenate(v_all) if v_all else np.zeros((0, 2))
    return np.concatenate(ex_all), np.concatenate(rel_all), np.concatenate(own_all), v_all


def assert_laguerre_valid(diagram, *, rtol=1e-10, envelope_atol=None):
    r"""Assert that a Laguerre (power) diagram of the quadratic cost is exact.

    Checks (float64): the cell areas sum to the domain's area and equal the areas of the cell
    polygons; the adjacency matrix (if any) is symmetric; every vertex ``v`` of every cell ``i``
    lies on the lower envelope, :math:`\|v - y_i\|^2 - \psi_i = \min_k \|v - y_k\|^2 -
    \psi_k` (explicit differences; the excess must be below ``envelope_atol``, or by default
    ``rtol`` times the squared diameter of the domain plus the vertex's own power value, the
    scale of its rounding error). Together these prove the cells exact: convex pieces lying in
    their true cells and tiling the domain.

    Parameters
    ----------
    diagram : otgan.laguerre.LaguerreDiagram or any object with ``y`` (J, 2), ``psi`` (J,),
        ``areas`` (J,), ``polygons`` (J shapely geometries), ``domain`` (shapely polygon) and
        optionally ``adjacency`` (J, J).
    rtol : float
        Relative tolerance of the checks.
    envelope_atol : float, optional
        Absolute tolerance of the lower-envelope check instead.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.laguerre import diagram
    >>> assert_laguerre_valid(diagram(np.array([[0.2, 0.3], [0.7, 0.6]]), np.zeros(2)))
    """
    where = "testing.assert_laguerre_valid"
    rtol = check_tol(rtol, "rtol", where)
    if envelope_atol is not None:
        envelope_atol = check_tol(envelope_atol, "envelope_atol", where)
    y = to_numpy(diagram.y, dtype=np.float64)
    psi = to_numpy(diagram.psi, dtype=np.float64)
    areas = to_numpy(diagram.areas, dtype=np.float64)
    dom = diagram.domain
    x0, y0, x1, y1 = dom.bounds
    diam2 = (x1 - x0) ** 2 + (y1 - y0) ** 2
    total = float(areas.sum())
    if abs(total - dom.area) > rtol * dom.area:
        raise AssertionError(f"{where}: the cell areas sum to {total:.15g}, the domain's area is "
                             f"{dom.area:.15g} (difference {total - dom.area:.3g})")
    polys = np.asarray(diagram.polygons, dtype=object)
    pa = np.array([0.0 if g is None else g.area for g in polys])
    j = int(np.argmax(np.abs(pa - areas)))
    if abs(pa[j] - areas[j]) > rtol * dom.area:
        raise AssertionError(f"{where}: cell {j} has area {areas[j]:.15g} but its polygon has "
                             f"area {pa[j]:.15g}")
    A = getattr(diagram, "adjacency", None)
    if A is not None:
        if hasattr(A, "tocsr"):  # scipy sparse
            D = abs(A - A.T).tocoo()
            asym = float(D.data.max()) if D.nnz else 0.0
            if asym > rtol * np.sqrt(diam2):
                k = int(np.argmax(D.data))
                i, j = int(D.row[k]), int(D.col[k])
                raise AssertionError(f"{where}: adjacency is not symmetric: A[{i}, {j}] = "
                                     f"{A[i, j]:.12g}, A[{j}, {i}] = {A[j, i]:.12g}")
        else:
            A = to_numpy(A, dtype=np.float64)
            asym = np.abs(A - A.T)
            if asym.size and asym.max() > rtol * np.sqrt(diam2):
                i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
                raise AssertionError(f"{where}: adjacency is not symmetric: A[{i}, {j}] = "
                                     f"{A[i, j]:.12g}, A[{j}, {i}] = {A[j, i]:.12g}")
    ex, rel, own, verts = _envelope_gap(polys, y, psi, diam2)
    bad = ex > envelope_atol if envelope_atol is not None else rel > rtol
    if bad.any():
        k = int(np.argmax(np.where(bad, ex, -np.inf)))
        tol = envelope_atol if envelope_atol is not None else rtol
        raise AssertionError(
            f"{where}: vertex {verts[k].tolist()} of cell {own[k]} is above the lower envelope "
            f"of the power functions by {ex[k]:.3g} (relative {rel[k]:.3g}; tolerance "
            f"{tol:.3g}; {int(bad.sum())} vertices off): the cell is not its power cell"
        )
