r"""The c-transform and averaged SGD over sites sharded across processes (``torch.distributed``).

Each process (rank ``r`` of ``W``) holds a contiguous shard of the sites ``y`` and of their
potential ``psi`` (rank order: the global site ``j`` lives on the rank whose shard covers ``j``;
shards may be uneven and may hold a single site); the query points ``x`` are the same on every
process. Then

.. math:: \psi^c(x_i) = \min_r \; \min_{j \in \text{shard}_r} c(x_i, y_j) - \psi_j ,

so each rank scores its own shard with the kernel of :func:`otgan.ctransform.c_transform`
(``method="brute"``: the same blockwise scores, centred on the mean of all the sites), and
collectives of the existing engine combine the shards:

1. ``all_reduce(SUM)`` of the local site sums: the centre, the mean of all the sites;
2. ``all_reduce(MIN)`` of the local best scores, then ``all_reduce(MIN)`` of the global index of
   the local winner among the ranks whose score equals the minimum: ties go to the smallest
   global index, as in the single-process kernel (``torch.min`` keeps the first minimum within
   a block, and later blocks replace it only when strictly better);
3. ``all_reduce(SUM)`` of the winning ``(y_T, psi_T)`` rows (each row is non-zero on its owner
   only, so the sum is exact); the value is recomputed as ``c(x_i, y_T) - psi_T``, the
   single-process formula, hence the single-process gradient ``grad_x c(x_i, y_T)`` in ``x``;
   each rank's ``psi_local`` (and ``y_local``) receives the gradient of the sites it owns.
   Without autograd, one ``all_reduce(MIN)`` of the owners' values replaces it.

**What "equal to the single-process result" means.** The argmin is the same global index and
the values and gradients are the single-process ones, exact ties included: the per-site scores
are the single-process scores whenever the centre (a sum of shard sums, divided by ``J``) rounds
as the single-process mean does, which holds exactly when those sums are exact (dyadic data, the
tests' ties) and otherwise to the last bit, so that only two sites whose scores differ by about
one rounding (``1e-16`` relative in float64) may be ordered differently.

Sharded averaged SGD (:class:`ShardedAveragedSGD`) gathers the ranks' batches into one global
batch (the same on every rank), computes its global argmin, and each rank updates only its own
shard of ``psi`` from the cell masses of its own sites: the update is elementwise the
single-process :class:`otgan.semidiscrete.AveragedSGD` step on the concatenated batch.

Without an initialised process group (or with one process) every function falls back to the
single-process code path.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.distributed as dist

from ._certified import certified_argmin, running_min
from ._utils import check_points, check_vector, is_torch
from .costs import get_cost
from .ctransform import _block_scores, _block_shape, _check_memory
from .ctransform import c_transform as _c_transform
from .semidiscrete import AveragedSGD

__all__ = [
    "ShardedAveragedSGD",
    "c_transform",
    "gather_rows",
    "is_distributed",
    "shard_bounds",
    "shard_layout",
]

_WHERE = "distributed.c_transform"


def is_distributed(group=None) -> bool:
    """Tell whether a process group is initialised and holds more than one process.

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        The group (default: the world).

    Returns
    -------
    bool
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def shard_bounds(n: int, rank: int | None = None, world_size: int | None = None, *, group=None):
    """Find a rank's contiguous shard of ``n`` items split as evenly as possible.

    The first ``n % W`` ranks hold one more item.

    Parameters
    ----------
    n : int
        Number of items (at least ``world_size``).
    rank, world_size : int, optional
        The rank and the number of ranks (default: this process's rank and the group size,
        ``0`` and ``1`` without a process group).
    group : torch.distributed.ProcessGroup, optional
        The group (default: the world).

    Returns
    -------
    tuple of int
        ``(start, stop)``.

    Examples
    --------
    >>> [shard_bounds(10, r, 3) for r in range(3)]
    [(0, 4), (4, 7), (7, 10)]
    """
    if world_size is None:
        world_size = dist.get_world_size(group) if is_distributed(group) else 1
    if rank is None:
        rank = dist.get_rank(group) if is_distributed(group) else 0
    n, rank, world_size = int(n), int(rank), int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"shard_bounds: need 0 <= rank < world_size; got rank {rank}, "
                         f"world_size {world_size}")
    if n < world_size:
        raise ValueError(f"shard_bounds: cannot split {n} items into {world_size} non-empty "
                         "shards; use fewer processes")
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_layout(n_local: int, *, group=None, device="cpu"):
    """Find this rank's offset and the total count from each rank's local count.

    One ``all_gather`` of one integer.

    Parameters
    ----------
    n_local : int
        This rank's number of items.
    group : torch.distributed.ProcessGroup, optional
        The group (default: the world).
    device : str or torch.device
        Device of the exchanged integer (CUDA for NCCL).

    Returns
    -------
    tuple of int
        ``(offset, total)``: the global index of this rank's first item and the number of items
        over all ranks.
    """
    if not is_distributed(group):
        return 0, int(n_local)
    world = dist.get_world_size(group)
    mine = torch.tensor([int(n_local)], dtype=torch.long, device=device)
    counts = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(counts, mine, group=group)
    counts = [int(c) for c in counts]
    rank = dist.get_rank(group)
    return sum(counts[:rank]), sum(counts)


def gather_rows(x: torch.Tensor, *, group=None) -> tuple[torch.Tensor, int]:
    """Concatenate in rank order the ``(n_r, ...)`` tensors of all ranks (``n_r`` may differ).

    Parameters
    ----------
    x : torch.Tensor, shape (n_r, ...)
        This rank's rows.
    group : torch.distributed.ProcessGroup, optional
        The group (default: the world).

    Returns
    -------
    rows : torch.Tensor
        The concatenation (the same on every rank). This rank's rows keep their autograd graph;
        the other ranks' rows are constants. Without a process group: ``x``.
    offset : int
        The index of this rank's first row in it.
    """
    if not is_distributed(group):
        return x, 0
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    n = torch.tensor([x.shape[0]], dtype=torch.long, device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n, group=group)
    sizes = [int(s) for s in sizes]
    top = max(sizes)
    pad = x.detach()
    if x.shape[0] < top:
        pad = torch.cat([pad, pad.new_zeros((top - x.shape[0],) + tuple(x.shape[1:]))])
    parts = [torch.empty_like(pad) for _ in range(world)]
    dist.all_gather(parts, pad.contiguous(), group=group)
    parts = [p[:s] for p, s in zip(parts, sizes, strict=True)]
    parts[rank] = x
    return torch.cat(parts), sum(sizes[:rank])


def c_transform(psi_local, y_local, x, cost="sqeuclidean", *, method="brute", memory=None,
                group=None):
    r"""Compute the c-transform ``psi^c(x_i) = min_j c(x_i, y_j) - psi_j`` over sharded sites.

    Parameters
    ----------
    psi_local : Tensor (m_r,)
        This rank's shard of the potential.
    y_local : Tensor (m_r, d)
        This rank's contiguous shard of the sites (rank order; ``m_r >= 1``, shards may be
        uneven).
    x : Tensor (n, d)
        Query points, the same on every rank (not checked: that would cost a collective).
    cost : str or otgan.costs.Cost
        ``"sqeuclidean"`` (``||x-y||^2``), ``"euclidean"`` (``||x-y||``) or a cost object.
    method : {"brute", "certified"}
        The local kernel: ``"brute"``, the blockwise scores of ``otgan.ctransform.c_transform(
        ..., method="brute")``; ``"certified"`` (quadratic cost), the certified low-precision
        search of ``method="certified"`` on each shard, the shards' winners then compared by
        their float64 scores: the float64 brute-force argmin, ties to the smallest index.
    memory : int, optional
        Byte budget of one block of the local kernel.
    group : torch.distributed.ProcessGroup, optional
        The process group (default: the world).

    Returns
    -------
    values : Tensor (n,)
        :math:`\psi^c(x_i)` on every rank, differentiable in ``x`` (gradient
        ``grad_x c(x_i, y_{T(i)})``) and in this rank's ``psi_local`` / ``y_local`` (through the
        sites it owns).
    argmin : Tensor (n,) of int64
        :math:`T_\psi(x_i)`: the global index into the concatenation of the shards in rank
        order; among exact ties, the smallest.

    Without an initialised process group (or with one process) this is
    ``otgan.ctransform.c_transform(psi_local, y_local, x, cost, method=method, memory=memory)``.
    Collectives run on the device of ``x`` (gloo for CPU tensors, NCCL for CUDA tensors).

    Examples
    --------
    Without a process group it is the single-process c-transform:

    >>> import torch
    >>> y = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    >>> vals, idx = c_transform(torch.tensor([0.0, 0.5], dtype=torch.float64), y,
    ...                         torch.tensor([[0.4, 0.0]], dtype=torch.float64))
    >>> idx.tolist(), round(float(vals[0]), 6)
    ([1], -0.14)

    Under ``torchrun --nproc_per_node 2`` each rank passes its half of ``psi`` and ``y``
    (:func:`shard_bounds`) and receives the values and global indices of the whole problem.
    """
    if not is_distributed(group):
        return _c_transform(psi_local, y_local, x, cost, method=method, memory=memory)
    cost = get_cost(cost)
    if method not in ("brute", "certified"):
        raise ValueError(f"{_WHERE}: 'method' must be 'brute' or 'certified' inside a process "
                         f"group; got {method!r}")
    if method == "certified" and cost.p != 2.0:
        raise ValueError(f"{_WHERE}: method='certified' needs the quadratic cost "
                         f"('sqeuclidean'); got {cost!r}")
    for name, t in (("psi_local", psi_local), ("y_local", y_local), ("x", x)):
        if not is_torch(t):
            raise TypeError(f"{_WHERE}: {name!r} must be a torch tensor inside a process group; "
                            f"got {type(t).__name__}")
    y_local = check_points(y_local, "y_local", _WHERE)
    x = check_points(x, "x", _WHERE, dim=y_local.shape[1])
    psi_local = check_vector(psi_local, y_local.shape[0], "psi_local", _WHERE,
                             match=f"'y_local' {tuple(y_local.shape)}")
    for name, t in (("psi_local", psi_local), ("y_local", y_local)):
        if t.device != x.device:
            raise ValueError(f"{_WHERE}: {name!r} is on {t.device} but 'x' is on {x.device}")
    dtype = x.dtype
    psi_local, y_local = psi_local.to(dtype), y_local.to(dtype)
    offset, n_sites = shard_layout(y_local.shape[0], group=group, device=x.device)

    center = y_local.detach().sum(0)
    dist.all_reduce(center, group=group)
    center = center / n_sites  # the single-process kernel's centre: the mean of all sites

    with torch.no_grad():
        if method == "certified":
            score, local_idx = _local_certified(psi_local.detach(), y_local.detach(),
                                                x.detach(), center, memory)
        else:
            score, local_idx = _local_argmin(psi_local.detach(), y_local.detach(), x.detach(),
                                             cost, center, _check_memory(memory, _WHERE))
        best = score.clone()
        dist.all_reduce(best, op=dist.ReduceOp.MIN, group=group)
        key = torch.where(score == best, local_idx + offset, torch.full_like(local_idx, 2**62))
        winner = key.clone()
        dist.all_reduce(winner, op=dist.ReduceOp.MIN, group=group)
        owned = winner == key  # this rank owns the winning site of these queries
    needs_graph = torch.is_grad_enabled() and (
        x.requires_grad or psi_local.requires_grad or y_local.requires_grad)
    if not needs_graph:
        with torch.no_grad():
            vals = cost.matched(x, y_local[local_idx]) - psi_local[local_idx]
            vals = torch.where(owned, vals, torch.full_like(vals, math.inf))
            dist.all_reduce(vals, op=dist.ReduceOp.MIN, group=group)
        return vals, winner
    # rebuild the winning (y_T, psi_T) on every rank: each row is non-zero on its owner only
    rows = torch.cat([y_local[local_idx], psi_local[local_idx, None]], dim=1)
    rows = torch.where(owned[:, None], rows, torch.zeros_like(rows))
    total = rows.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    total = total + (rows - rows.detach())  # value unchanged; gradient flows to the owner
    y_t, psi_t = total[:, :-1], total[:, -1]
    return cost.matched(x, y_t) - psi_t, winner


def _local_argmin(psi, y, x, cost, center, memory):
    """Blockwise ``(min_j score_ij, argmin_j)`` over the local sites.

    With the single-process kernel's scores (:func:`otgan.ctransform._block_scores`, points
    centred on ``center``, the mean of all sites): smallest local index among exact ties.
    """
    n, m = x.shape[0], y.shape[0]
    bn, bm = _block_shape(n, m, x.element_size() * 4, memory)  # 4 temporaries per entry
    x, y = x - center, y - center
    ysq = (y * y).sum(1)
    best_val = torch.empty(n, dtype=x.dtype, device=x.device)
    best_idx = torch.empty(n, dtype=torch.long, device=x.device)
    for i0 in range(0, n, bn):
        xb = x[i0:i0 + bn]
        blocks = ((_block_scores(xb, y[j0:j0 + bm], psi[j0:j0 + bm], ysq[j0:j0 + bm], cost), j0)
                  for j0 in range(0, m, bm))
        best_val[i0:i0 + bn], best_idx[i0:i0 + bn] = running_min(blocks)
    return best_val, best_idx


def _local_certified(psi, y, x, center, memory):
    """Certify the float64 argmin over the local sites (:mod:`otgan._certified`).

    Returns its float64 score ``||y_j - c||^2 - psi_j - 2 (x - c).(y_j - c)``, comparable
    across ranks, and the index.
    """
    idx = certified_argmin(psi, y, x, memory=memory, center=center)
    c = center.to(torch.float64)
    yw = y.to(torch.float64)[idx] - c
    xc = x.to(torch.float64) - c
    return (yw * yw).sum(1) - psi.to(torch.float64)[idx] - 2 * (xc * yw).sum(1), idx


class ShardedAveragedSGD:
    r"""Averaged SGD on the semi-dual (Genevay et al. 2016) with ``psi`` sharded across ranks.

    Rank ``r`` holds the sites ``y_local`` and the potential ``psi_local`` of its contiguous
    shard. One :meth:`step` gathers every rank's batch into the global batch
    :math:`B = B_0 \cup \dots \cup B_{W-1}` (rank order), computes its global argmin with
    :func:`c_transform`, and updates only the local shard:

    .. math:: \tilde\psi_k = \tilde\psi_{k-1} + \frac{\gamma}{\sqrt k}
              \Big(\nu - \frac{1}{|B|} \sum_{x \in B} \mathbf 1_{L_{\tilde\psi_{k-1}}}(x)\Big),
              \qquad \psi_k = \frac{1}{k} (\tilde\psi_1 + \dots + \tilde\psi_k),

    restricted to the local sites: the cell masses of the batch are combined across ranks by
    the global argmin. Concatenated over ranks, the shards are the single-process
    :class:`otgan.semidiscrete.AveragedSGD` iterates on the concatenated batch (the same
    elementwise operations on the same cell counts).

    Parameters
    ----------
    psi0_local : Tensor (m_r,)
        This rank's shard of the starting potential.
    nu_local : Tensor (m_r,), optional
        This rank's shard of the target masses (default uniform ``1/J`` with ``J`` the total
        number of sites). The shards must sum to one over all ranks.
    gamma : float
        Step size ``gamma > 0``.
    group : ProcessGroup, optional

    Attributes
    ----------
    psi_tilde, psi_bar : Tensor (m_r,)
        The local shards of the SGD iterate and of its running average.
    k : int
        Steps taken.
    offset, n_sites : int
        Global index of the first local site; total number of sites ``J``.

    Examples
    --------
    Without a process group it runs the single-process update:

    >>> import torch
    >>> state = ShardedAveragedSGD(torch.zeros(3, dtype=torch.float64), gamma=0.3)
    >>> y = torch.tensor([[0.2, 0.2], [0.8, 0.2], [0.5, 0.9]], dtype=torch.float64)
    >>> x = torch.rand(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> est = state.step(x, y)
    >>> state.k, tuple(state.psi.shape)
    (1, (3,))
    """

    def __init__(self, psi0_local, nu_local=None, *, gamma, group=None):
        where = "ShardedAveragedSGD"
        if not is_torch(psi0_local):
            raise TypeError(f"{where}: 'psi0_local' must be a torch tensor; "
                            f"got {type(psi0_local).__name__}")
        if psi0_local.ndim != 1 or psi0_local.shape[0] < 1:
            raise ValueError(f"{where}: 'psi0_local' must have shape (m,) with m >= 1; "
                             f"got {tuple(psi0_local.shape)}")
        psi0 = check_vector(psi0_local, psi0_local.shape[0], "psi0_local", where)
        ok = isinstance(gamma, (int, float, np.floating, np.integer)) and not isinstance(
            gamma, bool) and math.isfinite(gamma) and gamma > 0
        if not ok:
            raise ValueError(f"{where}: 'gamma' must be a finite positive number; got {gamma!r}")
        self.gamma = float(gamma)
        self.group = group
        m = psi0.shape[0]
        self.offset, self.n_sites = shard_layout(m, group=group, device=psi0.device)
        if nu_local is None:
            self.nu = torch.full((m,), 1.0 / self.n_sites, dtype=psi0.dtype, device=psi0.device)
        else:
            self.nu = check_vector(nu_local, m, "nu_local", where,
                                   match=f"'psi0_local' ({m},)").to(psi0)
            total = self.nu.detach().sum()
            if is_distributed(group):
                dist.all_reduce(total, group=group)
            if bool((self.nu < 0).any()) or abs(float(total) - 1.0) > 1e-6:
                raise ValueError(f"{where}: 'nu_local' must be non-negative and sum to 1 over "
                                 f"all ranks; got total {float(total):.10g}")
        self.psi_tilde = psi0.detach().clone()
        self.psi_bar = psi0.detach().clone()
        self.k = 0
        self.last_gradient = None

    @property
    def psi(self):
        """The local shard of the averaged potential ``psi_k``."""
        return self.psi_bar

    def dot_nu(self, psi_local) -> torch.Tensor:
        """Compute ``sum_j nu_j psi_j`` over all ranks (one ``all_reduce``).

        Parameters
        ----------
        psi_local : torch.Tensor, shape (m_r,)
            This rank's shard of a potential.

        Returns
        -------
        torch.Tensor
            A 0-dim tensor, the same on every rank.
        """
        out = torch.dot(self.nu, psi_local.detach().to(self.nu))
        if is_distributed(self.group):
            dist.all_reduce(out, group=self.group)
        return out

    def step(self, x_batch, y_local, cost="sqeuclidean"):
        """Take one step from this rank's batch against its sites.

        Parameters
        ----------
        x_batch : torch.Tensor, shape (n_r, d)
            This rank's batch of source points.
        y_local : torch.Tensor, shape (m_r, d)
            This rank's sites.
        cost : str or otgan.costs.Cost
            The ground cost.

        Returns
        -------
        torch.Tensor
            The semi-dual estimate ``mean_{x in B} psi~_{k-1}^c(x) + nu . psi~_{k-1}`` on the
            global batch (a 0-dim tensor, the same on every rank).
        """
        with torch.no_grad():
            x = torch.as_tensor(x_batch).to(self.psi_tilde)
            y = torch.as_tensor(y_local).to(self.psi_tilde)
            m = self.psi_tilde.shape[0]
            if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or y.shape[0] != m:
                raise ValueError(f"ShardedAveragedSGD.step: 'x_batch' {tuple(x.shape)} and "
                                 f"'y_local' {tuple(y.shape)} must be (n, d) and ({m}, d)")
            xs, _ = gather_rows(x, group=self.group)
            values, idx = c_transform(self.psi_tilde, y, xs, cost, group=self.group)
            local = idx - self.offset
            inside = (local >= 0) & (local < m)
            freq = torch.bincount(local[inside], minlength=m).to(self.psi_tilde.dtype) / len(xs)
            est = values.mean() + self.dot_nu(self.psi_tilde)
            AveragedSGD._ascend(self, self.nu - freq)
        return est

