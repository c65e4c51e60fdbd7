"""otgan.distributed over 2 and 3 gloo processes against the single-process functions.

"Match" means: the argmin is the same global index (ties to the smallest), values and
x-gradients agree to 1e-12 in float64, psi-gradients agree on each rank's own sites, and the
sharded ASGD iterates are the single-process AveragedSGD iterates on the concatenated batch (the
same elementwise update from the same cell counts: compared to 1e-14).
"""

from __future__ import annotations

import time

import pytest
import torch
import torch.multiprocessing as mp

from otgan.ctransform import c_transform as c_transform_1
from otgan.distributed import ShardedAveragedSGD, c_transform, gather_rows, shard_bounds
from otgan.semidiscrete import AveragedSGD

from . import _dist_cases as cases

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _spawn(world, tmp_path, limit=180.0):
    """Run the worker on ``world`` gloo processes; fail (and kill them) after ``limit`` s."""
    init = tmp_path / "init"
    ctx = mp.start_processes(cases.worker, args=(world, str(init), str(tmp_path)), nprocs=world,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + limit
    while not ctx.join(timeout=1.0):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"{world} gloo processes did not finish in {limit:.0f} s")
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(world)]


@pytest.fixture(scope="module", params=[2, 3], ids=["2proc", "3proc"])
def runs(request, tmp_path_factory):
    world = request.param
    return world, _spawn(world, tmp_path_factory.mktemp(f"dist{world}"))


@pytest.mark.parametrize("case", cases.CASES, ids=[c[0] for c in cases.CASES])
def test_c_transform_matches_single_process(runs, case):
    world, results = runs
    name, cost, s2, s3 = case
    sizes = s2 if world == 2 else s3
    psi, y, x = cases.problem(name)
    psi = psi.clone().requires_grad_(True)
    x = x.clone().requires_grad_(True)
    vals, idx = c_transform_1(psi, y, x, cost, method="brute")
    (cases.weights(len(x)) * vals).sum().backward()
    for rank, res in enumerate(results):
        r = res[name]
        torch.testing.assert_close(r["idx"], idx, rtol=0, atol=0)
        torch.testing.assert_close(r["idx_ng"], idx, rtol=0, atol=0)
        torch.testing.assert_close(r["vals"], vals.detach(), **TOL)
        torch.testing.assert_close(r["vals_ng"], vals.detach(), **TOL)
        torch.testing.assert_close(r["grad_x"], x.grad, **TOL)
        a, b = cases.bounds(sizes, rank)
        torch.testing.assert_close(r["grad_psi"], psi.grad[a:b], **TOL)


@pytest.mark.parametrize("case", cases.CASES[:3], ids=[c[0] for c in cases.CASES[:3]])
def test_certified_local_search_matches_float64_brute_force(runs, case):
    _, results = runs
    psi, y, x = cases.problem(case[0])
    vals, idx = c_transform_1(psi, y, x, method="brute")
    for res in results:
        r = res[case[0] + "_certified"]
        torch.testing.assert_close(r["idx"], idx, rtol=0, atol=0)
        torch.testing.assert_close(r["vals"], vals, **TOL)


def test_ties_go_to_the_smallest_global_index(runs):
    _, results = runs
    # the first query sits next to the site copied at 0, 4, 5, 10; the second next to 2 and 7
    for res in results:
        assert res["ties"]["idx"][:2].tolist() == [0, 2]
    # dyadic midpoints: (0.5, 0) is equidistant from sites 0 and 1 (and nearer than 4)
    assert results[0]["dyadic"]["idx"][0].item() == 0
    assert results[0]["dyadic"]["idx"][7].item() == 4


def test_sharded_asgd_matches_single_process(runs):
    world, results = runs
    y, batches = cases.asgd_problem(world)
    single = AveragedSGD(torch.zeros(12, dtype=torch.float64), gamma=0.5)
    ests = [single.step(torch.cat(batch), y, "sqeuclidean") for batch in batches]
    psi_tilde = torch.cat([res["asgd"]["psi_tilde"] for res in results])
    psi_bar = torch.cat([res["asgd"]["psi_bar"] for res in results])
    torch.testing.assert_close(psi_tilde, single.psi_tilde, rtol=0, atol=1e-14)
    torch.testing.assert_close(psi_bar, single.psi_bar, rtol=0, atol=1e-14)
    for res in results:
        assert res["asgd"]["n_sites"] == 12
        torch.testing.assert_close(res["asgd"]["est"], torch.stack(ests), **TOL)
    assert [res["asgd"]["offset"] for res in results] == [
        cases.bounds(cases.ASGD_SIZES[world], r)[0] for r in range(world)]


def test_bad_input_inside_a_process_group_raises_clear_errors(runs):
    _, results = runs
    for res in results:
        kinds = [e.split(":")[0] for e in res["errors"]]
        assert kinds == ["ValueError", "TypeError", "ValueError", "ValueError"], res["errors"]
        assert "'method'" in res["errors"][0]
        assert "'psi_local'" in res["errors"][1]
        assert "quadratic" in res["errors"][2]
        assert "'psi_local' must have shape" in res["errors"][3]


def test_sharded_asgd_validates_its_arguments():
    with pytest.raises(TypeError, match="psi0_local"):
        ShardedAveragedSGD([0.0, 0.0], gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        ShardedAveragedSGD(torch.zeros(3), gamma=0.0)
    with pytest.raises(ValueError, match="sum to 1"):
        ShardedAveragedSGD(torch.zeros(3), torch.full((3,), 0.5), gamma=1.0)
    state = ShardedAveragedSGD(torch.zeros(3), gamma=1.0)
    with pytest.raises(ValueError, match="y_local"):
        state.step(torch.rand(4, 2), torch.rand(2, 2))


def test_without_process_group_falls_back_to_single_process():
    psi, y, x = cases.problem("random3d")
    v1, i1 = c_transform(psi, y, x)
    v2, i2 = c_transform_1(psi, y, x, method="brute")
    assert torch.equal(i1, i2) and torch.equal(v1, v2)
    assert gather_rows(x)[1] == 0 and gather_rows(x)[0] is x
    state = ShardedAveragedSGD(torch.zeros(29, dtype=torch.float64), gamma=0.5)
    ref = AveragedSGD(torch.zeros(29, dtype=torch.float64), gamma=0.5)
    state.step(x, y)
    ref.step(x, y)
    torch.testing.assert_close(state.psi, ref.psi, rtol=0, atol=0)


def test_shard_bounds_cover_and_validate():
    for n, w in [(10, 3), (7, 7), (100, 8)]:
        b = [shard_bounds(n, r, w) for r in range(w)]
        assert b[0][0] == 0 and b[-1][1] == n
        assert all(b[i][1] == b[i + 1][0] for i in range(w - 1))
        assert max(s - a for a, s in b) - min(s - a for a, s in b) <= 1
    with pytest.raises(ValueError, match="non-empty"):
        shard_bounds(2, 0, 3)
    with pytest.raises(ValueError, match="rank"):
        shard_bounds(5, 3, 3)
