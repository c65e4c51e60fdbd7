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
import scipy.sparse as sp
import shapely
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from .. import laguerre, measures
from .._graph import LaplacianSolver, components
from .._utils import GeometryError, check_int, check_tol
from ..errors import NotConvergedWarning
from ._problem import Problem, warn_caller
from ._problem import rel_errors as _rel_errors
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
    where : str
        The public function the user called (named in the errors of the validation).
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


def _has_zeros(mu):
    """Tell whether the density of mu vanishes somewhere in its domain (zero pixels)."""
    return isinstance(mu, measures.ImageDensity) and bool(np.any(mu.weights == 0))


def _is_fair(masses, nu, W, mu):
    """Tell whether Newton can run on mu itself from these cells.

    Every cell has mass and the cells form one connected graph (KMT's conditions; enough for a
    uniform measure, whose density is bounded below on its domain), and, for a density with
    zeros (an image), every cell holds at least a tenth of its target mass (cells reduced to
    slivers of positive pixels make the damped iteration crawl).
    """
    floor = _FAIR if _has_zeros(mu) else 0.0
    if not (np.all(masses > 0) and np.all(masses >= floor * nu)):
        return False
    return components(W)[0] == 1


def _support_distance(mu, y):
    """Return the distance from each site to the support of mu.

    The support is the domain of a uniform measure, or the pixels of positive density of an
    image (less half a pixel's diagonal).
    """
    if isinstance(mu, measures.ImageDensity):
        rows, cols = np.nonzero(mu.weights > 0)
        w, h = mu.pixel_size
        centres = np.column_stack([mu.extent[0] + (cols + 0.5) * w,
                                   mu.extent[3] - (rows + 0.5) * h])
        d = cKDTree(centres).query(y)[0] - 0.5 * np.hypot(w, h)
        return np.maximum(d, 0.0)
    return shapely.distance(shapely.points(y), mu.domain)


def _similarity_start(y, domain):
    """Return sdot's start for the quadratic cost.

    ``psi_j = ||y_j||^2 - ||q_j||^2 / a`` makes the cells the Voronoi cells of ``q = a y + b``,
    the sites mapped by a similarity (``a <= 1``) into the domain's bounding box shrunk by
    10 %: every distinct site gets a cell of positive area in the box, wherever the sites are.
    """
    x0, y0, x1, y1 = domain.bounds
    lo, hi = y.min(axis=0), y.max(axis=0)
    span = np.maximum(hi - lo, np.finfo(float).tiny)
    a = min(1.0, 0.8 * (x1 - x0) / span[0], 0.8 * (y1 - y0) / span[1])
    b = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - a * (lo + hi) / 2
    q = a * y + b
    psi = np.einsum("ij,ij->i", y, y) - np.einsum("ij,ij->i", q, q) / a
    return psi - psi.mean()


def _initial_psi(problem, diagram):
    """Return a starting potential whose cells all carry a fair share of the source.

    A start is *fair* when the cells of mu are (:func:`_is_fair`), or when the cells of the
    first continuation stage ``(mu + U(B)) / 2`` each hold at least a tenth of their target
    (a start with a cell of negligible box area, which the diagram counts as empty and
    connects to nothing, can never be repaired by Newton). Tried in order:

    1. ``psi = 0`` (the Voronoi diagram);
    2. for the quadratic cost, the similarity start (:func:`_similarity_start`): the Voronoi
       cells of the sites mapped into the domain's box;
    3. ``psi_j = c(d(y_j, supp mu))`` (``c(d) = d^p``): the cell of a site off the support
       reaches the support's nearest point;
    4. a contraction, ``psi_j = (1 - t) c(||y_j - centre||)`` with ``t`` halved until every cell
       has area in the box (quadratic cost: the Voronoi cells of the sites contracted towards
       the centre of the box; Euclidean cost: cones of apex the centre).

    The first fair start is returned; if none is, the first one whose cells all have area in
    the box (the continuation starts from it).
    """
    y, nu, mu, p = problem.y, problem.nu, problem.mu, problem.cost.p

    def fair(D):
        m = np.asarray(D.masses, dtype=np.float64)
        if _is_fair(m, nu, D.weights, mu):
            return True
        return bool(np.all(0.5 * m + 0.5 * D.box_masses >= _FAIR * nu))

    def candidates():
        yield np.zeros(len(y))
        if p == 2.0:
            yield _similarity_start(y, mu.domain)
        d = _support_distance(mu, y) ** p
        if np.any(d > 0):
            yield d - d.mean()

    fallback = None
    for psi in candidates():
        D = diagram(psi)
        if fair(D):
            return psi, D
        if fallback is None and np.all(D.box_masses > _FAIR * nu * 1e-6):
            fallback = (psi, D)
    if fallback is not None:
        return fallback
    x0, y0, x1, y1 = mu.domain.bounds
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


_BLUR_START = 32.0  # the widest blur of the image ladder, in pixels
_BLUR_MIN = 0.5  # the narrowest blur before the image itself
_BLUR_TOL = 0.5  # the relative mass error each blurred stage is solved to
_BLUR_ITER = 30  # at most this many Newton iterations per blurred stage
_BLUR_FLOOR = 1e-3  # the widest blurred image is lifted by this fraction of its mean (no zeros)
_BLUR_REG = 1e-6  # share of the box's weights in the image's Newton systems after the ladder
_BLUR_SKIP = 5.0  # a positive image skips the ladder when its start is within this error
_LADDER_STARVED = 0.01  # a rung is fair enough with at most this share of starved cells
_FREE_GROW_MAX = 1e6  # the largest growth factor of a free cell (that of the regularisation)
_FREE_ESCALATIONS = 4  # at most this many growths of the free cells when no step is accepted
_LOG_SWITCH = 2.0  # Newton on log G = log nu while the stage's error is above this
_MASS_NOISE = 1e-13  # a cell of mass below this share of the total is massless
_WATCH_SHARE = 0.005  # the line search checks at most this share of the cells (and 32) first


def _blurred(mu, sigma):
    """Return the image density blurred by a Gaussian of ``sigma`` pixels, lifted.

    The blur reflects at the edges; the lift is ``_BLUR_FLOOR * sigma / _BLUR_START`` of the
    mean: positive everywhere, close to mu for small sigma.
    """
    img = gaussian_filter(mu.weights, sigma, mode="reflect", truncate=4.0)
    # the lift shrinks with the blur: on the narrow rungs a cell cannot hold its mass from the
    # lift over a black region (it would have no mass on the image itself)
    floor = _BLUR_FLOOR * sigma / _BLUR_START
    return measures.ImageDensity(img + floor * img.mean(), extent=mu.extent)


def _fair_enough(masses, nu, first):
    """Tell whether a rung of the blur ladder can start from these cells.

    The first rung: no cell is empty and at most 1 % of them (at least one) hold less than a
    tenth of their target mass (sites drawn from the image itself start on it). The next
    rungs, reached from cells fair under a wider blur: every cell holds a tenth of its target
    and none more than twice it (the linear model of the masses then holds across the image's
    edges).
    """
    if first:
        starved = int(np.count_nonzero(masses < _FAIR * nu))
        return bool(np.all(masses > 0)) and starved <= max(1, _LADDER_STARVED * masses.size)
    return bool(np.all(masses >= _FAIR * nu)) and _rel_errors(masses, nu)[0] <= 1.0


class _Ladder:
    """The blur ladder of an image source.

    Its blurred images (blurs ``_BLUR_MIN * 2^k <= _BLUR_START`` pixels), their diagram
    factories (sharing the search tree), and the choice of the next rung.
    """

    def __init__(self, mu, run):
        self.mu, self.run = mu, run
        self.sigmas = [_BLUR_MIN * 2.0**k for k in range(int(np.log2(_BLUR_START / _BLUR_MIN))
                                                          + 1)]
        self._factories = {}
        self.tested = None

    def factory(self, sigma):
        if sigma not in self._factories:
            self._factories[sigma] = self.run.factory(_blurred(self.mu, sigma))
        return self._factories[sigma]

    def next(self, D, below):
        """Return the least blur ``< below`` under which the cells of ``D`` are fair enough.

        ``D`` is the diagram of the image itself. Fair enough is :func:`_fair_enough`, for the
        first rung when ``below`` is above the ladder. 0 is the image itself, when its cell graph is
        also connected: separate blobs exchange mass only through cells reaching across the
        gap, which the blurred images create. Found by going down the ladder from the widest
        rung below ``below`` while the next narrower one is fair (each test integrates ``D``'s
        cells under a rung's image, each rung skipped saves a stage).
        """
        nu = self.run.problem.nu
        first = below > self.sigmas[-1]
        connected = components(D.weights)[0] == 1
        if _fair_enough(np.asarray(D.masses, dtype=np.float64), nu, first) and connected:
            return 0.0  # the image itself (its cell graph connected: mass can flow)
        rungs = [sg for sg in self.sigmas if sg < below]
        if not rungs:
            return 0.0
        if first and not connected:
            # separate blobs: their exchange of mass is settled on the widest blur, where the
            # cells reaching across the gaps carry mass
            return rungs[-1]
        k = len(rungs) - 1  # the widest rung below, unless narrower ones are fair too
        self.tested = None
        while k > 0:
            Dk = self.factory(rungs[k - 1]).reintegrate(D)
            if not _fair_enough(np.asarray(Dk.masses, dtype=np.float64), nu, first):
                break
            k -= 1
            self.tested = (rungs[k], Dk)  # the chosen rung's diagram at psi (the stage's start)
        return rungs[k]

    def start(self, sigma, D):
        """Return the diagram of rung ``sigma`` at ``D``'s potential.

        It is the one :meth:`next` computed when it tested that rung, else ``D``'s cells
        integrated under the rung's image.
        """
        tested, self.tested = self.tested, None
        if tested is not None and tested[0] == sigma:
            return tested[1]
        return self.factory(sigma).reintegrate(D)


def _free_cells(W):
    """Tell which cells have no mass on their boundary (a zero row of the weights ``W``).

    Their masses, and their neighbours', do not depend on their potential to first order: the
    Newton system leaves their moves free. (With the box's weights as a regularisation, of
    share ``reg``, its solution moves them by ``1 / reg`` times a cell's share; their
    neighbours' moves give up their missing mass.)
    """
    return np.asarray(W.sum(axis=1)).ravel() <= 0.0


def _move_free_cells(d, free, Wb, G, nu, grow):
    r"""Set the Newton moves of the ``free`` cells (:func:`_free_cells`).

    The free cells move as the box's Laplacian says they would to get ``grow`` times their
    missing mass, the other cells' moves ``d_R`` given: ``(L_B d)_F = grow_F (nu - G)_F``,
    i.e. ``(L_B)_{FF} d_F = grow_F (nu - G)_F + (W_B)_{FR} d_R``, with ``L_B`` the Laplacian
    of the box's weights ``Wb``. Any choice is a Newton direction; with ``grow = 1`` this one
    grows an empty cell over black pixels by about its share of the box per step (the
    regularisation alone would move it by ``1 / reg`` of that, and the line search would damp
    every other cell with it); the caller raises ``grow`` for the cells that stay massless.
    """
    Wb = Wb.tocsr()
    bdeg = np.asarray(Wb.sum(axis=1)).ravel()
    free = free & (bdeg > 0.0)  # (a cell of no area stays)
    F = np.flatnonzero(free)
    R = np.flatnonzero(~free)
    WF = Wb[F]
    A = (sp.diags(bdeg[F]) - WF[:, F]).tocsc()  # (L_B)_FF
    b = grow[F] * (nu - G)[F] + WF[:, R] @ d[R]
    d = d.copy()
    d[F] = spsolve(A, b)
    return d


def _below(G, box_masses, floor):
    """Tell which cells of a trial step are below the line search's ``floor``.

    Below a positive floor: by their masses ``G``. With floor 0 (the stage has a massless
    cell): those that lose their area (``box_masses``), since a cell of no area has no
    neighbours to grow with; not by their masses, which over black pixels are rounding of
    either sign (about 1e-21).
    """
    if floor > 0.0:
        return G < floor
    return ~(box_masses > 0)


class _Diagrams:
    """A diagram factory whose calls add to the run's diagram clock and count.

    ``diagrams(psi, near=D)`` is a new diagram; ``diagrams.reintegrate(D)`` the diagram of
    ``D``'s potential under this factory's measure (the power cells are not searched again:
    the blur ladder moves between measures at a fixed potential). Both count as a diagram.
    """

    def __init__(self, make, run):
        self.make, self.run = make, run

    def _timed(self, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, self.run.problem.where, **kwargs)
        self.run.clock["diagram"] += time.perf_counter() - t
        self.run.n_diag += 1
        return out

    def __call__(self, psi, near=None):
        return self._timed(self.make, psi, near=near)

    def reintegrate(self, D):
        return self._timed(self.make.reintegrate, D)

    def low_watched(self, psi, near, eps, floor):
        """Return the watched cells (:attr:`_Run.watch`) below ``floor`` at ``psi``, or None.

        The stage's masses of those cells alone (:meth:`PowerDiagrams.cell_masses`, the same
        numbers as the whole diagram's): a trial step that empties a cell the line search has
        seen emptied before is rejected at the cost of a few cells. None when nothing is
        watched or the geometry builds whole diagrams only. Its time counts as diagram time;
        it is not a diagram.
        """
        watch = self.run.watch
        if not watch.size or not self.make.partial:
            return None
        t = time.perf_counter()
        m, bm = self.make.cell_masses(psi, watch, self.run.problem.where, near=near)
        self.run.clock["diagram"] += time.perf_counter() - t
        G = m if eps == 0.0 else (1.0 - eps) * m + eps * bm
        return watch[_below(G, bm, floor)]


class _Run:
    """The state of one Newton solve.

    The potential, the clock, the counters, the history (written once per accepted iterate,
    whatever the stage).
    """

    def __init__(self, problem, options):
        self.problem, self.options = problem, options
        self.t0 = time.perf_counter()
        self.clock = {"diagram": 0.0, "solve": 0.0}
        self.n_diag = 0
        self.n_iter = 0
        self.hist = {k: [] for k in ("max_rel_error", "mean_rel_error", "semi_dual", "step",
                                     "eps", "blur", "n_diagrams", "time", "time_diagram",
                                     "time_solve")}
        self.linear = LaplacianSolver()
        self.stalled = False
        self.last_fail = None  # (alpha, cells below the floor, floor) of the last rejection
        self.eps = 0.0
        self.first_alpha = 1.0  # the first accepted step of the last stage
        self._base = None  # the first diagram factory (its search tree is shared)
        self.grow = np.ones(problem.nu.size)  # the growth factors of the free cells
        self.was_free = np.zeros(problem.nu.size, dtype=bool)  # free at the last iterate
        # the cells a trial step has taken below the floor (checked first at the next trials)
        self.watch = np.zeros(0, dtype=np.int64)

    def factory(self, mu):
        """Return the timed and counted diagrams of the sites under ``mu`` (:class:`_Diagrams`)."""
        p = self.problem
        if self._base is None:
            self._base = laguerre.geometry(p.cost, p.where)(p.y, mu.domain, mu)
            make = self._base
        else:  # another source on the same sites (a blurred image): the search tree is shared
            make = self._base.with_measure(mu)
        return _Diagrams(make, self)

    def _watch(self, cells):
        """Add ``cells`` (taken below the floor by a trial step) to :attr:`watch`.

        At most ``max(32, _WATCH_SHARE * J)`` cells are watched (a check should cost a small
        share of a diagram): past that, the newest ones alone.
        """
        if cells.size:
            cap = max(32, int(_WATCH_SHARE * self.problem.nu.size))
            w = np.union1d(self.watch, cells)
            self.watch = w if w.size <= cap else cells[:cap]

    def record(self, D, G, step, eps, blur):
        nu, h = self.problem.nu, self.hist
        err, mean_err = _rel_errors(G, nu)
        h["max_rel_error"].append(err)
        h["mean_rel_error"].append(mean_err)
        h["semi_dual"].append(D.semi_dual(nu))
        h["step"].append(step)
        h["eps"].append(eps)
        h["blur"].append(blur)
        h["n_diagrams"].append(self.n_diag)
        h["time"].append(time.perf_counter() - self.t0)
        h["time_diagram"].append(self.clock["diagram"])
        h["time_solve"].append(self.clock["solve"])

    def stage(self, diagram, psi, D, eps, tol, max_iter, blur=0.0, reg=0.0, alpha0=1.0):
        """Run the damped Newton on the source of ``D`` regularised by ``eps``.

        The source is ``(1 - eps) mu + eps U(box)``; from ``psi``, to the stage error ``tol``
        or ``max_iter`` iterations in all. Returns the last ``(psi, D)``; ``self.stalled`` when
        the line search failed. ``reg``: the Newton systems use ``W + reg W_box`` (the box's
        weights join the components of a split cell graph, so that mass can still move between
        them). ``alpha0``: the first step tried is ``min(1, 4 alpha0)``; the stage's first
        accepted step is left in ``self.first_alpha``.
        """
        nun, max_halvings = self.problem.nu, self.options.max_halvings
        G, W = D.regularised(eps)
        serr = _rel_errors(G, nun)[0]
        # a cell holding less than the rounding of the total mass (a sliver over a lit pixel
        # beside black ones) counts as massless
        noise = _MASS_NOISE * float(G.sum())
        floor = 0.0 if G.min() <= noise else 0.5 * min(float(G.min()), float(nun.min()))
        alpha_prev = alpha0
        first = True
        while serr > tol and self.n_iter < max_iter:
            t = time.perf_counter()
            if serr > _LOG_SWITCH and G.min() > noise:
                # far from the targets: Newton on log G = log nu (d log G = L d / G), whose
                # linearisation holds over the orders of magnitude the cells are off by (not
                # with a massless cell: its log would dominate the merit whatever the step)
                lg = np.log(np.maximum(G, 1e-300) / nun)
                rhs = G * (np.dot(G, lg) / G.sum() - lg)
                rhs -= rhs.mean()

                def merit(Gt):
                    lt = np.log(np.maximum(Gt, 1e-300) / nun)
                    return float(np.linalg.norm(lt - lt.mean()))
                rtol = 0.05
                # the CG's accuracy relative to each cell's own mass: scaled by the targets,
                # a cell at 3e-3 of its target got a direction that emptied it at every step
                # (J = 1e5, two blobs: 25 iterations of steps down to 1e-13)
                scale = 1.0 / G
            else:
                scale = 1.0 / nun
                rhs = nun - G

                def merit(Gt):
                    return float(np.linalg.norm((Gt - nun) / nun))
                # inexact Newton: a linear accuracy of the order of the error (quadratic
                # convergence), and no tighter than what the last step needs to reach tol
                rtol = min(0.05, max(serr, 0.25 * tol / serr))
            Ws = W if reg == 0.0 else (W + reg * D.box_weights).tocsr()
            # a cell still free (massless, no mass on its boundary) since the last iterate
            # grows four times faster: it has not reached the image's mass yet
            free = _free_cells(W)
            self.grow = np.where(free & self.was_free, np.minimum(4.0 * self.grow, _FREE_GROW_MAX),
                                 1.0)
            self.was_free = free
            d, _ = self.linear.solve(Ws, rhs, rtol, scale=scale)
            if free.any():
                d = _move_free_cells(d, free, D.box_weights, G, nun, self.grow)
            self.clock["solve"] += time.perf_counter() - t
            norm0 = merit(G)
            accepted = False
            attempt = escalations = 0
            while True:
                alpha = min(1.0, 4.0 * alpha_prev)  # the last step, tried up to 4x larger
                # a step below a few units in the last place of psi moves nothing: no step
                tiny = 4.0 * np.spacing(max(float(np.max(np.abs(psi))), 1.0)) / max(
                    float(np.max(np.abs(d))), np.finfo(float).tiny)
                for _ in range(max_halvings + 1):
                    if alpha <= tiny:
                        break
                    psi_try = psi + alpha * d
                    lw = diagram.low_watched(psi_try, D, eps, floor)
                    if lw is not None and lw.size:  # rejected by cells emptied before
                        self.last_fail = (alpha, lw, floor)
                        alpha *= 0.5
                        continue
                    D_try = diagram(psi_try, near=D)  # D: a warm start of the search
                    G_try = D_try.regularised_masses(eps)
                    low = _below(G_try, D_try.box_masses, floor)
                    if not low.any() and merit(G_try) <= (1.0 - 0.5 * alpha) * norm0:
                        accepted = True
                        break
                    self.last_fail = (alpha, np.flatnonzero(low), floor)
                    self._watch(self.last_fail[1])
                    alpha *= 0.5
                if accepted:
                    break
                t = time.perf_counter()
                if attempt == 0 and self.linear.factor is not None:
                    # an inexact direction that does not decrease the error: solve exactly
                    attempt = 1
                    d, _ = self.linear.solve(Ws, rhs, 0.0, exact=True)
                elif free.any() and escalations < _FREE_ESCALATIONS:
                    # no step decreases the error while free cells stay massless: they grow
                    # 16 times more (their boundary has to reach the image's mass)
                    escalations += 1
                    self.grow[free] = np.minimum(16.0 * self.grow[free], _FREE_GROW_MAX)
                else:
                    break
                if free.any():
                    d = _move_free_cells(d, free, D.box_weights, G, nun, self.grow)
                self.clock["solve"] += time.perf_counter() - t
                alpha_prev = 0.25
            if not accepted:
                self.stalled = True
                break
            self.n_iter += 1
            alpha_prev = alpha
            if first:
                self.first_alpha, first = alpha, False
            psi, D = psi_try, D_try
            G, W = D.regularised(eps)
            serr = _rel_errors(G, nun)[0]
            self.record(D, np.asarray(D.masses, dtype=np.float64) if blur == 0.0 else G,
                        alpha, eps, blur)
        return psi, D


def run(problem: Problem, options: NewtonOptions, psi0=None) -> SemiDiscreteResult:
    """Run the damped Newton method on a validated problem.

    See :func:`otgan.semidiscrete.newton`; ``psi0`` is float64 numpy or None.
    """
    where, nun, mu = problem.where, problem.nu, problem.mu
    tol, max_iter = options.tol, options.max_iter
    R = _Run(problem, options)
    diagram = R.factory(mu)
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
    masses = np.asarray(D.masses, dtype=np.float64)
    err = _rel_errors(masses, nun)[0]
    fair = _is_fair(masses, nun, D.weights, mu)
    R.record(D, masses, float("nan"), 0.0 if fair else 0.5, 0.0)
    reg = 0.0
    if isinstance(mu, measures.ImageDensity) and err > tol and (
            _has_zeros(mu) or not fair or err > _BLUR_SKIP):
        # an image, cells far from their targets: a ladder of blurred images, each solved
        # loosely from the last potential; each rung is the least blurred image under which the
        # current cells are fair (the image itself ends it)
        ladder = _Ladder(mu, R)
        sigma = ladder.next(D, _BLUR_START * 2)
        while sigma > 0.0 and R.n_iter < max_iter:
            # a rung's first step starts at four times the last rung's first accepted step (the
            # jump from one blur to the next costs about the same damping every time)
            psi, Ds = R.stage(ladder.factory(sigma), psi, ladder.start(sigma, D), 0.0,
                              _BLUR_TOL, min(max_iter, R.n_iter + _BLUR_ITER), blur=sigma,
                              alpha0=R.first_alpha)
            R.stalled = False
            D = diagram.reintegrate(Ds)
            sigma = ladder.next(D, sigma)
        masses = np.asarray(D.masses, dtype=np.float64)
        err = _rel_errors(masses, nun)[0]
        # then Newton on the image itself, without the box-mixing continuation (it would push
        # the cells over black pixels to mass nu / eps); separate blobs stay joined by a
        # vanishing share of the box's weights in the Newton systems
        fair, reg = True, _BLUR_REG
    # continuation: Newton on (1 - eps) mu + eps U(box) while the cells of mu are unfair
    # (starved cells, a disconnected or gapped support), eps -> 0
    eps = 0.0 if fair else 0.5
    while err > tol and R.n_iter < max_iter:
        stage_tol = tol if eps == 0.0 else max(0.5 * tol, min(1e-2, eps))
        psi, D = R.stage(diagram, psi, D, eps, stage_tol, max_iter, reg=reg)
        masses = np.asarray(D.masses, dtype=np.float64)
        err = _rel_errors(masses, nun)[0]
        if eps == 0.0 or err <= tol or (R.stalled and eps < 1e-15):
            break
        R.stalled = False
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
        _warn_not_converged(where, masses, nun, err, tol, R.n_iter, max_iter, R.stalled,
                            _float_floor(D, psi, nun), R.last_fail, eps)
    return SemiDiscreteResult(
        psi=problem.give_back(psi),
        value=float(np.sum(D.moments)),
        masses=masses,
        error=err,
        n_iter=R.n_iter,
        converged=converged,
        history=NewtonHistory(**{k: np.asarray(v) for k, v in R.hist.items()}),
        method="newton",
    )


def _float_floor(D, psi, nu):
    """Return the relative mass change of each cell for one unit in the last place of psi.

    ``sum_k W_jk ulp(max |psi|) / nu_j`` (float64): no potential stored in float64 can bring
    the masses closer to ``nu`` than about this.
    """
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
    elif float(floor.max()) > 0.1 * tol and err <= 10.0 * float(floor.max()):
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
