"""c-transform: brute force, kd-tree fast path, numpy/torch, autograd, memory, duality."""

import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otgan.costs import Euclidean, PowerEuclidean, SquaredEuclidean
from otgan.ctransform import (
    c_bar_transform,
    c_transform,
    cell_masses,
    semi_dual,
    semi_dual_gradient,
)
from otgan.testing import discrete_problems, potentials, site_sets
from tests.reference import score_matrix
from tests.tolerances import F32, F64, F64_FEW, F64_LOOSE, F64_ZERO, FINITE_DIFFERENCES, LP, TF32

COSTS = {"sqeuclidean": SquaredEuclidean(), "euclidean": Euclidean(),
         "power1.5": PowerEuclidean(1.5)}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
# examples per property: the hypothesis profile's (200 in CI, tests/conftest.py)
SETTINGS = settings(deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def point_clouds(d, n_min=1):
    """Point sets of every kind (repeated points, lattices with ties, clusters, lines)."""
    return site_sets(min_size=n_min, max_size=40, dim=d, box=(-1.0, 1.0), distinct=False)


def brute_c_transform(psi, y, x, cost):
    """The reference values and the score matrix ``c(x_i, y_j) - psi_j`` (tests/reference.py)."""
    C = score_matrix(psi, y, x, cost)
    return C.min(axis=1), C


def assert_argmin_optimal(idx, C, atol):
    """``idx`` attains the row minimum of C (ties allowed): checks the value, not the index."""
    np.testing.assert_allclose(C[np.arange(len(C)), idx], C.min(axis=1), rtol=0, atol=atol)


# --- brute force agreement --------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_matches_explicit_minimum(data):
    d = data.draw(st.integers(1, 3))
    x = data.draw(point_clouds(d=d))
    y = data.draw(point_clouds(d=d))
    name = data.draw(st.sampled_from(sorted(COSTS)))
    psi = data.draw(potentials(len(y), scale=2.0))
    ref, C = brute_c_transform(psi, y, x, COSTS[name])
    for method in ("brute", "auto") + (("kdtree",) if name == "sqeuclidean" else ()):
        vals, idx = c_transform(psi, y, x, COSTS[name], method=method)
        assert idx.dtype == np.int64 and vals.shape == (len(x),)
        np.testing.assert_allclose(vals, ref, rtol=F64, atol=F64)
        assert_argmin_optimal(idx, C, atol=F64)


@pytest.mark.parametrize("d", [2, 3])
def test_kdtree_fast_path_equals_brute_force_argmin(d):
    rng = np.random.default_rng(d)
    y, x = rng.random((3000, d)), rng.random((20000, d))
    psi = 0.05 * rng.normal(size=3000)
    v_fast, i_fast = c_transform(psi, y, x, method="kdtree")
    v_brute, i_brute = c_transform(psi, y, x, method="brute")
    # random data: no ties, so the indices themselves must agree
    np.testing.assert_array_equal(i_fast, i_brute)
    np.testing.assert_allclose(v_fast, v_brute, rtol=0, atol=F64_FEW)


def test_blocks_do_not_change_the_result():
    rng = np.random.default_rng(3)
    y, x, psi = rng.normal(size=(700, 5)), rng.normal(size=(900, 5)), rng.normal(size=700)
    ref = c_transform(psi, y, x, "euclidean", method="brute")
    tiny = c_transform(psi, y, x, "euclidean", method="brute", memory=4096)
    np.testing.assert_array_equal(ref[1], tiny[1])
    np.testing.assert_allclose(ref[0], tiny[0], rtol=F64_FEW)


def test_high_dimension_gram_path_matches_brute_force():
    rng = np.random.default_rng(4)
    y, x, psi = rng.normal(size=(200, 64)), rng.normal(size=(300, 64)), rng.normal(size=200)
    for cost in (SquaredEuclidean(), Euclidean()):
        ref, C = brute_c_transform(psi, y, x, cost)
        vals, idx = c_transform(psi, y, x, cost)
        np.testing.assert_allclose(vals, ref, rtol=F64_LOOSE)
        assert_argmin_optimal(idx, C, atol=F64_LOOSE)


def test_memory_stays_within_budget():
    """n x m = 2e8 entries (1.6 GB as float64) computed with a 4 MiB block budget."""
    rng = np.random.default_rng(5)
    y, x, psi = rng.random((10000, 2)), rng.random((20000, 2)), 0.01 * rng.random(10000)
    tracemalloc.start()
    try:
        vals, _idx = c_transform(psi, y, x, "euclidean", method="brute", memory=4 * 2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    # spot-check a few rows against brute force
    rows = rng.choice(len(x), 50, replace=False)
    ref, _C = brute_c_transform(psi, y, x[rows], Euclidean())
    np.testing.assert_allclose(vals[rows], ref, rtol=F64)


def test_kdtree_handles_a_million_queries_against_1e5_sites_in_bounded_memory():
    rng = np.random.default_rng(6)
    y, x, psi = rng.random((100_000, 2)), rng.random((1_000_000, 2)), 1e-5 * rng.random(100_000)
    tracemalloc.start()
    try:
        vals, _idx = c_transform(psi, y, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**30, f"peak {peak / 2**20:.0f} MiB"
    rows = rng.choice(len(x), 200, replace=False)
    ref, _C = brute_c_transform(psi, y, x[rows], SquaredEuclidean())
    np.testing.assert_allclose(vals[rows], ref, rtol=0, atol=F64_ZERO)


# --- algebraic properties ---------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_shift_of_psi_shifts_values_and_keeps_argmin(data):
    d = data.draw(st.integers(1, 3))
    x, y = data.draw(point_clouds(d=d)), data.draw(point_clouds(d=d))
    name = data.draw(st.sampled_from(sorted(COSTS)))
    t = data.draw(st.floats(-10, 10))
    psi = data.draw(potentials(len(y), scale=2.0))
    v0, _i0 = c_transform(psi, y, x, COSTS[name], method="brute")
    v1, i1 = c_transform(psi + t, y, x, COSTS[name], method="brute")
    np.testing.assert_allclose(v1, v0 - t, rtol=F64, atol=F64)
    C = score_matrix(psi, y, x, COSTS[name])
    assert_argmin_optimal(i1, C, atol=F64)


@SETTINGS
@given(st.data())
def test_c_cbar_c_is_c(data):
    """psi^{c cbar c} = psi^c on the source points (the c-transform is idempotent after one step)."""
    d = data.draw(st.integers(1, 3))
    x, y = data.draw(point_clouds(d=d)), data.draw(point_clouds(d=d))
    cost = COSTS[data.draw(st.sampled_from(sorted(COSTS)))]
    psi = data.draw(potentials(len(y), scale=2.0))
    phi, _ = c_transform(psi, y, x, cost)  # psi^c on x
    psi_cc, _ = c_bar_transform(phi, x, y, cost)  # psi^{c cbar} on y, >= psi
    phi_again, _ = c_transform(psi_cc, y, x, cost)
    np.testing.assert_allclose(phi_again, phi, rtol=F64, atol=F64)
    assert np.all(psi_cc >= psi - 1e-12)


@SETTINGS
@given(st.data())
def test_euclidean_c_transform_is_1_lipschitz(data):
    d = data.draw(st.integers(1, 3))
    y, x = data.draw(point_clouds(d=d)), data.draw(point_clouds(d=d, n_min=2))
    psi = data.draw(potentials(len(y), scale=2.0))
    vals, _ = c_transform(psi, y, x, "euclidean")
    dv = np.abs(vals[:, None] - vals[None, :])
    dx = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    assert np.all(dv <= dx + 1e-12)


# --- duality against POT's exact solver -------------------------------------------------------


@SETTINGS
@given(discrete_problems(max_size=40))
def test_strong_duality_at_pot_optimal_potential(problem):
    """The semi-dual at POT's optimal potential equals ot.emd2 (1e-9 relative)."""
    p = problem
    value = semi_dual(p.psi, p.y, p.x, nu=p.nu, a=p.a, cost=p.cost)
    np.testing.assert_allclose(value, p.value, rtol=LP, atol=F64)


@SETTINGS
@given(st.data())
def test_weak_duality_for_any_potential(data):
    p = data.draw(discrete_problems(max_size=40))
    m = len(p.y)
    for psi in (data.draw(potentials(m, scale=3.0)), p.psi + data.draw(potentials(m, scale=0.1)),
                np.zeros(m)):
        assert semi_dual(psi, p.y, p.x, nu=p.nu, a=p.a, cost=p.cost) <= p.value + 1e-12


@SETTINGS
@given(discrete_problems(costs=("sqeuclidean",), max_size=40))
def test_gradient_vanishes_in_the_superdifferential_at_the_optimum(problem):
    """At an optimal psi the masses of the cells can match nu (ties split mass); where the
    argmin is unique the semi-dual gradient is nu - masses and H is maximal: one step of any
    size along it cannot increase H."""
    p = problem
    value, grad = semi_dual_gradient(p.psi, p.y, p.x, nu=p.nu, a=p.a, cost=p.cost)
    np.testing.assert_allclose(grad.sum(), 0.0, atol=F64)
    for step in (1e-3, 1e-1):
        assert semi_dual(p.psi + step * grad, p.y, p.x, nu=p.nu, a=p.a, cost=p.cost) <= (
            value + 1e-12
        )


def test_semi_dual_gradient_is_finite_difference_of_value():
    rng = np.random.default_rng(7)
    x, y = rng.random((4000, 2)), rng.random((6, 2))
    psi = 0.1 * rng.normal(size=6)
    _, grad = semi_dual_gradient(psi, y, x)
    h = 1e-7  # H is piecewise linear in psi: a tiny step crosses no point for generic data
    fd = np.array([(semi_dual(psi + h * e, y, x) - semi_dual(psi - h * e, y, x)) / (2 * h)
                   for e in np.eye(6)])
    np.testing.assert_allclose(grad, fd, atol=FINITE_DIFFERENCES)
    masses = cell_masses(psi, y, x)
    np.testing.assert_allclose(masses.sum(), 1.0, rtol=F64)
    np.testing.assert_allclose(grad, 1 / 6 - masses, rtol=0, atol=F64_ZERO)


# --- numpy / torch, autograd -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COSTS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_agrees_with_numpy(name, dtype):
    rng = np.random.default_rng(8)
    x, y, psi = rng.random((500, 2)), rng.random((40, 2)), 0.1 * rng.random(40)
    v_np, i_np = c_transform(psi, y, x, COSTS[name])
    v_t, i_t = c_transform(torch.tensor(psi, dtype=dtype), torch.tensor(y, dtype=dtype),
                           torch.tensor(x, dtype=dtype), COSTS[name])
    assert isinstance(v_t, torch.Tensor) and v_t.dtype == dtype and i_t.dtype == torch.long
    rtol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(v_t.numpy(), v_np, rtol=rtol, atol=rtol)
    if dtype == torch.float64:
        np.testing.assert_array_equal(i_t.numpy(), i_np)
    value_t = semi_dual(torch.tensor(psi, dtype=dtype), torch.tensor(y, dtype=dtype),
                        torch.tensor(x, dtype=dtype), cost=COSTS[name])
    np.testing.assert_allclose(float(value_t), semi_dual(psi, y, x, cost=COSTS[name]), rtol=rtol)


def test_mixed_inputs_follow_the_tensor():
    rng = np.random.default_rng(9)
    x = torch.tensor(rng.random((20, 2)), dtype=torch.float32)
    vals, _idx = c_transform(np.zeros(5), rng.random((5, 2)), x)
    assert isinstance(vals, torch.Tensor) and vals.dtype == torch.float32


@pytest.mark.parametrize("cost", [SquaredEuclidean(), Euclidean(), PowerEuclidean(3.0)])
def test_autograd_gradient_is_grad_x_cost_at_the_argmin(cost):
    rng = np.random.default_rng(10)
    y = torch.tensor(rng.random((30, 3)))
    psi = torch.tensor(0.1 * rng.normal(size=30), requires_grad=True)
    x = torch.tensor(rng.random((200, 3)), requires_grad=True)
    vals, idx = c_transform(psi, y, x, cost)
    vals.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), cost.grad_x(x.detach(), y[idx]).numpy(),
                               rtol=F64)
    counts = np.bincount(idx.numpy(), minlength=30)
    np.testing.assert_allclose(psi.grad.numpy(), -counts)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
def test_gradcheck_float64(cost):
    rng = np.random.default_rng(11)
    y = torch.tensor(rng.random((8, 2)))
    psi = torch.tensor(0.1 * rng.normal(size=8), requires_grad=True)
    x = torch.tensor(rng.random((12, 2)), requires_grad=True)

    def f(x_, psi_):
        return c_transform(psi_, y, x_, cost)[0]

    assert torch.autograd.gradcheck(f, (x, psi), eps=1e-7, atol=FINITE_DIFFERENCES)


@CUDA
@pytest.mark.parametrize("name", sorted(COSTS))
def test_cuda_matches_cpu(name):
    rng = np.random.default_rng(12)
    x, y, psi = rng.random((5000, 3)), rng.random((700, 3)), 0.1 * rng.random(700)
    v_cpu, _ = c_transform(psi, y, x, COSTS[name], method="brute")
    xt = torch.tensor(x, device="cuda", requires_grad=True)
    vals, idx = c_transform(torch.tensor(psi, device="cuda"), torch.tensor(y, device="cuda"), xt,
                            COSTS[name])
    assert vals.device.type == "cuda" and idx.device.type == "cuda"
    np.testing.assert_allclose(vals.detach().cpu().numpy(), v_cpu, rtol=F64_LOOSE, atol=F64)
    vals.sum().backward()
    assert xt.grad.device.type == "cuda"


@CUDA
def test_cuda_high_dimension_blocks():
    g = torch.Generator(device="cuda").manual_seed(0)
    y = torch.rand(60000, 784, device="cuda", generator=g)
    x = torch.rand(256, 784, device="cuda", generator=g, requires_grad=True)
    psi = torch.zeros(60000, device="cuda")
    vals, _idx = c_transform(psi, y, x, memory=64 * 2**20)
    ref = torch.cdist(x.detach(), y).pow(2).min(dim=1)
    torch.testing.assert_close(vals.detach(), ref.values, **TF32)


# --- validation -------------------------------------------------------------------------------


def test_errors_name_the_argument():
    y, x, psi = np.zeros((4, 2)), np.ones((3, 2)), np.zeros(4)
    y[:, 0] = np.arange(4)
    with pytest.raises(ValueError, match=r"c_transform: 'psi' must have shape \(4,\) to match "
                                         r"'y' \(4, 2\); got \(3,\)"):
        c_transform(np.zeros(3), y, x)
    with pytest.raises(ValueError, match=r"'x' must have shape \(n, 2\)"):
        c_transform(psi, y, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"'y' must have shape \(n, d\)"):
        c_transform(psi, np.zeros((4, 2, 1)), x)
    with pytest.raises(ValueError, match="'psi' contains NaN or inf"):
        c_transform(np.array([0, 0, np.inf, 0]), y, x)
    with pytest.raises(ValueError, match="'x' contains NaN or inf"):
        c_transform(psi, y, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="'y' must hold at least 1 point"):
        c_transform(np.zeros(0), np.zeros((0, 2)), x)
    with pytest.raises(ValueError, match="'method' must be one of"):
        c_transform(psi, y, x, method="fast")
    with pytest.raises(ValueError, match="method='kdtree' needs the quadratic cost"):
        c_transform(psi, y, x, "euclidean", method="kdtree")
    with pytest.raises(ValueError, match="'memory' must be a positive integer"):
        c_transform(psi, y, x, memory=0)
    with pytest.raises(TypeError, match="'x' must be a numeric array"):
        c_transform(psi, y, [["a", "b"]])
    with pytest.raises(ValueError, match="unknown 'cost'"):
        c_transform(psi, y, x, "l1")


def test_weight_errors_name_the_argument():
    y, x, psi = np.eye(2), np.ones((3, 2)), np.zeros(2)
    with pytest.raises(ValueError, match="semi_dual: 'nu' must be non-negative"):
        semi_dual(psi, y, x, nu=np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="semi_dual: 'nu' must sum to 1"):
        semi_dual(psi, y, x, nu=np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match=r"semi_dual_gradient: 'a' must have shape \(3,\)"):
        semi_dual_gradient(psi, y, x, a=np.ones(2) / 2)
    with pytest.raises(ValueError, match="cell_masses: 'a' contains NaN"):
        cell_masses(psi, y, x, a=np.array([np.nan, 0.5, 0.5]))


# --- hostile inputs: complex and half precision, overflowing masses, scalar options -----------

_RNG = np.random.default_rng(1234)
X2, Y2 = _RNG.random((7, 2)), _RNG.random((4, 2))  # 7 points, 4 sites


@pytest.mark.hostile
@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("which", ["x", "y", "psi"])
def test_c_transform_rejects_complex_naming_the_argument(lib, which):
    args = {"psi": np.zeros(4), "y": Y2, "x": X2}
    bad = args[which].astype(np.complex128) + 1e-3j
    args[which] = torch.as_tensor(bad) if lib == "torch" else bad
    with pytest.raises(TypeError, match=rf"c_transform: '{which}' must be real"):
        c_transform(args["psi"], args["y"], args["x"])


@pytest.mark.hostile
@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float16),
    lambda a: torch.as_tensor(a, dtype=torch.float16),
    lambda a: torch.as_tensor(a, dtype=torch.bfloat16),
])
def test_half_precision_is_rejected_naming_the_users_argument(make):
    with pytest.raises(TypeError, match="c_transform: 'x' has dtype .*16"):
        c_transform(np.zeros(4), Y2, make(X2))


@pytest.mark.hostile
def test_float32_and_integer_inputs_still_work():
    # integer and float32 inputs are fine: the answer matches float64 brute force
    xi = np.array([[0, 0], [2, 1]])
    yi = np.array([[1, 1], [3, 0], [0, 2]])
    vals, idx = c_transform(np.zeros(3), yi, xi)
    np.testing.assert_array_equal(vals, score_matrix(np.zeros(3), yi, xi).min(1))
    v32, _ = c_transform(np.zeros(4, np.float32), Y2.astype(np.float32), X2.astype(np.float32))
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, score_matrix(np.zeros(4), Y2, X2).min(1), rtol=F32)


@pytest.mark.hostile
def test_masses_whose_sum_overflows_are_rejected():
    with pytest.raises(ValueError, match="semi_dual: the sum of 'nu' is inf"):
        semi_dual(np.zeros(2), Y2[:2], X2, nu=np.array([1e308, 1e308]))


@pytest.mark.hostile
def test_non_integer_memory_is_an_argument_type_error():
    from otgan.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match="must be a positive integer"):
        c_transform(np.zeros(4), Y2, X2, memory=1.5)


@pytest.mark.hostile
def test_tiny_memory_budget_stays_vectorised_and_exact():
    from otgan.ctransform import _block_shape

    # a 1-byte budget still gives 64 x 64 blocks (not one Python iteration per entry)
    assert _block_shape(900, 700, 32, 1) == (64, 64)
    assert _block_shape(10, 5, 32, 1) == (10, 5)
    rng = np.random.default_rng(9)
    y, x, psi = rng.normal(size=(150, 3)), rng.normal(size=(130, 3)), rng.normal(size=150)
    vals, idx = c_transform(psi, y, x, method="brute", memory=1)
    scores = score_matrix(psi, y, x)  # brute force, one matrix
    np.testing.assert_array_equal(idx, scores.argmin(1))
    np.testing.assert_allclose(vals, scores.min(1), rtol=F64, atol=F64)
