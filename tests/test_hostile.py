"""Hostile inputs on the public API, by family: each is checked against an independent answer
or for an error that names the argument the user passed.

Families: complex and half-precision dtypes, sums that overflow float64, NaN tolerances,
repeated eigenvalues and rank-deficient covariances in the Fréchet distance (finite
differences, closed forms and mpmath), uniform sampling of awkward polygons (exact polygon
moments, a chi-square on exact cell areas), the trainer's options and checkpoints, and
dimension mismatches between samplers, sites, generators and data.
"""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import shapely
import torch

from otgan import closed_forms as cf
from otgan import ctransform, datasets, errors, gan, laguerre, measures, semidiscrete, testing
from otgan.costs import SquaredEuclidean
from otgan.datasets import six_points

pytestmark = pytest.mark.usefixtures("one_torch_thread")

Y = six_points()
RNG = np.random.default_rng(1234)
X2 = RNG.random((7, 2))
Y2 = RNG.random((4, 2))


# ------------------------------------------------------------------------------ errors module


def test_errors_are_public_and_shared():
    from otgan import _utils

    assert _utils.GeometryError is errors.GeometryError
    assert _utils.OtganError is errors.OtganError
    assert semidiscrete.NotConvergedWarning is errors.NotConvergedWarning
    err = errors.GeometryError("cells overlap", indices=np.array([3, 7]))
    assert err.indices == (3, 7) and isinstance(err, errors.OtganError)
    assert issubclass(errors.CheckpointError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.ArgumentTypeError, ValueError)


# ------------------------------------------------------------------------------ complex inputs


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("which", ["x", "y", "psi"])
def test_c_transform_rejects_complex_naming_the_argument(lib, which):
    args = {"psi": np.zeros(4), "y": Y2, "x": X2}
    bad = args[which].astype(np.complex128) + 1e-3j
    args[which] = torch.as_tensor(bad) if lib == "torch" else bad
    with pytest.raises(TypeError, match=rf"c_transform: '{which}' must be real"):
        ctransform.c_transform(args["psi"], args["y"], args["x"])


def test_complex_rejected_across_modules():
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
    with pytest.raises(TypeError, match="'y' must be real"):
        laguerre.diagram(Y2.astype(complex), np.zeros(4))
    with pytest.raises(TypeError, match="'domain' must be real"):
        measures.Uniform(np.array([[0, 0], [1, 0], [1, 1j]]))
    with pytest.raises(TypeError, match="'data' must be real"):
        gan.Trainer(Y.astype(complex), loss="gan")


# ------------------------------------------------------------------------------ half precision


@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float16),
    lambda a: torch.as_tensor(a, dtype=torch.float16),
    lambda a: torch.as_tensor(a, dtype=torch.bfloat16),
])
def test_half_precision_is_rejected_naming_the_users_argument(make):
    with pytest.raises(TypeError, match="c_transform: 'x' has dtype .*16"):
        ctransform.c_transform(np.zeros(4), Y2, make(X2))
    # the sites of a solver: the message names 'y', never the default 'nu' the user did not pass
    with pytest.raises(TypeError, match="'y' has dtype .*16") as info:
        semidiscrete.asgd(measures.Uniform(), make(Y2), n_iter=5, rng=0)
    assert "'nu'" not in str(info.value)


def test_float32_and_integer_inputs_still_work():
    # integer and float32 inputs are fine: the answer matches float64 brute force
    xi = np.array([[0, 0], [2, 1]])
    yi = np.array([[1, 1], [3, 0], [0, 2]])
    vals, idx = ctransform.c_transform(np.zeros(3), yi, xi)
    brute = ((xi[:, None, :] - yi[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(vals, brute.min(1))
    v32, _ = ctransform.c_transform(np.zeros(4, np.float32), Y2.astype(np.float32),
                                    X2.astype(np.float32))
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, ((X2[:, None] - Y2[None]) ** 2).sum(-1).min(1), rtol=1e-5)


# ------------------------------------------------------------------------------ overflowing sums


def test_masses_whose_sum_overflows_are_rejected():
    big = np.array([1e308, 1e308])
    with pytest.raises(ValueError, match="w1_histograms: the sum of 'p' is inf"):
        cf.w1_histograms(big, big)
    with pytest.raises(ValueError, match="semi_dual: the sum of 'nu' is inf"):
        ctransform.semi_dual(np.zeros(2), Y2[:2], X2, nu=big)
    with pytest.raises(ValueError, match="kl_divergence: the sum of 'p' is inf"):
        cf.kl_divergence(big, [0.5, 0.5])
    with pytest.raises(ValueError, match="overflow"):
        cf.frechet_distance(np.zeros(2), np.eye(2) * 1e308, np.zeros(2), np.eye(2))


def test_large_finite_masses_still_give_the_work():
    # piles of 1e307 moved by one bin: the work is 1e307 (hand computation)
    assert cf.w1_histograms([1e307, 1e307], [2e307, 0.0]) == pytest.approx(1e307, rel=1e-15)


# ------------------------------------------------------------------------------ NaN tolerances


def test_nan_tolerances_never_switch_a_check_off():
    nan = float("nan")
    with pytest.raises(ValueError, match="kl_divergence: 'atol' must be a finite"):
        cf.kl_divergence([0.5, 0.7], [0.5, 0.5], atol=nan)  # p does not sum to 1
    with pytest.raises(ValueError, match="w1_histograms: 'rtol' must be a finite"):
        cf.w1_histograms([1.0, 0.0], [5.0, 0.0], rtol=nan)  # masses differ
    with pytest.raises(ValueError, match="'tol' must be a finite"):
        semidiscrete.newton(measures.Uniform(), Y2, tol=nan)
    with pytest.raises(ValueError, match="'tol' must be a finite"):
        semidiscrete.solve(measures.Uniform(), Y2, cost="euclidean", method="newton", tol=nan)
    with pytest.raises(ValueError, match="'rtol' must be a finite"):
        testing.assert_laguerre_valid(laguerre.diagram(Y2, np.zeros(4)), rtol=nan)
    with pytest.raises(TypeError, match="'tol' must be a finite non-negative number"):
        semidiscrete.newton(measures.Uniform(), Y2, tol="1e-9")


def test_nan_tolerance_in_testing_assertions():
    rng = np.random.default_rng(0)
    x, y = rng.random((5, 2)), rng.random((4, 2))
    problem = testing.DiscreteProblem(x, np.full(5, 0.2), y, np.full(4, 0.25),
                                      SquaredEuclidean(), 0.0, np.zeros(4))
    with pytest.raises(ValueError, match="'atol' must be a finite"):
        testing.assert_weak_duality(np.zeros(4), problem, atol=float("nan"))
    with pytest.raises(ValueError, match="'rtol' must be a finite"):
        testing.assert_duality_gap(np.zeros(4), problem, rtol=float("nan"))


# ------------------------------------------------------------------------------ Fréchet distance


def _spd(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


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


def test_frechet_isotropic_equal_covariances_have_zero_gradient():
    s = torch.eye(4, dtype=torch.float64, requires_grad=True)
    m = torch.zeros(4, dtype=torch.float64)
    val = cf.frechet_distance(m, s, m, torch.eye(4, dtype=torch.float64))
    val.backward()
    assert abs(float(val.detach())) < 1e-14
    np.testing.assert_allclose(s.grad.numpy(), np.zeros((4, 4)), atol=1e-12)


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


# ------------------------------------------------------------------------------ uniform sampling


L_SHAPE = shapely.Polygon([(0, 0), (4, 0), (4, 0.3), (0.3, 0.3), (0.3, 4), (0, 4)])
HOLED = shapely.Polygon([(0, 0), (3, 0), (3, 3), (0, 3)],
                        [[(0.2, 0.2), (2.8, 0.2), (2.8, 2.8), (0.2, 2.8)]])


@pytest.mark.parametrize("domain", [L_SHAPE, HOLED], ids=["L", "frame"])
def test_uniform_sample_moments_and_chi_square(domain):
    mu = measures.Uniform(domain)
    x0, y0, x1, y1 = domain.bounds
    assert domain.area / ((x1 - x0) * (y1 - y0)) < 0.5  # the triangle route
    n = 40_000
    x = mu.sample(n, rng=7)
    assert shapely.contains_xy(domain, x[:, 0], x[:, 1]).all()
    # mean and covariance against the exact moments (Monte Carlo error ~ std / sqrt(n))
    c = np.array(domain.centroid.coords[0])
    _, _, second = measures.polygon_moments([domain], [c])
    var_total = second[0] / domain.area  # E||x - c||^2
    se = math.sqrt(var_total / n)
    np.testing.assert_allclose(x.mean(0), c, atol=5 * se)
    r2 = ((x - c) ** 2).sum(1)  # E||x - c||^2 = second moment / area
    assert abs(r2.mean() - var_total) < 5 * r2.std() / math.sqrt(n)
    # chi-square on a 6 x 6 grid of cells, expected counts from exact intersection areas
    gx, gy = np.linspace(x0, x1, 7), np.linspace(y0, y1, 7)
    cells = [shapely.box(gx[i], gy[j], gx[i + 1], gy[j + 1]) for i in range(6) for j in range(6)]
    p = np.array([c.intersection(domain).area for c in cells]) / domain.area
    ix = np.clip(np.searchsorted(gx, x[:, 0], side="right") - 1, 0, 5)
    iy = np.clip(np.searchsorted(gy, x[:, 1], side="right") - 1, 0, 5)
    counts = np.bincount(ix * 6 + iy, minlength=36)
    keep = p > 0
    assert counts[~keep].sum() == 0
    stat = scipy.stats.chisquare(counts[keep], n * p[keep])
    assert stat.pvalue > 1e-4, stat


def test_uniform_sample_far_apart_islands():
    a, b = shapely.box(0, 0, 1, 1), shapely.box(1e6, 1e6, 1e6 + 2, 1e6 + 1)
    mu = measures.Uniform(shapely.MultiPolygon([a, b]))
    n = 30_000
    x = mu.sample(n, rng=0)
    in_a = shapely.contains_xy(a, x[:, 0], x[:, 1])
    in_b = shapely.contains_xy(b, x[:, 0], x[:, 1])
    assert (in_a | in_b).all()
    # island b holds 2/3 of the area: binomial standard error
    frac = in_b.mean()
    assert abs(frac - 2 / 3) < 5 * math.sqrt(2 / 9 / n)
    np.testing.assert_allclose(x[in_b].mean(0), [1e6 + 1, 1e6 + 0.5], atol=0.02)


def test_uniform_sample_very_thin_rotated_domain():
    # a 1 x 1e-9 strip along the diagonal: it fills 1e-9 of its bounding box
    strip = shapely.affinity.rotate(shapely.box(0, 0, 1, 1e-9), 45, origin=(0, 0))
    mu = measures.Uniform(strip)
    x = mu.sample(5000, rng=1)
    d = shapely.distance(strip, shapely.points(x))
    assert d.max() <= 1e-12
    # along the strip the law is uniform on [0, 1]: the projection on the diagonal
    t = x @ np.array([1.0, 1.0]) / math.sqrt(2.0)
    assert scipy.stats.kstest(t, "uniform").pvalue > 1e-4


def test_uniform_sample_square_keeps_its_stream():
    # the unit square fills its box: rejection, so seeded draws of earlier versions stay
    x = measures.Uniform().sample(4, rng=0)
    np.testing.assert_array_equal(x, np.random.default_rng(0).random((20, 2))[:4])


# ------------------------------------------------------------------------------ Trainer options


@pytest.mark.parametrize("loss, kw, named", [
    ("gan", {"clip": 0.1}, "clip"),
    ("wgan-gp", {"r1_gamma": 1.0}, "r1_gamma"),
    ("wgan", {"gp_weight": 5.0}, "gp_weight"),
    ("nsgan", {"n_inner": 3}, "n_inner"),
    ("sdwgan", {"n_critic": 3}, "n_critic"),
    ("sdwgan", {"discriminator": torch.nn.Linear(2, 1)}, "discriminator"),
    ("gan", {"psi_init": "cold"}, "psi_init"),
    ("gan", {"momentum": 0.9}, "momentum"),
    ("wgan", {"betas": (0.5, 0.9)}, "betas"),
])
def test_trainer_refuses_options_foreign_to_its_loss(loss, kw, named):
    with pytest.raises(ValueError, match=rf"'{named}' \(applies to"):
        gan.Trainer(Y, loss=loss, seed=0, **kw)


def test_trainer_accepts_rng_like_the_rest_of_otgan():
    a = gan.Trainer(Y, loss="gan", rng=4)
    b = gan.Trainer(Y, loss="gan", seed=4)
    c = gan.Trainer(Y, loss="gan", rng=np.random.default_rng(4))
    for p, q, r in zip(a.generator.parameters(), b.generator.parameters(),
                       c.generator.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
        torch.testing.assert_close(p, r, rtol=0, atol=0)
    with pytest.raises(ValueError, match="'rng' or its older name 'seed'"):
        gan.Trainer(Y, rng=1, seed=1)


def test_trainer_dimension_mismatch_names_the_generator():
    g = gan.models.MLPGenerator(4, 3)  # 3-D points for 2-D data
    with pytest.raises(ValueError, match="'generator' must map noise .* to points \\(n, 2\\)"):
        gan.Trainer(Y, loss="sdwgan", generator=g, seed=0)
    d = gan.models.MLPDiscriminator(3)
    with pytest.raises(ValueError, match="'discriminator' fails on points of shape \\(n, 2\\)"):
        gan.Trainer(Y, loss="wgan", discriminator=d, seed=0)


def test_asgd_sampler_of_the_wrong_dimension_names_mu():
    with pytest.raises(ValueError, match="asgd: 'mu' must draw points of shape \\(8, 3\\)"):
        semidiscrete.asgd(measures.Uniform(), RNG.random((5, 3)), batch_size=8, n_iter=3, rng=0)


# ------------------------------------------------------------------------------ checkpoints


def _small(loss, **kw):
    steps = {"n_inner": 2} if loss == "sdwgan" else {"n_critic": 1}
    return gan.Trainer(Y, loss=loss, seed=0, batch_size=8, **steps, **kw)


def test_checkpoint_of_another_loss_is_refused(tmp_path):
    path = tmp_path / "gan.pt"
    _small("gan").run(1).save(path)
    with pytest.raises(errors.CheckpointError, match="loss: checkpoint 'gan', this trainer "
                                                     "'wgan-gp'") as info:
        _small("wgan-gp").load(path)
    assert info.value.mismatches == ("loss",) and str(path) in str(info.value)


def test_checkpoint_for_other_data_is_refused(tmp_path):
    path = tmp_path / "sd.pt"
    _small("sdwgan").run(1).save(path)
    other = gan.Trainer(Y[:5], loss="sdwgan", seed=0, batch_size=8, n_inner=2)
    with pytest.raises(errors.CheckpointError, match="data_shape"):
        other.load(path)
    moved = gan.Trainer(Y + 0.01, loss="sdwgan", seed=0, batch_size=8, n_inner=2)
    with pytest.raises(errors.CheckpointError, match="data_fingerprint"):
        moved.load(path)


def test_checkpoint_with_other_hyperparameters_warns(tmp_path):
    path = tmp_path / "g.pt"
    _small("gan").run(1).save(path)
    with pytest.warns(UserWarning, match="batch_size: checkpoint 8, now 16"):
        gan.Trainer(Y, loss="gan", seed=0, batch_size=16, n_critic=1).load(path)


def test_truncated_and_foreign_files_name_the_file(tmp_path):
    good = tmp_path / "good.pt"
    _small("gan").save(good)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(errors.CheckpointError, match="cut.pt' is not a readable checkpoint"):
        _small("gan").load(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": 1}, foreign)
    with pytest.raises(errors.CheckpointError, match="foreign.pt' is not a Trainer checkpoint"):
        _small("gan").load(foreign)
    old = _small("gan").state_dict()
    old["version"] = 0
    with pytest.raises(errors.CheckpointError, match="version 0"):
        _small("gan").load_state_dict(old)
    with pytest.raises(FileNotFoundError):
        _small("gan").load(tmp_path / "missing.pt")


# ------------------------------------------------------------------------------ scalar options


@pytest.mark.parametrize("call", [
    lambda: semidiscrete.asgd(measures.Uniform(), Y2, n_iter=2.5),
    lambda: ctransform.c_transform(np.zeros(4), Y2, X2, memory=1.5),
    lambda: measures.Uniform().sample(2.0),
    lambda: gan.Trainer(Y, loss="gan", batch_size=True),
])
def test_non_integer_counts_are_one_error_type(call):
    with pytest.raises(errors.ArgumentTypeError, match="must be a (positive|non-negative) integer"):
        call()


def test_tiny_memory_budget_stays_vectorised_and_exact():
    from otgan.ctransform import _block_shape

    # a 1-byte budget still gives 64 x 64 blocks (not one Python iteration per entry)
    assert _block_shape(900, 700, 32, 1) == (64, 64)
    assert _block_shape(10, 5, 32, 1) == (10, 5)
    rng = np.random.default_rng(9)
    y, x, psi = rng.normal(size=(150, 3)), rng.normal(size=(130, 3)), rng.normal(size=150)
    vals, idx = ctransform.c_transform(psi, y, x, method="brute", memory=1)
    scores = ((x[:, None, :] - y[None]) ** 2).sum(-1) - psi[None]  # brute force, one matrix
    np.testing.assert_array_equal(idx, scores.argmin(1))
    np.testing.assert_allclose(vals, scores.min(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: datasets.eight_gaussians(10, scale=float("nan")),
    lambda: datasets.eight_gaussians(10, radius=float("inf")),
    lambda: datasets.twenty_five_gaussians(10, spacing=float("nan")),
    lambda: datasets.swiss_roll(10, scale=float("nan")),
])
def test_toy_data_options_are_finite(make):
    with pytest.raises(ValueError, match="must be a finite"):
        make()


def test_more_modules_name_their_arguments():
    y = Y2
    with pytest.raises(TypeError, match="laguerre.assign: 'x' has dtype float16"):
        laguerre.assign(X2.astype(np.float16), y, np.zeros(4))
    with pytest.raises(TypeError, match="ImageDensity: 'image' must be real"):
        measures.ImageDensity(np.ones((3, 3), dtype=complex))
    with pytest.raises(ValueError, match="ImageDensity: the sum of 'image' is inf"):
        measures.ImageDensity(np.full((2, 2), 1e308))
    # a half-precision image is exact in float64: accepted, same density as float64
    img = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(measures.ImageDensity(img.astype(np.float16)).density(X2),
                                  measures.ImageDensity(img).density(X2))
    with pytest.raises(ValueError, match="the sum of 'a' is inf"):
        measures.Discrete(X2, np.full(7, 1e308))
    with pytest.raises(TypeError, match="asgd: 'mu.sample\\(8\\)' has dtype float16"):
        semidiscrete.asgd(measures.Sampler(
            lambda n, rng: np.random.default_rng(0).random((n, 2)).astype(np.float16)),
            y, batch_size=8, n_iter=3)
