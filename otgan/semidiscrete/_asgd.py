r"""Averaged stochastic gradient ascent on the semi-dual (Genevay, Cuturi, Peyré & Bach 2016).

:class:`AveragedSGD` (one step) and the loop behind :func:`otgan.semidiscrete.asgd`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import erfinv

from .. import laguerre
from .._utils import (
    as_float_array,
    check_int,
    check_real,
    check_tol,
    check_vector,
    check_weights,
    is_torch,
    like,
    to_numpy,
)
from ..costs import get_cost
from ..ctransform import c_transform
from ..errors import NotConvergedWarning
from ..measures import DensityMeasure
from ._problem import Problem, warn_caller
from ._problem import rel_errors as _rel_errors
from ._result import ASGDHistory, SemiDiscreteResult

__all__ = ["ASGDOptions", "AveragedSGD", "default_gamma", "exact_available", "run"]


def exact_available(mu, y, cost="sqeuclidean") -> bool:
    """Tell whether the exact 2D power diagram applies to ASGD's records.

    It does for the quadratic cost, sites in 2D, and ``mu`` one of otgan's measures with a
    density (:class:`otgan.measures.Uniform` or the image density). This is when :func:`asgd`
    records exact errors and values (the Euclidean cost has exact cells too, :func:`newton`
    uses them; ASGD keeps Monte-Carlo estimates there, its exact cells being far costlier than
    a sample).

    Parameters
    ----------
    mu : object
        The source (a measure, a sampler or a callable).
    y : array (J, d)
        The sites (only their shape is read).
    cost : str or otgan.costs.Cost
        The ground cost.

    Returns
    -------
    bool
        ``True`` when the exact records apply.
    """
    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    return (get_cost(cost).is_quadratic and len(shape) == 2 and shape[1] == 2
            and isinstance(mu, DensityMeasure))


def _sample(mu, n, rng):
    """Draw ``n`` points from a measure (``.sample``) or a callable ``(n, rng) -> points``."""
    if hasattr(mu, "sample"):
        return mu.sample(n, rng=rng)
    return mu(n, rng)


def _check_drawn(x, n, d, where):
    """Return the first batch drawn from 'mu', checked: real floating points of shape (n, d).

    ``d`` is the sites' dimension; a mismatch names 'mu', not an internal argument.
    """
    x = as_float_array(x, f"mu.sample({n})", where)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"{where}: 'mu' must draw points of shape ({n}, {d}) in the dimension of the sites "
            f"'y'; mu.sample({n}) gave shape {tuple(x.shape)}"
        )
    return x


_DEFAULT_TOL = 0.1  # ASGD's accepted relative mass error (see asgd's docstring)


def _significance_z(J):
    """Return the two-sided 1 % normal quantile with Bonferroni's correction over ``J`` cells."""
    return float(np.sqrt(2.0) * erfinv(1.0 - 0.01 / J))


@dataclass(frozen=True, kw_only=True)
class ASGDOptions:
    """Options of :func:`otgan.semidiscrete.asgd`, validated at construction.

    See :func:`otgan.semidiscrete.asgd` for their meaning. Keyword-only; the validated values
    are stored (Python ints and floats, ``tol=None`` replaced by 0.1).

    Parameters
    ----------
    gamma : float, optional
        Step size, positive (``None``: :func:`default_gamma` on the first batch).
    batch_size : int
        Points per batch, positive.
    n_iter : int
        Number of steps, positive.
    exact : bool, optional
        Whether to record the exact errors (``None``: when they apply and ``record_every``
        is given).
    record_every : int, optional
        Period of the exact records, positive.
    tol : float, optional
        Accepted maximal relative mass error, finite and non-negative (``None``: 0.1).
    n_eval : int
        Sample size of the final Monte-Carlo estimates, positive.
    where : str
        The public function that the error messages name.

    Raises
    ------
    ValueError
        Out-of-range values (NaN included) or an ``exact`` that is not None, True or False.
    otgan.errors.ArgumentTypeError
        Non-integer counts or a non-numeric ``gamma`` / ``tol`` (a ``TypeError`` and a
        ``ValueError``).
    """

    gamma: float | None = None
    batch_size: int = 256
    n_iter: int = 10_000
    exact: bool | None = None
    record_every: int | None = None
    tol: float | None = None
    n_eval: int = 100_000
    where: str = "semidiscrete.asgd"

    def __post_init__(self):
        w = self.where
        object.__setattr__(self, "batch_size", check_int(self.batch_size, "batch_size", w))
        object.__setattr__(self, "n_iter", check_int(self.n_iter, "n_iter", w))
        object.__setattr__(self, "n_eval", check_int(self.n_eval, "n_eval", w))
        object.__setattr__(self, "record_every",
                           check_int(self.record_every, "record_every", w, allow_none=True))
        object.__setattr__(self, "tol", _DEFAULT_TOL if self.tol is None
                           else check_tol(self.tol, "tol", w))
        if self.gamma is not None:
            object.__setattr__(self, "gamma", check_real(self.gamma, "gamma", w,
                                                         positive=True))
        if self.exact not in (None, True, False):
            raise ValueError(f"{w}: 'exact' must be None, True or False; got {self.exact!r}")


_DEFAULT_GAMMA_FACTOR = 2.0


def default_gamma(J, cost_scale):
    r"""Return the default ASGD step size ``gamma = 2 J s``.

    ``s`` is the scale of the cost, measured by :func:`asgd` as the mean Voronoi cost
    ``E_X min_j c(X, y_j)`` on the first batch (the semi-dual at ``psi = 0``, of the order of the
    transport cost). Rationale: the gradient entries ``nu_j - mu(L_j)`` are ``O(1/J)`` while the
    optimal potential varies on the scale of the cost within a cell, so a step of order
    ``J * s`` moves the potential by ``O(s)``. The factor 2 was measured on uniform sources on
    the unit square, ``J`` = 10 to 1000, batches of 64 to 256 points (smaller factors converge
    slowly, larger ones empty cells early on); see ``benchmarks/bench_semidiscrete.py``.

    Parameters
    ----------
    J : int
        Number of sites.
    cost_scale : float
        The scale ``s`` of the cost.

    Returns
    -------
    float
        ``2 * J * s``.
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
        """Take one ASGD step from the batch ``x_batch`` against the sites ``y``.

        Parameters
        ----------
        x_batch : array (n, d)
            Points drawn from the source (numpy or torch; moved to the state's library,
            device and dtype).
        y : array (J, d)
            The sites (converted once and cached while the same object is passed).
        cost : str or otgan.costs.Cost
            The ground cost (default ``"sqeuclidean"``, ``||x - y||^2``).

        Returns
        -------
        float or torch.Tensor
            The batch estimate of the semi-dual at the point where the gradient was taken,
            ``mean_i psi~_{k-1}^c(x_i) + nu . psi~_{k-1}``: a float for numpy, a 0-dim tensor
            on the state's device for torch, so that no device synchronisation is forced.

        Raises
        ------
        ValueError
            Shapes that are not ``(n, d)`` and ``(J, d)`` with the state's ``J``.
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
        """Take the averaged ascent step from the batch gradient ``grad = nu - frequencies``.

        ``psi~_k = psi~_{k-1} + gamma / sqrt(k) grad``, ``psi_k = psi_{k-1} + (psi~_k -
        psi_{k-1}) / k``.
        """
        self.k += 1
        k = self.k
        self.psi_tilde = self.psi_tilde + (self.gamma / math.sqrt(k)) * grad
        self.psi_bar = self.psi_bar + (self.psi_tilde - self.psi_bar) / k
        self.last_gradient = grad


def run(problem: Problem, options: ASGDOptions, psi0=None, rng=None, callback=None):
    """Run ASGD on a validated problem (see :func:`otgan.semidiscrete.asgd`).

    ``psi0`` is float64 numpy or None, ``rng`` a numpy or torch Generator.
    """
    mu, yn, nun, cost, where = problem.mu, problem.y, problem.nu, problem.cost, problem.where
    gamma, batch_size, n_iter = options.gamma, options.batch_size, options.n_iter
    record_every, tol, n_eval = options.record_every, options.tol, options.n_eval
    can_exact = exact_available(mu, yn, cost)
    if options.exact is True and not can_exact:
        raise ValueError(
            f"{where}: exact=True needs the quadratic 'cost', 2D sites and a measure 'mu' with a "
            f"density (Uniform or image); got cost {cost!r}, y {tuple(yn.shape)}, "
            f"mu {type(mu).__name__}"
        )
    if options.exact is True and record_every is None:
        record_every = max(1, n_iter // 100)
    do_exact = bool(can_exact and options.exact is not False and record_every is not None)
    factory = (laguerre.PowerDiagrams(yn, mu.domain, mu) if can_exact else None)
    J = len(yn)
    x = _check_drawn(_sample(mu, batch_size, rng), batch_size, yn.shape[1], where)
    if is_torch(x):
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        y_w = torch.as_tensor(yn, dtype=dtype, device=x.device)
        psi_w = (
            torch.zeros(J, dtype=dtype, device=x.device)
            if psi0 is None
            else torch.as_tensor(psi0, dtype=dtype, device=x.device)
        )
        nu_w = torch.as_tensor(nun, dtype=dtype, device=x.device)
    else:
        x = np.asarray(x, dtype=np.float64)
        y_w = yn
        psi_w = np.zeros(J) if psi0 is None else psi0.copy()
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
            D = factory(psi_np, where)
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
    history = ASGDHistory(
        semi_dual_batch=semi, grad_norm=gnorm,
        step_size=gamma / np.sqrt(np.arange(1, k_done + 1)), gamma=float(gamma),
        **({k: np.asarray(v) for k, v in rec.items()} if do_exact else {}),
    )

    psi_np = to_numpy(state.psi, dtype=np.float64)
    if can_exact:
        D = factory(psi_np, where)
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
    if can_exact:
        converged = bool(err <= tol)
        how = "exact masses"
    else:
        # held-out frequencies: off only where the error exceeds tol beyond sampling noise
        se = np.sqrt(masses * (1.0 - masses) / n_eval)
        z = _significance_z(J)
        pos = nun > 0
        excess = (np.abs(masses - nun) - z * se)[pos] / nun[pos]
        converged = bool(np.all(excess <= tol))
        how = (f"frequencies of {n_eval} held-out samples; the largest error beyond {z:.2g} "
               f"standard errors is {max(float(excess.max()), 0.0):.3g}")
    if not converged:
        warn_caller(
            f"{where}: not converged: max relative mass error {err:.3g} > tol = {tol:.3g} after "
            f"{k_done} stochastic steps ({how}); ASGD converges like O(log k / sqrt k): raise "
            "n_iter (or tol), or use method='newton' where it applies",
            NotConvergedWarning,
        )
    return SemiDiscreteResult(
        psi=problem.give_back(psi_np),
        value=value,
        masses=masses,
        error=err,
        n_iter=k_done,
        converged=converged,
        history=history,
        method="asgd",
    )


