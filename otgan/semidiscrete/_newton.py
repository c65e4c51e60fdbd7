r"""The one damped Newton method of otgan, over any :class:`otgan.laguerre.CellDiagram`.

Kitagawa, Mérigot & Thibert (2019): maximise the concave semi-dual ``H(psi) = int psi^c dmu +
nu . psi``, whose gradient is ``nu - G(psi)`` with ``G_j(psi) = mu(L_psi(y_j))``, by Newton steps
on ``G(psi) = nu``; the Jacobian of ``G`` is the Laplacian of the cell diagram
(:meth:`~otgan.laguerre.CellDiagram.jacobian`). The same code runs the quadratic cost (power
cells) and the Euclidean cost (Apollonius cells): the geometry is the diagram factory's
business, the iteration is this module's. The public entry is
:func:`otgan.semidiscrete.newton`, whose docstring states the algorithm.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from .. import laguerre, measures
from .._graph import LaplacianSolver, components
from .._utils import GeometryError, check_int, check_tol
from ..errors import NotConvergedWarning
from ._problem import Problem, warn_caller
from ._result import NewtonHistory, SemiDiscreteResult

__all__ = ["NewtonOptions", "run"]

_FAIR = 0.1  # a cell is starved below this fraction of its target mass


@dataclass(frozen=True, kw_only=True)
class NewtonOptions:
    """Options of the damped Newton method (validated at construction).

    Attributes
    ----------
    tol : float
        Stop at a maximal relative mass error ``<= tol``.
    max_iter : int
        Maximal number of Newton iterations.
    max_halvings : int
        Maximal number of step halvings per iteration.
    """

    tol: float = 1e-9
    max_iter: int = 100
    max_halvings: int = 30
    where: str = "semidiscrete.newton"

    def __post_init__(self):
        object.__setattr__(self, "tol", check_tol(self.tol, "tol", self.where))
        object.__setattr__(self, "max_iter", check_int(self.max_iter, "max_iter", self.where))
        object.__setattr__(self, "max_halvings",
                           check_int(self.max_halvings, "max_halvings", self.where))


def _rel_errors(masses, nu):
    pos = nu > 0
    rel = np.abs(masses[pos] - nu[pos]) / nu[pos]
    return float(rel.max()), float(rel.mean())


def _has_zeros(mu):
    """Whether the density of mu vanishes somewhere in its domain (an image with zero
    pixels)."""
    return isinstance(mu, measures.ImageDensity) and bool(np.any(mu.weights == 0))


def _is_fair(masses, nu, W, mu):
    """Whether Newton can run on mu itself from these cells: every cell has mass and the cells
    form one connected graph (KMT's conditions; enough for a uniform measure, whose density
    is bounded below on its domain), and, for a density with zeros (an image), every cell
    holds at least a tenth of its target mass (cells reduced to slivers of positive pixels
    make the damped iteration crawl)."""
    floor = _FAIR if _has_zeros(mu) else 0.0
    if not (np.all(masses > 0) and np.all(masses >= floor * nu)):
        return False
    return components(W)[0] == 1


def _support_distance(mu, y):
    """Distance from each site to the support of mu (the domain of a uniform measure, the
    pixels of positive density of an image, less half a pixel's diagonal)."""
    if isinstance(mu, measures.ImageDensity):
        rows, cols = np.nonzero(mu.weights > 0)
        w, h = mu.pixel_size
        centres = np.column_stack([mu.extent[0] + (cols + 0.5) * w,
                                   mu.extent[3] - (rows + 0.5) * h])
        d = cKDTree(centres).query(y)[0] - 0.5 * np.hypot(w, h)
        return np.maximum(d, 0.0)
    return shapely.distance(shapely.points(y), mu.domain)


def _initial_psi(problem, diagram):
    """A starting potential whose cells all meet the bounding box of mu's domain with
    positive area, and as fair as cheaply possible (``c(d) = d^p`` the cost of a distance,
    ``p = 2`` or ``1``).

    1. ``psi = 0`` (the Voronoi diagram) when its cells are fair (see :func:`_is_fair`).
    2. Else ``psi_j = c(d(y_j, supp mu))`` if its cells are fair: the cell of a site outside
       the support (or in a hole, a gap, a region of zero density) then reaches the support's
       nearest point instead of starving in the zero region; the sites on the support keep
       their own position in their cell. (If these cells are not fair either, ``psi = 0`` is
       returned: the continuation of :func:`newton` starts better from the Voronoi cells.)
    3. If a cell is still empty, a contraction: with ``psi_j = (1 - t) c(||y_j - c||)`` and
       ``0 < t <= 1`` every distinct site gets a non-empty cell for ``t`` small enough
       (quadratic cost: the Voronoi cells of the sites contracted towards ``c``, the centre of
       the box; Euclidean cost: cones of apex ``c`` around the directions of the sites);
       ``t`` is halved until every cell has area.
    """
    y, nu, mu, p = problem.y, problem.nu, problem.mu, problem.cost.p
    J = len(y)
    psi = np.zeros(J)
    D = diagram(psi)
    if np.all(D.box_masses > 0) and _is_fair(np.asarray(D.masses, dtype=np.float64), nu,
                                              D.weights, mu):
        return psi, D
    d2 = _support_distance(mu, y) ** p
    if np.any(d2 > 0):
        D2 = diagram(d2 - d2.mean())
        if np.all(D2.box_masses > 0) and (
                not np.all(D.box_masses > 0)
                or _is_fair(np.asarray(D2.masses, dtype=np.float64), nu, D2.weights, mu)):
            return d2 - d2.mean(), D2
    if np.all(D.box_masses > 0):
        return psi, D
    x0, y0, x1, y1 = D.domain.bounds
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    sq = np.einsum("ij,ij->i", y - c, y - c) ** (p / 2)
    t = 1.0
    for _ in range(60):
        t *= 0.5
        psi = (1.0 - t) * sq
        psi = psi - psi.mean()
        D = diagram(psi)
        if np.all(D.box_masses > 0):
            return psi, D
    empty = np.flatnonzero(~(D.box_masses > 0))
    raise GeometryError(
        f"{problem.where}: could not find a potential giving every site a cell of positive "
        f"area; sites {empty[:10].tolist()} stay empty (are the sites distinct?)",
        indices=empty,
    )


def run(problem: Problem, options: NewtonOptions, psi0=None) -> SemiDiscreteResult:
    """The damped Newton method on a validated problem (see :func:`otgan.semidiscrete.newton`);
    ``psi0`` float64 numpy or None."""
    where, yn, nun, mu = problem.where, problem.y, problem.nu, problem.mu
    tol, max_iter, max_halvings = options.tol, options.max_iter, options.max_halvings
    t0 = time.perf_counter()
    clock = {"diagram": 0.0, "solve": 0.0}
    factory = laguerre.geometry(problem.cost, where)(yn, mu.domain, mu)

    def diagram(p):
        t = time.perf_counter()
        out = factory(p, where)
        clock["diagram"] += time.perf_counter() - t
        return out

    if psi0 is None:
        psi, D = _initial_psi(problem, diagram)
        mean0 = 0.0
    else:
        psi = psi0
        mean0 = float(psi.mean())
        D = diagram(psi)
        if not np.all(D.box_masses > 0):
            empty = np.flatnonzero(~(D.box_masses > 0))
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
    eps = 0.0 if _is_fair(masses, nun, D.weights, mu) else 0.5
    hist = {k: [] for k in ("max_rel_error", "mean_rel_error", "semi_dual", "step", "eps",
                            "n_diagrams", "time", "time_diagram", "time_solve")}

    def record(step):
        hist["max_rel_error"].append(err)
        hist["mean_rel_error"].append(mean_err)
        hist["semi_dual"].append(D.semi_dual(nun))
        hist["step"].append(step)
        hist["eps"].append(eps)
        hist["n_diagrams"].append(n_diag)
        hist["time"].append(time.perf_counter() - t0)
        hist["time_diagram"].append(clock["diagram"])
        hist["time_solve"].append(clock["solve"])

    record(float("nan"))
    n_iter = 0
    linear = LaplacianSolver()
    stalled = False
    last_fail = None  # (alpha, cells below the floor, floor) of the last rejected trial
    while err > tol and n_iter < max_iter:
        # ---- one stage: damped Newton on the source regularised by eps
        stage_tol = tol if eps == 0.0 else max(0.5 * tol, min(1e-2, eps))
        G, W = D.regularised(eps)
        serr = _rel_errors(G, nun)[0]
        floor = 0.5 * min(float(G.min()), float(nun.min()))
        while serr > stage_tol and n_iter < max_iter:
            t = time.perf_counter()
            resid = G - nun
            # inexact Newton: a linear accuracy of the order of the error (quadratic
            # convergence), and no tighter than what the last step needs to reach stage_tol
            rtol = min(0.05, max(serr, 0.25 * stage_tol / serr))
            d, _ = linear.solve(W, -resid, rtol, scale=1.0 / nun)
            clock["solve"] += time.perf_counter() - t
            norm0 = float(np.linalg.norm(resid / nun))
            accepted = False
            for attempt in range(2):
                alpha = 1.0
                for _ in range(max_halvings + 1):
                    psi_try = psi + alpha * d
                    D_try = diagram(psi_try)
                    n_diag += 1
                    G_try = D_try.regularised(eps)[0]
                    low = G_try < floor
                    if not low.any() and (
                        np.linalg.norm((G_try - nun) / nun) <= (1.0 - 0.5 * alpha) * norm0
                    ):
                        accepted = True
                        break
                    last_fail = (alpha, np.flatnonzero(low), floor)
                    alpha *= 0.5
                if accepted or linear.lu is None or attempt == 1:
                    break
                # an inexact direction that does not decrease the error: solve exactly
                t = time.perf_counter()
                d, _ = linear.solve(W, -resid, 0.0, exact=True)
                clock["solve"] += time.perf_counter() - t
            if not accepted:
                stalled = True  # no decrease possible any more (float noise on the masses)
                break
            n_iter += 1
            psi, D = psi_try, D_try
            G, W = D.regularised(eps)
            serr = _rel_errors(G, nun)[0]
            masses = np.asarray(D.masses, dtype=np.float64)
            err, mean_err = _rel_errors(masses, nun)
            record(alpha)
        if eps == 0.0 or err <= tol or (stalled and eps < 1e-15):
            break
        stalled = False
        # ---- next stage: mu itself once its cells are fair, else the smallest eps (halving,
        # at least once, at most twice) whose cells at the current psi stay fair: the stage
        # masses are linear in eps, so this needs no new diagram
        if _is_fair(masses, nun, D.weights, mu):
            eps = 0.0
        else:
            bm = D.box_masses
            nxt = eps / 2
            while nxt > 1e-15 and np.all(
                    (1 - nxt / 2) * masses + nxt / 2 * bm >= _FAIR * nun):
                nxt /= 2
            eps = max(nxt, eps / 4) if nxt > 1e-15 else 0.0

    psi = psi - psi.mean() + mean0
    converged = bool(err <= tol)
    if not converged:
        _warn_not_converged(where, masses, nun, err, tol, n_iter, max_iter, stalled,
                            _float_floor(D, psi, nun), last_fail, eps)
    return SemiDiscreteResult(
        psi=problem.give_back(psi),
        value=float(np.sum(D.moments)),
        masses=masses,
        error=err,
        n_iter=n_iter,
        converged=converged,
        history=NewtonHistory(**{k: np.asarray(v) for k, v in hist.items()}),
        method="newton",
    )


def _float_floor(D, psi, nu):
    """The relative mass change of each cell when the potential moves by one unit in the last
    place (float64): ``sum_k W_jk ulp(max |psi|) / nu_j``. No potential stored in float64 can
    bring the masses closer to ``nu`` than about this."""
    deg = D.jacobian().diagonal()
    return deg * np.spacing(max(float(np.max(np.abs(psi))), np.finfo(float).tiny)) / nu


def _warn_not_converged(where, masses, nu, err, tol, n_iter, max_iter, stalled, floor,
                        last_fail, eps):
    """Warn (NotConvergedWarning) with the measured reason and the worst cells."""
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
    elif last_fail is not None and last_fail[1].size:
        alpha, low, fl = last_fail
        why = (f"every step of the line search, down to alpha = {alpha:.2g}, takes cells "
               f"{low[:8].tolist()} below the floor {fl:.3g} (half the smallest starting or "
               f"target mass{'' if eps == 0 else f' of the stage eps = {eps:.3g}'}): "
               "the Newton direction empties them; a start giving every cell a fair share "
               "(psi0) or a smaller tol may help")
    else:
        alpha = last_fail[0] if last_fail is not None else float("nan")
        why = (f"no step down to alpha = {alpha:.2g} decreases the error along the Newton "
               f"direction (error {err:.3g}, float64 resolution of the masses about "
               f"{float(floor.max()):.2g} of the targets)")
    warn_caller(
        f"{where}: not converged: max relative mass error {err:.3g} > tol = {tol:.3g} after "
        f"{n_iter} iterations; {why}. Worst cells (site: mass for target): {cells}"
        + (f"; {starved.size} starved cell(s) (less than half their target mass)"
           if starved.size else ""),
        NotConvergedWarning,
    )
