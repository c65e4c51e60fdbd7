r"""Semi-discrete optimal transport: damped Newton (exact, 2D quadratic) and ASGD (any cost).

The source :math:`\mu` has a density (or is only known through a sampler), the target
:math:`\nu = \sum_j \nu_j \delta_{y_j}` is discrete. With the lectures' convention the Laguerre
cells are :math:`L_\psi(y_j) = \{x : c(x, y_j) - \psi_j \le c(x, y_k) - \psi_k \ \forall k\}` and the
semi-dual

.. math:: H(\psi) = \int \psi^c \, d\mu + \sum_j \nu_j \psi_j, \qquad
          \psi^c(x) = \min_j c(x, y_j) - \psi_j,

is concave with gradient :math:`\partial H / \partial \psi_j = \nu_j - \mu(L_\psi(y_j))`. Its
maximum is the transport cost :math:`W_c(\mu, \nu)` (W2 squared for the quadratic cost
``||x - y||^2``; the factor is that of :class:`otgan.costs.SquaredEuclidean`, *not* ``1/2``), and
it is reached exactly when every cell carries its target mass (Kitagawa, Mérigot & Thibert 2019).

Two solvers:

- :func:`newton` -- the damped Newton method of Kitagawa, Mérigot & Thibert (2019) for the
  quadratic cost and a 2D source with a density (:class:`otgan.measures.Uniform` or the image
  density). Each iteration computes the exact Laguerre diagram (:func:`otgan.laguerre.diagram`);
  the Hessian of ``H`` is minus the weighted graph Laplacian of the diagram,
  ``w_ij = (int_{L_i cap L_j} rho ds) / (2 ||y_i - y_j||)``. Converges to machine precision in a
  few iterations.
- :func:`asgd` -- averaged stochastic gradient ascent (Genevay, Cuturi, Peyré & Bach 2016), as in
  the lecture: ``psi~_k = psi~_{k-1} + gamma / sqrt(k) * (nu - batch cell frequencies)``,
  ``psi_k = (psi~_1 + ... + psi~_k) / k``; for any cost and any sampler (numpy, torch, CUDA).
  :class:`AveragedSGD` is its reusable one-step state (the semi-discrete WGAN trainer uses it).

:func:`solve` chooses between them (``method="auto"``: Newton whenever it applies).

References
----------
J. Kitagawa, Q. Mérigot, B. Thibert. Convergence of a Newton algorithm for semi-discrete optimal
transport. J. Eur. Math. Soc. 21 (2019), 2603-2651.

A. Genevay, M. Cuturi, G. Peyré, F. Bach. Stochastic optimization for large-scale optimal
transport. NeurIPS 2016.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import shapely
import torch
from scipy.sparse.linalg import splu

from . import laguerre, measures
from ._power import components, laplacian_csr
from ._utils import (
    GeometryError,
    as_float_array,
    as_rng,
    check_int,
    check_points,
    check_real,
    check_tol,
    check_vector,
    check_weights,
    is_torch,
    like,
    to_numpy,
)
from .costs import SquaredEuclidean, get_cost
from .ctransform import c_transform
from .errors import NotConvergedWarning

__all__ = [
    "AveragedSGD",
    "NotConvergedWarning",
    "SemiDiscreteResult",
    "asgd",
    "default_gamma",
    "exact_available",
    "newton",
    "solve",
]

_METHODS = ("auto", "newton", "asgd")


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SemiDiscreteResult:
    """Result of a semi-discrete OT solver.

    Attributes
    ----------
    psi : array (J,)
        The dual potential on the sites (defined up to an additive constant), in the library,
        device and dtype of ``y``.
    value : float
        The transport cost. Newton: ``sum_j int_{L_j} c(x, y_j) dmu(x)`` at the final ``psi`` (W2
        squared for the quadratic cost), equal to the semi-dual ``H(psi)`` at the optimum. ASGD:
        the semi-dual ``H(psi)`` (a lower bound of the cost by weak duality), computed exactly
        when the exact diagram applies, else a Monte-Carlo estimate.
    masses : numpy array (J,)
        ``mu(L_psi(y_j))`` (exact, or Monte-Carlo frequencies for ASGD without an exact diagram).
    error : float
        ``max_j |masses_j - nu_j| / nu_j`` (over the sites with ``nu_j > 0``).
    n_iter : int
        Iterations performed (Newton iterations, or ASGD steps).
    converged : bool
        ``error <= tol``.
    history : dict
        Per-iteration diagnostics (see :func:`newton` and :func:`asgd`).
    method : str
        ``"newton"`` or ``"asgd"`` (what actually ran; ``solve(method="auto")`` reports its choice).
    """

    psi: object
    value: float
    masses: np.ndarray
    error: float
    n_iter: int
    converged: bool
    history: dict = field(repr=False)
    method: str


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_sites(y, where, *, dim=None):
    y = check_points(y, "y", where, dim=dim)
    yn = to_numpy(y, dtype=np.float64)
    if len(yn) > 1:
        _, first, counts = np.unique(yn, axis=0, return_index=True, return_counts=True)
        if (counts > 1).any():
            i = int(first[np.argmax(counts > 1)])
            j = int(np.flatnonzero((yn == yn[i]).all(axis=1))[1])
            raise ValueError(
                f"{where}: 'y' must hold distinct sites; y[{i}] and y[{j}] are both "
                f"{yn[i].tolist()}. Merge duplicates (adding their masses in 'nu')"
            )
    return y


def _check_psi0(psi0, J, where):
    if psi0 is None:
        return None
    return check_vector(psi0, J, "psi0", where, match=f"'y' ({J} sites)")


def _has_density_2d(mu):
    """True for otgan's 2D measures with an exactly integrable density (uniform, image)."""
    return isinstance(mu, measures.DensityMeasure)


def exact_available(mu, y, cost="sqeuclidean") -> bool:
    """Whether the exact 2D Laguerre machinery applies: quadratic cost, sites in 2D, and ``mu``
    one of otgan's measures with a density (:class:`otgan.measures.Uniform` or the image
    density). This is when :func:`newton` can run and when :func:`asgd` can record exact errors.
    """
    c = get_cost(cost)
    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    return (
        isinstance(c, SquaredEuclidean) or getattr(c, "p", None) == 2.0
    ) and len(shape) == 2 and shape[1] == 2 and _has_density_2d(mu)


def _sample(mu, n, rng):
    """Draw ``n`` points from a measure (``.sample``) or a callable ``(n, rng) -> points``."""
    if hasattr(mu, "sample"):
        return mu.sample(n, rng=rng)
    return mu(n, rng)


def _check_drawn(x, n, d, where):
    """The first batch drawn from 'mu': real floating points of shape (n, d), d the sites'
    dimension (so that a mismatch names 'mu', not an internal argument)."""
    x = as_float_array(x, f"mu.sample({n})", where)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"{where}: 'mu' must draw points of shape ({n}, {d}) in the dimension of the sites "
            f"'y'; mu.sample({n}) gave shape {tuple(x.shape)}"
        )
    return x


def _check_sampler(mu, where):
    if not (hasattr(mu, "sample") or callable(mu)):
        raise TypeError(
            f"{where}: 'mu' must be an otgan measure (with a .sample(n, rng=...) method) or a "
            f"callable (n, rng) -> points; got {type(mu).__name__}"
        )


def _norm_rng(rng):
    """numpy Generator, or the caller's torch Generator untouched (for torch samplers)."""
    if isinstance(rng, torch.Generator):
        return rng
    return as_rng(rng)


# --------------------------------------------------------------------------------------------
# exact diagram helpers (quadratic cost, 2D density)
# --------------------------------------------------------------------------------------------


def _diagram(y, psi, mu):
    """The exact diagram of validated float64 sites (no validation on every Newton iterate)."""
    return laguerre._diagram(y, np.asarray(psi, dtype=np.float64), mu.domain, mu)


def _rel_errors(masses, nu):
    pos = nu > 0
    rel = np.abs(masses[pos] - nu[pos]) / nu[pos]
    return float(rel.max()), float(rel.mean())


def _laplacian(E, y, ground=None):
    """The weighted Laplacian ``L = diag(W 1) - W``, ``W_ij = E_ij / (2 |y_i - y_j|)`` from the
    symmetric edge masses ``E`` (csr), plus ``L_kk`` added on the diagonal at the ``ground``
    nodes (csc).

    ``L`` is the Jacobian of the cell masses in ``psi`` (``masses(psi + d) ~ masses + L d``), i.e.
    minus the Hessian of the semi-dual. Adding ``L_kk`` at one node ``k`` of each connected
    component makes it positive definite: for a right-hand side summing to zero on each
    component, the solution is the one with ``d_k = 0`` (the gauge).
    """
    J = len(y)
    E = E.tocsr()
    E.sort_indices()
    g = np.zeros(J, dtype=np.bool_)
    if ground is not None:
        g[ground] = True
    ip, ix, dv = laplacian_csr(E.indptr.astype(np.int64), E.indices.astype(np.int64),
                               np.ascontiguousarray(E.data, dtype=np.float64),
                               np.ascontiguousarray(y[:, 0]), np.ascontiguousarray(y[:, 1]), g)
    return sp.csc_matrix((dv, ix, ip), shape=(J, J))


class _NewtonSolver:
    """Solves ``L d = rhs`` for the successive Laplacians of one Newton run (inexact Newton).

    The gauge is fixed by grounding one node per connected component of the cell graph (see
    :func:`_laplacian`); ``d`` is then shifted to zero mean. The first system is factorised
    (sparse LU; symmetric positive definite, so no pivoting and a minimum-degree ordering on
    ``A + A^T``). Later systems differ little (the cells move a little), so they are solved by
    conjugate gradients preconditioned with the last factorisation, to the relative residual
    ``rtol`` that Newton asks for (loose far from the solution, tight near it); when that does
    not converge within ``max_cg`` iterations, or the grounded nodes change, the new matrix is
    factorised. ``exact=True`` forces a factorisation.
    """

    def __init__(self, max_cg=30):
        self.max_cg = max_cg
        self.lu, self.ground = None, None
        self.n_factor = self.n_cg = 0

    def _grounded(self, E):
        ncomp, first = components(E.indptr.astype(np.int64), E.indices.astype(np.int64))
        if ncomp == 1 and self.ground is not None and self.ground.size == 1:
            return self.ground, ncomp  # any node grounds a connected graph: keep the last one
        return first, ncomp

    def solve(self, E, y, rhs, rtol, *, scale=None, exact=False):
        """``d`` (zero mean) with ``L d = rhs``; the CG stops when ``max |scale * r| <= rtol
        max |scale * rhs|`` (``scale = 1 / nu``: every cell's mass to the same relative
        accuracy, whatever its target). Returns ``(d, number of components)``."""
        ground, ncomp = self._grounded(E)
        A = _laplacian(E, y, ground)
        x = None
        if not exact and self.lu is not None and np.array_equal(ground, self.ground):
            x = _pcg(A, rhs, self.lu.solve, max(rtol, 1e-14), self.max_cg,
                     np.ones_like(rhs) if scale is None else scale)
            self.n_cg += x is not None
        if x is None:
            self.lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
            self.ground = ground
            self.n_factor += 1
            x = self.lu.solve(rhs)
        return x - x.mean(), ncomp


def _pcg(A, b, precond, rtol, maxiter, scale):
    """Preconditioned conjugate gradients for the SPD ``A``; stops when ``max |scale * r| <=
    rtol * max |scale * b|``; ``None`` if that takes more than ``maxiter`` iterations. (Written
    out rather than scipy's ``cg`` for this criterion, and to keep the vector operations off
    the BLAS threads: they are too small to gain from them.)"""
    x = np.zeros_like(b)
    r = b.copy()
    target = rtol * float(np.max(np.abs(scale * b)))
    if target == 0.0:
        return x
    z = precond(r)
    p = z.copy()
    rz = float(np.einsum("i,i->", r, z))
    for _ in range(maxiter):
        Ap = A @ p
        alpha = rz / float(np.einsum("i,i->", p, Ap))
        x += alpha * p
        r -= alpha * Ap
        if float(np.max(np.abs(scale * r))) <= target:
            return x
        z = precond(r)
        rz, rz_old = float(np.einsum("i,i->", r, z)), rz
        p *= rz / rz_old
        p += z
    return None


def _stage(D, eps):
    """Cell masses of the regularised source ``(1 - eps) mu + eps U(B)`` (``B`` the bounding
    box of mu's domain; ``eps = 0``: mu itself)."""
    if eps == 0.0:
        return np.asarray(D.masses, dtype=np.float64)
    return (1.0 - eps) * np.asarray(D.masses, dtype=np.float64) + eps * D._box[0]


def _stage_edges(D, eps):
    """Edge masses (csr) of the regularised source of :func:`_stage`."""
    if eps == 0.0:
        return D.edge_mass
    return ((1.0 - eps) * D.edge_mass + eps * D._box[1]).tocsr()


_FAIR = 0.1  # a cell is starved below this fraction of its target mass


def _is_fair(masses, nu, E, mu):
    """Whether Newton can run on mu itself from these cells: every cell has mass and the cells
    form one connected graph (KMT's conditions; enough for a uniform measure, whose density
    is bounded below on its domain), and, for a density with zeros (an image), every cell
    holds at least a tenth of its target mass (cells reduced to slivers of positive pixels
    make the damped iteration crawl)."""
    floor = _FAIR if _has_zeros(mu) else 0.0
    if not (np.all(masses > 0) and np.all(masses >= floor * nu)):
        return False
    return components(E.indptr.astype(np.int64), E.indices.astype(np.int64))[0] == 1


def _has_zeros(mu):
    """Whether the density of mu vanishes somewhere in its domain (an image with zero
    pixels)."""
    return isinstance(mu, measures.ImageDensity) and bool(np.any(mu.weights == 0))


def _support_distance2(mu, y):
    """Squared distance from each site to the support of mu (the domain of a uniform measure,
    the pixels of positive density of an image, less half a pixel's diagonal)."""
    if isinstance(mu, measures.ImageDensity):
        from scipy.spatial import cKDTree

        rows, cols = np.nonzero(mu.weights > 0)
        w, h = mu.pixel_size
        centres = np.column_stack([mu.extent[0] + (cols + 0.5) * w,
                                   mu.extent[3] - (rows + 0.5) * h])
        d = cKDTree(centres).query(y)[0] - 0.5 * math.hypot(w, h)
        return np.maximum(d, 0.0) ** 2
    return shapely.distance(shapely.points(y), mu.domain) ** 2


def _initial_psi(y, mu, nu, where, diagram):
    """A starting potential whose Laguerre cells all meet the bounding box of mu's domain with
    positive area, and as fair as cheaply possible.

    1. ``psi = 0`` (the Voronoi diagram) when its cells are fair (see :func:`_is_fair`).
    2. Else ``psi_j = d(y_j, supp mu)^2`` if its cells are fair: the power circle of a site
       outside the support (or in a hole, a gap, a region of zero density) then touches the
       support, so its cell reaches the density instead of starving in the zero region; the
       sites on the support keep their own position in their cell. (If these cells are not fair
       either, ``psi = 0`` is returned: the continuation of :func:`newton` starts better from
       the Voronoi cells.)
    3. If a cell is still empty, a rescaling trick: with ``psi_j = (1 - t) ||y_j - c||^2`` and
       ``0 < t <= 1``, ``||x - y_j||^2 - psi_j = t^{-1} ||y_j^t - x||^2 + (terms independent of
       j)`` where ``y_j^t = c + t (y_j - c)``, so the Laguerre cells are the Voronoi cells of the
       sites contracted towards ``c``, the centre of the box; halving ``t`` until every cell has
       area, every distinct site gets a non-empty cell, even sites far outside the domain.
    """
    J = len(y)
    psi = np.zeros(J)
    D = diagram(psi)
    if np.all(D._box[0] > 0) and _is_fair(np.asarray(D.masses, dtype=np.float64), nu,
                                           D.edge_mass, mu):
        return psi, D
    d2 = _support_distance2(mu, y)
    if np.any(d2 > 0):
        D2 = diagram(d2 - d2.mean())
        if np.all(D2._box[0] > 0) and (
                not np.all(D._box[0] > 0)
                or _is_fair(np.asarray(D2.masses, dtype=np.float64), nu, D2.edge_mass, mu)):
            return d2 - d2.mean(), D2
    if np.all(D._box[0] > 0):
        return psi, D
    x0, y0, x1, y1 = D.domain.bounds
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    sq = np.einsum("ij,ij->i", y - c, y - c)
    t = 1.0
    for _ in range(60):
        t *= 0.5
        psi = (1.0 - t) * sq
        psi = psi - psi.mean()
        D = diagram(psi)
        if np.all(D._box[0] > 0):
            return psi, D
    empty = np.flatnonzero(~(D._box[0] > 0))
    raise GeometryError(
        f"{where}: could not find a potential giving every site a cell of positive area; "
        f"sites {empty[:10].tolist()} stay empty (are the sites distinct?)",
        indices=empty,
    )


# --------------------------------------------------------------------------------------------
# damped Newton
# --------------------------------------------------------------------------------------------


def newton(mu, y, nu=None, *, tol=1e-9, max_iter=100, psi0=None, max_halvings=30):
    r"""Damped Newton method for semi-discrete OT, quadratic cost ``||x - y||^2``, 2D density.

    Algorithm of Kitagawa, Mérigot & Thibert (2019): maximise the concave semi-dual
    ``H(psi) = int psi^c dmu + nu . psi`` whose gradient is ``nu - G(psi)``, ``G_j(psi) =
    mu(L_psi(y_j))``. The Jacobian of ``G`` is the graph Laplacian ``L`` of the Laguerre diagram
    with weights ``w_ij = int_{L_i cap L_j} rho ds / (2 ||y_i - y_j||)`` (symmetric, positive
    semi-definite, kernel = the constants on the connected cell graph). Each iteration

    1. solves ``L d = nu - G(psi)`` with the gauge fixed (one grounded node per connected
       component, then ``d`` shifted to zero mean), inexactly: a sparse LU for the first
       system, then conjugate gradients preconditioned by the last LU, to a relative accuracy
       of the order of the current error (loose far from the solution, tight near it; every
       cell to the same *relative* accuracy, so that masses spanning many orders of magnitude
       converge together),
    2. takes the largest step ``alpha in {1, 1/2, 1/4, ...}`` such that every cell keeps at
       least half of the smallest of its initial and target masses and
       ``||(G(psi + alpha d) - nu) / nu|| <= (1 - alpha / 2) ||(G(psi) - nu) / nu||`` (KMT's
       condition, in the norm of the relative errors),

    and stops when ``max_j |G_j - nu_j| / nu_j <= tol``. ``nu`` is normalised to sum to one.

    **Starved cells, holes, gaps, disconnected supports.** KMT's theory needs every cell to
    start with mass and the density to be positive on a connected support. When the starting
    cells are unfair (a cell with less than a tenth of its target, or cells of mu's support
    that do not form one connected graph: a disconnected domain, an image with zero rows
    between sites, zero pixels), Newton runs on the regularised source ``mu_eps = (1 - eps) mu +
    eps U(B)`` (``U(B)`` uniform on the bounding box of mu's domain, on which the theory
    applies) with ``eps = 1/2`` first, then ever smaller ``eps`` (divided by 2 to 4: as much
    as keeps the current cells fair, computed without a new diagram since the masses are
    linear in ``eps``), warm-started, down to ``eps = 0`` once the cells of mu itself are fair, or until
    the masses under mu meet ``tol`` (a disconnected support). ``history["eps"]`` records the
    stages. A solution always exists for a source with a density and positive ``nu``.

    **Precision.** The masses are exact to float64 rounding (cells computed in the frame of
    their site). The attainable accuracy is limited by the potential itself: one unit in the
    last place of ``psi`` moves the mass of cell ``j`` by ``sum_k w_jk ulp(psi)``, which is
    large for near-coincident sites (sites ``1e-12`` apart cannot be balanced beyond about
    ``1e-6`` relative in float64); the warning then says so.

    If the iteration stops before ``tol`` (``max_iter`` reached, or the line search finds no
    decrease any more), a :class:`NotConvergedWarning` says why and names the worst cells.

    The diagrams (masses, transport costs and the edge masses of the Laplacian) come from
    :func:`otgan.laguerre.diagram`.

    Parameters
    ----------
    mu : otgan.measures.Uniform or the image density
        Source measure with a density on a 2D polygon.
    y : array (J, 2)
        Distinct sites (anywhere in the plane: sites outside the support are handled by the
        initial potential, see below).
    nu : array (J,), optional
        Target masses, positive, summing to one (default uniform ``1/J``).
    tol : float
        Stopping tolerance on the maximal relative mass error.
    max_iter : int
        Maximal number of Newton iterations.
    psi0 : array (J,), optional
        Initial potential; every cell must meet the bounding box of the domain. Default:
        ``0`` (the Voronoi diagram) when its cells are fair, else ``psi_j = d(y_j, supp
        mu)^2`` (the power circle of a site off the support touches the support, so its cell
        reaches the density), else the Voronoi diagram of the sites contracted towards the
        centre of the domain, contracted until every cell has area.
    max_halvings : int
        Maximal number of step halvings per iteration.

    Returns
    -------
    SemiDiscreteResult
        ``method="newton"``; ``psi`` has the mean of ``psi0`` (zero by default).
        ``history`` holds per iteration (index 0 = the initial potential): ``"max_rel_error"``,
        ``"mean_rel_error"``, ``"semi_dual"`` (exact ``H(psi)``), ``"step"`` (the accepted
        ``alpha``, NaN at index 0), ``"eps"`` (the regularisation of the stage, 0 = mu
        itself), ``"n_diagrams"`` (diagrams computed so far), ``"time"``
        (seconds since the start), ``"time_diagram"`` and ``"time_solve"`` (cumulative seconds
        spent in the diagrams and in the sparse linear solves).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.measures import Uniform
    >>> y = np.array([[0.25, 0.5], [0.75, 0.5]])
    >>> res = newton(Uniform(), y, np.array([0.3, 0.7]))
    >>> res.converged, round(float(res.psi[0] - res.psi[1]), 6)
    (True, -0.2)
    """
    where = "semidiscrete.newton"
    _check_newton_applicable(mu, y, "sqeuclidean", where)
    y_in = y
    y_t = _check_sites(y, where, dim=2)
    yn = to_numpy(y_t, dtype=np.float64)
    J = len(yn)
    nun = to_numpy(check_weights(nu, J, "nu", where, match=f"'y' ({J} sites)"), dtype=np.float64)
    nun = nun / nun.sum()  # exactly a probability vector (float32 or nearly normalised input)
    if (nun <= 0).any():
        j = int(np.argmin(nun))
        raise ValueError(
            f"{where}: 'nu' must be strictly positive for Newton (a zero target mass leaves a "
            f"cell degenerate); got nu[{j}] = {nun[j]:.3g}. Drop the zero-mass sites, or use "
            "method='asgd'"
        )
    tol = check_tol(tol, "tol", where)
    max_iter = check_int(max_iter, "max_iter", where)
    max_halvings = check_int(max_halvings, "max_halvings", where)
    psi0 = _check_psi0(psi0, J, where)
    return _newton(mu, yn, nun, tol, max_iter, psi0, max_halvings, y_in, where)


def _check_newton_applicable(mu, y, cost, where):
    c = get_cost(cost)
    if not (isinstance(c, SquaredEuclidean) or getattr(c, "p", None) == 2.0):
        raise ValueError(
            f"{where}: method 'newton' needs the quadratic 'cost' ('sqeuclidean'); got {c!r}. "
            "Use method='asgd' for other costs"
        )
    if not _has_density_2d(mu):
        raise ValueError(
            f"{where}: method 'newton' needs 'mu' to be a 2D measure with a density "
            f"(otgan.measures.Uniform or the image density); got {type(mu).__name__}. "
            "Use method='asgd' for samplers and discrete measures"
        )
    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    if len(shape) != 2 or shape[1] != 2:
        raise ValueError(f"{where}: method 'newton' needs 'y' of shape (J, 2); got {shape}")


def _newton(mu, yn, nun, tol, max_iter, psi0, max_halvings, y_in, where):
    t0 = time.perf_counter()
    clock = {"diagram": 0.0, "solve": 0.0}

    def diagram(p):
        t = time.perf_counter()
        out = _diagram(yn, p, mu)
        clock["diagram"] += time.perf_counter() - t
        return out

    if psi0 is None:
        psi, D = _initial_psi(yn, mu, nun, where, diagram)
        mean0 = 0.0
    else:
        psi = to_numpy(psi0, dtype=np.float64).copy()
        mean0 = float(psi.mean())
        D = diagram(psi)
        if not np.all(D._box[0] > 0):
            empty = np.flatnonzero(~(D._box[0] > 0))
            raise ValueError(
                f"{where}: 'psi0' leaves the cells of sites {empty[:10].tolist()} empty; the "
                "damped Newton method needs every cell non-empty. Pass psi0=None for an "
                "automatic start"
            )
    n_diag = 1
    masses = np.asarray(D.masses, dtype=np.float64)
    err, mean_err = _rel_errors(masses, nun)
    # continuation: Newton on (1 - eps) mu + eps U(box) while the cells of mu are unfair
    # (starved cells, a disconnected or gapped support), eps -> 0
    eps = 0.0 if _is_fair(masses, nun, D.edge_mass, mu) else 0.5
    hist = {
        "max_rel_error": [err],
        "mean_rel_error": [mean_err],
        "semi_dual": [D.semi_dual(nun)],
        "step": [float("nan")],
        "eps": [eps],
        "n_diagrams": [n_diag],
        "time": [time.perf_counter() - t0],
        "time_diagram": [clock["diagram"]],
        "time_solve": [0.0],
    }
    n_iter = 0
    linear = _NewtonSolver()
    stalled = False
    while err > tol and n_iter < max_iter:
        # ---- one stage: damped Newton on the source regularised by eps
        stage_tol = tol if eps == 0.0 else max(0.5 * tol, min(1e-2, eps))
        G = _stage(D, eps)
        serr = _rel_errors(G, nun)[0]
        floor = 0.5 * min(float(G.min()), float(nun.min()))
        while serr > stage_tol and n_iter < max_iter:
            t = time.perf_counter()
            resid = G - nun
            # inexact Newton: a linear accuracy of the order of the error (quadratic
            # convergence), and no tighter than what the last step needs to reach stage_tol
            rtol = min(0.05, max(serr, 0.25 * stage_tol / serr))
            d, _ = linear.solve(_stage_edges(D, eps), yn, -resid, rtol, scale=1.0 / nun)
            clock["solve"] += time.perf_counter() - t
            norm0 = float(np.linalg.norm(resid / nun))
            accepted = False
            for attempt in range(2):
                alpha = 1.0
                for _ in range(max_halvings + 1):
                    psi_try = psi + alpha * d
                    D_try = diagram(psi_try)
                    n_diag += 1
                    G_try = _stage(D_try, eps)
                    if G_try.min() >= floor and (
                        np.linalg.norm((G_try - nun) / nun) <= (1.0 - 0.5 * alpha) * norm0
                    ):
                        accepted = True
                        break
                    alpha *= 0.5
                if accepted or linear.lu is None or attempt == 1:
                    break
                # an inexact direction that does not decrease the error: solve exactly
                t = time.perf_counter()
                d, _ = linear.solve(_stage_edges(D, eps), yn, -resid, 0.0, exact=True)
                clock["solve"] += time.perf_counter() - t
            if not accepted:
                stalled = True  # no decrease possible any more (float noise on the masses)
                break
            n_iter += 1
            psi, D = psi_try, D_try
            G = _stage(D, eps)
            serr = _rel_errors(G, nun)[0]
            masses = np.asarray(D.masses, dtype=np.float64)
            err, mean_err = _rel_errors(masses, nun)
            hist["max_rel_error"].append(err)
            hist["mean_rel_error"].append(mean_err)
            hist["semi_dual"].append(D.semi_dual(nun))
            hist["step"].append(alpha)
            hist["eps"].append(eps)
            hist["n_diagrams"].append(n_diag)
            hist["time"].append(time.perf_counter() - t0)
            hist["time_diagram"].append(clock["diagram"])
            hist["time_solve"].append(clock["solve"])
        if eps == 0.0 or err <= tol or (stalled and eps < 1e-15):
            break
        stalled = False
        # ---- next stage: mu itself once its cells are fair, else the smallest eps (halving,
        # at least once, at most twice) whose cells at the current psi stay fair: the stage
        # masses are linear in eps, so this needs no new diagram
        if _is_fair(masses, nun, D.edge_mass, mu):
            eps = 0.0
        else:
            bm = D._box[0]
            nxt = eps / 2
            while nxt > 1e-15 and np.all(
                    (1 - nxt / 2) * masses + nxt / 2 * bm >= _FAIR * nun):
                nxt /= 2
            eps = max(nxt, eps / 4) if nxt > 1e-15 else 0.0

    psi = psi - psi.mean() + mean0
    history = {k: np.asarray(v) for k, v in hist.items()}
    converged = bool(err <= tol)
    if not converged:
        _warn_not_converged(where, masses, nun, err, tol, n_iter, max_iter, stalled,
                            _float_floor(D, yn, psi, nun))
    return SemiDiscreteResult(
        psi=like(psi, y_in),
        value=float(np.sum(D.moments)),
        masses=masses,
        error=err,
        n_iter=n_iter,
        converged=converged,
        history=history,
        method="newton",
    )


def _float_floor(D, y, psi, nu):
    """The relative mass change of each cell when the potential moves by one unit in the last
    place (float64): ``sum_k W_jk ulp(max |psi|) / nu_j``. No potential stored in float64 can
    bring the masses closer to ``nu`` than about this."""
    A = _laplacian(D.edge_mass, y)
    deg = A.diagonal()
    return deg * np.spacing(max(float(np.max(np.abs(psi))), np.finfo(float).tiny)) / nu


def _warn_not_converged(where, masses, nu, err, tol, n_iter, max_iter, stalled, floor):
    """Warn (NotConvergedWarning) with the reason and the worst cells."""
    pos = nu > 0
    rel = np.full(nu.shape, 0.0)
    rel[pos] = np.abs(masses[pos] - nu[pos]) / nu[pos]
    worst = np.argsort(rel)[::-1][:5]
    cells = ", ".join(f"{int(j)}: mass {masses[j]:.3g} for {nu[j]:.3g}" for j in worst)
    starved = np.flatnonzero(masses < 0.5 * nu)
    if n_iter >= max_iter and not stalled:
        why = f"max_iter = {max_iter} iterations reached"
    elif float(floor.max()) > 0.1 * tol:
        j = int(np.argmax(floor))
        why = (f"the line search found no decrease: the masses are at the resolution of float64 "
               f"potentials (one unit in the last place of psi moves the mass of cell {j} by "
               f"{floor[j]:.2g} of its target; near-coincident sites make this large)")
    else:
        why = "the line search found no decrease (float64 noise on the masses)"
    warnings.warn(
        f"{where}: not converged: max relative mass error {err:.3g} > tol = {tol:.3g} after "
        f"{n_iter} iterations; {why}. Worst cells (site: mass for target): {cells}"
        + (f"; {starved.size} starved cell(s) (less than half their target mass)"
           if starved.size else ""),
        NotConvergedWarning,
        stacklevel=4,
    )


# --------------------------------------------------------------------------------------------
# ASGD
# --------------------------------------------------------------------------------------------


_DEFAULT_GAMMA_FACTOR = 2.0


def default_gamma(J, cost_scale):
    r"""The default ASGD step size ``gamma = 2 J s``.

    ``s`` is the scale of the cost, measured by :func:`asgd` as the mean Voronoi cost
    ``E_X min_j c(X, y_j)`` on the first batch (the semi-dual at ``psi = 0``, of the order of the
    transport cost). Rationale: the gradient entries ``nu_j - mu(L_j)`` are ``O(1/J)`` while the
    optimal potential varies on the scale of the cost within a cell, so a step of order
    ``J * s`` moves the potential by ``O(s)``. The factor 2 was measured on uniform sources on
    the unit square, ``J`` = 10 to 1000, batches of 64 to 256 points (smaller factors converge
    slowly, larger ones empty cells early on); see ``benchmarks/bench_semidiscrete.py``.
    """
    return _DEFAULT_GAMMA_FACTOR * float(J) * float(cost_scale)


class AveragedSGD:
    r"""One-step state of averaged stochastic gradient ascent on the semi-dual (the lecture's ASGD).

    ``step`` performs, from a batch ``B_k`` of source points,

    .. math:: \tilde\psi_k = \tilde\psi_{k-1} + \frac{\gamma}{\sqrt k}
              \Big(\nu - \frac{1}{|B_k|} \sum_{x \in B_k} \mathbf 1_{L_{\tilde\psi_{k-1}}}(x)\Big),
              \qquad \psi_k = \frac{1}{k} (\tilde\psi_1 + \dots + \tilde\psi_k),

    the bracket being the batch gradient of ``H~(psi, x) = psi^c(x) + nu . psi`` (Genevay et al.
    2016). Arrays follow ``psi0``: numpy, or torch on its device and dtype (batches and sites are
    moved there). Updates run under ``torch.no_grad()``.

    Parameters
    ----------
    psi0 : array (J,)
        Starting potential (numpy or torch).
    nu : array (J,), optional
        Target masses (default uniform).
    gamma : float
        Step size ``gamma > 0`` (see :func:`default_gamma`).

    Attributes
    ----------
    psi_tilde : array (J,)
        The current SGD iterate ``psi~_k``.
    psi_bar : array (J,)
        The running average ``psi_k`` (``psi0`` before the first step).
    k : int
        Number of steps taken.
    last_gradient : array (J,) or None
        The batch gradient ``nu - frequencies`` of the last step.

    Examples
    --------
    >>> import numpy as np
    >>> state = AveragedSGD(np.zeros(3), gamma=0.3)
    >>> y = np.array([[0.2, 0.2], [0.8, 0.2], [0.5, 0.9]])
    >>> x = np.random.default_rng(0).random((64, 2))
    >>> est = state.step(x, y)
    >>> state.k, state.psi.shape
    (1, (3,))
    """

    def __init__(self, psi0, nu=None, *, gamma):
        where = "AveragedSGD"
        if is_torch(psi0):
            if not psi0.is_floating_point():
                psi0 = psi0.to(torch.get_default_dtype())
        else:
            psi0 = np.asarray(psi0, dtype=np.float64) if not (
                hasattr(psi0, "dtype") and np.issubdtype(np.asarray(psi0).dtype, np.floating)
            ) else np.asarray(psi0)
        if psi0.ndim != 1 or psi0.shape[0] < 1:
            raise ValueError(f"{where}: 'psi0' must have shape (J,); got {tuple(psi0.shape)}")
        J = psi0.shape[0]
        psi0 = check_vector(psi0, J, "psi0", where)
        self.nu = like(check_weights(nu, J, "nu", where, match=f"'psi0' ({J},)"), psi0)
        self.gamma = check_real(gamma, "gamma", where, positive=True)
        if is_torch(psi0):
            self.psi_tilde = psi0.detach().clone()
            self.psi_bar = psi0.detach().clone()
        else:
            self.psi_tilde = psi0.copy()
            self.psi_bar = psi0.copy()
        self.k = 0
        self.last_gradient = None
        self._y_cache = (None, None)

    @property
    def psi(self):
        """The averaged potential ``psi_k`` (the iterate with the convergence guarantee)."""
        return self.psi_bar

    def _sites(self, y):
        src, conv = self._y_cache
        if src is y:
            return conv
        conv = like(y, self.psi_tilde)
        self._y_cache = (y, conv)
        return conv

    def step(self, x_batch, y, cost="sqeuclidean"):
        """One ASGD step from the batch ``x_batch`` (n, d) against the sites ``y`` (J, d).

        Returns the batch estimate of the semi-dual at the point where the gradient was taken,
        ``mean_i psi~_{k-1}^c(x_i) + nu . psi~_{k-1}`` (a float for numpy, a 0-dim tensor on the
        state's device for torch, so that no device synchronisation is forced).
        """
        torch_state = is_torch(self.psi_tilde)
        with torch.no_grad():
            x = like(x_batch, self.psi_tilde)
            ys = self._sites(y)
            if x.ndim != 2 or ys.ndim != 2 or x.shape[1] != ys.shape[1]:
                raise ValueError(
                    f"AveragedSGD.step: 'x_batch' {tuple(x.shape)} and 'y' {tuple(ys.shape)} "
                    "must be (n, d) and (J, d) with the same d"
                )
            J = self.psi_tilde.shape[0]
            if ys.shape[0] != J:
                raise ValueError(
                    f"AveragedSGD.step: 'y' must have {J} sites to match 'psi0'; "
                    f"got {tuple(ys.shape)}"
                )
            values, idx = c_transform(self.psi_tilde, ys, x, cost)
            n = x.shape[0]
            if torch_state:
                freq = torch.bincount(idx, minlength=J).to(self.psi_tilde.dtype) / n
                est = values.mean() + torch.dot(self.nu, self.psi_tilde)
            else:
                freq = np.bincount(idx, minlength=J) / n
                est = float(values.mean() + self.nu @ self.psi_tilde)
            self._ascend(self.nu - freq)
        return est

    def _ascend(self, grad):
        """The averaged ascent step from the batch gradient ``grad = nu - frequencies``:
        ``psi~_k = psi~_{k-1} + gamma / sqrt(k) grad``, ``psi_k = psi_{k-1} + (psi~_k -
        psi_{k-1}) / k``."""
        self.k += 1
        k = self.k
        self.psi_tilde = self.psi_tilde + (self.gamma / math.sqrt(k)) * grad
        self.psi_bar = self.psi_bar + (self.psi_tilde - self.psi_bar) / k
        self.last_gradient = grad


def asgd(
    mu,
    y,
    nu=None,
    *,
    cost="sqeuclidean",
    gamma=None,
    batch_size=256,
    n_iter=10_000,
    psi0=None,
    rng=None,
    callback=None,
    exact=None,
    record_every=None,
    tol=1e-9,
    n_eval=100_000,
):
    r"""Averaged stochastic gradient ascent on the semi-dual (Genevay et al. 2016), any cost and
    any sampler.

    Runs ``n_iter`` steps of :class:`AveragedSGD`: at step ``k`` a batch ``B_k`` of
    ``batch_size`` points is drawn from ``mu``,

    ``psi~_k = psi~_{k-1} + gamma / sqrt(k) * (nu - batch frequencies of the cells of psi~_{k-1})``

    and the returned potential is the average ``psi_k = (psi~_1 + ... + psi~_k) / k``, for which
    ``E[H* - H(psi_k)] = O(log k / sqrt k)``.

    Parameters
    ----------
    mu : measure or callable
        Anything with ``sample(n, *, rng)`` (otgan's measures and samplers) or a callable
        ``(n, rng) -> points``. numpy points keep the computation in numpy; torch points move it to
        their device and dtype (``y`` and ``psi`` are moved there).
    y : array (J, d)
        Distinct sites.
    nu : array (J,), optional
        Target masses (non-negative, summing to one; default uniform).
    cost : str or otgan.costs.Cost
        Ground cost (default ``"sqeuclidean"``, ``||x - y||^2``).
    gamma : float, optional
        Step size. Default :func:`default_gamma`: ``gamma = 2 J s`` where ``s`` is the mean
        Voronoi cost ``E min_j c(X, y_j)`` on the first batch. Rationale: the gradient entries
        are ``O(1/J)`` while the optimal potential varies on the scale of the cost, so
        ``gamma`` must scale like ``J * cost``; the factor 2 was tuned on uniform sources with
        ``J`` from 10 to 1000.
    batch_size : int
        Points per batch.
    n_iter : int
        Number of steps.
    psi0 : array (J,), optional
        Starting potential (default zeros).
    rng : None, int, numpy Generator or torch Generator
        Randomness of the batches (passed to ``mu.sample``).
    callback : callable, optional
        ``callback(k, state)`` after each step (``state`` is the :class:`AveragedSGD`); returning
        ``True`` stops the iteration.
    exact : bool, optional
        Record the exact errors every ``record_every`` steps (through
        :func:`otgan.laguerre.diagram`): needs :func:`exact_available`. ``None``: record when
        ``record_every`` is given and the exact diagram applies; ``True``: raise if it does not
        apply (``record_every`` defaults to ``n_iter // 100``); ``False``: never.
    record_every : int, optional
        Period of the exact records.
    tol : float
        ``converged`` is ``error <= tol`` for the final ``psi``.
    n_eval : int
        Sample size of the final Monte-Carlo estimate of the masses and of ``H(psi)`` when the
        exact diagram does not apply.

    Returns
    -------
    SemiDiscreteResult
        ``method="asgd"``, ``psi`` in the library/device/dtype of ``y``. ``history``:
        ``"semi_dual_batch"`` (n_iter,) the batch estimates of ``H(psi~_{k-1})``,
        ``"grad_norm"`` (n_iter,) the Euclidean norm of the batch gradient, ``"step_size"``
        (n_iter,) ``gamma / sqrt(k)``, ``"gamma"``; with exact records also ``"record_iter"``,
        ``"max_rel_error"``, ``"mean_rel_error"``, ``"semi_dual"`` (exact ``H(psi_k)``) and
        ``"time"`` (seconds of ASGD work at the record, excluding the records themselves).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.measures import Uniform
    >>> y = np.random.default_rng(0).random((5, 2))
    >>> res = asgd(Uniform(), y, n_iter=200, rng=0, tol=0.1)
    >>> res.psi.shape, res.method
    ((5,), 'asgd')
    """
    where = "semidiscrete.asgd"
    _check_sampler(mu, where)
    cost = get_cost(cost)
    y_in = y
    y = _check_sites(y, where)
    J = y.shape[0]
    nu = check_weights(nu, J, "nu", where, match=f"'y' ({J} sites)")
    batch_size = check_int(batch_size, "batch_size", where)
    n_iter = check_int(n_iter, "n_iter", where)
    n_eval = check_int(n_eval, "n_eval", where)
    record_every = check_int(record_every, "record_every", where, allow_none=True)
    tol = check_tol(tol, "tol", where)
    psi0 = _check_psi0(psi0, J, where)
    if gamma is not None:
        gamma = check_real(gamma, "gamma", where, positive=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: 'callback' must be callable; got {type(callback).__name__}")
    can_exact = exact_available(mu, y, cost)
    if exact not in (None, True, False):
        raise ValueError(f"{where}: 'exact' must be None, True or False; got {exact!r}")
    if exact is True and not can_exact:
        raise ValueError(
            f"{where}: exact=True needs the quadratic 'cost', 2D sites and a measure 'mu' with a "
            f"density (Uniform or image); got cost {cost!r}, y {tuple(y.shape)}, "
            f"mu {type(mu).__name__}"
        )
    if exact is True and record_every is None:
        record_every = max(1, n_iter // 100)
    do_exact = bool(can_exact and exact is not False and record_every is not None)
    rng = _norm_rng(rng)
    yn = to_numpy(y, dtype=np.float64)
    nun = to_numpy(nu, dtype=np.float64)
    return _asgd(
        mu, y_in, yn, nun, cost, gamma, batch_size, n_iter, psi0, rng, callback,
        do_exact, record_every, tol, n_eval, can_exact, where,
    )


def _asgd(mu, y_in, yn, nun, cost, gamma, batch_size, n_iter, psi0, rng, callback,
          do_exact, record_every, tol, n_eval, can_exact, where):
    J = len(yn)
    x = _check_drawn(_sample(mu, batch_size, rng), batch_size, yn.shape[1], where)
    if is_torch(x):
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        y_w = torch.as_tensor(yn, dtype=dtype, device=x.device)
        psi_w = (
            torch.zeros(J, dtype=dtype, device=x.device)
            if psi0 is None
            else torch.as_tensor(to_numpy(psi0), dtype=dtype, device=x.device)
        )
        nu_w = torch.as_tensor(nun, dtype=dtype, device=x.device)
    else:
        x = np.asarray(x, dtype=np.float64)
        y_w = yn
        psi_w = np.zeros(J) if psi0 is None else to_numpy(psi0, dtype=np.float64).copy()
        nu_w = nun
    if gamma is None:
        zero = torch.zeros_like(psi_w) if is_torch(psi_w) else np.zeros(J)
        scale = float(to_numpy(c_transform(zero, y_w, x, cost)[0], dtype=np.float64).mean())
        if not scale > 0:  # batch points on the sites: fall back to the mean pairwise cost
            scale = float(to_numpy(cost(x, y_w), dtype=np.float64).mean()) / J
        gamma = default_gamma(J, scale if scale > 0 else 1.0 / J)
    state = AveragedSGD(psi_w, nu_w, gamma=gamma)
    torch_w = is_torch(psi_w)
    if torch_w:
        semi = torch.empty(n_iter, dtype=psi_w.dtype, device=psi_w.device)
        gnorm = torch.empty(n_iter, dtype=psi_w.dtype, device=psi_w.device)
    else:
        semi = np.empty(n_iter)
        gnorm = np.empty(n_iter)
    rec = {"record_iter": [], "max_rel_error": [], "mean_rel_error": [], "semi_dual": [],
           "time": []}
    work = 0.0
    t_start = time.perf_counter()
    k_done = 0
    for k in range(1, n_iter + 1):
        if k > 1:
            x = _sample(mu, batch_size, rng)
        semi[k - 1] = state.step(x, y_w, cost)
        g = state.last_gradient
        gnorm[k - 1] = torch.linalg.vector_norm(g) if torch_w else np.sqrt(g @ g)
        k_done = k
        stop = bool(callback(k, state)) if callback is not None else False
        if do_exact and (k % record_every == 0 or k == n_iter or stop):
            work += time.perf_counter() - t_start
            psi_np = to_numpy(state.psi, dtype=np.float64)
            D = _diagram(yn, psi_np, mu)
            err, mean_err = _rel_errors(np.asarray(D.masses, dtype=np.float64), nun)
            rec["record_iter"].append(k)
            rec["max_rel_error"].append(err)
            rec["mean_rel_error"].append(mean_err)
            rec["semi_dual"].append(D.semi_dual(nun))
            rec["time"].append(work)
            t_start = time.perf_counter()
        if stop:
            break
    semi = to_numpy(semi[:k_done], dtype=np.float64)
    gnorm = to_numpy(gnorm[:k_done], dtype=np.float64)
    history = {
        "semi_dual_batch": semi,
        "grad_norm": gnorm,
        "step_size": gamma / np.sqrt(np.arange(1, k_done + 1)),
        "gamma": float(gamma),
    }
    if do_exact:
        history.update({k: np.asarray(v) for k, v in rec.items()})

    psi_np = to_numpy(state.psi, dtype=np.float64)
    if can_exact:
        D = _diagram(yn, psi_np, mu)
        masses = np.asarray(D.masses, dtype=np.float64)
        value = D.semi_dual(nun)
    else:
        xe = _sample(mu, n_eval, rng)
        xe_w = like(xe, psi_w) if torch_w else np.asarray(xe, dtype=np.float64)
        with torch.no_grad():
            vals, idx = c_transform(state.psi, y_w, xe_w, cost)
        masses = np.bincount(to_numpy(idx), minlength=J) / len(idx)
        value = float(to_numpy(vals, dtype=np.float64).mean() + nun @ psi_np)
    err, _ = _rel_errors(masses, nun)
    if not err <= tol:
        warnings.warn(
            f"{where}: not converged: max relative mass error {err:.3g} > tol = {tol:.3g} after "
            f"{k_done} stochastic steps ({'exact' if can_exact else 'Monte-Carlo'} masses); "
            "ASGD converges like O(log k / sqrt k): raise n_iter (or tol), or use "
            "method='newton' where it applies",
            NotConvergedWarning,
            stacklevel=4,
        )
    return SemiDiscreteResult(
        psi=like(psi_np, y_in),
        value=value,
        masses=masses,
        error=err,
        n_iter=k_done,
        converged=bool(err <= tol),
        history=history,
        method="asgd",
    )


# --------------------------------------------------------------------------------------------
# front door
# --------------------------------------------------------------------------------------------


def solve(
    mu,
    y,
    nu=None,
    *,
    cost="sqeuclidean",
    method="auto",
    tol=1e-9,
    max_iter=None,
    psi0=None,
    rng=None,
    gamma=None,
    batch_size=256,
    **options,
):
    r"""Semi-discrete optimal transport from ``mu`` to ``nu = sum_j nu_j delta_{y_j}``.

    Finds the potential ``psi`` maximising the semi-dual
    ``H(psi) = int min_j (c(x, y_j) - psi_j) dmu(x) + sum_j nu_j psi_j``, i.e. the Laguerre cells
    ``L_psi(y_j) = argmin_j c(x, y_j) - psi_j`` with ``mu(L_psi(y_j)) = nu_j``; the map
    ``T_psi`` is then the optimal transport map (the lecture's corollary).

    Parameters
    ----------
    mu : measure or callable
        Source: :class:`otgan.measures.Uniform`, the image density, a discrete measure or a
        sampler (anything with ``sample(n, *, rng)``), or a callable ``(n, rng) -> points``.
    y : array (J, d)
        Distinct sites.
    nu : array (J,), optional
        Target masses (default uniform ``1/J``).
    cost : str or otgan.costs.Cost
        ``"sqeuclidean"`` (``||x - y||^2``, W2 squared), ``"euclidean"``, or a cost object.
    method : {"auto", "newton", "asgd"}
        ``"newton"``: :func:`newton` (quadratic cost, ``mu`` a 2D measure with a density;
        otherwise a ValueError). ``"asgd"``: :func:`asgd`. ``"auto"``: Newton when it applies,
        ASGD otherwise; ``result.method`` says which ran.
    tol : float
        Newton: stop at a maximal relative mass error ``<= tol``. ASGD: only decides
        ``converged``.
    max_iter : int, optional
        Newton iterations (default 100) or ASGD steps (default 10 000).
    psi0 : array (J,), optional
        Initial potential.
    rng : None, int, numpy or torch Generator
        Randomness (ASGD; Newton is deterministic).
    gamma, batch_size :
        ASGD step size and batch size (ignored by Newton).
    **options :
        Further keywords of :func:`newton` (``max_halvings``) or :func:`asgd` (``callback``,
        ``exact``, ``record_every``, ``n_eval``).

    Returns
    -------
    SemiDiscreteResult

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.measures import Uniform
    >>> y = np.random.default_rng(0).random((100, 2))
    >>> res = solve(Uniform(), y)
    >>> res.method, res.converged, round(res.value, 6)
    ('newton', True, 0.010374)
    """
    where = "semidiscrete.solve"
    if method not in _METHODS:
        raise ValueError(f"{where}: 'method' must be one of {_METHODS}; got {method!r}")
    c = get_cost(cost)
    # --- issue 13 hook: exact W1 Newton (Euclidean cost, 2D density) ---------------------
    from . import _w1
    if method in ("auto", "newton") and _w1.newton_applies(c, mu, y):
        return _w1.solve_hook(mu, y, nu, tol=tol, max_iter=max_iter, psi0=psi0, **options)
    # ---------------------------------------------------------------------------------------
    if method == "auto":
        quad = isinstance(c, SquaredEuclidean) or getattr(c, "p", None) == 2.0
        shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
        method = (
            "newton"
            if quad and _has_density_2d(mu) and len(shape) == 2 and shape[1] == 2
            else "asgd"
        )
    if method == "newton":
        _check_newton_applicable(mu, y, c, where)
        unknown = set(options) - {"max_halvings"}
        if unknown:
            raise TypeError(f"{where}: unexpected keyword(s) for method 'newton': {sorted(unknown)}")
        return newton(
            mu, y, nu, tol=tol, max_iter=100 if max_iter is None else max_iter, psi0=psi0,
            **options,
        )
    unknown = set(options) - {"callback", "exact", "record_every", "n_eval"}
    if unknown:
        raise TypeError(f"{where}: unexpected keyword(s) for method 'asgd': {sorted(unknown)}")
    return asgd(
        mu, y, nu, cost=c, gamma=gamma, batch_size=batch_size,
        n_iter=10_000 if max_iter is None else max_iter, psi0=psi0, rng=rng, tol=tol, **options,
    )

