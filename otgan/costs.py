"""Ground costs ``c(x, y)`` as small objects.

Every cost offers three operations, on numpy arrays or torch tensors (the result follows the input):

- ``cost(x, y)``: pairwise values, ``(n, d), (m, d) -> (n, m)``;
- ``cost.matched(x, y)``: row-matched values ``c(x_i, y_i)``, ``(n, d), (n, d) -> (n,)``;
- ``cost.grad_x(x, y)``: row-matched gradient in ``x``, ``(n, d), (n, d) -> (n, d)``.

Conventions (the factor matters: it changes Laguerre weights):

- :class:`SquaredEuclidean` is ``||x - y||^2`` (as POT's ``ot.dist``), *not* ``||x - y||^2 / 2``
  (GeomLoss's ``p=2``). Its optimal transport cost is W2 squared.
- :class:`Euclidean` is ``||x - y||`` (W1). It is not differentiable at ``x = y``; there ``grad_x``
  returns ``0``, the minimal-norm element of the subdifferential (the unit ball), and autograd
  through ``matched`` returns the same.
- :class:`PowerEuclidean` is ``||x - y||^p`` for ``p >= 1``; at ``x = y`` its gradient is ``0``.

The strings ``"sqeuclidean"`` and ``"euclidean"`` are accepted wherever a cost is
(see :func:`get_cost`).

Examples
--------
>>> import numpy as np
>>> from otgan.costs import SquaredEuclidean
>>> c = SquaredEuclidean()
>>> c(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 2.0]]))
array([[1., 4.]])
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ._utils import check_points, is_torch

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override

__all__ = ["Cost", "Euclidean", "PowerEuclidean", "SquaredEuclidean", "get_cost"]

# Up to this dimension pairwise squared distances are accumulated from coordinate differences,
# which is exact; above, the Gram expansion ``|x|^2 + |y|^2 - 2 x.y`` (a matrix product) is used.
_DIRECT_DIM = 8


def _sqdist_pairwise(x, y):
    """``||x_i - y_j||^2`` for all pairs, numpy or torch.

    In dimension ``d <= 8`` the differences are accumulated coordinate by coordinate (exact up to
    rounding of each term, memory ``n * m``); above, the Gram expansion is used (one matrix
    product, relative error ``~ eps (|x|^2 + |y|^2) / ||x - y||^2``), clamped at zero.
    """
    d = x.shape[1]
    if d <= _DIRECT_DIM:
        out = None
        for k in range(d):
            diff = x[:, k, None] - y[None, :, k]
            out = diff * diff if out is None else out + diff * diff
        return out
    if is_torch(x):
        xx = (x * x).sum(1, keepdim=True)
        yy = (y * y).sum(1)[None, :]
        out = torch.addmm(xx + yy, x, y.T, alpha=-2.0)
        return out.clamp_min_(0.0) if not out.requires_grad else out.clamp_min(0.0)
    xx = np.einsum("ij,ij->i", x, x)[:, None]
    yy = np.einsum("ij,ij->i", y, y)[None, :]
    out = xx + yy
    out -= 2.0 * (x @ y.T)
    np.maximum(out, 0.0, out=out)
    return out


def _sqdist_matched(x, y):
    diff = x - y
    return (diff * diff).sum(-1)


def _safe_norm(sq):
    """``sqrt(sq)`` with a zero gradient (not NaN) where ``sq == 0``."""
    if is_torch(sq):
        pos = sq > 0
        root = torch.sqrt(torch.where(pos, sq, torch.ones_like(sq)))
        return torch.where(pos, root, torch.zeros_like(sq))
    return np.sqrt(sq)


def _safe_pow(sq, half_p):
    """``sq ** half_p`` with a zero gradient at ``sq == 0`` (``half_p >= 1/2``)."""
    if is_torch(sq):
        pos = sq > 0
        val = torch.where(pos, sq, torch.ones_like(sq)) ** half_p
        return torch.where(pos, val, torch.zeros_like(sq))
    return sq**half_p


class Cost:
    """Base class of ground costs; subclasses implement :meth:`from_sqdist` and :meth:`grad_x`.

    All provided costs are radial, ``c(x, y) = f(||x - y||^2)`` with ``f`` non-decreasing.
    """

    name = "cost"
    #: exponent p in ``||x - y||^p`` (the c-transform is 1-Lipschitz for p = 1)
    p: float = 2.0

    def from_sqdist(self, sq):
        """Evaluate the cost from squared distances, elementwise.

        Parameters
        ----------
        sq : numpy.ndarray or torch.Tensor
            Squared distances ``||x - y||^2`` (any shape).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            ``f(sq)``, of the shape and library of ``sq`` (differentiable, with a zero
            gradient where ``sq == 0``).
        """
        raise NotImplementedError

    def __call__(self, x, y):
        """Pairwise costs ``C[i, j] = c(x_i, y_j)``: ``(n, d), (m, d) -> (n, m)``."""
        x = check_points(x, "x", f"{self.name}")
        y = check_points(y, "y", f"{self.name}", dim=x.shape[1])
        return self.from_sqdist(_sqdist_pairwise(x, y))

    def matched(self, x, y):
        """Evaluate the row-matched costs ``c(x_i, y_i)`` (differentiable).

        Parameters
        ----------
        x, y : numpy.ndarray or torch.Tensor, shape (n, d)
            Points, matched by rows.

        Returns
        -------
        numpy.ndarray or torch.Tensor, shape (n,)
            The costs, in the library of ``x``.
        """
        return self.from_sqdist(_sqdist_matched(x, y))

    def grad_x(self, x, y):
        """Evaluate the row-matched gradient ``grad_x c(x_i, y_i)``.

        Parameters
        ----------
        x, y : numpy.ndarray or torch.Tensor, shape (n, d)
            Points, matched by rows.

        Returns
        -------
        numpy.ndarray or torch.Tensor, shape (n, d)
            The gradients (the minimal-norm subgradient where the cost is not differentiable).
        """
        raise NotImplementedError

    @property
    def is_quadratic(self) -> bool:
        """Whether this is ``||x - y||^2`` (power cells: :mod:`otgan.laguerre`)."""
        return self.p == 2.0

    @property
    def is_euclidean(self) -> bool:
        """Whether this is ``||x - y||`` (W1; Apollonius cells: :mod:`otgan.laguerre`)."""
        return self.p == 1.0

    def __repr__(self):
        """``ClassName()``."""
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        """Compare exponents: ``Euclidean() == PowerEuclidean(1)`` (the same radial cost)."""
        return isinstance(other, Cost) and self.p == other.p

    def __hash__(self):
        """Hash of the exponent, consistent with ``==``."""
        return hash(("power", self.p))


class SquaredEuclidean(Cost):
    """Quadratic cost ``c(x, y) = ||x - y||^2`` (no factor 1/2); its OT cost is W2 squared.

    ``grad_x c(x, y) = 2 (x - y)``, so ``||grad psi^c(x)|| = 2 ||x - T_psi(x)||``.
    """

    name = "sqeuclidean"
    p = 2.0

    @override
    def from_sqdist(self, sq):
        return sq

    @override
    def grad_x(self, x, y):
        return 2.0 * (x - y)


class Euclidean(Cost):
    """Distance cost ``c(x, y) = ||x - y||`` (W1; Laguerre cells with hyperbolic boundaries).

    ``grad_x c(x, y) = (x - y) / ||x - y||`` (unit norm, the gradient-penalty justification);
    at ``x = y`` the cost is not differentiable and ``0`` is returned (minimal-norm subgradient).
    """

    name = "euclidean"
    p = 1.0

    @override
    def from_sqdist(self, sq):
        return _safe_norm(sq)

    @override
    def grad_x(self, x, y):
        diff = x - y
        norm = _safe_norm(_sqdist_matched(x, y))
        if is_torch(diff):
            scale = torch.where(norm > 0, 1.0 / torch.where(norm > 0, norm, 1.0), 0.0)
        else:
            with np.errstate(divide="ignore"):
                scale = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0)
        return diff * scale[:, None]


class PowerEuclidean(Cost):
    """Power cost ``c(x, y) = ||x - y||^p`` for ``p >= 1``.

    ``grad_x c(x, y) = p ||x - y||^(p - 2) (x - y)``, and ``0`` at ``x = y``.
    ``PowerEuclidean(1)`` equals :class:`Euclidean`, ``PowerEuclidean(2)`` equals
    :class:`SquaredEuclidean` (same values; the objects compare equal).

    Parameters
    ----------
    p : float
        The exponent, finite and at least 1 (the cost must be convex).
    """

    name = "power"

    def __init__(self, p: float):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not np.isfinite(p):
            raise TypeError(f"PowerEuclidean: 'p' must be a finite real number; got {p!r}")
        if p < 1:
            raise ValueError(
                f"PowerEuclidean: 'p' must be >= 1 (the cost must be convex); got p = {p}"
            )
        self.p = float(p)
        self.name = f"power(p={self.p:g})"

    @override
    def from_sqdist(self, sq):
        if self.p == 2.0:
            return sq
        return _safe_pow(sq, self.p / 2.0)

    @override
    def grad_x(self, x, y):
        diff = x - y
        sq = _sqdist_matched(x, y)
        if self.p == 2.0:
            return 2.0 * diff
        if is_torch(diff):
            pos = sq > 0
            scale = torch.where(pos, torch.where(pos, sq, 1.0) ** (self.p / 2.0 - 1.0), 0.0)
        else:
            pos = sq > 0
            scale = np.where(pos, np.where(pos, sq, 1.0) ** (self.p / 2.0 - 1.0), 0.0)
        return self.p * diff * scale[:, None]

    def __repr__(self):
        """``PowerEuclidean(p=...)``."""
        return f"PowerEuclidean(p={self.p:g})"

_NAMES = {
    "sqeuclidean": SquaredEuclidean,
    "euclidean": Euclidean,
}


def get_cost(cost) -> Cost:
    """Resolve ``cost`` to a :class:`Cost`.

    Parameters
    ----------
    cost : Cost or str
        A cost object (returned as is), or ``"sqeuclidean"`` / ``"euclidean"`` (any case).

    Returns
    -------
    Cost
        The cost.

    Raises
    ------
    ValueError
        For an unknown string.
    TypeError
        For anything else.
    """
    if isinstance(cost, Cost):
        return cost
    if isinstance(cost, str):
        key = cost.lower()
        if key in _NAMES:
            return _NAMES[key]()
        raise ValueError(
            f"unknown 'cost' {cost!r}; expected 'sqeuclidean', 'euclidean', or a Cost object "
            "such as otgan.costs.PowerEuclidean(p)"
        )
    raise TypeError(
        f"'cost' must be a string ('sqeuclidean', 'euclidean') or an otgan.costs.Cost; "
        f"got {type(cost).__name__}"
    )
