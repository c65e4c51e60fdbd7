r"""The c-transform, its argmin map, and the semi-dual of semi-discrete optimal transport.

For a potential :math:`\psi \in \mathbf{R}^J` on sites :math:`y_1, \dots, y_J` the c-transform is

.. math:: \psi^c(x) = \min_j \; c(x, y_j) - \psi_j ,

its argmin :math:`T_\psi(x)` is the transport map of the Laguerre cells
:math:`L_\psi(y_j) = T_\psi^{-1}(y_j)`, and the semi-dual of the OT problem between a source
:math:`\mu` (here the weighted points :math:`\sum_i a_i \delta_{x_i}`) and :math:`\nu = \sum_j \nu_j
\delta_{y_j}` is

.. math:: H(\psi) = \sum_i a_i \psi^c(x_i) + \sum_j \nu_j \psi_j ,
   \qquad \frac{\partial H}{\partial \psi_j} = \nu_j - \mu(L_\psi(y_j)) .

``H`` is concave and ``H(psi) <= W_c(mu, nu)`` for every ``psi`` (weak duality), with equality at
the optimum (strong duality).

This module is otgan's one numerical kernel: Laguerre assignment, the semi-discrete solvers, the
semi-discrete WGAN critic and the demos' landscapes all call :func:`c_transform`.

Implementation
--------------
- The argmin is computed without autograd, in blocks sized from a memory budget (``memory``, in
  bytes), so an ``n x m`` cost matrix is never built when it does not fit: 10^6 queries against
  10^5 sites run in a few hundred MB.
- Quadratic cost in low dimension (``method="kdtree"``; the default on the CPU for ``d <= 3``):
  with ``M >= max_j psi_j``, ``||x - y_j||^2 - psi_j = ||(x, 0) - (y_j, h_j)||^2 - M`` where
  ``h_j = sqrt(M - psi_j)``, so the argmin is the nearest neighbour of ``(x, 0)`` among the lifted
  points ``(y_j, h_j)``: one :class:`scipy.spatial.cKDTree` query, exact up to rounding.
- Values are then recomputed as ``c(x_i, y_{T(i)}) - psi_{T(i)}`` from the coordinates, which is
  exact and differentiable: through torch autograd, ``grad_x psi^c(x) = grad_x c(x, T_psi(x))`` and
  ``grad_psi`` is minus the indicator of the cell (Danskin's theorem; ties are measure-zero).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from ._certified import certified_argmin
from ._utils import (
    check_int,
    check_points,
    check_vector,
    check_weights,
    common_library,
    is_torch,
    to_numpy,
)
from .costs import _DIRECT_DIM, _sqdist_pairwise, get_cost  # the shared pairwise kernels

__all__ = [
    "DEFAULT_MEMORY",
    "c_bar_transform",
    "c_transform",
    "cell_masses",
    "semi_dual",
    "semi_dual_gradient",
]

#: default memory budget (bytes) for one block of the cost matrix and its temporaries
DEFAULT_MEMORY = 256 * 2**20

_METHODS = ("auto", "kdtree", "brute", "certified")


def _check_memory(memory, where):
    if memory is None:
        return DEFAULT_MEMORY
    return check_int(memory, "memory", where)


def _resolve_method(method, cost, x, n_sites, where):
    if method not in _METHODS:
        raise ValueError(f"{where}: 'method' must be one of {_METHODS}; got {method!r}")
    quadratic = cost.p == 2.0
    if method in ("kdtree", "certified") and not quadratic:
        raise ValueError(
            f"{where}: method={method!r} needs the quadratic cost ('sqeuclidean'); got {cost!r}. "
            "Use method='brute' (or 'auto')"
        )
    if method == "auto":
        on_cpu = not is_torch(x) or x.device.type == "cpu"
        # numpy's blocked product beats building a tree for tiny problems (measured: 256 x 512)
        tiny = not is_torch(x) and x.shape[0] * n_sites < 2**17
        method = "kdtree" if (quadratic and on_cpu and x.shape[1] <= 3 and not tiny) else "brute"
    return method


def _argmin_kdtree(psi, y, x):
    """Exact argmin of ``||x - y_j||^2 - psi_j`` by a nearest-neighbour query in the lift."""
    psi_np = to_numpy(psi, dtype=np.float64)
    y_np = to_numpy(y, dtype=np.float64)
    x_np = to_numpy(x, dtype=np.float64)
    height = np.sqrt(psi_np.max() - psi_np)
    tree = cKDTree(np.column_stack([y_np, height]), balanced_tree=False, compact_nodes=False)
    query = np.column_stack([x_np, np.zeros(len(x_np))])
    # threads cost more than they save on small batches (measured in ASGD with batch 64)
    _, idx = tree.query(query, k=1, workers=-1 if len(query) >= 2**14 else 1)
    return idx.astype(np.int64, copy=False)


def _block_scores(xb, yb, psi_b, ysq_b, cost):
    """``c(x_i, y_j) - psi_j`` for one block (no autograd), up to a per-row constant.

    Quadratic cost: ``||x||^2`` does not change the argmin, so the block is one matrix product
    ``(||y_j||^2 - psi_j) - 2 x.y_j``. Other costs in dimension ``<= 8``: squared distances
    accumulated from coordinate differences (exact near ``x = y``, where ``sqrt`` would magnify
    the rounding of a Gram expansion); above, the Gram expansion.
    """
    torch_in = is_torch(xb)
    if cost.p == 2.0:
        if torch_in:
            return torch.addmm(ysq_b - psi_b, xb, yb.T, alpha=-2.0)
        block = xb @ (-2.0 * yb.T)
        block += ysq_b - psi_b
        return block
    if xb.shape[1] <= _DIRECT_DIM:
        sq = None
        for k in range(xb.shape[1]):
            diff = xb[:, k, None] - yb[None, :, k]
            diff *= diff
            if sq is None:
                sq = diff
            else:
                sq += diff
    else:
        sq = _sqdist_pairwise(xb, yb)
    block = cost.from_sqdist(sq)
    block -= psi_b
    return block


#: the smallest block side: a budget below ``_MIN_BLOCK**2`` entries would only add Python
#: iterations (one per block), not save memory that matters
_MIN_BLOCK = 64


def _block_shape(n, m, entry_bytes, memory):
    """Rows and columns ``(bn, bm)`` of one block of the ``n x m`` score matrix.

    Its entries (with their temporaries) take ``entry_bytes``: about ``memory`` bytes, columns
    first (up to ``memory / (64 entry_bytes)``), and never smaller than ``64 x 64`` (or the whole
    matrix), so that a tiny budget stays vectorised.
    """
    bm = int(min(m, max(_MIN_BLOCK, memory // (entry_bytes * _MIN_BLOCK))))
    bn = int(min(n, max(_MIN_BLOCK, memory // (entry_bytes * bm))))
    return max(bn, 1), max(bm, 1)


def _argmin_brute(psi, y, x, cost, memory):
    """Blockwise argmin of ``c(x_i, y_j) - psi_j``; never holds more than ~``memory`` bytes.

    Points are centred on the mean site first (costs are translation invariant), which keeps the
    matrix-product form accurate for data far from the origin.
    """
    n, m = x.shape[0], y.shape[0]
    torch_in = is_torch(x)
    itemsize = x.element_size() if torch_in else x.dtype.itemsize
    temporaries = 4  # the block, a squared difference, its accumulation and the argmin scratch
    bn, bm = _block_shape(n, m, itemsize * temporaries, memory)
    center = y.mean(0)
    x, y = x - center, y - center
    ysq = (y * y).sum(1)
    if torch_in:
        best_idx = torch.empty(n, dtype=torch.long, device=x.device)
    else:
        best_idx = np.empty(n, dtype=np.int64)
    for i0 in range(0, n, bn):
        xb = x[i0 : i0 + bn]
        best_val = None
        for j0 in range(0, m, bm):
            cols = slice(j0, j0 + bm)
            block = _block_scores(xb, y[cols], psi[cols], ysq[cols], cost)
            if torch_in:
                val, idx = block.min(dim=1)
            else:
                idx = block.argmin(axis=1)
                val = np.take_along_axis(block, idx[:, None], axis=1)[:, 0]
            idx = idx + j0
            if best_val is None:
                best_val, best = val, idx
            else:
                better = val < best_val
                if torch_in:
                    best_val = torch.where(better, val, best_val)
                    best = torch.where(better, idx, best)
                else:
                    best_val = np.where(better, val, best_val)
                    best = np.where(better, idx, best)
        best_idx[i0 : i0 + bn] = best
    return best_idx


def c_transform(psi, y, x, cost="sqeuclidean", *, method="auto", memory=None):
    r"""Compute the c-transform ``psi^c(x_i) = min_j c(x_i, y_j) - psi_j`` and its argmin.

    Parameters
    ----------
    psi : array (m,)
        Potential on the sites (the lectures' :math:`\psi`).
    y : array (m, d)
        Sites :math:`y_j`.
    x : array (n, d)
        Query points.
    cost : str or otgan.costs.Cost
        ``"sqeuclidean"`` (``||x-y||^2``), ``"euclidean"`` (``||x-y||``) or a cost object.
    method : {"auto", "kdtree", "brute", "certified"}
        ``"kdtree"``: exact lifted nearest-neighbour query (quadratic cost only; computed on the
        CPU in float64). ``"brute"``: blockwise cost matrix (on the inputs' device).
        ``"certified"`` (opt-in; quadratic cost): candidates from a low-precision product (TF32
        on CUDA, float32 on the CPU), rescored in float64, with a rounding-error bound that
        proves the result is the float64 brute-force argmin (smallest index among ties);
        uncertifiable queries are scored exactly (see ``otgan._certified``). ``"auto"``:
        the kd-tree for the quadratic cost with ``d <= 3`` on the CPU (unless ``n * m < 2**17``
        for numpy inputs, where the blocked product is faster), brute force otherwise.
    memory : int, optional
        Budget in bytes for one block of the brute-force cost matrix (default 256 MiB). Blocks
        are never smaller than 64 x 64 entries (128 KiB in float64 with their temporaries): a
        smaller budget would only add Python iterations.

    Returns
    -------
    values : array (n,)
        :math:`\psi^c(x_i)`, differentiable in ``x`` and ``psi`` for torch inputs, with
        ``grad_x = grad_x c(x_i, y_{T(i)})``.
    argmin : integer array (n,)
        :math:`T_\psi(x_i)`, the index of the Laguerre cell containing ``x_i`` (the smallest
        index among exact ties for ``"brute"``; an arbitrary tied index for ``"kdtree"``).

    Notes
    -----
    numpy inputs give numpy outputs; if any input is a torch tensor the outputs are tensors on its
    device, in its dtype (``argmin`` is ``int64`` / ``torch.long``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> vals, idx = c_transform(np.array([0.0, 0.5]), y, np.array([[0.4, 0.0]]))
    >>> idx, np.round(vals, 6)
    (array([1]), array([-0.14]))
    """
    where = "c_transform"
    cost = get_cost(cost)
    arrays, _ = common_library(where, x=x, y=y, psi=psi)
    y = check_points(arrays["y"], "y", where)
    x = check_points(arrays["x"], "x", where, dim=y.shape[1])
    psi = check_vector(arrays["psi"], y.shape[0], "psi", where, match=f"'y' {tuple(y.shape)}")
    memory = _check_memory(memory, where)
    method = _resolve_method(method, cost, x, y.shape[0], where)

    if method == "certified":
        if is_torch(x):
            idx = certified_argmin(psi, y, x, memory=memory)
        else:
            dtype = np.result_type(x.dtype, y.dtype, psi.dtype)
            x, y, psi = x.astype(dtype, copy=False), y.astype(dtype, copy=False), psi.astype(dtype)
            idx = certified_argmin(*map(torch.as_tensor, (psi, y, x)), memory=memory).numpy()
    elif is_torch(x):
        with torch.no_grad():
            if method == "kdtree":
                idx = torch.as_tensor(_argmin_kdtree(psi, y, x), device=x.device)
            else:
                idx = _argmin_brute(psi.detach(), y.detach(), x.detach(), cost, memory)
    elif method == "kdtree":
        idx = _argmin_kdtree(psi, y, x)
    else:
        dtype = np.result_type(x.dtype, y.dtype, psi.dtype)
        x, y, psi = x.astype(dtype, copy=False), y.astype(dtype, copy=False), psi.astype(dtype)
        idx = _argmin_brute(psi, y, x, cost, memory)

    values = cost.matched(x, y[idx]) - psi[idx]
    return values, idx


def c_bar_transform(phi, x, y, cost="sqeuclidean", *, method="auto", memory=None):
    r"""Compute the :math:`\bar c`-transform ``phi^{c̄}(y_j) = min_i c(x_i, y_j) - phi_i``.

    For the symmetric costs of :mod:`otgan.costs` this is :func:`c_transform` with the roles of
    the two point sets exchanged. Together with :func:`c_transform` it gives the discrete
    duality identities, e.g. ``psi^{c c̄ c} = psi^c``.

    Parameters
    ----------
    phi : array (n,)
        Potential on the source points.
    x : array (n, d)
        Source points.
    y : array (m, d)
        Query points.
    cost, method, memory
        As for :func:`c_transform`.

    Returns
    -------
    values : array (m,)
        :math:`\phi^{\bar c}(y_j)`.
    argmin : integer array (m,)
        The minimising source index of each ``y_j``.
    """
    return c_transform(phi, x, y, cost, method=method, memory=memory)


def _weights(a, n, name, where, ref):
    return check_weights(a, n, name, where, ref=ref, match=f"the {n} points")


def _bincount(idx, weights, m):
    if is_torch(idx):
        out = torch.zeros(m, dtype=weights.dtype, device=weights.device)
        return out.index_add_(0, idx, weights)
    return np.bincount(idx, weights=weights, minlength=m)


def cell_masses(psi, y, x, a=None, cost="sqeuclidean", *, method="auto", memory=None):
    r"""Compute the mass of each Laguerre cell under ``sum_i a_i delta_{x_i}``.

    Parameters
    ----------
    psi : array (m,)
        Potential on the sites.
    y : array (m, d)
        Sites.
    x : array (n, d)
        Source points.
    a : array (n,), optional
        Their masses (default uniform ``1/n``).
    cost, method, memory
        As for :func:`c_transform`.

    Returns
    -------
    array (m,)
        ``sum_{i: T(i)=j} a_i``, in the inputs' library.
    """
    values, idx = c_transform(psi, y, x, cost, method=method, memory=memory)
    a = _weights(a, len(values), "a", "cell_masses", values)
    return _bincount(idx, a, len(y))


def semi_dual(psi, y, x, nu=None, a=None, cost="sqeuclidean", *, method="auto", memory=None):
    r"""Compute the semi-dual ``H(psi) = sum_i a_i psi^c(x_i) + sum_j nu_j psi_j``.

    Of OT between ``sum_i a_i delta_{x_i}`` and ``sum_j nu_j delta_{y_j}``. Weak duality:
    ``H(psi) <= W_c`` for every ``psi``; at the optimal ``psi`` they are equal.

    Parameters
    ----------
    psi : array (m,)
        Potential on the sites.
    y : array (m, d)
        Sites.
    x : array (n, d)
        Source points.
    nu : array (m,), optional
        Masses of the sites (default uniform).
    a : array (n,), optional
        Masses of the source points (default uniform).
    cost, method, memory
        As for :func:`c_transform`.

    Returns
    -------
    float or torch.Tensor
        ``H(psi)``: a float for numpy inputs, a 0-dim tensor differentiable in ``psi`` and
        ``x`` for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [1.0]])
    >>> float(semi_dual(np.zeros(2), y, x))  # psi = 0 is optimal here: W = 0
    0.0
    """
    value, _ = _semi_dual(psi, y, x, nu, a, cost, method, memory, "semi_dual", need_grad=False)
    return value


def semi_dual_gradient(
    psi, y, x, nu=None, a=None, cost="sqeuclidean", *, method="auto", memory=None
):
    r"""Compute the semi-dual and its (super)gradient ``dH/dpsi_j = nu_j - sum_{i: T(i)=j} a_i``.

    Parameters
    ----------
    psi, y, x, nu, a, cost, method, memory
        As for :func:`semi_dual`.

    Returns
    -------
    value : float or torch.Tensor
        ``H(psi)`` (see :func:`semi_dual`).
    grad : array (m,)
        The gradient in ``psi``.
    """
    return _semi_dual(psi, y, x, nu, a, cost, method, memory, "semi_dual_gradient", True)


def _semi_dual(psi, y, x, nu, a, cost, method, memory, where, need_grad):
    arrays, _ = common_library(where, x=x, y=y, psi=psi)
    psi, y, x = arrays["psi"], arrays["y"], arrays["x"]
    values, idx = c_transform(psi, y, x, cost, method=method, memory=memory)
    n, m = values.shape[0], len(y)
    a = _weights(a, n, "a", where, values)
    nu = check_weights(nu, m, "nu", where, ref=values, match=f"the {m} sites 'y'")
    psi = check_vector(psi, m, "psi", where).to(values.dtype) if is_torch(psi) else psi
    value = (a * values).sum() + (nu * psi).sum()
    if not is_torch(values):
        value = float(value)
    if not need_grad:
        return value, None
    if is_torch(values):
        a, nu = a.detach(), nu.detach()
    return value, nu - _bincount(idx, a, m)
