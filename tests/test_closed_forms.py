"""Tests of otgan.closed_forms against independent methods.

Expected values come from POT (``ot.emd2``, ``ot.wasserstein_1d``,
``ot.gaussian.bures_wasserstein_distance``), scipy (``scipy.stats.entropy``,
``scipy.integrate.quad``), Monte Carlo with stated error bars, hand-derived formulas, or
quadratures written here independently of the library code.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import ot
import pytest
import scipy.linalg
import scipy.stats
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, optimize

from otgan import closed_forms as cf
from otgan.testing import weights

# --- strategies (built from otgan.testing's weights and hypothesis.extra.numpy: they shrink) ---


@st.composite
def histogram_pairs(draw, n_min=1, n_max=30, zeros=True):
    """Two probability vectors of the same length; with ``zeros``, some entries may vanish
    (disjoint or nested supports happen)."""
    n = draw(st.integers(n_min, n_max))
    return draw(weights(n, zeros=zeros)), draw(weights(n, zeros=zeros))


@st.composite
def gaussians(draw, d_min=1, d_max=5, rank_deficient=False):
    """``(m1, S1, m2, S2, A, B)``: means and covariances ``S1 = A A^T``, ``S2 = B B^T`` in
    dimension ``d``; factors of shape ``(d, d - 1)`` when ``rank_deficient``, else ``(d, 2d)``
    with an identity block ``0.2 I`` (positive definite)."""
    d = draw(st.integers(d_min, d_max))
    out, factors = [], []
    for _ in range(2):
        k = max(1, d - 1) if rank_deficient else d
        a = draw(hnp.arrays(np.float64, (d, k), elements=st.floats(-2.0, 2.0)))
        a = a * draw(st.sampled_from([0.2, 1.0, 2.0]))
        if not rank_deficient:
            a = np.hstack([a, 0.2 * np.eye(d)])
        out.append(draw(hnp.arrays(np.float64, d, elements=st.floats(-4.0, 4.0))))
        out.append(a @ a.T)
        factors.append(a)
    return (*out, *factors)


@st.composite
def line_histograms(draw, n_min=1, n_max=25):
    """``(p, q, positions)``: two probability vectors on ``n`` distinct positions (unsorted)."""
    p, q = draw(histogram_pairs(n_min=n_min, n_max=n_max))
    x = draw(hnp.arrays(np.float64, len(p), elements=st.floats(-5.0, 5.0), unique=True))
    return p, q, x


LOG2 = math.log(2.0)
LOG4 = math.log(4.0)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")


def js_direct(p, q):
    """JS by its definition, term by term (0 log 0 = 0), independent of the library."""
    total = 0.0
    for pi, qi in zip(p, q):
        m = 0.5 * (pi + qi)
        if pi > 0:
            total += 0.5 * pi * math.log(pi / m)
        if qi > 0:
            total += 0.5 * qi * math.log(qi / m)
    return total


# ------------------------------------------------------------------------------------------
# KL and JS
# ------------------------------------------------------------------------------------------


@given(histogram_pairs())
def test_kl_js_properties_and_reference(pq):
    p, q = pq
    kl = cf.kl_divergence(p, q)
    expected_kl = scipy.stats.entropy(p, q)  # independent implementation (natural log)
    if np.isinf(expected_kl):
        assert kl == math.inf
    else:
        np.testing.assert_allclose(kl, expected_kl, rtol=1e-12, atol=1e-14)
        assert kl >= 0.0
    js = cf.js_divergence(p, q)
    assert 0.0 <= js <= LOG2
    np.testing.assert_allclose(js, js_direct(p, q), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(js, cf.js_divergence(q, p), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(cf.js_divergence(p, p), 0.0, atol=1e-15)
    np.testing.assert_allclose(cf.kl_divergence(p, p), 0.0, atol=1e-15)
    if not ((p > 0) & (q > 0)).any():  # disjoint supports
        np.testing.assert_allclose(js, LOG2, rtol=1e-14)


def test_kl_infinite_when_p_charges_a_null_set_of_q_and_js_disjoint():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.0, 0.75])
    assert cf.kl_divergence(p, q) == math.inf
    r = np.array([0.5, 0.25, 0.25])
    np.testing.assert_allclose(cf.kl_divergence(p, r), 0.5 * math.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(cf.js_divergence([0.3, 0.7, 0, 0], [0, 0, 0.1, 0.9]), LOG2,
                               rtol=1e-15)
    # any shape: 2D histograms are compared as flat vectors
    a = np.array([[0.5, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(cf.js_divergence(a, a[::-1]), LOG2, rtol=1e-15)


def test_kl_js_known_value():
    # KL(Bern(1/2) | Bern(1/4)) = 1/2 log 2 + 1/2 log(2/3)
    np.testing.assert_allclose(cf.kl_divergence([0.5, 0.5], [0.25, 0.75]),
                               0.5 * math.log(2) + 0.5 * math.log(2 / 3), rtol=1e-14)


def test_kl_js_torch_matches_numpy_and_keeps_dtype():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7))
    q = rng.dirichlet(np.ones(7))
    for dtype in (torch.float64, torch.float32):
        tp, tq = torch.tensor(p, dtype=dtype), torch.tensor(q, dtype=dtype)
        for fun in (cf.kl_divergence, cf.js_divergence):
            out = fun(tp, tq)
            assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.ndim == 0
            rtol = 1e-12 if dtype == torch.float64 else 1e-5
            np.testing.assert_allclose(out.item(), fun(p, q), rtol=rtol)
    tp = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    tq = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    assert cf.kl_divergence(tp, tq).item() == math.inf
    np.testing.assert_allclose(cf.js_divergence(tp, tq).item(), js_direct([.5, .5, 0], [0, .5, .5]),
                               rtol=1e-14)


def test_kl_gradient_torch():
    # d KL / d q_i = -p_i / q_i (before the renormalisation, whose Jacobian projects it)
    p = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    q = torch.tensor([0.4, 0.4, 0.2], dtype=torch.float64, requires_grad=True)
    cf.kl_divergence(p, q).backward()
    g = -(p / q).detach()
    expected = g - (g * q.detach()).sum()  # Jacobian of q -> q / sum(q) at sum(q) = 1
    np.testing.assert_allclose(q.grad.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fun", [cf.kl_divergence, cf.js_divergence])
def test_kl_js_validation(fun):
    name = fun.__name__
    with pytest.raises(ValueError, match=rf"{name}: 'q' must have the same shape as 'p' \(3,\)"):
        fun([0.2, 0.3, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=rf"{name}: 'p' must be non-negative"):
        fun([-0.2, 0.7, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=rf"{name}: 'q' must sum to 1.*got sum 2"):
        fun([0.2, 0.3, 0.5], [1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match=rf"{name}: 'p' contains NaN"):
        fun([np.nan, 0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(TypeError, match=rf"{name}: 'p' must be a numeric array"):
        fun(["a", "b"], [0.5, 0.5])


def test_js_singular_is_log2_and_histogram_limit():
    assert cf.js_singular() == LOG2 == cf.LOG2
    # mu = U[0, 1] binned on n cells vs nu = delta_{1/3} (inside the support): the histograms
    # overlap in one bin, JS_n -> log 2 with the exact value computed by hand:
    # JS_n = (n-1)/(2n) log 2 + [ (1/n) log(2/(n+1)) + log(2n/(n+1)) ] / 2
    errors = []
    for n in (10, 100, 1000, 10000):
        p = np.full(n, 1.0 / n)
        q = np.zeros(n)
        q[int(n / 3)] = 1.0
        expected = (n - 1) / (2 * n) * LOG2 + 0.5 * (math.log(2 / (n + 1)) / n
                                                     + math.log(2 * n / (n + 1)))
        js = cf.js_divergence(p, q)
        np.testing.assert_allclose(js, expected, rtol=1e-12)
        errors.append(LOG2 - js)
        assert 0 < LOG2 - js <= 2 * math.log(n) / n
    assert all(e2 < e1 for e1, e2 in itertools.pairwise(errors))
    # the discriminator 1_A (A the atoms) reaches sup L = 0 = 2 JS - log 4
    p = np.array([0.25, 0.25, 0.5, 0.0])  # "density" part
    q = np.array([0.0, 0.0, 0.0, 1.0])  # atom
    np.testing.assert_allclose(cf.gan_value(np.array([0, 0, 0, 1.0]), p, q),
                               2 * cf.js_singular() - LOG4, atol=1e-15)


# ------------------------------------------------------------------------------------------
# optimal discriminator, GAN value
# ------------------------------------------------------------------------------------------


def test_optimal_discriminator_values_and_convention():
    # p = generated density, q = data density: D* = q / (q + p) -> 1 on data-only regions
    d = cf.optimal_discriminator([1.0, 0.0, 1.0, 0.0, 2.0], [0.0, 1.0, 3.0, 0.0, 2.0])
    np.testing.assert_allclose(d, [0.0, 1.0, 0.75, 0.5, 0.5], rtol=0, atol=0)
    t = cf.optimal_discriminator(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), [0.5, 0.5])


def _gauss(mean, std):
    return scipy.stats.norm(mean, std)


@pytest.mark.parametrize(
    "gen, data, pts, lims",
    [
        (_gauss(0.0, 1.0), _gauss(1.0, 0.5), None, (-np.inf, np.inf)),
        (_gauss(-2.0, 0.7), _gauss(2.0, 1.3), None, (-np.inf, np.inf)),
        (scipy.stats.uniform(0, 2), scipy.stats.uniform(1, 2), [1.0, 2.0], (0.0, 3.0)),
    ],
)
def test_sup_gan_value_is_2js_minus_log4_by_quadrature(gen, data, pts, lims):
    def integrand(x, pert=None):
        p, q = np.array([gen.pdf(x)]), np.array([data.pdf(x)])
        # in the far tails D* rounds to exactly 0 or 1 while both densities are > 0, and
        # p log(1 - 1) = -inf; keeping D one ulp inside (0, 1) changes the integrand there by
        # less than 40 eps (p + q), negligible
        d = np.clip(cf.optimal_discriminator(p, q), 1e-300, 1.0 - 2.0**-53)
        if pert is not None:
            d = np.clip(d + pert(x), 0.0, 1.0)
        return cf.gan_integrand(d, p, q)[0]

    quad = {"epsabs": 1e-12, "epsrel": 1e-12, "limit": 400}
    if pts is not None:
        quad["points"] = pts
    sup_l, _ = integrate.quad(integrand, *lims, **quad)

    # independent JS by quadrature on log-densities: p log(2p/(p+q)) = p (log2 + lp - lse)
    def js_integrand(x):
        lp, lq = gen.logpdf(x), data.logpdf(x)
        lse = np.logaddexp(lp, lq)
        out = 0.0
        if np.isfinite(lp):
            out += np.exp(lp) * (LOG2 + lp - lse)
        if np.isfinite(lq):
            out += np.exp(lq) * (LOG2 + lq - lse)
        return 0.5 * out

    js, _ = integrate.quad(js_integrand, *lims, **quad)
    np.testing.assert_allclose(sup_l, 2 * js - LOG4, rtol=1e-9, atol=1e-11)
    if pts is not None:  # U[0,2] vs U[1,3]: JS = log(2) / 2 by hand
        np.testing.assert_allclose(js, LOG2 / 2, rtol=1e-12)
    # perturbing the discriminator lowers the value
    for eps in (0.2, -0.05, 0.01):
        for bump in (lambda x, e=eps: e * np.exp(-x * x),
                     lambda x, e=eps: e * np.sin(3 * x) / (1 + x * x)):
            low, _ = integrate.quad(integrand, *lims, args=(bump,), **quad)
            assert low < sup_l - 1e-9


@given(histogram_pairs(), st.integers(0, 2**32 - 1))
def test_gan_value_on_histograms(pq, seed):
    p, q = pq
    d_star = cf.optimal_discriminator(p, q)
    best = cf.gan_value(d_star, p, q)
    np.testing.assert_allclose(best, 2 * js_direct(p, q) - LOG4, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cf.gan_value(np.full(len(p), 0.5), p, q), -LOG4, rtol=1e-14)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        d = rng.uniform(0.001, 0.999, size=len(p))
        assert cf.gan_value(d, p, q) <= best + 1e-12


def test_gan_value_density_grid_and_stationarity_torch():
    # Riemann sums with cell size dx on two densities; grad of L in d vanishes at D*
    x = np.linspace(-6, 6, 2001)
    dx = x[1] - x[0]
    p, q = scipy.stats.norm(0, 1).pdf(x), scipy.stats.norm(0.5, 1).pdf(x)
    tp, tq = torch.tensor(p), torch.tensor(q)
    d = cf.optimal_discriminator(tp, tq).clone().requires_grad_(True)
    val = cf.gan_value(d, tp, tq, dx=dx)
    val.backward()
    np.testing.assert_allclose(d.grad.numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(val.item(), np.sum(q * np.log(q / (p + q)) + p * np.log(p / (p + q)))
                               * dx, rtol=1e-12)


def test_gan_value_validation():
    with pytest.raises(ValueError, match=r"gan_value: 'd' must take values in \[0, 1\]"):
        cf.gan_value([1.5, 0.5], [0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"gan_value: 'd' must have the same shape"):
        cf.gan_value([0.5], [0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"gan_value: 'dx' must be a positive finite number"):
        cf.gan_value([0.5, 0.5], [0.5, 0.5], [0.5, 0.5], dx=0.0)
    with pytest.raises(ValueError, match=r"optimal_discriminator: 'q' must be non-negative"):
        cf.optimal_discriminator([0.5, 0.5], [0.5, -0.5])
    with pytest.raises(ValueError, match=r"optimal_discriminator: 'q' must have the same shape"):
        cf.optimal_discriminator([0.5, 0.5], [0.5])
    assert cf.gan_value([0.0, 0.5], [0.5, 0.5], [0.5, 0.5]) == -math.inf


# ------------------------------------------------------------------------------------------
# parallel lines (Arjovsky et al. 2017, Example 1)
# ------------------------------------------------------------------------------------------


def test_parallel_lines_values():
    r = cf.parallel_lines(0.3)
    assert (r["w1"], r["js"], r["kl"]) == (0.3, LOG2, math.inf)
    assert (r.w1, r.js, r.kl) == (0.3, LOG2, math.inf)
    assert set(r) == {"theta", "w1", "js", "kl"}
    r0 = cf.parallel_lines(0.0)
    assert (r0["w1"], r0["js"], r0["kl"]) == (0.0, 0.0, 0.0)
    theta = np.array([[-2.0, 0.0], [1e-9, 5.0]])
    r = cf.parallel_lines(theta)
    np.testing.assert_array_equal(r["w1"], np.abs(theta))
    np.testing.assert_array_equal(r["js"], [[LOG2, 0.0], [LOG2, LOG2]])
    np.testing.assert_array_equal(r["kl"], [[np.inf, 0.0], [np.inf, np.inf]])
    with pytest.raises(ValueError, match=r"parallel_lines: 'theta' must be finite"):
        cf.parallel_lines([0.0, np.nan])
    with pytest.raises(TypeError, match=r"parallel_lines: 'theta' must be a numeric array"):
        cf.parallel_lines("a")


def test_parallel_lines_torch_gradient():
    theta = torch.tensor([-0.5, 0.25, 2.0], dtype=torch.float64, requires_grad=True)
    r = cf.parallel_lines(theta)
    assert all(isinstance(r[k], torch.Tensor) and r[k].dtype == torch.float64
               for k in ("w1", "js", "kl"))
    r["w1"].sum().backward()
    np.testing.assert_array_equal(theta.grad.numpy(), [-1.0, 1.0, 1.0])  # W1 gives sign(theta)


@pytest.mark.parametrize("theta", [0.0, 0.01, -0.3, 1.0, 2.5])
def test_parallel_lines_against_emd_and_discretised_js(theta):
    n = 200
    z = (np.arange(n) + 0.5) / n
    x0 = np.c_[np.zeros(n), z]
    xt = np.c_[np.full(n, theta), z]
    w = np.full(n, 1.0 / n)
    w1 = ot.emd2(w, w, ot.dist(x0, xt, metric="euclidean"))
    r = cf.parallel_lines(theta)
    np.testing.assert_allclose(w1, r["w1"], rtol=1e-12, atol=1e-14)
    # histograms of the two laws on a common grid of bins of width h in x1 (h in z)
    h = 0.005
    edges1 = np.arange(-3.0, 3.0 + h / 2, h) - h / 2  # bins centred on multiples of h
    edges2 = np.linspace(0, 1, 11)
    hp = np.histogram2d(x0[:, 0], x0[:, 1], bins=[edges1, edges2])[0].ravel() / n
    hq = np.histogram2d(xt[:, 0], xt[:, 1], bins=[edges1, edges2])[0].ravel() / n
    expected_js = js_direct(hp, hq)
    np.testing.assert_allclose(cf.js_divergence(hp, hq), expected_js, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(expected_js, r["js"], rtol=1e-12, atol=1e-15)
    assert cf.kl_divergence(hp, hq) == r["kl"]
    assert cf.kl_divergence(hq, hp) == r["kl"]


# ------------------------------------------------------------------------------------------
# W1 on a line
# ------------------------------------------------------------------------------------------


def test_w1_histograms_lecture_piles_of_dirt():
    # lecture 004: delta = 2, 2, -1, 0, W = 5 (units of dirt times distance)
    assert cf.w1_histograms([3, 2, 1, 4], [1, 2, 4, 3]) == 5.0
    # the same with POT on the normalised histograms, times the total mass 10
    x = np.arange(4.0)[:, None]
    p, q = np.array([3, 2, 1, 4]) / 10, np.array([1, 2, 4, 3]) / 10
    np.testing.assert_allclose(10 * ot.emd2(p, q, ot.dist(x, x, metric="euclidean")), 5.0,
                               rtol=1e-14)
    np.testing.assert_allclose(cf.w1_histograms(p, q), 0.5, rtol=1e-14)
    np.testing.assert_allclose(cf.w1_histograms(p, q, 3.0 * np.arange(4)), 1.5, rtol=1e-14)


@given(line_histograms())
def test_w1_histograms_against_pot(pqx):
    p, q, x = pqx
    w = cf.w1_histograms(p, q, x)
    m = np.abs(x[:, None] - x[None, :])
    np.testing.assert_allclose(w, ot.emd2(p, q, m), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w, ot.wasserstein_1d(x, x, p, q, p=1), rtol=1e-9, atol=1e-12)
    # piles of dirt: scaling both masses scales the work
    np.testing.assert_allclose(cf.w1_histograms(7.0 * p, 7.0 * q, x), 7.0 * w, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(cf.w1_histograms(q, p, x), w, rtol=1e-12, atol=1e-15)


def test_w1_histograms_torch_and_validation():
    p = torch.tensor([0.1, 0.4, 0.5], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.3, 0.3, 0.4], dtype=torch.float64)
    x = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    w = cf.w1_histograms(p, q, x)
    assert isinstance(w, torch.Tensor) and w.dtype == torch.float64
    # cumulative differences -0.2, -0.1 over gaps 1, 2: W = 0.2 + 0.2
    np.testing.assert_allclose(w.item(), 0.4, rtol=1e-14)
    w.backward()
    # dW/dp_k = sum_{i >= k, i < n-1} sign(delta_i) gap_i
    np.testing.assert_allclose(p.grad.numpy(), [-3.0, -2.0, 0.0])
    with pytest.raises(ValueError, match=r"w1_histograms: 'p' and 'q' must have the same total"):
        cf.w1_histograms([1, 2], [1, 1])
    with pytest.raises(ValueError, match=r"w1_histograms: 'q' must have shape \(2,\) to match"):
        cf.w1_histograms([1, 2], [1, 1, 1])
    with pytest.raises(ValueError, match=r"w1_histograms: 'positions' must have shape \(2,\)"):
        cf.w1_histograms([1, 2], [2, 1], [0.0])
    with pytest.raises(ValueError, match=r"w1_histograms: 'q' must be non-negative"):
        cf.w1_histograms([1, 2], [4, -1])


# ------------------------------------------------------------------------------------------
# Fréchet distance
# ------------------------------------------------------------------------------------------


def frechet_by_factors(m1, a, m2, b):
    """W2^2 with S1 = A A^T, S2 = B B^T: tr (S1^1/2 S2 S1^1/2)^1/2 is the nuclear norm of A^T B
    (same singular values as S1^1/2 B), so no matrix square root is needed at all."""
    nuclear = np.linalg.svd(a.T @ b, compute_uv=False).sum()
    return np.sum((m1 - m2) ** 2) + np.sum(a * a) + np.sum(b * b) - 2 * nuclear


@given(gaussians())
def test_frechet_against_pot_bures(g):
    m1, s1, m2, s2, a, b = g
    val = cf.frechet_distance(m1, s1, m2, s2)
    expected = float(ot.gaussian.bures_wasserstein_distance(m1, m2, s1, s2)) ** 2
    scale = np.trace(s1) + np.trace(s2) + np.sum((m1 - m2) ** 2)
    np.testing.assert_allclose(val, expected, rtol=1e-7, atol=1e-9 * scale)
    np.testing.assert_allclose(val, frechet_by_factors(m1, a, m2, b), rtol=1e-7,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(cf.frechet_distance(m2, s2, m1, s1), val, rtol=1e-7,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(cf.frechet_distance(m1, s1, m1, s1), 0.0, atol=1e-7 * scale)


@given(gaussians(d_min=2, rank_deficient=True))
def test_frechet_singular_covariances(g):
    # POT's bures distance returns NaN here (sqrt of rounding-negative eigenvalues); the
    # factor formula is the reference. Accuracy near zero eigenvalues is ~ sqrt(eps) * scale.
    m1, s1, m2, s2, a, b = g
    scale = np.trace(s1) + np.trace(s2) + np.sum((m1 - m2) ** 2)
    np.testing.assert_allclose(cf.frechet_distance(m1, s1, m2, s2),
                               frechet_by_factors(m1, a, m2, b), rtol=1e-7, atol=1e-7 * scale)
    zero = np.zeros_like(s1)  # a Dirac: ||m1 - m2||^2 + tr S2
    np.testing.assert_allclose(cf.frechet_distance(m1, zero, m2, s2),
                               np.sum((m1 - m2) ** 2) + np.trace(s2), rtol=1e-12)


def test_frechet_closed_cases():
    # 1D: (m1 - m2)^2 + (s1 - s2)^2; scalars accepted
    assert cf.frechet_distance(1.0, 4.0, -2.0, 0.25) == pytest.approx(9 + 1.5**2, rel=1e-14)
    # commuting (diagonal) covariances: ||S1^1/2 - S2^1/2||_F^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.0])
    np.testing.assert_allclose(cf.frechet_distance(np.zeros(3), np.diag(a), np.ones(3),
                                                   np.diag(b)),
                               3 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rtol=1e-13)
    # rotation invariance: the same pair rotated
    rng = np.random.default_rng(3)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    s1, s2 = np.diag(a), rot @ np.diag(b) @ rot.T
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(
        cf.frechet_distance(rot @ m1, rot @ s1 @ rot.T, rot @ m2, rot @ s2 @ rot.T),
        cf.frechet_distance(m1, s1, m2, s2), rtol=1e-7)  # S2 singular: ~sqrt(eps) accuracy


def test_frechet_against_emd_on_samples():
    """W2^2 between empirical measures of n samples, averaged over R replicates.

    Error bar: the replicate spread gives the standard error of the mean (Monte Carlo,
    ~ n^{-1/2}); the empirical estimator is also biased upward by O(n^{-1} log n) in 2D (a few
    1e-3 here), added to the tolerance.
    """
    rng = np.random.default_rng(12345)
    m1, m2 = np.array([0.0, 0.0]), np.array([1.0, -0.5])
    s1 = np.array([[1.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[0.4, -0.2], [-0.2, 1.5]])
    exact = cf.frechet_distance(m1, s1, m2, s2)
    n, reps = 500, 6
    w = np.full(n, 1.0 / n)
    est = []
    for _ in range(reps):
        x = rng.multivariate_normal(m1, s1, size=n)
        y = rng.multivariate_normal(m2, s2, size=n)
        est.append(ot.emd2(w, w, ot.dist(x, y), numItermax=10**7))
    est = np.array(est)
    sem = est.std(ddof=1) / math.sqrt(reps)
    bias = 2.0 * math.log(n) / n
    assert abs(est.mean() - exact) <= 4 * sem + bias, (est.mean(), exact, sem)


def test_frechet_torch_dtype_and_gradient():
    m1 = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    m2 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    s1 = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    s2 = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    val = cf.frechet_distance(m1, s1, m2, s2)
    assert isinstance(val, torch.Tensor) and val.dtype == torch.float64
    np.testing.assert_allclose(
        val.item(), float(ot.gaussian.bures_wasserstein_distance(
            m1.detach().numpy(), m2.numpy(), s1.numpy(), s2.numpy())) ** 2, rtol=1e-10)
    val.backward()
    np.testing.assert_allclose(m1.grad.numpy(), 2 * (m1 - m2).detach().numpy(), rtol=1e-14)
    v32 = cf.frechet_distance(m1.detach().float(), s1.float(), m2.float(), s2.float())
    assert v32.dtype == torch.float32
    np.testing.assert_allclose(v32.item(), val.item(), rtol=1e-5)


def test_frechet_validation():
    eye = np.eye(2)
    with pytest.raises(ValueError, match=r"frechet_distance: 'S1' must have shape \(2, 2\)"):
        cf.frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), eye)
    with pytest.raises(ValueError, match=r"frechet_distance: 'm2' must have shape \(2,\)"):
        cf.frechet_distance(np.zeros(2), eye, np.zeros(3), eye)
    with pytest.raises(ValueError, match=r"frechet_distance: 'S2' must be symmetric"):
        cf.frechet_distance(np.zeros(2), eye, np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"frechet_distance: 'S1' must be positive semi-def"):
        cf.frechet_distance(np.zeros(2), np.diag([1.0, -0.1]), np.zeros(2), eye)
    with pytest.raises(ValueError, match=r"frechet_distance: 'S1' contains NaN"):
        cf.frechet_distance(np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), eye)


@CUDA
def test_closed_forms_cuda():
    dev = torch.device("cuda")
    m = torch.zeros(2, device=dev, dtype=torch.float64)
    s = torch.eye(2, device=dev, dtype=torch.float64)
    assert cf.frechet_distance(m, s, m + 1, 4 * s).device.type == "cuda"
    p = torch.tensor([0.5, 0.5], device=dev)
    assert cf.js_divergence(p, p.flip(0)).device.type == "cuda"
    assert cf.w1_histograms(p, p.flip(0)).device.type == "cuda"
    assert cf.parallel_lines(p)["w1"].device.type == "cuda"
    assert cf.exercise_2(m, m + 1).device.type == "cuda"


# ------------------------------------------------------------------------------------------
# Exercise 1
# ------------------------------------------------------------------------------------------

EX1_Y = np.array([[2.0, 0.0], [-1.0, 1.0], [-1.0, -1.0]])
EX1_NU = np.array([0.5, 0.25, 0.25])


def _sqrt_prim(u, b):
    """Antiderivative of sqrt(u^2 + b^2) in u: (u r + b^2 log((u + r) / |b|)) / 2 with
    r = sqrt(u^2 + b^2); odd in u (evaluated on |u| against cancellation)."""
    if b == 0.0:
        return 0.5 * u * abs(u)
    if u < 0:
        return -_sqrt_prim(-u, b)
    r = math.hypot(u, b)
    return 0.5 * (u * r + b * b * math.log((u + r) / abs(b)))


def semi_dual_vertical(psi, n_samples=33):
    """H(psi) = int psi^c dmu + nu . psi for Exercise 1, written independently of the library:
    integration over vertical lines x1 = r (adaptive quad in r); on each line the pieces of the
    min of the three smooth functions are located by sampling + Brent, and integrated exactly."""
    psi = np.asarray(psi, dtype=np.float64)

    def g(j, r, s):
        return math.hypot(r - EX1_Y[j, 0], s - EX1_Y[j, 1]) - psi[j]

    def line(r):
        h = 1.0 - abs(r)
        if h <= 0:
            return 0.0
        ss = np.linspace(-h, h, n_samples)
        vals = np.hypot(r - EX1_Y[:, 0, None], ss[None, :] - EX1_Y[:, 1, None]) - psi[:, None]
        lab = vals.argmin(0)
        cuts = [-h]
        for i in range(n_samples - 1):
            a, b = lab[i], lab[i + 1]
            if a != b:
                cuts.append(optimize.brentq(lambda s, a=a, b=b: g(a, r, s) - g(b, r, s),
                                            ss[i], ss[i + 1], xtol=1e-15, rtol=1e-15))
        cuts.append(h)
        total = 0.0
        for lo, hi in itertools.pairwise(cuts):
            mid = 0.5 * (lo + hi)
            j = int(np.argmin([g(k, r, mid) for k in range(3)]))
            b = r - EX1_Y[j, 0]
            total += (_sqrt_prim(hi - EX1_Y[j, 1], b) - _sqrt_prim(lo - EX1_Y[j, 1], b)
                      - psi[j] * (hi - lo))
        return total

    val, _ = integrate.quad(line, -1.0, 1.0, epsabs=1e-13, epsrel=1e-13, limit=500)
    return 0.5 * val + float(EX1_NU @ psi)  # density of mu is 1/2 (area 2)


def _diamond_points(a, b):
    """(a, b) in [-1, 1]^2 -> the square |x1| + |x2| <= 1 (area-preserving up to factor 2)."""
    return np.c_[(a + b) / 2, (a - b) / 2]


def test_exercise_1_structure():
    r = cf.exercise_1()
    assert set(r) >= {"js", "w1", "psi", "masses"}
    assert r["js"] == LOG2
    assert r["psi"].shape == (3,) and r["psi"][0] == 0.0
    assert r["psi"][1] == r["psi"][2]  # symmetry x2 -> -x2
    np.testing.assert_allclose(r["masses"], EX1_NU, atol=1e-12)
    np.testing.assert_array_equal(r["y"], EX1_Y)
    np.testing.assert_array_equal(r["nu"], EX1_NU)
    r["psi"][1] = 99.0  # callers get fresh arrays
    assert cf.exercise_1()["psi"][1] != 99.0
    # W1 is at least the transport of each atom's mass to the nearest point of the square,
    # and at most the largest distance between the square and an atom
    assert 0.5 * 1.0 + 0.5 * (2 ** 0.5 / 2) <= r["w1"] <= 3.0


def test_exercise_1_strong_duality_by_independent_quadrature():
    r = cf.exercise_1()
    h_star = semi_dual_vertical(r["psi"])
    np.testing.assert_allclose(h_star, r["w1"], rtol=1e-9)
    # weak duality: H(psi) < H(psi*) = W1 for perturbations, including asymmetric ones;
    # H is smooth and concave: the drop is of second order in the perturbation
    rng = np.random.default_rng(7)
    for scale in (1e-1, 1e-2):
        for _ in range(2):
            delta = np.r_[0.0, rng.normal(size=2)]
            delta *= scale / np.linalg.norm(delta)
            h = semi_dual_vertical(r["psi"] + delta)
            assert h < r["w1"] - 1e-3 * scale**2, (scale, r["w1"] - h)
            assert r["w1"] - h < 10 * scale**2
    # adding a constant to psi changes nothing (nu sums to 1)
    np.testing.assert_allclose(semi_dual_vertical(r["psi"] + 0.7), r["w1"], rtol=1e-9)


def test_exercise_1_against_emd_on_grids():
    """ot.emd2 on the N x N midpoint grid of the square (in the coordinates a = x1 + x2,
    b = x1 - x2 it is [-1, 1]^2: cells are equal-mass squares of side sqrt(2)/N in x).

    Rigorous bound: |W1(mu_N, nu) - W1(mu, nu)| <= W1(mu, mu_N) <= mean distance of a uniform
    point of a square of side l to its centre = l (sqrt 2 + asinh 1) / 6 = 0.3826 l.
    Observed: the midpoint error is O(h^2) (ratio ~4 per halving).
    """
    w1 = cf.exercise_1()["w1"]
    errors = []
    for n in (25, 50, 100):
        g = (np.arange(n) + 0.5) / n * 2 - 1
        a, b = np.meshgrid(g, g)
        x = _diamond_points(a.ravel(), b.ravel())
        m = ot.dist(x, EX1_Y, metric="euclidean")
        w = ot.emd2(np.full(len(x), 1.0 / len(x)), EX1_NU, m, numItermax=10**7)
        bound = (math.sqrt(2) + math.asinh(1.0)) / 6 * (math.sqrt(2) / n)
        assert abs(w - w1) <= bound
        errors.append(w - w1)
    assert abs(errors[2]) < abs(errors[1]) < abs(errors[0])
    # second-order convergence, so the Richardson extrapolation is much closer still
    richardson = w1 + (4 * errors[2] - errors[1]) / 3
    assert abs(richardson - w1) < 0.2 * abs(errors[2])


def test_exercise_1_cell_masses_monte_carlo():
    """mu-masses of the Laguerre cells of psi by Monte Carlo (n = 10^6, error bar 5 sigma)."""
    r = cf.exercise_1()
    rng = np.random.default_rng(2024)
    n = 10**6
    x = _diamond_points(rng.uniform(-1, 1, n), rng.uniform(-1, 1, n))

    def masses(psi):
        vals = np.hypot(x[:, None, 0] - EX1_Y[None, :, 0],
                        x[:, None, 1] - EX1_Y[None, :, 1]) - psi[None, :]
        return np.bincount(vals.argmin(1), minlength=3) / n

    sigma = np.sqrt(EX1_NU * (1 - EX1_NU) / n)
    assert np.all(np.abs(masses(r["psi"]) - EX1_NU) <= 5 * sigma)
    # the test can fail: a slightly wrong psi is detected
    wrong = masses(r["psi"] + np.array([0.0, 0.02, 0.02]))
    assert np.any(np.abs(wrong - EX1_NU) > 5 * sigma)
    # and the transport cost of the assignment is W1 within the Monte Carlo error
    vals = np.hypot(x[:, None, 0] - EX1_Y[None, :, 0], x[:, None, 1] - EX1_Y[None, :, 1])
    cost = vals[np.arange(n), (vals - r["psi"][None, :]).argmin(1)]
    assert abs(cost.mean() - r["w1"]) <= 5 * cost.std() / math.sqrt(n)


def test_exercise_1_semi_dual_with_otgan_ctransform():
    """Cross-check with the library's c-transform kernel on a midpoint grid of the square.

    For a fixed psi, psi^c is 1-Lipschitz, so |H_N(psi) - H(psi)| <= W1(mu_N, mu) <= the same
    rigorous bound as in the emd test; the gradient nu - masses is small (cells are cut only on
    their boundary).
    """
    from otgan.ctransform import semi_dual_gradient

    r = cf.exercise_1()
    n = 200
    g = (np.arange(n) + 0.5) / n * 2 - 1
    a, b = np.meshgrid(g, g)
    x = _diamond_points(a.ravel(), b.ravel())
    value, grad = semi_dual_gradient(r["psi"], EX1_Y, x, EX1_NU, cost="euclidean")
    bound = (math.sqrt(2) + math.asinh(1.0)) / 6 * (math.sqrt(2) / n)
    assert abs(value - r["w1"]) <= bound
    np.testing.assert_allclose(value, r["w1"], atol=1e-4)  # observed: midpoint error ~ h^2
    # boundary cells carry O(h) mass; grid points on the axis x2 = 0 tie between cells 2 and 3
    np.testing.assert_allclose(grad, 0.0, atol=5.0 / n)


# ------------------------------------------------------------------------------------------
# Exercise 2
# ------------------------------------------------------------------------------------------

EX2_Y = np.array([[-1.0, 0.0], [1.0, 0.0]])


def ex2_emd(a, b, n=200):
    """Quadratic OT cost from n equal-mass midpoints of [a, b] to nu, by ot.emd2, plus the exact
    midpoint correction ||b - a||^2 / (12 n^2) (n even: the optimal split of the segment falls
    between two sub-intervals, and within a sub-interval of length l sent to one atom the
    uniform measure costs l^2 / 12 more than its midpoint)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    s = (np.arange(n) + 0.5) / n
    x = a[None, :] + s[:, None] * (b - a)[None, :]
    w = ot.emd2(np.full(n, 1.0 / n), np.array([0.5, 0.5]), ot.dist(x, EX2_Y))
    return w, np.sum((b - a) ** 2) / (12 * n**2)


def _segments():
    rng = np.random.default_rng(11)
    segs = [tuple(rng.normal(size=(2, 2)) * 2) for _ in range(12)]
    segs += [((0.3, -1.0), (0.3, 2.0)),  # vertical
             ((-2.0, 0.0), (-2.0, 0.5)),  # vertical, left of both atoms
             ((0.7, 0.4), (0.7, 0.4)),  # degenerate: a Dirac
             ((0.0, 0.0), (0.0, 0.0)),
             ((-1.5, 0.0), (1.5, 0.0)),  # the minimiser
             ((1.5, 0.0), (-1.5, 0.0)),
             ((-1.0, 3.0), (4.0, 3.0))]  # horizontal
    return segs


@pytest.mark.parametrize("seg", _segments())
def test_exercise_2_against_emd(seg):
    a, b = seg
    w_emd, corr = ex2_emd(a, b)
    val = cf.exercise_2(a, b)
    assert isinstance(val, float)
    np.testing.assert_allclose(val, w_emd + corr, rtol=1e-10, atol=1e-12)
    assert w_emd <= val + 1e-12  # the midpoint discretisation under-estimates


def test_exercise_2_duality():
    # with psi = (0, -2 (a1 + b1)) the semi-dual H(psi) (by quadrature along the segment)
    # equals W: the vertical line x1 = (a1 + b1)/2 splits the segment into equal halves
    rng = np.random.default_rng(5)
    for _ in range(5):
        a, b = rng.normal(size=2), rng.normal(size=2)
        psi = np.array([0.0, -2 * (a[0] + b[0])])

        def psi_c(s, psi=psi, a=a, b=b):
            x = a + s * (b - a)
            return min(np.sum((x - EX2_Y[j]) ** 2) - psi[j] for j in range(2))

        h, _ = integrate.quad(psi_c, 0, 1, points=[0.5], epsabs=1e-13, epsrel=1e-13)
        h += 0.5 * psi.sum()
        np.testing.assert_allclose(h, cf.exercise_2(a, b), rtol=1e-11)
        # any other psi gives less (weak duality)
        shifted = psi + np.array([0.0, 0.3])
        h2, _ = integrate.quad(psi_c, 0, 1, args=(shifted,), limit=200)
        assert h2 + 0.5 * shifted.sum() < cf.exercise_2(a, b) - 1e-4


def test_exercise_2_argmin():
    r = cf.exercise_2_argmin()
    assert r["value"] == 0.25
    np.testing.assert_array_equal(r["a"], [-1.5, 0.0])
    np.testing.assert_array_equal(r["b"], [1.5, 0.0])
    assert len(r["minimizers"]) == 2
    for a, b in r["minimizers"]:
        w_emd, corr = ex2_emd(a, b)
        np.testing.assert_allclose(w_emd + corr, 0.25, rtol=1e-12)
    # random search: nothing lower (closed form, validated against emd above)
    rng = np.random.default_rng(0)
    thetas = rng.normal(size=(4000, 4)) * rng.choice([0.3, 1.0, 3.0], size=(4000, 1))
    vals = np.array([cf.exercise_2(t[:2], t[2:]) for t in thetas])
    assert vals.min() >= 0.25
    # local optimisation of the emd-based objective from random starts: nothing lower, and the
    # optimiser finds the same segment (up to orientation)
    def objective(t):
        w, corr = ex2_emd(t[:2], t[2:], n=32)
        return w + corr

    for start in rng.normal(size=(3, 4)):
        res = optimize.minimize(objective, start, method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-11, "maxiter": 4000})
        assert res.fun >= 0.25 - 1e-10
        np.testing.assert_allclose(res.fun, 0.25, atol=1e-6)
        seg = sorted([tuple(res.x[:2]), tuple(res.x[2:])])
        np.testing.assert_allclose(np.array(seg), [[-1.5, 0.0], [1.5, 0.0]], atol=2e-3)


@given(st.lists(st.floats(-10, 10), min_size=4, max_size=4))
def test_exercise_2_properties(t):
    a, b = np.array(t[:2]), np.array(t[2:])
    w = cf.exercise_2(a, b)
    assert w >= 0.25
    np.testing.assert_allclose(cf.exercise_2(b, a), w, rtol=1e-13)  # orientation-free
    # the Dirac case
    np.testing.assert_allclose(cf.exercise_2(a, a), a @ a + 1.0, rtol=1e-13)
    # reflection x2 -> -x2 and x1 -> -x1 leave nu invariant
    flip = np.array([-1.0, -1.0])
    np.testing.assert_allclose(cf.exercise_2(a * flip, b * flip), w, rtol=1e-12)


def test_exercise_2_torch_gradient_and_validation():
    a = torch.tensor([-1.0, 0.5], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([2.0, -0.5], dtype=torch.float64, requires_grad=True)
    w = cf.exercise_2(a, b)
    assert isinstance(w, torch.Tensor) and w.dtype == torch.float64
    np.testing.assert_allclose(w.item(), cf.exercise_2(a.detach().numpy(), b.detach().numpy()))
    w.backward()

    def f(v):
        return cf.exercise_2(v[:2], v[2:])

    v0 = np.r_[a.detach().numpy(), b.detach().numpy()]
    fd = [(f(v0 + e * 1e-6) - f(v0 - e * 1e-6)) / 2e-6 for e in np.eye(4)]
    np.testing.assert_allclose(np.r_[a.grad.numpy(), b.grad.numpy()], fd, rtol=1e-7)
    with pytest.raises(ValueError, match=r"exercise_2: 'a' must have shape \(2,\)"):
        cf.exercise_2([0.0, 0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"exercise_2: 'b' contains NaN"):
        cf.exercise_2([0.0, 0.0], [np.nan, 0.0])


def test_js_keeps_subnormal_mass():
    """(p + q) / 2 underflows to 0 for subnormal entries; JS must still be the true value.

    Reference: the same sum computed from log-weights, p log(2p / (p + q)) =
    p (log 2 - log(1 + exp(log q - log p))), which never forms p + q."""
    from scipy.special import logsumexp

    t = np.linspace(-8, 8, 20001)
    lp = -0.5 * (t / 0.1) ** 2
    lq = -0.5 * ((t - 0.04) / 0.1) ** 2
    lp, lq = lp - logsumexp(lp), lq - logsumexp(lq)
    p, q = np.exp(lp), np.exp(lq)
    assert (p[p > 0] < 1e-308).any()  # the histogram really has subnormal entries
    expected = 0.5 * (np.sum(p * (LOG2 - np.logaddexp(0.0, lq - lp)))
                      + np.sum(q * (LOG2 - np.logaddexp(0.0, lp - lq))))
    np.testing.assert_allclose(cf.js_divergence(p, q), expected, rtol=1e-9)
    np.testing.assert_allclose(float(cf.js_divergence(torch.tensor(p), torch.tensor(q))),
                               expected, rtol=1e-9)
    tiny = np.array([5e-324, 1.0 - 5e-324, 0.0])
    other = np.array([0.0, 1.0 - 5e-324, 5e-324])
    assert 0.0 <= cf.js_divergence(tiny, other) < 1e-300


# --- hostile inputs: complex, overflowing, NaN tolerances, degenerate covariances -------------


@pytest.mark.hostile
def test_complex_rejected_naming_the_argument():
    p = np.array([0.5, 0.5], dtype=complex)
    with pytest.raises(TypeError, match="kl_divergence: 'p' must be real"):
        cf.kl_divergence(p, [0.5, 0.5])
    with pytest.raises(TypeError, match="js_divergence: 'q' must be real"):
        cf.js_divergence([0.5, 0.5], torch.tensor([0.5, 0.5], dtype=torch.complex128))
    with pytest.raises(TypeError, match="w1_histograms: 'positions' must be real"):
        cf.w1_histograms([1.0, 0.0], [0.0, 1.0], positions=np.array([0, 1 + 1j]))
    with pytest.raises(TypeError, match="frechet_distance: 'S1' must be real"):
        cf.frechet_distance([0.0], np.array([[1 + 1j]]), [0.0], [[1.0]])
    with pytest.raises(TypeError, match="exercise_2: 'b' must be real"):
        cf.exercise_2([0.0, 0.0], np.array([1j, 0.0]))


@pytest.mark.hostile
def test_masses_whose_sum_overflows_are_rejected():
    big = np.array([1e308, 1e308])
    with pytest.raises(ValueError, match="w1_histograms: the sum of 'p' is inf"):
        cf.w1_histograms(big, big)
    with pytest.raises(ValueError, match="kl_divergence: the sum of 'p' is inf"):
        cf.kl_divergence(big, [0.5, 0.5])
    with pytest.raises(ValueError, match="overflow"):
        cf.frechet_distance(np.zeros(2), np.eye(2) * 1e308, np.zeros(2), np.eye(2))


@pytest.mark.hostile
def test_large_finite_masses_still_give_the_work():
    # piles of 1e307 moved by one bin: the work is 1e307 (hand computation)
    assert cf.w1_histograms([1e307, 1e307], [2e307, 0.0]) == pytest.approx(1e307, rel=1e-15)


@pytest.mark.hostile
def test_nan_tolerances_never_switch_a_check_off():
    nan = float("nan")
    with pytest.raises(ValueError, match="kl_divergence: 'atol' must be a finite"):
        cf.kl_divergence([0.5, 0.7], [0.5, 0.5], atol=nan)  # p does not sum to 1
    with pytest.raises(ValueError, match="w1_histograms: 'rtol' must be a finite"):
        cf.w1_histograms([1.0, 0.0], [5.0, 0.0], rtol=nan)  # masses differ


def _spd(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


@pytest.mark.hostile
@pytest.mark.parametrize("S1", [2.0 * np.eye(3), np.diag([1.0, 1.0, 3.0])])
def test_frechet_gradient_at_repeated_eigenvalues_matches_finite_differences(S1):
    S2 = _spd(3, 0)
    m1, m2 = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    s1 = torch.tensor(S1, requires_grad=True)
    s2 = torch.tensor(S2, requires_grad=True)

    def sym(a):  # finite differences move one entry: keep the covariance symmetric
        return 0.5 * (a + a.T)

    fixed = s2.detach()
    assert torch.autograd.gradcheck(lambda a: cf.frechet_distance(m1, sym(a), m2, fixed),
                                    (s1,), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradcheck(lambda b: cf.frechet_distance(m1, fixed, m2, sym(b)),
                                    (s1,), eps=1e-6, atol=1e-7)  # repeated in the 2nd slot
    val = cf.frechet_distance(m1, s1, m2, s2)
    val.backward()
    assert torch.isfinite(s1.grad).all()
    # closed form: grad_S1 = I - S2^½ (S2^½ S1 S2^½)^-½ S2^½ (scipy's sqrtm, another route)
    r2 = np.real(scipy.linalg.sqrtm(S2))
    mid = np.real(scipy.linalg.sqrtm(r2 @ S1 @ r2))
    expected = np.eye(3) - r2 @ np.linalg.inv(mid) @ r2
    np.testing.assert_allclose(s1.grad.numpy(), expected, rtol=1e-9, atol=1e-10)


@pytest.mark.hostile
def test_frechet_isotropic_equal_covariances_have_zero_gradient():
    s = torch.eye(4, dtype=torch.float64, requires_grad=True)
    m = torch.zeros(4, dtype=torch.float64)
    val = cf.frechet_distance(m, s, m, torch.eye(4, dtype=torch.float64))
    val.backward()
    assert abs(float(val.detach())) < 1e-14
    np.testing.assert_allclose(s.grad.numpy(), np.zeros((4, 4)), atol=1e-12)


@pytest.mark.hostile
def test_frechet_rank_deficient_commuting_matches_the_closed_form():
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T: W2^2 = ||a^½ - b^½||^2 (fewer samples than d)
    d = 6
    q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((d, d)))
    a = np.array([2.0, 1.0, 0.5, 0.0, 0.0, 0.0])
    b = np.array([1.0, 0.0, 0.25, 3.0, 0.0, 0.0])
    S1, S2 = (q * a) @ q.T, (q * b) @ q.T
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    got = cf.frechet_distance(np.zeros(d), S1, np.zeros(d), S2)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.hostile
def test_frechet_rank_deficient_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    # S1 = A A^T and S2 = B B^T with small integer factors: exact in float64 and exactly of
    # rank 2 and 3 in dimension 7. Then tr (S1^½ S2 S1^½)^½ = ||B^T A||_* (nuclear norm).
    rng = np.random.default_rng(5)
    A = rng.integers(-3, 4, size=(7, 2)).astype(float)
    B = rng.integers(-3, 4, size=(7, 3)).astype(float)
    S1, S2 = A @ A.T, B @ B.T
    mpmath.mp.dps = 40
    K = mpmath.matrix((B.T @ A).tolist())  # integers: exact
    sv = mpmath.svd_r(K, compute_uv=False)
    nuclear = sum(sv[i] for i in range(sv.rows))
    exact = mpmath.mpf(float(np.trace(S1))) + mpmath.mpf(float(np.trace(S2))) - 2 * nuclear
    got = cf.frechet_distance(np.zeros(7), S1, np.zeros(7), S2)
    assert abs(got - float(exact)) <= 1e-13 * float(np.trace(S1) + np.trace(S2))
