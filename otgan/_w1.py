r"""W1 (Euclidean cost) semi-discrete OT in 2D: exact Apollonius diagrams and a damped Newton.

Private module behind ``laguerre.diagram(..., cost="euclidean")`` and
``semidiscrete.solve(..., cost="euclidean", method="newton")``; the geometry is in
``otgan._apollonius`` (see its docstring for the exact construction).

Hessian. For the cost :math:`c(x, y) = \|x - y\|`, moving :math:`\psi_j` by :math:`\delta` moves
the common boundary of :math:`L_i, L_j` (where :math:`\|x - y_i\| - \|x - y_j\| = \psi_i -
\psi_j`) along the gradient of :math:`f = \|x - y_i\| - \|x - y_j\|`, whose norm is
:math:`\|u_i - u_j\|` with :math:`u_k = (x - y_k)/\|x - y_k\|`. Hence

.. math:: \frac{\partial \mu(L_i)}{\partial \psi_j} = \int_{L_i \cap L_j}
          \frac{\rho(x)}{\|u_i(x) - u_j(x)\|}\, ds(x) \quad (i \ne j), \qquad
          \frac{\partial \mu(L_i)}{\partial \psi_i} = -\sum_{j \ne i}
          \frac{\partial \mu(L_i)}{\partial \psi_j},

the weighted graph Laplacian of Kitagawa, Mérigot & Thibert (2019) with the Euclidean cost's
:math:`\|\nabla_x c(x, y_i) - \nabla_x c(x, y_j)\|` (checked against finite differences of the
exact masses in the tests).

Only ``p = 1`` is handled: for ``PowerEuclidean(p)`` with ``p != 1, 2`` the cells
:math:`\|x - y_j\|^p - \psi_j \le \dots` are bounded by curves that are not conics and the
polar/affine-envelope construction does not apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from . import _apollonius
from .errors import GeometryError

__all__ = ["W1Diagram", "euclidean_diagram", "newton_w1"]

_EMPTY_REL = 1e-13


@dataclass(frozen=True, eq=False)
class W1Diagram:
    r"""An exact additively weighted (Apollonius) diagram: the Laguerre cells of the Euclidean
    cost :math:`L_j = \{x \in D: \|x - y_j\| - \psi_j \le \|x - y_k\| - \psi_k\ \forall k\}`.

    Same attribute names as :class:`otgan.laguerre.LaguerreDiagram` (numpy arrays, scipy
    sparse matrices), with ``moments`` the transport costs :math:`\int_{L_j} \|x - y_j\| d\mu`
    and ``hessian`` the Laplacian weights of the semi-dual.

    Attributes
    ----------
    y, psi, domain, measure
        Inputs (``domain`` a shapely geometry).
    areas : (J,)
        :math:`|L_j|` (exact to float64 rounding).
    centroids : (J, 2)
        Geometric centroids; ``nan`` for empty cells.
    empty : (J,) bool
        Cells of zero area (below ``1e-13`` of the domain's bounding box), hidden sites
        (:math:`\psi_j - \psi_k \le -\|y_j - y_k\|` for some ``k``) included.
    masses : (J,)
        :math:`\mu(L_j)`.
    barycenters : (J, 2)
        :math:`\int_{L_j} x\, d\mu / \mu(L_j)`; ``nan`` where the mass is 0.
    moments : (J,)
        :math:`\int_{L_j} \|x - y_j\|\, d\mu(x)` (their sum is the transport cost of
        :math:`T_\psi`).
    adjacency : scipy.sparse.csr_matrix (J, J)
        Length of the common (hyperbolic) boundary :math:`L_i \cap L_j` inside the domain.
    edge_mass : scipy.sparse.csr_matrix (J, J)
        :math:`\int_{L_i \cap L_j} \rho\, ds`.
    hessian : scipy.sparse.csr_matrix (J, J)
        :math:`\int_{L_i \cap L_j} \rho / \|u_i - u_j\|\, ds` with
        :math:`u_k = (x - y_k)/\|x - y_k\|`: :math:`\partial \mu(L_i)/\partial \psi_j`.
    polygons : (J,) object array of shapely geometries
        Polygonal approximations of the cells, for drawing (arcs sampled every ~0.5 degree
        around the site; computed on first access).
    """

    y: np.ndarray
    psi: np.ndarray
    domain: object
    measure: object
    areas: np.ndarray
    centroids: np.ndarray
    empty: np.ndarray
    masses: np.ndarray
    barycenters: np.ndarray
    moments: np.ndarray
    adjacency: sp.csr_matrix
    edge_mass: sp.csr_matrix
    hessian: sp.csr_matrix
    _raw: dict = field(repr=False)

    def __repr__(self):
        return (f"W1Diagram(J={self.y.shape[0]}, empty={int(self.empty.sum())}, "
                f"domain area={self.domain.area:.6g})")

    def semi_dual(self, nu) -> float:
        r"""Exact semi-dual ``H(psi) = sum_j int_{L_j} ||x - y_j|| dmu - psi . mu(L) + nu . psi``."""
        nu = np.asarray(nu, dtype=np.float64)
        return float(np.sum(self.moments) - self.psi @ self.masses + nu @ self.psi)

    def laplacian(self):
        """``L = diag(W 1) - W`` with ``W = hessian``: the Jacobian of ``masses`` in ``psi``."""
        W = self.hessian
        return (sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()

    @cached_property
    def polygons(self) -> np.ndarray:
        import shapely

        raw = self._raw
        c, s = raw["c"], raw["s"]
        J = self.y.shape[0]
        out = np.empty(J, dtype=object)
        dom = self.domain
        _bx0, _by0, _bx1, _by1 = dom.bounds
        for j in range(J):
            env = raw["envs"][j]
            if self.empty[j] or env is None:
                out[j] = shapely.Polygon()
                continue
            _nb, vx, vy, ck, ak = raw["cand"][j]
            yj = raw["yl"][j]
            far = 4.0 + 2.0 * np.hypot(*yj)  # beyond the normalised domain [-1, 1]^2
            pts = []
            for k, t0, t1 in env:
                n = max(2, int(np.ceil((t1 - t0) / 0.01)) + 1)
                th = np.linspace(t0, t1, n)
                u = np.column_stack([np.cos(th), np.sin(th)])
                if k < 0:
                    R = np.full(n, far)
                else:
                    h = (u @ np.array([vx[k], vy[k]]) - ck[k]) / ak[k]
                    with np.errstate(divide="ignore"):
                        R = np.where(h > 1.0 / far, 1.0 / np.maximum(h, 1e-300), far)
                pts.append(yj + R[:, None] * u)
            P = c + s * np.concatenate(pts)
            star = shapely.Polygon(P)
            if not star.is_valid:
                star = shapely.make_valid(star)
            g = shapely.intersection(star, dom)
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            out[j] = (parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts) if parts
                      else shapely.Polygon())
        return out


def _sym(rows, cols, vals, J):
    """Symmetric matrix from the two one-sided computations of each shared boundary (their
    mean; zero entries dropped)."""
    rows, cols, vals = np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float)
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    key, inv = np.unique(lo * J + hi, return_inverse=True)
    mean = np.bincount(inv, vals, key.size) / np.bincount(inv, None, key.size)
    i, j = key // J, key % J
    keep = mean > 0
    i, j, mean = i[keep], j[keep], mean[keep]
    M = sp.coo_matrix((np.r_[mean, mean], (np.r_[i, j], np.r_[j, i])), shape=(J, J))
    return M.tocsr()


def euclidean_diagram(yn, pn, dom, measure) -> W1Diagram:
    """Exact W1 diagram of validated float64 sites ``yn`` (J, 2) and weights ``pn`` (J,)."""
    raw = _apollonius.compute(yn, pn, measure, dom)
    J = yn.shape[0]
    bx0, by0, bx1, by1 = dom.bounds
    areas = raw["areas"]
    empty = raw["hidden"] | ~(areas > _EMPTY_REL * (bx1 - bx0) * (by1 - by0))
    areas = np.where(empty, 0.0, areas)
    masses = np.where(empty, 0.0, raw["masses"])
    if np.any(masses < -1e-12):  # pragma: no cover - a geometric failure
        raise GeometryError("laguerre.diagram: negative W1 cell mass (geometric failure)",
                            indices=np.flatnonzero(masses < -1e-12))
    masses = np.maximum(masses, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = np.where(empty[:, None], np.nan, yn + raw["first"] / areas[:, None])
        bary = np.where((masses > 0)[:, None], yn + raw["mfirst"] / masses[:, None], np.nan)
    moments = np.where(empty, 0.0, raw["cost"])
    r, c = raw["rows"], raw["cols"]
    return W1Diagram(
        y=yn, psi=pn, domain=dom, measure=measure, areas=areas, centroids=centroids,
        empty=empty, masses=masses, barycenters=bary, moments=moments,
        adjacency=_sym(r, c, raw["lengths"], J), edge_mass=_sym(r, c, raw["edge_mass"], J),
        hessian=_sym(r, c, raw["hessian"], J), _raw=raw,
    )


# --------------------------------------------------------------------------------------------
# damped Newton
# --------------------------------------------------------------------------------------------


def _rel_errors(masses, nu):
    rel = np.abs(masses - nu) / nu
    return float(rel.max()), float(rel.mean())


def _solve_laplacian(W, rhs):
    """Solve ``(diag(W 1) - W) d = rhs`` with one grounded node per connected component."""
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import spsolve

    J = W.shape[0]
    L = (sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
    _ncomp, labels = connected_components(W, directed=False)
    keep = np.ones(J, dtype=bool)
    _, first = np.unique(labels, return_index=True)
    keep[first] = False
    d = np.zeros(J)
    if keep.any():
        d[keep] = spsolve(L[keep][:, keep].tocsc(), rhs[keep])
    return d - d.mean()


def _initial_psi(yn, mu, diagram):
    """``psi = 0`` (Voronoi) if every cell has mass; else ``psi_j = (1 - t) ||y_j - c||`` for a
    point ``c`` drawn from ``mu`` (fixed seed), ``t`` halved until every cell has mass: at
    ``t = 0`` every cell is a cone with apex ``c`` containing the segment ``[c, y_j]``
    (triangle inequality), so cells of distinct directions from ``c`` have mass."""
    J = len(yn)
    psi = np.zeros(J)
    D = diagram(psi)
    if np.all(D.masses > 0):
        return psi, D
    c = np.asarray(mu.sample(1, rng=np.random.default_rng(12345)), dtype=np.float64).reshape(-1)
    dist = np.hypot(*(yn - c).T)
    t = 1.0
    for _ in range(40):
        t *= 0.5
        psi = (1.0 - t) * dist
        psi = psi - psi.mean()
        D = diagram(psi)
        if np.all(D.masses > 0):
            return psi, D
    empty = np.flatnonzero(~(D.masses > 0))
    raise GeometryError(
        "semidiscrete.newton: could not find a potential giving every site a W1 cell of "
        f"positive mass; sites {empty[:10].tolist()} stay empty", indices=empty)


def newton_w1(mu, yn, nun, dom, *, tol=1e-9, max_iter=100, psi0=None, max_halvings=30):
    """Damped Newton (KMT) for the Euclidean cost. Returns a dict of result fields."""
    t0 = time.perf_counter()
    clock = {"diagram": 0.0, "solve": 0.0}

    def diagram(p):
        t = time.perf_counter()
        out = euclidean_diagram(yn, p, dom, mu)
        clock["diagram"] += time.perf_counter() - t
        return out

    if psi0 is None:
        psi, D = _initial_psi(yn, mu, diagram)
        mean0 = 0.0
    else:
        psi = np.asarray(psi0, dtype=np.float64).copy()
        mean0 = float(psi.mean())
        D = diagram(psi)
        if not np.all(D.masses > 0):
            empty = np.flatnonzero(~(D.masses > 0))
            raise ValueError(
                f"semidiscrete.newton: 'psi0' leaves the W1 cells of sites "
                f"{empty[:10].tolist()} without mass; the damped Newton method needs every "
                "cell non-empty. Pass psi0=None for an automatic start")
    n_diag = 1
    masses = D.masses
    eps0 = min(float(masses.min()), float(nun.min()))
    err, mean_err = _rel_errors(masses, nun)
    hist = {"max_rel_error": [err], "mean_rel_error": [mean_err],
            "semi_dual": [D.semi_dual(nun)], "step": [float("nan")], "n_diagrams": [n_diag],
            "time": [time.perf_counter() - t0], "time_diagram": [clock["diagram"]],
            "time_solve": [0.0]}
    n_iter = 0
    alpha_prev = 1.0
    stalled = False
    while err > tol and n_iter < max_iter:
        t = time.perf_counter()
        resid = masses - nun
        d = _solve_laplacian(D.hessian, -resid)
        clock["solve"] += time.perf_counter() - t
        norm0 = float(np.linalg.norm(resid))
        # KMT's rule (largest alpha in {1, 1/2, ...} with enough decrease), tried from twice
        # the previous accepted step: saves the failed trials of the damped phase
        alpha = min(1.0, 2.0 * alpha_prev)
        accepted = False
        for _ in range(max_halvings + 1):
            D_try = diagram(psi + alpha * d)
            n_diag += 1
            m_try = D_try.masses
            if m_try.min() >= 0.5 * eps0 and (
                    np.linalg.norm(m_try - nun) <= (1.0 - 0.5 * alpha) * norm0):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            stalled = True
            break
        n_iter += 1
        alpha_prev = alpha
        psi, D, masses = psi + alpha * d, D_try, m_try
        err, mean_err = _rel_errors(masses, nun)
        hist["max_rel_error"].append(err)
        hist["mean_rel_error"].append(mean_err)
        hist["semi_dual"].append(D.semi_dual(nun))
        hist["step"].append(alpha)
        hist["n_diagrams"].append(n_diag)
        hist["time"].append(time.perf_counter() - t0)
        hist["time_diagram"].append(clock["diagram"])
        hist["time_solve"].append(clock["solve"])
    psi = psi - psi.mean() + mean0
    return {"psi": psi, "value": float(np.sum(D.moments)), "masses": masses, "error": err,
                "n_iter": n_iter, "converged": bool(err <= tol), "stalled": stalled,
                "history": {k: np.asarray(v) for k, v in hist.items()}, "diagram": D}


# --------------------------------------------------------------------------------------------
# glue for the public hooks in laguerre.py and semidiscrete.py
# --------------------------------------------------------------------------------------------


def is_euclidean(cost) -> bool:
    """True for the Euclidean cost (``"euclidean"``, ``Euclidean()``, ``PowerEuclidean(1)``)."""
    from .costs import Euclidean, get_cost

    c = get_cost(cost)
    return isinstance(c, Euclidean) or getattr(c, "p", None) == 1.0


def check_diagram_cost(cost, where):
    """laguerre.diagram hook: True to dispatch to the W1 diagram, False for the quadratic one,
    ValueError for other costs."""
    from .costs import SquaredEuclidean, get_cost

    c = get_cost(cost)
    if isinstance(c, SquaredEuclidean) or getattr(c, "p", None) == 2.0:
        return False
    if is_euclidean(c):
        return True
    raise ValueError(
        f"{where}: exact cells exist for cost 'sqeuclidean' (power cells) and 'euclidean' "
        f"(Apollonius cells); got {c!r}. Use laguerre.raster for other costs")


def diagram_hook(yn, pn, dom, measure, domain_given, where):
    """laguerre.diagram(cost="euclidean"): the measure must live on the diagram's domain."""
    import shapely

    if domain_given and not (measure.domain is dom or bool(shapely.equals(measure.domain, dom))):
        raise ValueError(
            f"{where}: with cost='euclidean', 'domain' must be the domain of 'measure' (or be "
            "omitted); got a different polygon")
    return euclidean_diagram(yn, pn, dom, measure)


def newton_applies(cost, mu, y) -> bool:
    """semidiscrete.solve hook: Euclidean cost, 2D sites, a 2D measure with a density."""
    from .measures import DensityMeasure

    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    return (is_euclidean(cost) and isinstance(mu, DensityMeasure) and len(shape) == 2
            and shape[1] == 2)


def solve_hook(mu, y, nu=None, *, tol=1e-9, max_iter=None, psi0=None, **options):
    """``semidiscrete.solve(mu, y, nu, cost="euclidean", method="newton")``: exact damped
    Newton for W1 (see the module docstring). Returns a SemiDiscreteResult whose ``value`` is
    ``sum_j int_{L_j} ||x - y_j|| dmu`` at the final ``psi``; ``history`` as the quadratic
    Newton's."""
    import warnings

    from ._utils import (
        check_int,
        check_points,
        check_tol,
        check_vector,
        check_weights,
        like,
        to_numpy,
    )
    from .errors import NotConvergedWarning
    from .semidiscrete import SemiDiscreteResult

    where = "semidiscrete.solve"
    unknown = set(options) - {"max_halvings"}
    if unknown:
        raise TypeError(f"{where}: unexpected keyword(s) for method 'newton' (cost "
                        f"'euclidean'): {sorted(unknown)}")
    max_halvings = options.get("max_halvings", 30)
    max_iter = 100 if max_iter is None else max_iter
    max_iter = check_int(max_iter, "max_iter", where)
    max_halvings = check_int(max_halvings, "max_halvings", where)
    tol = check_tol(tol, "tol", where)
    yt = check_points(y, "y", where, dim=2)
    yn = to_numpy(yt, dtype=np.float64)
    J = len(yn)
    uniq = np.unique(yn, axis=0)
    if len(uniq) < J:
        raise ValueError(f"{where}: 'y' must hold distinct sites ({J - len(uniq)} duplicate(s)). "
                         "Merge duplicates (adding their masses in 'nu')")
    nun = to_numpy(check_weights(nu, J, "nu", where, match=f"'y' ({J} sites)"),
                   dtype=np.float64)
    nun = nun / nun.sum()  # exactly a probability vector (float32 or nearly normalised input)
    if (nun <= 0).any():
        j = int(np.argmin(nun))
        raise ValueError(f"{where}: 'nu' must be strictly positive for Newton; got nu[{j}] = "
                         f"{nun[j]:.3g}. Drop the zero-mass sites, or use method='asgd'")
    if psi0 is not None:
        psi0 = to_numpy(check_vector(psi0, J, "psi0", where, match=f"'y' ({J} sites)"),
                        dtype=np.float64)
    out = newton_w1(mu, yn, nun, mu.domain, tol=float(tol), max_iter=int(max_iter), psi0=psi0,
                    max_halvings=int(max_halvings))
    if not out["converged"]:
        why = ("the line search could not decrease the mass error any more (float64 noise)"
               if out["stalled"] else f"max_iter={max_iter} iterations were not enough")
        warnings.warn(f"{where}: W1 Newton stopped at max relative mass error "
                      f"{out['error']:.3g} > tol={tol:g}: {why}", NotConvergedWarning,
                      stacklevel=3)
    return SemiDiscreteResult(
        psi=like(out["psi"], y), value=out["value"], masses=out["masses"], error=out["error"],
        n_iter=out["n_iter"], converged=out["converged"], history=out["history"],
        method="newton")
