"""Closed forms: KL / JS divergences, the optimal GAN discriminator, W1 / W2 in simple cases.

These are the exact answers the GAN / WGAN lectures work out by hand, used as ground truth by the
tests of the numerical solvers and drawn by the demos:

- :func:`kl_divergence`, :func:`js_divergence` between histograms (natural logarithm), and
  :func:`js_singular` (``log 2``), the Jensen-Shannon divergence of two mutually singular measures;
- the optimal discriminator :func:`optimal_discriminator` ``D* = q / (q + p)`` and the GAN value
  functional :func:`gan_value` / :func:`gan_integrand`, whose supremum is ``2 JS - log 4``
  (Goodfellow et al. 2014);
- :func:`parallel_lines`: Arjovsky et al.'s (2017) Example 1 (W1 = ``|theta|``, JS = ``log 2``,
  KL = ``inf``);
- :func:`w1_histograms`: W1 on a line (the lecture's "piles of dirt", ``W = 5``);
- :func:`frechet_distance`: W2 squared between Gaussians (Dowson & Landau 1982; the FID formula);
- :func:`exercise_1`, :func:`exercise_2`, :func:`exercise_2_argmin`: the WGAN lecture's exercises.

Conventions (as in the rest of otgan): ``mu`` / ``p`` is the generated (model) measure, ``nu`` /
``q`` the data; the dual weight ``psi`` lives on the discrete side, cells are
``argmin_j c(x, y_j) - psi_j``; a transport "value" is the optimal cost (W1, or W2 squared for
the quadratic cost). Nothing here is stochastic: the closed forms never call a solver.

Scalar results are Python floats for numpy / array-like inputs and 0-d tensors (same dtype and
device, differentiable where the formula is) for torch inputs.

References
----------
Goodfellow, I. et al. (2014). Generative adversarial nets. NeurIPS.
Arjovsky, M., Chintala, S., Bottou, L. (2017). Wasserstein generative adversarial networks. ICML.
Dowson, D. C., Landau, B. V. (1982). The Fréchet distance between multivariate normal
distributions. Journal of Multivariate Analysis 12(3), 450-455.
Biau, G., Cadre, B., Sangnier, M., Tanielian, U. (2018). Some theoretical properties of GANs.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import scipy.special
import torch
from scipy import integrate, optimize

from ._utils import (
    as_float_array,
    check_tol,
    check_vector,
    check_weights,
    common_library,
    finite_total,
    is_torch,
    like,
    to_numpy,
)

__all__ = [
    "LOG2",
    "Exercise1",
    "Exercise2Argmin",
    "ParallelLines",
    "exercise_1",
    "exercise_2",
    "exercise_2_argmin",
    "frechet_distance",
    "gan_integrand",
    "gan_value",
    "js_divergence",
    "js_singular",
    "kl_divergence",
    "optimal_discriminator",
    "parallel_lines",
    "w1_histograms",
]

LOG2 = math.log(2.0)
"""``log 2``: the Jensen-Shannon divergence between mutually singular measures (natural log)."""

_MOD = "closed_forms"


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


class _Record(Mapping):
    """Read-only mapping view over the fields of a frozen dataclass (``r["w1"]`` == ``r.w1``)."""

    def __getitem__(self, key):
        if isinstance(key, str) and key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def _names(self):
        return tuple(f.name for f in fields(self))

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def _scalar_out(value, ref):
    """Python float for numpy/array-like references, 0-d tensor (kept as is) for torch."""
    if is_torch(ref):
        return value
    return float(value)


def _common(where, **arrays):
    """Validate the arrays as real floating, under their names, and put them in one library."""
    return tuple(common_library(where, **arrays)[0].values())


def _finite_nonneg(x, name, where):
    xn = to_numpy(x, dtype=np.float64)
    if not np.isfinite(xn).all():
        raise ValueError(f"{where}: {name!r} contains NaN or inf")
    if (xn < 0).any():
        i = int(np.argmin(xn.reshape(-1)))
        raise ValueError(
            f"{where}: {name!r} must be non-negative; got {name}.flat[{i}] = "
            f"{xn.reshape(-1)[i]:.6g}"
        )


def _histograms(p, q, where, atol):
    """Validate two probability histograms of the same (any) shape; return them flat, renormalised."""
    p, q = _common(where, p=p, q=q)
    if tuple(p.shape) != tuple(q.shape):
        raise ValueError(
            f"{where}: 'q' must have the same shape as 'p' {tuple(p.shape)}; got {tuple(q.shape)}"
        )
    n = int(np.prod(tuple(p.shape), dtype=np.int64))
    if n == 0:
        raise ValueError(f"{where}: 'p' and 'q' must be non-empty; got shape {tuple(p.shape)}")
    p, q = p.reshape(-1), q.reshape(-1)
    p = check_weights(p, n, "p", where, atol=atol)
    q = check_weights(q, n, "q", where, atol=atol, match="'p'")
    return p / p.sum(), q / q.sum()


def _rel_entr(p, q):
    """Elementwise ``p log(p / q)`` with ``0 log(0 / q) = 0`` and ``p log(p / 0) = inf``."""
    if is_torch(p):
        pos = p > 0
        one = torch.ones_like(p)
        ps = torch.where(pos, p, one)
        qs = torch.where(pos, q, one)
        return torch.where(pos, ps * (torch.log(ps) - torch.log(qs)), torch.zeros_like(p))
    return scipy.special.rel_entr(p, q)


def _xlog2ratio(p, q):
    """Elementwise ``p log(2 p / (p + q))``, ``0`` where ``p = 0``."""
    if is_torch(p):
        pos = p > 0
        ps = torch.where(pos, p, torch.ones_like(p))
        ratio = ps / (ps + torch.where(pos, q, torch.zeros_like(q)))
        return torch.where(pos, ps * torch.log(2.0 * ratio), torch.zeros_like(p))
    pos = p > 0
    ps = np.where(pos, p, 1.0)
    ratio = ps / (ps + np.where(pos, q, 0.0))
    return np.where(pos, ps * np.log(2.0 * ratio), 0.0)


# --------------------------------------------------------------------------------------------
# KL, JS
# --------------------------------------------------------------------------------------------


def kl_divergence(p, q, *, atol=1e-6):
    r"""Kullback-Leibler divergence ``KL(p | q) = sum_i p_i log(p_i / q_i)`` (natural log).

    With the conventions ``0 log(0 / q) = 0`` and ``KL = +inf`` as soon as ``p`` puts mass where
    ``q`` has none (``p`` is then not absolutely continuous w.r.t. ``q``, and the lecture's
    definition gives ``+inf``). ``KL >= 0`` with equality iff ``p = q`` (Gibbs' inequality;
    the result is clipped at 0 against rounding).

    Parameters
    ----------
    p, q : array_like or torch.Tensor, same shape (any, e.g. ``(n,)`` or an image)
        Probability histograms: finite, non-negative, each summing to 1 within ``atol``. They
        are renormalised to sum exactly to 1 before use.
    atol : float, keyword-only
        Tolerance on the sums (see :func:`otgan._utils.check_weights`).

    Returns
    -------
    float or torch.Tensor
        ``KL(p | q)`` in nats; a 0-d tensor (differentiable where finite) for torch inputs.

    Raises
    ------
    ValueError
        Shapes differ, negative / non-finite entries, sums not 1.

    Examples
    --------
    >>> kl_divergence([0.5, 0.5], [0.25, 0.75])  # doctest: +ELLIPSIS
    0.1438...
    >>> kl_divergence([0.5, 0.5], [1.0, 0.0])
    inf
    """
    where = f"{_MOD}.kl_divergence"
    p, q = _histograms(p, q, where, atol)
    kl = _rel_entr(p, q).sum()
    # Gibbs: KL >= 0, but terms of both signs can sum to -1e-16 when p and q differ by rounding
    kl = kl.clamp_min(0.0) if is_torch(kl) else max(float(kl), 0.0)
    return _scalar_out(kl, p)


def js_divergence(p, q, *, atol=1e-6):
    r"""Jensen-Shannon divergence ``JS(p, q) = KL(p | m) / 2 + KL(q | m) / 2``, ``m = (p + q) / 2``.

    Natural log, so ``0 <= JS <= log 2``; ``JS = 0`` iff ``p = q`` and ``JS = log 2`` iff the
    supports are disjoint: then ``m = p / 2`` on the support of ``p`` and each KL term is
    ``sum_i p_i log 2 = log 2``. It is symmetric and always finite (``m > 0`` wherever ``p`` or
    ``q`` is). The result is clipped to ``[0, log 2]`` against rounding. This is the divergence a
    GAN minimises (Goodfellow et al. 2014): ``sup_D L(D) = 2 JS - log 4`` (see
    :func:`gan_value`).

    Parameters
    ----------
    p, q : array_like or torch.Tensor, same shape
        Probability histograms (finite, non-negative, summing to 1 within ``atol``;
        renormalised before use).
    atol : float, keyword-only
        Tolerance on the sums.

    Returns
    -------
    float or torch.Tensor
        ``JS(p, q)`` in nats (0-d tensor for torch inputs).

    Examples
    --------
    >>> js_divergence([1.0, 0.0], [0.0, 1.0]) == LOG2
    True
    >>> js_divergence([0.5, 0.5], [0.5, 0.5])
    0.0
    """
    where = f"{_MOD}.js_divergence"
    p, q = _histograms(p, q, where, atol)
    # KL(p | m) = sum p log(2 p / (p + q)): the ratio p / (p + q) is formed before halving, so
    # that subnormal entries (where (p + q) / 2 would underflow to 0) keep their exact share.
    val = 0.5 * (_xlog2ratio(p, q).sum() + _xlog2ratio(q, p).sum())
    if is_torch(val):
        return val.clamp(0.0, LOG2)
    return min(max(float(val), 0.0), LOG2)


def js_singular():
    r"""``JS(mu, nu) = log 2`` for mutually singular ``mu``, ``nu`` (e.g. atoms vs a density).

    If there is a set ``A`` with ``nu(A) = 1`` and ``mu(A) = 0`` (``nu`` atomic and ``mu`` with a
    density: take ``A`` the finite support of ``nu``; or two measures with disjoint supports),
    then ``m = (mu + nu) / 2`` has ``d mu / d m = 2`` on ``A^c`` and ``d nu / d m = 2`` on ``A``, so

    .. math:: JS(\mu, \nu) = \tfrac12 \int \log 2 \, d\mu + \tfrac12 \int \log 2 \, d\nu = \log 2.

    Equivalently the optimal discriminator is ``D* = 1_A`` and ``sup_D L(D) = 0 = 2 JS - log 4``
    (the lectures' "insufficiency of the JS divergence": the value does not see how far apart
    the supports are; Arjovsky et al. 2017). Histograms of such a pair on a grid of step ``h``
    give a JS that tends to ``log 2`` as ``h -> 0`` (once the bins separate the supports).

    Returns
    -------
    float
        ``log 2 = 0.6931471805599453``.

    Examples
    --------
    >>> js_singular()
    0.6931471805599453
    """
    return LOG2


# --------------------------------------------------------------------------------------------
# optimal discriminator and GAN value
# --------------------------------------------------------------------------------------------


def _densities(p, q, where, names=("p", "q")):
    p, q = _common(where, **{names[0]: p, names[1]: q})
    if tuple(p.shape) != tuple(q.shape):
        raise ValueError(
            f"{where}: {names[1]!r} must have the same shape as {names[0]!r} {tuple(p.shape)}; "
            f"got {tuple(q.shape)}"
        )
    _finite_nonneg(p, names[0], where)
    _finite_nonneg(q, names[1], where)
    return p, q


def optimal_discriminator(p, q):
    r"""Compute the optimal GAN discriminator ``D*(x) = q(x) / (q(x) + p(x))``, elementwise.

    Conventions of the lectures (000, 002; Goodfellow et al. 2014, Prop. 1; Biau et al. 2018):
    ``p = p_theta`` is the density of the **generated** measure ``mu_theta`` and ``q`` the
    density of the **data** ``nu`` (both w.r.t. a common reference ``M``, e.g. ``mu_theta + nu``),
    and the discriminator maximises

    .. math:: L(D) = \int \log D \, d\nu + \int \log(1 - D) \, d\mu_\theta
                   = \int \big(q \log D + p \log(1 - D)\big) \, dM.

    Pointwise, ``d -> q log d + p log(1 - d)`` is concave on ``[0, 1]`` with maximiser
    ``d = q / (q + p)``; hence ``D*``. Where ``p = q = 0`` any value is optimal; ``1/2`` is
    returned. Plugging ``D*`` in gives ``sup_D L = 2 JS(mu_theta, nu) - log 4``.

    Parameters
    ----------
    p, q : array_like or torch.Tensor, same shape
        Non-negative finite density values (generated ``p``, data ``q``) at the same points.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``D*`` with values in ``[0, 1]``, same shape (and library/device/dtype) as the inputs.

    Examples
    --------
    >>> optimal_discriminator([1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 3.0, 0.0])
    array([0.  , 1.  , 0.75, 0.5 ])
    """
    where = f"{_MOD}.optimal_discriminator"
    p, q = _densities(p, q, where)
    s = p + q
    if is_torch(s):
        pos = s > 0
        return torch.where(pos, q / torch.where(pos, s, torch.ones_like(s)), 0.5 * torch.ones_like(s))
    out = np.full(s.shape, 0.5, dtype=s.dtype)
    np.divide(q, s, out=out, where=s > 0)
    return out


def gan_integrand(d, p, q):
    r"""Compute the integrand ``q log d + p log(1 - d)`` of the GAN value, elementwise.

    With ``0 log 0 = 0`` (a discriminator equal to 0 where there is no data, or to 1 where
    there is no generated mass, costs nothing) and ``log 0 = -inf`` otherwise. Integrating it
    against the reference measure ``M`` gives ``L(D)`` (see :func:`optimal_discriminator` for
    the conventions: ``p`` generated, ``q`` data).

    Parameters
    ----------
    d : array_like or torch.Tensor
        Discriminator values in ``[0, 1]``.
    p, q : array_like or torch.Tensor, same shape as ``d``
        Non-negative density values of the generated (``p``) and data (``q``) measures.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same shape as ``d``; values in ``[-inf, 0]``.

    Examples
    --------
    >>> gan_integrand([0.5, 1.0], [1.0, 0.0], [1.0, 2.0])  # doctest: +ELLIPSIS
    array([-1.386...,  0.   ...])
    """
    return _gan_integrand(d, p, q, f"{_MOD}.gan_integrand")


def _gan_integrand(d, p, q, where):
    p, q = _densities(p, q, where)
    d, p, q = _common(where, d=d, p=p, q=q)
    if tuple(d.shape) != tuple(p.shape):
        raise ValueError(
            f"{where}: 'd' must have the same shape as 'p' {tuple(p.shape)}; got {tuple(d.shape)}"
        )
    dn = to_numpy(d, dtype=np.float64)
    if not np.isfinite(dn).all() or (dn < 0).any() or (dn > 1).any():
        raise ValueError(
            f"{where}: 'd' must take values in [0, 1]; got min {np.nanmin(dn):.6g}, "
            f"max {np.nanmax(dn):.6g}"
        )
    if is_torch(d):
        return torch.special.xlogy(q, d) + torch.special.xlogy(p, 1.0 - d)
    return scipy.special.xlogy(q, d) + scipy.special.xlogy(p, 1.0 - d)


def gan_value(d, p, q, *, dx=1.0):
    r"""Compute the GAN value ``L(D) = sum_i dx (q_i log d_i + p_i log(1 - d_i))``.

    A Riemann sum (``dx`` the cell size) of ``L(D) = int log D dnu + int log(1 - D) dmu_theta``
    (Goodfellow et al. 2014); with histograms (``p``, ``q`` probability vectors) and ``dx = 1``
    it is exact. ``p`` is the generated measure, ``q`` the data (lectures 000 / 002). Bounds:
    ``-log 4 = L(1/2) <= sup_D L(D) = L(D*) = 2 JS(p, q) - log 4 <= 0`` where
    ``D* = optimal_discriminator(p, q)``: for each cell,
    ``q log(q / (p + q)) + p log(p / (p + q)) = KL(q | m) + KL(p | m) - (p + q) log 2`` with
    ``m = (p + q) / 2``, which sums to ``2 JS - log 4``.

    Parameters
    ----------
    d : array_like or torch.Tensor
        Discriminator values in ``[0, 1]`` at the grid points.
    p, q : array_like or torch.Tensor, same shape as ``d``
        Non-negative density values (or histogram masses) of the generated / data measures.
    dx : float, keyword-only
        Cell size (length, area, ...) of the grid; ``1`` for histograms.

    Returns
    -------
    float or torch.Tensor
        ``L(D)`` (``-inf`` when ``d = 0`` where ``q > 0`` or ``d = 1`` where ``p > 0``).

    Examples
    --------
    >>> p, q = [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]
    >>> v = gan_value(optimal_discriminator(p, q), p, q)
    >>> bool(abs(v - (2 * js_divergence(p, q) - math.log(4))) < 1e-15)
    True
    """
    where = f"{_MOD}.gan_value"
    if not isinstance(dx, (int, float, np.floating, np.integer)) or not (
        math.isfinite(float(dx)) and float(dx) > 0
    ):
        raise ValueError(f"{where}: 'dx' must be a positive finite number; got {dx!r}")
    vals = _gan_integrand(d, p, q, where)
    return _scalar_out(vals.sum() * float(dx), vals)


# --------------------------------------------------------------------------------------------
# Arjovsky et al.'s parallel lines
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ParallelLines(_Record):
    """Distances between ``P_0`` and ``P_theta`` of :func:`parallel_lines` (also a mapping).

    Attributes
    ----------
    theta : float, numpy.ndarray or torch.Tensor
        The offsets, as given.
    w1, js, kl : same type and shape as ``theta``
        ``|theta|``; ``log 2`` (``0`` at ``theta = 0``); ``inf`` (``0`` at ``theta = 0``).
    """

    theta: object
    w1: object
    js: object
    kl: object


def parallel_lines(theta):
    r"""Arjovsky et al. (2017), Example 1: two parallel segments at distance ``|theta|``.

    ``Z ~ U[0, 1]``, ``P_0`` the law of ``(0, Z)`` and ``P_theta`` the law of ``(theta, Z)`` in
    ``R^2``. Then

    - ``W1(P_0, P_theta) = |theta|``: the map ``(0, z) -> (theta, z)`` moves every point by
      ``|theta|`` (upper bound), and the 1-Lipschitz ``f(x) = sign(theta) x_1`` gives
      ``E f(P_theta) - E f(P_0) = |theta|`` (lower bound, Kantorovich-Rubinstein duality);
    - ``JS(P_0, P_theta) = log 2`` for ``theta != 0`` (disjoint supports, see
      :func:`js_singular`), ``0`` for ``theta = 0``;
    - ``KL(P_theta | P_0) = KL(P_0 | P_theta) = +inf`` for ``theta != 0`` (no density of one
      w.r.t. the other), ``0`` for ``theta = 0``.

    Only W1 is continuous in ``theta`` (and gives a useful gradient ``sign(theta)``): the
    lecture's argument for the WGAN.

    Parameters
    ----------
    theta : float, array_like or torch.Tensor
        Offset(s) of the second line, any shape; finite.

    Returns
    -------
    ParallelLines
        A frozen record and mapping with keys ``"theta"``, ``"w1"``, ``"js"``, ``"kl"``:
        Python floats for a scalar input, arrays of the shape of ``theta`` otherwise (tensors on
        the device/dtype of a torch ``theta``; ``w1`` is differentiable).

    Examples
    --------
    >>> r = parallel_lines(-0.5)
    >>> r["w1"], r["js"], r["kl"]
    (0.5, 0.6931471805599453, inf)
    >>> parallel_lines([0.0, 2.0])["js"]
    array([0.        , 0.69314718])
    """
    where = f"{_MOD}.parallel_lines"
    scalar = not is_torch(theta) and np.ndim(theta) == 0
    t = as_float_array(theta, "theta", where)
    if not bool(np.isfinite(to_numpy(t)).all()):
        raise ValueError(f"{where}: 'theta' must be finite; got {to_numpy(t)!r}")
    if is_torch(t):
        nz = t != 0
        w1 = t.abs()
        js = torch.where(nz, torch.full_like(t, LOG2), torch.zeros_like(t))
        kl = torch.where(nz, torch.full_like(t, math.inf), torch.zeros_like(t))
        return ParallelLines(theta=theta, w1=w1, js=js, kl=kl)
    nz = t != 0
    w1 = np.abs(t)
    js = np.where(nz, LOG2, 0.0).astype(t.dtype)
    kl = np.where(nz, np.inf, 0.0).astype(t.dtype)
    if scalar:
        return ParallelLines(theta=float(t), w1=float(w1), js=float(js), kl=float(kl))
    return ParallelLines(theta=t, w1=w1, js=js, kl=kl)


# --------------------------------------------------------------------------------------------
# W1 on a line
# --------------------------------------------------------------------------------------------


def w1_histograms(p, q, positions=None, *, rtol=1e-6):
    r"""W1 between two histograms on a line: ``sum_i |P_<=i - Q_<=i| (x_{i+1} - x_i)``.

    On the real line the optimal transport for ``c(x, y) = |x - y|`` is monotone, and
    ``W1 = int |F_P(t) - F_Q(t)| dt`` (``F`` the cumulative distribution functions). For masses
    ``p_i``, ``q_i`` at sorted positions ``x_1 <= ... <= x_n`` the integrand is constant between
    positions, which gives the formula above. It is the lecture's "piles of dirt" recursion
    (004): ``delta_0 = 0``, ``delta_{i+1} = delta_i + P_i - Q_i`` is the dirt carried from pile
    ``i`` to pile ``i + 1``, and ``W = sum_i |delta_i| (x_{i+1} - x_i)``.

    **Unnormalised piles of dirt are allowed**: ``p`` and ``q`` need only be non-negative with
    the **same total mass** ``M`` (relative tolerance ``rtol``); the result is then the work
    "amount of dirt times distance", i.e. ``M * W1(p / M, q / M)``. For probability vectors it
    is W1.

    Parameters
    ----------
    p, q : array_like or torch.Tensor, shape (n,)
        Non-negative finite masses with equal sums.
    positions : array_like or torch.Tensor, shape (n,), optional
        Locations of the bins (any order; they are sorted together with the masses). Default
        ``0, 1, ..., n - 1``.
    rtol : float, keyword-only
        Relative tolerance on ``|sum p - sum q| <= rtol * max(sum p, sum q)``.

    Returns
    -------
    float or torch.Tensor
        The transport work (W1 for probability vectors).

    Examples
    --------
    The lecture's example (``P = 3, 2, 1, 4``, ``Q = 1, 2, 4, 3``: ``delta = 2, 2, -1, 0``):

    >>> w1_histograms([3, 2, 1, 4], [1, 2, 4, 3])
    5.0
    """
    where = f"{_MOD}.w1_histograms"
    rtol = check_tol(rtol, "rtol", where)
    p, q, x = _common(where, p=p, q=q, positions=positions)
    if p.ndim != 1 or p.shape[0] == 0:
        raise ValueError(f"{where}: 'p' must have shape (n,) with n >= 1; got {tuple(p.shape)}")
    n = int(p.shape[0])
    p = check_vector(p, n, "p", where)
    q = check_vector(q, n, "q", where, match="'p'")
    _finite_nonneg(p, "p", where)
    _finite_nonneg(q, "q", where)
    with np.errstate(over="ignore"):
        sp = finite_total(float(to_numpy(p, dtype=np.float64).sum()), "p", where)
        sq = finite_total(float(to_numpy(q, dtype=np.float64).sum()), "q", where)
    if abs(sp - sq) > rtol * max(sp, sq):
        raise ValueError(
            f"{where}: 'p' and 'q' must have the same total mass (relative tolerance {rtol:g}); "
            f"got sum(p) = {sp:.10g} and sum(q) = {sq:.10g}"
        )
    if x is None:
        x = like(np.arange(n, dtype=np.float64), p)
    else:
        x = check_vector(x, n, "positions", where, match="'p'")
        if is_torch(x):
            order = torch.argsort(x, stable=True)
        else:
            order = np.argsort(x, kind="stable")
        x, p, q = x[order], p[order], q[order]
    if n == 1:
        return _scalar_out(p.sum() * 0.0, p)
    delta = (p - q).cumsum(0)[:-1]
    gaps = x[1:] - x[:-1]
    return _scalar_out((abs(delta) * gaps).sum(), p)


# --------------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------------


def _check_cov(s, d, name, where):
    """Check a finite, symmetric, PSD ``(d, d)`` covariance (symmetrised; PSD to ``sqrt(eps)``)."""
    if s.ndim == 0 and d == 1:
        s = s.reshape(1, 1)
    if tuple(s.shape) != (d, d):
        raise ValueError(
            f"{where}: {name!r} must have shape ({d}, {d}) to match the mean; got {tuple(s.shape)}"
        )
    sn = to_numpy(s, dtype=np.float64)
    if not np.isfinite(sn).all():
        raise ValueError(f"{where}: {name!r} contains NaN or inf")
    eps = float(torch.finfo(s.dtype).eps) if is_torch(s) else float(np.finfo(s.dtype).eps)
    scale = max(float(np.abs(sn).max()), np.finfo(np.float64).tiny)
    if not np.isfinite(scale * d):
        raise ValueError(
            f"{where}: {name!r} has entries up to {scale:.3g}: its trace can overflow float64; "
            "rescale the data (W2^2 scales as the square of lengths)"
        )
    asym = float(np.abs(sn - sn.T).max())
    if asym > math.sqrt(eps) * scale:
        raise ValueError(
            f"{where}: {name!r} must be symmetric (a covariance matrix); got "
            f"max |S - S^T| = {asym:.3g} (relative {asym / scale:.3g})"
        )
    lmin = float(np.linalg.eigvalsh(0.5 * (sn + sn.T)).min())
    if lmin < -math.sqrt(eps) * scale:
        raise ValueError(
            f"{where}: {name!r} must be positive semi-definite; got smallest eigenvalue "
            f"{lmin:.6g}"
        )
    return 0.5 * (s + s.T)


def _psd_root(s, eps):
    """Symmetric square root of a PSD matrix (torch), from ``eigh``.

    Eigenvalues below ``8 d eps lambda_max`` -- the size of ``eigh``'s rounding noise -- are
    exact zeros: their square roots (``~ sqrt(eps)``) would otherwise bias rank-deficient
    covariances.
    """
    lam, vec = torch.linalg.eigh(s)
    cut = 8 * s.shape[0] * eps * lam.abs().max()
    lam = torch.where(lam > cut, lam, torch.zeros_like(lam))
    return (vec * lam.sqrt()) @ vec.T


def _root_product_svd(S1, S2, eps):
    """``R1 = S1^½``, ``R2 = S2^½`` and the SVD ``R2 R1 = U diag(sig) Vh``."""
    R1, R2 = _psd_root(S1, eps), _psd_root(S2, eps)
    U, sig, Vh = torch.linalg.svd(R2 @ R1)
    return R1, R2, U, sig, Vh


class _TraceRootProduct(torch.autograd.Function):
    r"""``tr (S1^½ S2 S1^½)^½`` as the nuclear norm ``sum sigma_k(S2^½ S1^½)``, with its gradient.

    The singular values of ``K = S2^½ S1^½`` are the square roots of the eigenvalues of
    ``K^T K = S1^½ S2 S1^½``, so the trace is ``sum_k sigma_k``: no square root of a computed
    eigenvalue of the product (whose rounding noise ``eps`` would become ``sqrt(eps)``).
    Gradient: with ``M = S2^½ S1 S2^½ = K K^T = U diag(sigma^2) U^T``,
    ``d tr M^½ = tr(M^-½ dM) / 2``, hence ``grad_S1 = S2^½ U diag(1/sigma) U^T S2^½ / 2``
    (``= S2^½ M^-½ S2^½ / 2``), and symmetrically ``grad_S2 = S1^½ V diag(1/sigma) V^T S1^½ / 2``.
    These do not depend on the choice of eigenvectors, so repeated eigenvalues (isotropic
    covariances) are no special case -- unlike autograd through ``eigh``, whose backward divides
    by eigenvalue gaps. Where ``M`` is singular the trace is not differentiable (its derivative
    is infinite in directions that raise the rank); ``1/sigma`` is then replaced by 0 for the
    zero singular values (the derivative along perturbations that keep the ranges).
    """

    @staticmethod
    def forward(ctx, S1, S2, eps):
        R1, R2, U, sig, Vh = _root_product_svd(S1, S2, eps)
        ctx.save_for_backward(R1, R2, U, sig, Vh)
        ctx.eps = eps
        return sig.sum()

    @staticmethod
    def backward(ctx, grad):
        R1, R2, U, sig, Vh = ctx.saved_tensors
        cut = 8 * sig.shape[0] * ctx.eps * sig.max()
        inv = torch.where(sig > cut, 1.0 / sig.clamp_min(torch.finfo(sig.dtype).tiny),
                          torch.zeros_like(sig))
        V = Vh.T
        g1 = 0.5 * R2 @ (U * inv) @ U.T @ R2
        g2 = 0.5 * R1 @ (V * inv) @ V.T @ R1
        return grad * g1, grad * g2, None


def frechet_distance(m1, S1, m2, S2):
    r"""W2 squared between Gaussians: ``||m1 - m2||^2 + tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½)``.

    The Fréchet distance of Dowson & Landau (1982) (also Olkin & Pukelsheim 1982; Givens &
    Shortt 1984), squared: the quadratic optimal transport cost (``c = ||x - y||^2``) between
    ``N(m1, S1)`` and ``N(m2, S2)``; the FID of Heusel et al. (2017) applies it to fitted
    feature statistics. Sketch: the means separate (``E||X - Y||^2 = ||m1 - m2||^2 +``
    ``E||X0 - Y0||^2`` for the centred parts); among couplings, the maximum of
    ``E <X0, Y0> = tr C`` over cross-covariances ``C`` keeping the joint covariance PSD is
    ``tr (S1^½ S2 S1^½)^½``, attained by the linear map
    ``T = S1^-½ (S1^½ S2 S1^½)^½ S1^-½``. In 1D: ``(m1 - m2)^2 + (s1 - s2)^2`` with ``s``
    the standard deviations; for commuting ``S1``, ``S2``: ``||S1^½ - S2^½||_F^2``.

    Numerics: ``S1^½`` and ``S2^½`` from symmetric eigendecompositions (``eigh``), eigenvalues
    below ``8 d eps lambda_max`` (``eigh``'s rounding noise) set to exactly 0; then
    ``tr (S1^½ S2 S1^½)^½`` is the sum of the singular values of ``S2^½ S1^½`` (the nuclear
    norm): no square root is taken of a rounding-noise eigenvalue, so rank-deficient
    covariances (fewer samples than dimensions) are exact to rounding, not to ``sqrt(eps)``.
    Never a non-symmetric ``sqrtm``, no complex parts. The result is clipped at 0.

    Parameters
    ----------
    m1 : array_like or torch.Tensor, shape (d,) (a scalar for d = 1)
        Mean of the first Gaussian.
    S1 : array_like or torch.Tensor, shape (d, d) (a scalar variance for d = 1)
        Its covariance: finite, real, symmetric and positive semi-definite (up to ``sqrt(eps)``
        relative tolerances; it is symmetrised).
    m2, S2 : as ``m1``, ``S1``
        Mean and covariance of the second Gaussian.

    Returns
    -------
    float or torch.Tensor
        ``W2^2(N(m1, S1), N(m2, S2)) >= 0`` (0-d tensor for torch inputs). Differentiable in all
        four arguments wherever ``S1^½ S2 S1^½`` is non-singular, repeated eigenvalues included:
        ``grad_S1 = I - S2^½ (S2^½ S1 S2^½)^-½ S2^½`` (``I - T`` with ``T`` the optimal map),
        written in closed form rather than through ``eigh``'s backward. Where the product is
        singular the value is not differentiable; the gradient returned there is that of the
        directions that keep the ranges (see ``_TraceRootProduct``).

    Raises
    ------
    TypeError
        Complex, half-precision or non-numeric inputs.
    ValueError
        Shapes that disagree, NaN/inf, non-symmetric or indefinite covariances, entries so
        large that their products overflow.

    Examples
    --------
    >>> frechet_distance([0.0], [[4.0]], [3.0], [[1.0]])  # (0 - 3)^2 + (2 - 1)^2
    10.0
    >>> import numpy as np  # rank-deficient and commuting: ||S1^½ - S2^½||_F^2 = 1 + 1
    >>> frechet_distance(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([0.0, 1.0]))
    2.0
    """
    where = f"{_MOD}.frechet_distance"
    m1, S1, m2, S2 = _common(where, m1=m1, S1=S1, m2=m2, S2=S2)
    if m1.ndim == 0:
        m1 = m1.reshape(1)
    if m1.ndim != 1 or m1.shape[0] == 0:
        raise ValueError(f"{where}: 'm1' must have shape (d,); got {tuple(m1.shape)}")
    d = int(m1.shape[0])
    m1 = check_vector(m1, d, "m1", where)
    m2 = check_vector(m2, d, "m2", where, match="'m1'")
    S1 = _check_cov(S1, d, "S1", where)
    S2 = _check_cov(S2, d, "S2", where)
    if is_torch(S1):
        eps = float(torch.finfo(S1.dtype).eps)
        cross = _TraceRootProduct.apply(S1, S2, eps)
        dm = m1 - m2
        val = (dm * dm).sum() + torch.trace(S1) + torch.trace(S2) - 2.0 * cross
        return val.clamp_min(0.0)
    eps = float(np.finfo(S1.dtype).eps)
    t1, t2 = torch.from_numpy(np.ascontiguousarray(S1)), torch.from_numpy(np.ascontiguousarray(S2))
    cross = float(_root_product_svd(t1, t2, eps)[3].sum())
    dm = m1 - m2
    val = float(dm @ dm + np.trace(S1) + np.trace(S2) - 2.0 * cross)
    return max(val, 0.0)


# --------------------------------------------------------------------------------------------
# Exercise 1: semi-discrete W1 from the uniform measure on a square to three atoms
# --------------------------------------------------------------------------------------------

_EX1_Y = ((2.0, 0.0), (-1.0, 1.0), (-1.0, -1.0))
_EX1_NU = (0.5, 0.25, 0.25)
_QUAD = {"epsabs": 1e-13, "epsrel": 1e-13, "limit": 400}


def _ex1_f(x1, s):
    """``||x - y1|| - ||x - y2||`` at ``x = (x1, s)``: strictly decreasing in ``x1 in [-1, 1]``."""
    return math.hypot(x1 - 2.0, s) - math.hypot(x1 + 1.0, s - 1.0)


def _ex1_split(s, t):
    """Abscissa ``x*(s)`` splitting the line ``x2 = s`` (upper half) into cell 2 | cell 1."""
    h = 1.0 - s
    if _ex1_f(h, s) > -t:  # even the right end is in cell 2
        return h
    if _ex1_f(-h, s) <= -t:  # even the left end is in cell 1
        return -h
    return optimize.brentq(lambda x: _ex1_f(x, s) + t, -h, h, xtol=1e-15, rtol=1e-15,
                           maxiter=200)


def _ex1_breakpoints(t):
    """Heights ``s`` where the cell boundary meets the square's edges (kinks of the integrands)."""
    grid = np.linspace(0.0, 1.0, 257)
    out = []
    for sign in (1.0, -1.0):
        def g(s, sign=sign):
            return _ex1_f(sign * (1.0 - s), s) + t

        vals = [g(s) for s in grid]
        for i in range(len(grid) - 1):
            if vals[i] == 0.0:
                out.append(grid[i])
            elif vals[i] * vals[i + 1] < 0:
                out.append(optimize.brentq(g, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
    return sorted(s for s in out if 0.0 < s < 1.0)


def _sqrt_antiderivative(u, b):
    """Evaluate an antiderivative in ``u`` of ``sqrt(u^2 + b^2)``."""
    r = math.hypot(u, b)
    extra = b * b * math.asinh(u / abs(b)) if b != 0.0 else 0.0
    return 0.5 * (u * r + extra)


def _quad(fun, pts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(fun, 0.0, 1.0, points=pts or None, **_QUAD)
    return val


def _ex1_mass1(t):
    """``mu(L_1)`` for ``psi = (0, t, t)``: the area of ``L_1`` in the upper half triangle."""
    pts = _ex1_breakpoints(t)
    return _quad(lambda s: (1.0 - s) - _ex1_split(s, t), pts)


def _ex1_cost_and_mass2(t):
    """Transport cost ``int ||x - T(x)|| dmu`` and ``mu(L_2)`` for ``psi = (0, t, t)``."""
    pts = _ex1_breakpoints(t)

    def cost(s):
        xs, h = _ex1_split(s, t), 1.0 - s
        to_y1 = _sqrt_antiderivative(h - 2.0, s) - _sqrt_antiderivative(xs - 2.0, s)
        to_y2 = _sqrt_antiderivative(xs + 1.0, s - 1.0) - _sqrt_antiderivative(1.0 - h, s - 1.0)
        return to_y1 + to_y2

    # density 1/2 on the square (area 2); the two halves are mirror images: total = upper half
    w1 = _quad(cost, pts)
    mass2 = 0.5 * _quad(lambda s: _ex1_split(s, t) + (1.0 - s), pts)
    return w1, mass2


@functools.lru_cache(maxsize=1)
def _ex1_solve():
    lim = math.sqrt(10.0)  # |t| >= ||y1 - y2|| empties a cell
    t = optimize.brentq(lambda t: _ex1_mass1(t) - 0.5, -lim, lim, xtol=1e-15, rtol=1e-15,
                        maxiter=200)
    m1 = _ex1_mass1(t)
    w1, m2 = _ex1_cost_and_mass2(t)
    return t, w1, m1, m2


@dataclass(frozen=True, eq=False)
class Exercise1(_Record):
    """Solution of the WGAN lecture's Exercise 1 (also a read-only mapping).

    Attributes
    ----------
    js : float
        ``JS(mu, nu) = log 2``.
    w1 : float
        ``W1(mu, nu)`` (Euclidean cost).
    psi : numpy.ndarray, shape (3,)
        Optimal dual weights on ``y``, normalised by ``psi[0] = 0`` (``psi[1] == psi[2]``).
    masses : numpy.ndarray, shape (3,)
        ``mu``-masses of the Laguerre cells of ``psi`` (equal to ``nu`` up to ~1e-13).
    y : numpy.ndarray, shape (3, 2)
        The atoms ``(2, 0), (-1, 1), (-1, -1)``.
    nu : numpy.ndarray, shape (3,)
        Their masses ``1/2, 1/4, 1/4``.
    """

    js: float
    w1: float
    psi: np.ndarray
    masses: np.ndarray
    y: np.ndarray
    nu: np.ndarray


def exercise_1():
    r"""Solve the WGAN lecture's Exercise 1 (file 002): JS and W1 from a square to three atoms.

    ``mu`` is uniform on the square with vertices ``(0, ±1), (±1, 0)`` (that is
    ``|x1| + |x2| <= 1``: area 2, density 1/2); ``nu = 1/2 δ(2, 0) + 1/4 δ(-1, 1) +
    1/4 δ(-1, -1)``; cost ``c(x, y) = ||x - y||``.

    **JS.** ``nu`` is atomic and ``mu`` has a density: they are mutually singular, so
    ``JS(mu, nu) = log 2`` (:func:`js_singular`).

    **W1.** Semi-discrete OT (lecture 002; Kitagawa, Mérigot & Thibert 2019):
    ``W1 = max_psi H(psi)``, ``H(psi) = int psi^c dmu + sum_j nu_j psi_j`` with
    ``psi^c(x) = min_j ||x - y_j|| - psi_j``; ``H`` is concave with
    ``dH/dpsi_j = nu_j - mu(L_j(psi))``, so the maximiser is the ``psi`` whose Laguerre cells
    ``L_j(psi) = {x : ||x - y_j|| - psi_j <= ||x - y_k|| - psi_k  for all k}`` carry the masses
    ``nu_j``, and then ``W1 = H(psi) = sum_j int_{L_j} ||x - y_j|| dmu`` (the map ``x -> y_j``
    on ``L_j`` is optimal). Cell boundaries are branches of hyperbolas with foci ``y_j, y_k``.

    *Symmetry.* The reflection ``x2 -> -x2`` preserves ``mu`` and swaps ``y2``, ``y3`` (equal
    masses), so it maps maximisers of the concave ``H`` to maximisers; the maximiser is unique
    up to an additive constant (``mu`` has a positive density on a connected set), hence
    ``psi_2 = psi_3 =: t`` once ``psi_1 = 0``. Then ``L_2 ∪ L_3`` is split by the axis
    ``x2 = 0`` and, in the upper half, ``L_1 = {x : f(x) <= -t}`` with
    ``f(x) = ||x - y1|| - ||x - y2||``.

    *Exact per-line geometry.* On a horizontal line ``x2 = s in [0, 1]`` (``x1 in [-(1-s),
    1-s]``), ``d f / d x1 = (x1 - 2)/||x - y1|| - (x1 + 1)/||x - y2|| < 0``: the hyperbola
    crosses the line at most once, at the root ``x*(s)`` of ``f(., s) = -t`` (a root of a
    quadratic after squaring twice; here found by bracketed Brent iterations to 1e-15), with
    cell 2 on its left and cell 1 on its right. The inner integrals are then exact:
    ``mu(L_1) = int_0^1 (1 - s - x*(s)) ds`` and the transport cost uses the antiderivative
    ``int sqrt(u^2 + b^2) du = (u sqrt(u^2 + b^2) + b^2 asinh(u / |b|)) / 2``. The outer
    integral over ``s`` is done by adaptive Gauss-Kronrod quadrature (``scipy.integrate.quad``,
    tolerances 1e-13) with the heights where the hyperbola meets the square's edges as
    breakpoints (the only kinks). The one equation ``mu(L_1(t)) = 1/2`` (``mu(L_1)`` is
    decreasing in ``t``, from 1 at ``t = -sqrt 10`` to 0 at ``t = sqrt 10``) is solved by Brent's
    method to 1e-15; since ``H`` is stationary at the optimum, ``W1`` is accurate to ~1e-13.

    Returns
    -------
    Exercise1
        Mapping with ``"js"``, ``"w1"``, ``"psi"`` (``psi[0] = 0``), ``"masses"``, ``"y"``,
        ``"nu"``. Values: ``W1 ≈ 1.34174181138``, ``psi ≈ (0, -0.902623199109,
        -0.902623199109)``.

    Examples
    --------
    >>> r = exercise_1()
    >>> round(r["w1"], 9), r["js"] == LOG2
    (1.341741811, True)
    """
    t, w1, m1, m2 = _ex1_solve()
    return Exercise1(
        js=js_singular(),
        w1=float(w1),
        psi=np.array([0.0, t, t]),
        masses=np.array([m1, m2, m2]),
        y=np.array(_EX1_Y),
        nu=np.array(_EX1_NU),
    )


# --------------------------------------------------------------------------------------------
# Exercise 2: quadratic OT from a segment to two atoms
# --------------------------------------------------------------------------------------------


def exercise_2(a, b):
    r"""Solve the WGAN lecture's Exercise 2, question 1: ``W(mu_theta, nu)`` in closed form.

    ``mu_theta`` is uniform on the segment ``[a, b]`` of ``R^2`` (a Dirac at ``a`` when
    ``a = b``), ``nu = 1/2 δ(-1, 0) + 1/2 δ(1, 0)``, ``c(x, y) = ||x - y||^2``. Then

    .. math:: W(\mu_\theta, \nu) = \frac{\|a\|^2 + \langle a, b\rangle + \|b\|^2}{3} + 1
              - \frac{|b_1 - a_1|}{2}.

    *Derivation.* For any coupling of ``X ~ mu_theta`` and ``Y ~ nu``,
    ``E||X - Y||^2 = E||X||^2 + E||Y||^2 - 2 E[X1 Y1] = E||X||^2 + 1 - 2 E[X1 Y1]`` (``Y2 = 0``,
    ``||Y|| = 1``). With ``Y1 = ±1`` each with probability 1/2, ``E[X1 Y1]`` is largest when
    ``Y1 = +1`` on the upper half of ``X1``'s law: ``max E[X1 Y1] = E|X1 - med X1|``. This is the
    semi-discrete picture: ``||x - y1||^2 - psi_1 = ||x - y2||^2 - psi_2`` is the vertical line
    ``x1 = c = (psi_1 - psi_2) / 4``, the part of the segment left of it goes to ``(-1, 0)``,
    the rest to ``(1, 0)``, and ``c`` is the median of ``X1``, ``c = (a1 + b1) / 2``
    (optimal ``psi = (0, -2 (a1 + b1))``). With ``X = a + U (b - a)``, ``U ~ U[0, 1]``:
    ``E||X||^2 = (||a||^2 + <a, b> + ||b||^2) / 3`` and ``E|X1 - c| = |b1 - a1| E|U - 1/2| =``
    ``|b1 - a1| / 4``. Every case is covered by the same formula: for a vertical segment
    (``a1 = b1``) every split into two halves is optimal and ``W = E||X||^2 + 1``; for ``a = b``,
    ``W = ||a||^2 + 1``.

    Parameters
    ----------
    a, b : array_like or torch.Tensor, shape (2,)
        End points of the segment (finite).

    Returns
    -------
    float or torch.Tensor
        The optimal quadratic cost (W2 squared); a 0-d tensor for torch inputs, differentiable
        in ``a`` and ``b`` (except at ``a1 = b1``).

    Examples
    --------
    >>> exercise_2([-1.5, 0.0], [1.5, 0.0])
    0.25
    >>> exercise_2([0.0, 0.0], [0.0, 0.0])  # a Dirac at the origin
    1.0
    """
    where = f"{_MOD}.exercise_2"
    a, b = _common(where, a=a, b=b)
    a = check_vector(a, 2, "a", where)
    b = check_vector(b, 2, "b", where, match="a point of R^2")
    val = (a @ a + a @ b + b @ b) / 3.0 + 1.0 - 0.5 * abs(b[0] - a[0])
    return _scalar_out(val, a)


@dataclass(frozen=True, eq=False)
class Exercise2Argmin(_Record):
    """Minimiser of Exercise 2 (also a read-only mapping).

    Attributes
    ----------
    a, b : numpy.ndarray, shape (2,)
        One minimising pair of end points: ``(-3/2, 0)`` and ``(3/2, 0)``.
    value : float
        The minimal cost ``1/4``.
    minimizers : tuple
        All minimising ``(a, b)`` pairs: the segment is unique, its orientation is not.
    """

    a: np.ndarray
    b: np.ndarray
    value: float
    minimizers: tuple


def exercise_2_argmin():
    r"""Solve the WGAN lecture's Exercise 2, question 2: ``min_theta W(mu_theta, nu)``.

    From :func:`exercise_2`, with ``p = a1 + b1`` and ``d = |b1 - a1|``:
    ``a1^2 + a1 b1 + b1^2 = (3 p^2 + d^2) / 4``, so

    .. math:: W = \frac{p^2}{4} + \frac{d^2}{12} - \frac{d}{2} + 1
                  + \frac{a_2^2 + a_2 b_2 + b_2^2}{3}.

    The last term is a positive definite quadratic form (zero iff ``a2 = b2 = 0``); the rest is
    minimal at ``p = 0`` and ``d = 3``. Hence ``min W = 1 - 3/4 = 1/4``, attained exactly at the
    segment ``[(-3/2, 0), (3/2, 0)]``: two minimising ``theta = (a, b)`` (the two orientations),
    one segment. Check: each half ``[-3/2, 0]`` is sent to ``-1`` at cost
    ``Var + bias^2 = 3/16 + 1/16 = 1/4``. (The infimum is attained, unlike ``nu`` itself, which is
    not a segment.)

    Returns
    -------
    Exercise2Argmin
        Mapping with ``"a"`` = ``(-1.5, 0)``, ``"b"`` = ``(1.5, 0)``, ``"value"`` = ``0.25`` and
        ``"minimizers"`` (both orientations).

    Examples
    --------
    >>> r = exercise_2_argmin()
    >>> r["value"], r["a"], r["b"]
    (0.25, array([-1.5,  0. ]), array([1.5, 0. ]))
    """
    a = np.array([-1.5, 0.0])
    b = np.array([1.5, 0.0])
    return Exercise2Argmin(
        a=a, b=b, value=0.25, minimizers=((a.copy(), b.copy()), (b.copy(), a.copy()))
    )
