"""otgan.testing: the strategies' known answers are exact, the assertions fail with the numbers,
and property tests written only with otgan.testing catch planted bugs in user code."""

import dataclasses
import subprocess
import sys

import numpy as np
import ot
import pytest
import scipy.optimize
import shapely
import torch
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from otgan.ctransform import c_transform, semi_dual
from otgan.laguerre import diagram
from otgan.measures import Uniform
from otgan.semidiscrete import newton
from otgan.testing import (
    DOMAINS,
    SITE_KINDS,
    DiscreteProblem,
    SemiDiscreteProblem,
    assert_duality_gap,
    assert_laguerre_valid,
    assert_potentials_close,
    assert_transport_map,
    assert_weak_duality,
    cost_matrix,
    discrete_problems,
    domains,
    potentials,
    semi_dual_value,
    semidiscrete_problems,
    site_sets,
    weights,
)
from tests.tolerances import F64, F64_FEW, F64_ZERO, GEOMETRY, HIGHS, LP

# the strategies' own properties run at the CI profile's 200 examples
PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# inner property runs used to show that a planted bug is caught: fixed budget, no database
INNER = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck), print_blob=False)
# a planted bug only has to be found: skip the (slow) shrinking of its counter-example
NO_SHRINK = settings(INNER, phases=[Phase.explicit, Phase.generate])


# --- the known answers are exact --------------------------------------------------------------


@PROPERTY
@given(discrete_problems())
def test_discrete_answer_matches_otgan_semi_dual_and_the_primal_plan(p):
    """Strong duality at the problem's psi (otgan's blocked c-transform, not the strategy's
    explicit differences), and the value is attained by a coupling with marginals a, b."""
    assert p.x.shape[1] == p.y.shape[1] in (1, 2, 3)
    np.testing.assert_allclose(p.a.sum(), 1.0, rtol=F64)
    np.testing.assert_allclose(p.b.sum(), 1.0, rtol=F64)
    h = semi_dual(p.psi, p.y, p.x, nu=p.b, a=p.a, cost=p.cost)
    np.testing.assert_allclose(h, p.value, rtol=LP, atol=F64)
    plan = ot.emd(p.a, p.b, cost_matrix(p.x, p.y, p.cost), numItermax=10**7)
    assert_transport_map(plan, p, optimal=True)


@PROPERTY
@given(semidiscrete_problems())
def test_semidiscrete_answer_matches_the_exact_diagram(p):
    """The cells of the problem's psi carry nu exactly and H(psi) = value: checked with otgan's
    exact diagram, an implementation independent of the strategy's closed forms and shapely
    clipping."""
    D = diagram(p.y, p.psi, measure=p.mu)
    np.testing.assert_allclose(D.masses, p.nu, rtol=0, atol=GEOMETRY)
    np.testing.assert_allclose(D.semi_dual(p.nu), p.value, rtol=GEOMETRY, atol=F64)
    np.testing.assert_allclose(p.nu.sum(), 1.0, rtol=F64)
    assert (p.nu > 0).all() and len(np.unique(p.y, axis=0)) == len(p.y)
    assert_laguerre_valid(D)


def test_semidiscrete_two_sites_value_by_hand():
    """Two sites (0.25, 0.5), (0.75, 0.5) in the unit square, nu = (1/2, 1/2): psi = 0 and
    W = 2 * int_0^{1/2} int_0^1 (x - 1/4)^2 + (y - 1/2)^2 = 1/48 + 1/12; the strategy's
    separable closed form gives the same numbers."""

    @INNER
    @given(semidiscrete_problems(sources=("separable",), max_sites=2, transform=False))
    def check(p):
        if (len(p.y) == 2 and isinstance(p.mu, Uniform) and p.mu.domain.equals(DOMAINS["square"])
                and np.allclose(p.y, [[0.25, 0.5], [0.75, 0.5]])):
            found.append(p)

    found = []
    check()
    assert found, "the lattice draw with two sites never came up"
    for p in found:
        np.testing.assert_allclose(p.value, 1 / 48 + 1 / 12, rtol=F64_FEW)
        np.testing.assert_allclose(p.psi, 0, atol=F64_ZERO)


@PROPERTY
@given(st.data())
def test_building_blocks(data):
    kind = data.draw(st.sampled_from(SITE_KINDS))
    dim = data.draw(st.integers(1, 3))
    y = data.draw(site_sets(max_size=15, dim=dim, kinds=(kind,), box=(-2.0, 3.0)))
    assert y.ndim == 2 and y.shape[1] == dim and 1 <= len(y) <= 15
    assert (y >= -2.0).all() and (y <= 3.0).all()
    assert len(np.unique(y, axis=0)) == len(y)
    w = data.draw(weights(len(y), tiny=True, zeros=True))
    np.testing.assert_allclose(w.sum(), 1.0, rtol=F64)
    assert (w >= 0).all() and w.max() > 0
    psi = data.draw(potentials(len(y), scale=0.3))
    assert psi.shape == (len(y),) and np.abs(psi).max() <= 0.3
    dom = data.draw(domains())
    assert dom.is_valid and dom.area > 0


def test_site_kinds_have_their_structure():
    @INNER
    @given(site_sets(min_size=3, max_size=10, kinds=("collinear",)))
    def collinear(y):
        d = y - y[0]
        cross = d[:, 0] * d[-1, 1] - d[:, 1] * d[-1, 0]
        np.testing.assert_allclose(cross, 0, atol=F64)

    @INNER
    @given(site_sets(min_size=2, max_size=10, kinds=("near-duplicate",), distinct=False))
    def near_duplicates(y):
        d = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)) + np.eye(len(y))
        assert d.min() <= 2e-7

    collinear()
    near_duplicates()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_strategies_reject_bad_arguments():
    with pytest.raises(ValueError, match="'kinds' must be among"):
        site_sets(kinds=("blob",)).example()
    with pytest.raises(ValueError, match="'sources' must be among"):
        semidiscrete_problems(sources=("newton",)).example()
    with pytest.raises(ValueError, match="'kinds' must be among"):
        domains(("circle",))
    with pytest.raises(ValueError, match="'n' must be >= 1"):
        weights(0).example()


def test_import_error_says_how_to_install():
    """Without hypothesis, ``import otgan.testing`` names the extra to install."""
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "try:\n    import otgan.testing\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert 'pip install "otgan[testing]"' in out


# --- the assertions ---------------------------------------------------------------------------


def _problem():
    x = np.array([[0.0], [1.0], [3.0]])
    y = np.array([[0.5], [2.0]])
    a, b = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.6])
    M = cost_matrix(x, y)
    _, log = ot.emd(a, b, M, log=True)
    return DiscreteProblem(x, a, y, b, get_sq(), float(log["cost"]), log["v"])


def get_sq():
    from otgan.costs import SquaredEuclidean

    return SquaredEuclidean()


def test_assertions_pass_at_the_optimum_and_fail_with_numbers():
    p = _problem()
    assert_duality_gap(p.psi, p)
    assert_duality_gap(torch.tensor(p.psi, dtype=torch.float32), p)
    assert_weak_duality(p.psi + np.array([0.3, -1.0]), p)
    with pytest.raises(AssertionError, match=r"duality gap too large: W = .* gap W - H\(psi\) = "
                                             r".*cells of psi carry masses"):
        assert_duality_gap(-p.psi, p)
    with pytest.raises(AssertionError, match="must have shape"):
        assert_duality_gap(np.zeros(3), p)
    with pytest.raises(AssertionError, match="not finite"):
        assert_duality_gap(np.array([np.nan, 0.0]), p)
    with pytest.raises(AssertionError, match="dual value .* exceeds the OT cost"):
        assert_weak_duality(p.psi, p, value=p.value + 0.1)
    # (phi, psi) = (psi^c, psi) is feasible; phi + 1 is not
    phi = (cost_matrix(p.x, p.y) - p.psi).min(axis=1)
    assert_weak_duality(p.psi, p, phi=phi)
    with pytest.raises(AssertionError, match=r"dual constraint violated: phi\[\d\] \+ psi"):
        assert_weak_duality(p.psi, p, phi=phi + 1.0)
    np.testing.assert_allclose(semi_dual_value(p.psi, p), p.value, rtol=F64)
    with pytest.raises(TypeError, match="'problem' must be a DiscreteProblem"):
        assert_duality_gap(p.psi, object())


def test_potentials_close_up_to_a_constant():
    p = np.array([0.0, 1.0, -2.0])
    assert_potentials_close(p, p + 7.5)
    assert_potentials_close(torch.tensor(p), torch.tensor(p - 1.0, dtype=torch.float32))
    with pytest.raises(AssertionError, match=r"max \|p - q - c\| = 0.5 at index"):
        assert_potentials_close(p, p + np.array([0.0, 1.0, 0.0]))
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_potentials_close(p, p[:2])


def test_transport_map_discrete_and_semidiscrete():
    p = _problem()
    plan = ot.emd(p.a, p.b, cost_matrix(p.x, p.y))
    assert_transport_map(plan, p, optimal=True)
    with pytest.raises(AssertionError, match="target \\(columns\\) marginal differs"):
        assert_transport_map(np.array([0, 0, 1]), p)
    with pytest.raises(AssertionError, match="transport cost of T"):
        assert_transport_map(np.outer(p.a, p.b), p, optimal=True)  # right marginals
    # semi-discrete: the Laguerre map of the optimal psi, as indices or as sites
    y = np.array([[0.25, 0.5], [0.75, 0.5]])
    sp = SemiDiscreteProblem(Uniform(), y, np.array([0.5, 0.5]), get_sq(), 1 / 48 + 1 / 12,
                             np.zeros(2), "separable")
    assert_transport_map(lambda x: c_transform(np.zeros(2), y, x)[1], sp, optimal=True)
    assert_transport_map(lambda x: y[c_transform(np.zeros(2), y, x)[1]], sp)
    with pytest.raises(AssertionError, match="site 0 receives 0.6"):
        assert_transport_map(lambda x: (x[:, 0] > 0.6).astype(np.int64), sp)
    with pytest.raises(AssertionError, match="transport cost of T is"):  # right masses, bad map
        assert_transport_map(lambda x: (x[:, 1] > 0.5).astype(np.int64), sp, optimal=True)


def test_laguerre_valid_catches_a_wrong_diagram():
    D = diagram(np.array([[0.2, 0.3], [0.7, 0.6], [0.4, 0.9]]), np.array([0.0, 0.05, -0.02]))
    assert_laguerre_valid(D)

    class Fake:  # the cells of psi = 0 labelled as those of another psi
        y, domain, adjacency = D.y, D.domain, D.adjacency
        psi = D.psi + np.array([0.0, 0.1, 0.0])
        areas, polygons = D.areas, D.polygons

    with pytest.raises(AssertionError, match="above the lower envelope"):
        assert_laguerre_valid(Fake)

    class Holey(Fake):
        psi = D.psi
        areas = D.areas * 0.9

    with pytest.raises(AssertionError, match="areas sum to"):
        assert_laguerre_valid(Holey)


# --- no assertion passes on NaN or inf ---------------------------------------------------------
# Every input an assertion reads is corrupted in turn (one entry set to NaN, +inf or -inf): the
# assertion must fail naming it, where a comparison with NaN would be False and pass silently.

BAD = [np.nan, np.inf, -np.inf]


def _corrupt(a, bad):
    a = np.array(a, dtype=np.float64, copy=True)
    a.reshape(-1)[-1] = bad
    return a


def _spoil(problem, field, bad):
    return dataclasses.replace(problem, **{field: _corrupt(getattr(problem, field), bad)})


def _semidiscrete():
    y = np.array([[0.25, 0.5], [0.75, 0.5]])
    return SemiDiscreteProblem(Uniform(), y, np.array([0.5, 0.5]), get_sq(), 1 / 48 + 1 / 12,
                               np.zeros(2), "separable")


def _laguerre_map(p):
    return lambda x: c_transform(np.zeros(2), p.y, x)[1]


def _discrete_calls(p):
    """(assertion name, input name, call(value of that input)) for a discrete problem."""
    plan = ot.emd(p.a, p.b, cost_matrix(p.x, p.y))
    phi = (cost_matrix(p.x, p.y) - p.psi).min(axis=1)
    return [
        ("assert_weak_duality", "psi", lambda v: assert_weak_duality(v, p), p.psi),
        ("assert_weak_duality", "phi", lambda v: assert_weak_duality(p.psi, p, phi=v), phi),
        ("assert_weak_duality", "value", lambda v: assert_weak_duality(p.psi, p, value=v),
         np.float64(p.value)),
        ("assert_duality_gap", "psi", lambda v: assert_duality_gap(v, p), p.psi),
        ("assert_potentials_close", "p", lambda v: assert_potentials_close(v, p.psi), p.psi),
        ("assert_potentials_close", "q", lambda v: assert_potentials_close(p.psi, v), p.psi),
        ("assert_transport_map", "T", lambda v: assert_transport_map(v, p, optimal=True), plan),
        ("semi_dual_value", "psi", lambda v: semi_dual_value(v, p), p.psi),
    ]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("case", range(8))
def test_assertions_fail_on_non_finite_user_input(case, bad):
    name, field, call, good = _discrete_calls(_problem())[case]
    call(good)  # passes on the finite input
    with pytest.raises(AssertionError, match=rf"{name}: '{field}' is not finite"):
        call(_corrupt(good, bad))


def _problem_calls(p):
    discrete = isinstance(p, DiscreteProblem)
    plan = ot.emd(p.a, p.b, cost_matrix(p.x, p.y)) if discrete else _laguerre_map(p)
    return {
        "assert_weak_duality": lambda q: assert_weak_duality(p.psi, q),
        "assert_duality_gap": lambda q: assert_duality_gap(p.psi, q),
        "assert_potentials_close": lambda q: assert_potentials_close(p.psi, p.psi, problem=q),
        "assert_transport_map": lambda q: assert_transport_map(plan, q, optimal=True),
        "semi_dual_value": lambda q: semi_dual_value(p.psi, q),
    }


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("name", ["assert_weak_duality", "assert_duality_gap",
                                  "assert_potentials_close", "assert_transport_map",
                                  "semi_dual_value"])
@pytest.mark.parametrize("kind", ["discrete", "semidiscrete"])
def test_assertions_fail_on_non_finite_problem_fields(kind, name, bad):
    p = _problem() if kind == "discrete" else _semidiscrete()
    call = _problem_calls(p)[name]
    call(p)
    for field in p.ARRAYS:
        with pytest.raises(AssertionError, match=rf"{name}: 'problem.{field}' is not finite"):
            call(_spoil(p, field, bad))


@pytest.mark.parametrize("bad", BAD)
def test_semidiscrete_map_returning_non_finite_points_fails(bad):
    p = _semidiscrete()
    T = _laguerre_map(p)
    assert_transport_map(lambda x: p.y[T(x)], p, optimal=True)  # sites: passes
    with pytest.raises(AssertionError, match=r"assert_transport_map: 'T\(x\)' is not finite"):
        assert_transport_map(lambda x: _corrupt(p.y[T(x)], bad), p, optimal=True)


def test_an_underflowed_sinkhorn_coupling_fails():
    """All-NaN plan (Sinkhorn's exp(-C/eps) underflowed to 0, then 0/0): its marginals compare
    False with everything, so only the finiteness check catches it."""
    p = _problem()
    nan_plan = np.full((len(p.x), len(p.y)), np.nan)
    with pytest.raises(AssertionError, match="'T' is not finite at index"):
        assert_transport_map(nan_plan, p, optimal=True)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", ["y", "psi", "areas", "polygons", "adjacency", "domain"])
def test_laguerre_valid_fails_on_non_finite_diagram(field, bad):
    D = diagram(np.array([[0.2, 0.3], [0.7, 0.6], [0.4, 0.9]]), np.array([0.0, 0.05, -0.02]))

    class Spoilt:
        y, psi, areas, polygons, domain = D.y, D.psi, D.areas, D.polygons, D.domain
        adjacency = D.adjacency.toarray() if hasattr(D.adjacency, "toarray") else D.adjacency

    assert_laguerre_valid(Spoilt)
    if field == "polygons":
        ring = np.asarray(D.polygons[1].exterior.coords)
        Spoilt.polygons = list(D.polygons)
        with np.errstate(invalid="ignore"):
            Spoilt.polygons[1] = shapely.Polygon(_corrupt(ring[:-1], bad))
        field = r"polygons\[1\]"
    elif field == "domain":
        with np.errstate(invalid="ignore"):
            Spoilt.domain = shapely.Polygon(_corrupt(np.asarray(D.domain.exterior.coords)[:-1],
                                                     bad))
    else:
        setattr(Spoilt, field, _corrupt(getattr(Spoilt, field), bad))
    with pytest.raises(AssertionError, match=rf"assert_laguerre_valid: 'diagram.{field}' is not "
                                             "finite"):
        assert_laguerre_valid(Spoilt)


@pytest.mark.hostile
def test_nan_tolerances_never_switch_a_check_off():
    rng = np.random.default_rng(0)
    x, y = rng.random((5, 2)), rng.random((4, 2))
    problem = DiscreteProblem(x, np.full(5, 0.2), y, np.full(4, 0.25), get_sq(), 0.0,
                              np.zeros(4))
    with pytest.raises(ValueError, match="'atol' must be a finite"):
        assert_weak_duality(np.zeros(4), problem, atol=float("nan"))
    with pytest.raises(ValueError, match="'rtol' must be a finite"):
        assert_duality_gap(np.zeros(4), problem, rtol=float("nan"))
    with pytest.raises(ValueError, match="'rtol' must be a finite"):
        assert_laguerre_valid(diagram(x[:4], np.zeros(4)), rtol=float("nan"))


# --- strategies reject bad parameters by name, when they are built --------------------------


@pytest.mark.parametrize("build, name", [
    (lambda: discrete_problems(dims=(0,)), "dims"),
    (lambda: discrete_problems(dims=(-1,)), "dims"),
    (lambda: discrete_problems(dims=()), "dims"),
    (lambda: discrete_problems(dims=(2.5,)), "dims"),
    (lambda: discrete_problems(dims=2), "dims"),
    (lambda: discrete_problems(costs=()), "costs"),
    (lambda: discrete_problems(costs=("manhattan",)), "costs"),
    (lambda: discrete_problems(min_size=0), "min_size"),
    (lambda: discrete_problems(min_size=5, max_size=3), "max_size"),
    (lambda: discrete_problems(max_size=2.0), "max_size"),
    (lambda: discrete_problems(degenerate="yes"), "degenerate"),
    (lambda: site_sets(dim=0), "dim"),
    (lambda: site_sets(box=(1.0, 0.0)), "box"),
    (lambda: site_sets(box=(0.0, np.nan)), "box"),
    (lambda: site_sets(box=0.5), "box"),
    (lambda: site_sets(kinds=()), "kinds"),
    (lambda: site_sets(kinds="spread"), "kinds"),
    (lambda: site_sets(distinct=None), "distinct"),
    (lambda: weights(0), "n"),
    (lambda: weights(2.0), "n"),
    (lambda: weights(3, zeros=1), "zeros"),
    (lambda: potentials(-1), "n"),
    (lambda: potentials(3, scale=np.nan), "scale"),
    (lambda: potentials(3, scale=-1.0), "scale"),
    (lambda: domains(()), "kinds"),
    (lambda: domains(transform="no"), "transform"),
    (lambda: semidiscrete_problems(max_sites=0), "max_sites"),
    (lambda: semidiscrete_problems(sources=()), "sources"),
    (lambda: semidiscrete_problems(domain_kinds=("circle",)), "domain_kinds"),
    (lambda: semidiscrete_problems(transform=None), "transform"),
])
def test_strategies_reject_bad_parameters_by_name(build, name):
    with pytest.raises(ValueError, match=rf"testing\.\w+: '{name}'"):
        build()


# --- planted bugs in user code are caught -----------------------------------------------------
# The three "user solvers" below are what a researcher would write; each property test uses only
# otgan.testing (a strategy and an assertion). The correct solver passes 200 examples; each
# buggy one makes the same property fail.


def user_dual_solver(x, a, y, b, cost, *, bug=None):
    """Discrete OT by the dual LP: max a.phi + b.psi s.t. phi_i + psi_j <= c(x_i, y_j) (HiGHS)."""
    C = cost(x, y)
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    if bug == "ignores weights":
        a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    A = np.zeros((n * m, n + m))
    rows = np.arange(n * m)
    A[rows, np.repeat(np.arange(n), m)] = 1.0
    A[rows, n + np.tile(np.arange(m), n)] = 1.0
    res = scipy.optimize.linprog(-np.concatenate([a, b]), A_ub=A, b_ub=C.ravel(),
                                 bounds=(None, None), method="highs")
    assert res.status == 0, res.message
    psi = res.x[n:]
    return -psi if bug == "sign" else psi


def user_semidiscrete_solver(mu, y, nu, *, bug=None):
    """A user's wrapper around a Newton solver (here otgan's)."""
    if bug == "masses reversed":
        nu = nu[::-1]
    return newton(mu, y, nu, tol=1e-11).psi


def discrete_property(bug):
    @(NO_SHRINK if bug else INNER)
    @given(discrete_problems(max_size=10))
    def test(p):
        assert_duality_gap(user_dual_solver(p.x, p.a, p.y, p.b, p.cost, bug=bug), p, rtol=HIGHS)

    return test


def semidiscrete_property(bug):
    @(NO_SHRINK if bug else INNER)
    @given(semidiscrete_problems(max_sites=8))
    def test(p):
        psi = user_semidiscrete_solver(p.mu, p.y, p.nu, bug=bug)
        assert_potentials_close(psi, p.psi, problem=p, rtol=HIGHS)
        assert_duality_gap(psi, p)

    return test


def test_correct_discrete_dual_solver_passes():
    discrete_property(None)()


@pytest.mark.parametrize("bug", ["ignores weights", "sign"])
def test_discrete_planted_bug_is_caught(bug):
    with pytest.raises(AssertionError, match="duality gap too large"):
        discrete_property(bug)()


def test_correct_semidiscrete_solver_passes():
    semidiscrete_property(None)()


def test_semidiscrete_masses_in_wrong_order_are_caught():
    with pytest.raises(AssertionError, match="potentials differ by more than an additive"):
        semidiscrete_property("masses reversed")()


def _min_separation(y):
    d = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)) + np.diag(np.full(len(y), np.inf))
    return d.min() if len(y) > 1 else np.inf


def test_assert_laguerre_valid_passes_on_drawn_diagrams():
    """otgan's diagrams of every kind of site set (sites at least 1e-9 apart), in a holed
    domain, are valid."""

    @INNER
    @given(site_sets(max_size=30), potentials(30, scale=0.01))
    def check(y, psi):
        assume(_min_separation(y) > 1e-9)
        assert_laguerre_valid(diagram(y, psi[: len(y)], DOMAINS["hole"]))

    check()


def test_assert_laguerre_valid_holds_for_sites_1e17_apart():
    """Found by assert_laguerre_valid on drawn site sets (both cells were the whole square
    before the half-planes were written in the frame of the site)."""
    assert_laguerre_valid(diagram(np.array([[1e-17, 0.5], [0.0, 0.5]]), np.zeros(2)))
