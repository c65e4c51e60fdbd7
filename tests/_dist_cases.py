"""Problems and the worker of the multi-process tests (tests/test_distributed.py).

The parent process builds the same problems with the same seeds, computes the single-process
answers, and compares them with what each gloo process wrote.
"""

from __future__ import annotations

import datetime
import os

import torch

DT = torch.float64

# (name, cost, shard sizes for 2 ranks, shard sizes for 3 ranks); a 1-site shard in each layout
CASES = [
    ("random3d", "sqeuclidean", (1, 28), (9, 1, 19)),
    ("ties", "sqeuclidean", (5, 6), (4, 1, 6)),
    ("dyadic", "sqeuclidean", (2, 3), (1, 2, 2)),
    ("euclidean2d", "euclidean", (17, 4), (7, 7, 7)),
]

ASGD_SIZES = {2: (3, 9), 3: (2, 1, 9)}  # shards of 12 sites
ASGD_BATCH = {2: (16, 8), 3: (8, 8, 8)}  # per-rank batch sizes (uneven for 2 ranks)
ASGD_STEPS = 6


def problem(name):
    """``(psi, y, x)`` in float64 with known structure."""
    g = torch.Generator().manual_seed(sum(map(ord, name)))
    if name == "random3d":
        y = torch.rand(29, 3, generator=g, dtype=DT)
        psi = 0.1 * torch.randn(29, generator=g, dtype=DT)
        x = torch.rand(50, 3, generator=g, dtype=DT)
    elif name == "ties":
        # 11 sites; sites 0, 4, 5, 10 are copies of one site (same psi): exact ties across
        # every layout's shards, which must go to the smallest global index
        y = torch.rand(11, 2, generator=g, dtype=DT)
        psi = 0.05 * torch.randn(11, generator=g, dtype=DT)
        for j in (4, 5, 10):
            y[j] = y[0]
            psi[j] = psi[0]
        y[7] = y[2]
        psi[7] = psi[2]
        x = torch.cat([y[[0, 2]] + 1e-3, torch.rand(30, 2, generator=g, dtype=DT)])
    elif name == "dyadic":
        # sites on a dyadic grid, psi = 0, queries at dyadic midpoints: exact equidistant ties
        y = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]], dtype=DT)
        psi = torch.zeros(5, dtype=DT)
        x = torch.tensor([[0.5, 0.0], [0.0, 0.5], [0.25, 0.25], [0.75, 0.75], [0.5, 1.0],
                          [1.0, 0.5], [0.125, 0.5], [0.5, 0.5], [2.0, 2.0]], dtype=DT)
    elif name == "euclidean2d":
        y = torch.rand(21, 2, generator=g, dtype=DT)
        psi = 0.1 * torch.randn(21, generator=g, dtype=DT)
        x = torch.rand(40, 2, generator=g, dtype=DT)
    else:  # pragma: no cover
        raise KeyError(name)
    return psi, y, x


def weights(n):
    """Fixed random weights of a scalar loss ``sum_i w_i psi^c(x_i)`` (for the gradients)."""
    return torch.randn(n, generator=torch.Generator().manual_seed(n), dtype=DT)


def asgd_problem(world):
    g = torch.Generator().manual_seed(7)
    y = torch.rand(12, 2, generator=g, dtype=DT)
    batches = []
    for step in range(ASGD_STEPS):
        gs = torch.Generator().manual_seed(100 + step)
        batches.append([torch.rand(b, 2, generator=gs, dtype=DT) for b in ASGD_BATCH[world]])
    return y, batches


def bounds(sizes, rank):
    start = sum(sizes[:rank])
    return start, start + sizes[rank]


def worker(rank, world, init_file, out_dir):
    import torch.distributed as dist

    from otgan.distributed import ShardedAveragedSGD, c_transform

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=90))
    try:
        res = {}
        for name, cost, s2, s3 in CASES:
            psi, y, x = problem(name)
            a, b = bounds(s2 if world == 2 else s3, rank)
            psi_l = psi[a:b].clone().requires_grad_(True)
            x = x.clone().requires_grad_(True)
            vals, idx = c_transform(psi_l, y[a:b], x, cost)
            (weights(len(x)) * vals).sum().backward()
            with torch.no_grad():
                vals_ng, idx_ng = c_transform(psi[a:b], y[a:b], x.detach(), cost)
            res[name] = {"vals": vals.detach(), "idx": idx, "grad_x": x.grad,
                         "grad_psi": psi_l.grad, "vals_ng": vals_ng, "idx_ng": idx_ng}
        for name, _, s2, s3 in CASES[:3]:  # the certified search on the quadratic cases
            psi, y, x = problem(name)
            a, b = bounds(s2 if world == 2 else s3, rank)
            vals, idx = c_transform(psi[a:b], y[a:b], x, method="certified")
            res[name + "_certified"] = {"vals": vals, "idx": idx}
        y, batches = asgd_problem(world)
        a, b = bounds(ASGD_SIZES[world], rank)
        state = ShardedAveragedSGD(torch.zeros(b - a, dtype=DT), gamma=0.5)
        ests = [state.step(batch[rank], y[a:b]) for batch in batches]
        res["asgd"] = {"psi_tilde": state.psi_tilde, "psi_bar": state.psi_bar,
                       "est": torch.stack(ests), "offset": state.offset, "n_sites": state.n_sites}
        errors = []  # bad input inside a process group: clear errors on every rank
        for args, kw in [((psi[a:b], y[a:b], x), {"method": "kdtree"}),
                         ((psi[a:b].numpy(), y[a:b], x), {}),
                         ((psi[a:b], y[a:b], x), {"cost": "euclidean", "method": "certified"}),
                         ((psi[a:b][:-1], y[a:b], x), {})]:
            try:
                c_transform(*args, **kw)
            except (TypeError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        res["errors"] = errors
        torch.save(res, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
