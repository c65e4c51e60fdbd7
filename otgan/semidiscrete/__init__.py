r"""Semi-discrete optimal transport: damped Newton (exact cells, 2D) and ASGD (any cost).

Newton works on the exact cells of the quadratic and the Euclidean costs in 2D; ASGD on
samples, for any cost and dimension. The source :math:`\mu` has a density (or is only known
through a sampler), the target :math:`\nu = \sum_j \nu_j \delta_{y_j}` is discrete. With the
lectures' convention the Laguerre cells are
:math:`L_\psi(y_j) = \{x : c(x, y_j) - \psi_j \le c(x, y_k) - \psi_k \ \forall k\}` and the
semi-dual

.. math:: H(\psi) = \int \psi^c \, d\mu + \sum_j \nu_j \psi_j, \qquad
          \psi^c(x) = \min_j c(x, y_j) - \psi_j,

is concave with gradient :math:`\partial H / \partial \psi_j = \nu_j - \mu(L_\psi(y_j))`. Its
maximum is the transport cost :math:`W_c(\mu, \nu)` (W2 squared for the quadratic cost
``||x - y||^2``; the factor is that of :class:`otgan.costs.SquaredEuclidean`, *not* ``1/2``), and
it is reached exactly when every cell carries its target mass (Kitagawa, Mérigot & Thibert 2019).

Two solvers:

- :func:`newton` -- the damped Newton method of Kitagawa, Mérigot & Thibert (2019) for a 2D
  source with a density (:class:`otgan.measures.Uniform` or the image density) and the
  quadratic (power cells) or Euclidean (Apollonius cells, W1) cost. Each iteration computes
  the exact cell diagram (an :class:`otgan.laguerre.CellDiagram`); the Hessian of ``H`` is minus
  its weighted graph Laplacian (:meth:`~otgan.laguerre.CellDiagram.jacobian`). One
  implementation serves both costs (``otgan.semidiscrete._newton``).
- :func:`asgd` -- averaged stochastic gradient ascent (Genevay, Cuturi, Peyré & Bach 2016), as in
  the lecture: ``psi~_k = psi~_{k-1} + gamma / sqrt(k) * (nu - batch cell frequencies)``,
  ``psi_k = (psi~_1 + ... + psi~_k) / k``; for any cost and any sampler (numpy, torch, CUDA).
  :class:`AveragedSGD` is its reusable one-step state (the semi-discrete WGAN trainer uses it).

:func:`solve` chooses between them (``method="auto"``: Newton whenever it applies).

Layout: ``_problem`` (the problem validated once at the public boundary), ``_newton`` (the
damped Newton), ``_asgd`` (ASGD), ``_result`` (results and their typed histories).

References
----------
J. Kitagawa, Q. Mérigot, B. Thibert. Convergence of a Newton algorithm for semi-discrete optimal
transport. J. Eur. Math. Soc. 21 (2019), 2603-2651.

A. Genevay, M. Cuturi, G. Peyré, F. Bach. Stochastic optimization for large-scale optimal
transport. NeurIPS 2016.
"""

from __future__ import annotations

import numpy as np
import torch

from .._utils import as_rng
from ..costs import get_cost
from ..errors import NotConvergedWarning
from ..measures import DensityMeasure
from . import _asgd, _newton
from ._asgd import ASGDOptions, AveragedSGD, default_gamma, exact_available
from ._newton import NewtonOptions
from ._problem import check_psi0, exact_problem, sampled_problem
from ._result import ASGDHistory, NewtonHistory, SemiDiscreteResult

__all__ = [
    "ASGDHistory",
    "ASGDOptions",
    "AveragedSGD",
    "NewtonHistory",
    "NewtonOptions",
    "NotConvergedWarning",
    "SemiDiscreteResult",
    "asgd",
    "default_gamma",
    "exact_available",
    "newton",
    "solve",
]

_METHODS = ("auto", "newton", "asgd")
_OPTIONS = {"newton": {"max_halvings"}, "asgd": {"callback", "exact", "record_every", "n_eval"}}


def newton(mu, y, nu=None, *, cost="sqeuclidean", tol=1e-9, max_iter=100, psi0=None,
           max_halvings=30):
    r"""Solve semi-discrete OT from a 2D density by the damped Newton method on exact cells.

    The cost is quadratic, ``||x - y||^2`` (power cells), or Euclidean, ``||x - y||`` (W1,
    Apollonius cells). Algorithm of Kitagawa, Mérigot & Thibert (2019): maximise the concave
    semi-dual ``H(psi) = int psi^c dmu + nu . psi`` whose gradient is ``nu - G(psi)``,
    ``G_j(psi) = mu(L_psi(y_j))``. The Jacobian of ``G`` is the graph Laplacian ``L`` of the
    Laguerre diagram (:meth:`otgan.laguerre.CellDiagram.jacobian`), with weights
    ``w_ij = int_{L_i cap L_j} rho ds / (2 ||y_i - y_j||)`` for the quadratic cost (the
    Euclidean cost's are in :mod:`otgan.laguerre.apollonius`): symmetric, positive
    semi-definite, with the constants on each connected component of the cell graph as its
    kernel. Each iteration

    1. solves ``L d = nu - G(psi)`` with the gauge fixed (one grounded node per connected
       component, then ``d`` shifted to zero mean), inexactly: a sparse Cholesky factor
       (CHOLMOD) for the first system, then conjugate gradients preconditioned by the last
       factor (a new factor after a slow CG), to a relative accuracy
       of the order of the current error (loose far from the solution, tight near it; every
       cell to the same *relative* accuracy, so that masses spanning many orders of magnitude
       converge together),
    2. takes the largest step ``alpha in {1, 1/2, 1/4, ...}`` such that every cell keeps at
       least half of the smallest of its initial and target masses (while a cell is
       massless: every cell keeps some area) and
       ``||(G(psi + alpha d) - nu) / nu|| <= (1 - alpha / 2) ||(G(psi) - nu) / nu||`` (KMT's
       condition, in the norm of the relative errors); a trial step is first checked on the
       cells that earlier trials took below that floor, computed alone (power cells): a step
       that empties one of them again is rejected without a whole diagram,

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

    The diagrams (masses, transport costs and the weights of the Laplacian) are
    :class:`otgan.laguerre.CellDiagram` objects of the cost's geometry
    (:func:`otgan.laguerre.geometry`); the iteration is the same for both costs.

    Parameters
    ----------
    mu : otgan.measures.Uniform or the image density
        Source measure with a density on a 2D polygon.
    y : array (J, 2)
        Distinct sites (anywhere in the plane: sites outside the support are handled by the
        initial potential, see below).
    nu : array (J,), optional
        Target masses, positive, summing to one (default uniform ``1/J``).
    cost : {"sqeuclidean", "euclidean"} or otgan.costs.Cost
        ``||x - y||^2`` (the default; ``value`` is W2 squared) or ``||x - y||`` (W1).
    tol : float
        Stopping tolerance on the maximal relative mass error.
    max_iter : int
        Maximal number of Newton iterations.
    psi0 : array (J,), optional
        Initial potential; every cell must meet the bounding box of the domain. Default:
        ``0`` (the Voronoi diagram) when its cells are fair, else ``psi_j = c(d(y_j, supp
        mu))`` (the cell of a site off the support then reaches the support's nearest
        point), else a contraction of the sites towards the centre of the domain
        (``psi_j = (1 - t) c(||y_j - centre||)``), contracted until every cell has area.
    max_halvings : int
        Maximal number of step halvings per iteration.

    Returns
    -------
    SemiDiscreteResult
        ``method="newton"``; ``psi`` has the mean of ``psi0`` (zero by default), in the
        library, device and dtype of ``y``. ``history`` (a :class:`NewtonHistory`, the same
        for both costs) holds per iteration (index 0 = the initial potential): ``"max_rel_error"``,
        ``"mean_rel_error"``, ``"semi_dual"`` (exact ``H(psi)``), ``"step"`` (the accepted
        ``alpha``, NaN at index 0), ``"eps"`` (the regularisation of the stage, 0 = mu
        itself), ``"n_diagrams"`` (whole diagrams computed so far), ``"time"``
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
    options = NewtonOptions(tol=tol, max_iter=max_iter, max_halvings=max_halvings, where=where)
    problem = exact_problem(where, mu, y, nu, cost)
    return _newton.run(problem, options, check_psi0(psi0, problem.J, where))



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
    tol=None,
    n_eval=100_000,
):
    r"""Solve semi-discrete OT by averaged stochastic gradient ascent on the semi-dual.

    The method of Genevay, Cuturi, Peyré & Bach (2016), for any cost and any sampler. It runs
    ``n_iter`` steps of :class:`AveragedSGD`: at step ``k`` a batch ``B_k`` of ``batch_size``
    points is drawn from ``mu``,

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
    tol : float, optional
        The maximal relative mass error ``|mu(L_j) - nu_j| / nu_j`` accepted for the returned
        potential (default ``None``: 0.1, a potential whose cells are within 10 % of their
        targets; ASGD converges like ``O(log k / sqrt k)``, so much smaller tolerances need
        very many steps, or :func:`newton`). With exact masses (:func:`exact_available`)
        ``converged`` is ``error <= tol``. Otherwise the masses are the frequencies ``f_j``
        of ``n_eval`` fresh samples of ``mu`` (held out: not used by the ascent), with
        standard errors ``s_j = sqrt(f_j (1 - f_j) / n_eval)``, and ``converged`` means that
        no cell is *significantly* off: ``|f_j - nu_j| - z s_j <= tol nu_j`` for every ``j``,
        ``z`` the two-sided 1 % quantile of the normal law with Bonferroni's correction over
        the ``J`` cells (``z = 3.9`` for ``J = 100``). A :class:`NotConvergedWarning` is raised
        when it is not.
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
    >>> res = asgd(Uniform(), y, n_iter=2000, rng=0)
    >>> res.psi.shape, res.method, res.converged
    ((5,), 'asgd', True)
    """
    where = "semidiscrete.asgd"
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: 'callback' must be callable; got {type(callback).__name__}")
    options = ASGDOptions(gamma=gamma, batch_size=batch_size, n_iter=n_iter, exact=exact,
                          record_every=record_every, tol=tol, n_eval=n_eval, where=where)
    problem = sampled_problem(where, mu, y, nu, cost)
    return _asgd.run(problem, options, check_psi0(psi0, problem.J, where), _norm_rng(rng),
                     callback)


def _norm_rng(rng):
    """Return a numpy Generator, or the caller's torch Generator untouched (torch samplers)."""
    if isinstance(rng, torch.Generator):
        return rng
    return as_rng(rng)


def solve(
    mu,
    y,
    nu=None,
    *,
    cost="sqeuclidean",
    method="auto",
    tol=None,
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
        ``"newton"``: :func:`newton` (quadratic or Euclidean cost, ``mu`` a 2D measure with a
        density; otherwise a ValueError). ``"asgd"``: :func:`asgd`. ``"auto"``: Newton when it applies,
        ASGD otherwise; ``result.method`` says which ran.
    tol : float, optional
        Newton: stop at a maximal relative mass error ``<= tol`` (default ``None``: 1e-9).
        ASGD: the accepted relative mass error of :func:`asgd` (default 0.1); it only decides
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
    if method == "auto":
        shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
        exact = ((c.is_quadratic or c.is_euclidean) and isinstance(mu, DensityMeasure)
                 and len(shape) == 2 and shape[1] == 2)
        method = "newton" if exact else "asgd"
    allowed = _OPTIONS[method]
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"{where}: unexpected keyword(s) for method {method!r}: "
                        f"{sorted(unknown)} (it takes {sorted(allowed)})")
    if method == "newton":
        opts = NewtonOptions(tol=1e-9 if tol is None else tol,
                             max_iter=100 if max_iter is None else max_iter,
                             where=where, **options)
        problem = exact_problem(where, mu, y, nu, c)
        return _newton.run(problem, opts, check_psi0(psi0, problem.J, where))
    callback = options.pop("callback", None)
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: 'callback' must be callable; got {type(callback).__name__}")
    opts = ASGDOptions(gamma=gamma, batch_size=batch_size,
                       n_iter=10_000 if max_iter is None else max_iter, tol=tol, where=where,
                       **options)
    problem = sampled_problem(where, mu, y, nu, c)
    return _asgd.run(problem, opts, check_psi0(psi0, problem.J, where), _norm_rng(rng),
                     callback)
