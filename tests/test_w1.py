"""Exact W1 (Euclidean cost) cells and Newton: issue 13.

Independent references: areas by exact root-finding on horizontal scanlines (all pairwise
crossings of the additively weighted distances, brute force over pairs) integrated in the
height by adaptive Gauss-Kronrod (``scipy.integrate.quad_vec``) with the domain's vertex heights
and the hyperbolas' horizontal tangents as breakpoints; image-density masses as sums of
uniform-pixel areas; the Hessian by finite differences of the masses; Exercise 1 by its closed
form (``closed_forms.exercise_1``, an independent 1D construction).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import torch
from scipy.integrate import quad_vec

from otgan import closed_forms, laguerre, semidiscrete
from otgan.costs import PowerEuclidean
from otgan.ctransform import c_transform
from otgan.measures import ImageDensity, Uniform

# --------------------------------------------------------------------------------------------
# independent reference: scanlines
# --------------------------------------------------------------------------------------------


def _pair_roots(s, y, psi):
    """x on the line x2 = s where ||p - y_a|| - ||p - y_b|| = psi_a - psi_b, all pairs a < b
    (squaring twice: a quadratic in x; spurious roots only add harmless breakpoints)."""
    a, b = np.triu_indices(len(y), 1)
    c = psi[a] - psi[b]
    ax, bx = y[a, 0], y[b, 0]
    ha2, hb2 = (s - y[a, 1]) ** 2, (s - y[b, 1]) ** 2
    m = -2 * (ax - bx)
    n = ax**2 + ha2 - bx**2 - hb2 - c**2
    p2 = m * m - 4 * c * c
    p1 = 2 * m * n + 8 * c * c * bx
    p0 = n * n - 4 * c * c * (bx * bx + hb2)
    disc = p1 * p1 - 4 * p2 * p0
    with np.errstate(all="ignore"):
        sq = np.sqrt(np.maximum(disc, 0))
        r = np.concatenate([(-p1 + sq) / (2 * p2), (-p1 - sq) / (2 * p2),
                            (-p0 / p1)[np.abs(p2) < 1e-14]])
    return r[np.isfinite(r)]


def _prim(u, b):
    """Antiderivative of sqrt(u^2 + b^2) in u."""
    r = np.sqrt(u * u + b * b)
    return 0.5 * (u * r + (b * b * np.arcsinh(u / abs(b)) if b != 0 else 0.0))


def _scan_lengths(s, y, psi, dom, moments=False):
    """Per cell on the line x2 = s: the length (and, with ``moments``, int x1, int x2 and
    int ||x - y_j|| over the cell's intervals, in closed form)."""
    J = len(y)
    res = np.zeros(4 * J if moments else J)
    inter = shapely.intersection(shapely.LineString([(-1e3, s), (1e3, s)]), dom)
    roots = _pair_roots(s, y, psi)
    for part in shapely.get_parts(inter):
        if part.geom_type != "LineString" or part.length == 0:
            continue
        xs = np.asarray(part.coords)[:, 0]
        x0, x1 = xs.min(), xs.max()
        br = np.sort(np.concatenate([[x0, x1], roots[(roots > x0) & (roots < x1)]]))
        mid = 0.5 * (br[1:] + br[:-1])
        val = np.hypot(mid[:, None] - y[None, :, 0], s - y[None, :, 1]) - psi
        owner = val.argmin(1)
        np.add.at(res, owner, np.diff(br))
        if moments:
            np.add.at(res, J + owner, np.diff(br**2) / 2)
            np.add.at(res, 2 * J + owner, s * np.diff(br))
            for a, b, j in zip(br[:-1], br[1:], owner):
                h = s - y[j, 1]
                res[3 * J + j] += _prim(b - y[j, 0], h) - _prim(a - y[j, 0], h)
    return res


def _tangent_heights(y, psi):
    """Heights of the horizontal tangents of every pair's hyperbola branch (where a cell's
    width has a square-root singularity in the height)."""
    out = []
    for j in range(len(y)):
        for k in range(len(y)):
            v = y[k] - y[j]
            c = psi[j] - psi[k]
            d = np.hypot(*v)
            if j == k or c == 0 or abs(c) >= d or abs(v[0] / c) > 1:
                continue
            a = (d * d - c * c) / 2
            for sg in (1, -1):
                u = np.array([v[0] / c, sg * np.sqrt(1 - (v[0] / c) ** 2)])
                if v @ u - c > 0:
                    out.append(y[j, 1] + a / (v @ u - c) * u[1])
    return out


def scanline_areas(y, psi, dom, moments=False):
    """Areas (J,), or with ``moments`` (4, J): areas, int x1, int x2, int ||x - y_j||."""
    _, y0, _, y1 = dom.bounds
    pts = sorted(set(shapely.get_coordinates(dom)[:, 1].tolist() + _tangent_heights(y, psi)))
    pts = [p for p in pts if y0 < p < y1]
    r, err = quad_vec(lambda s: _scan_lengths(s, y, psi, dom, moments), y0, y1, epsabs=1e-13,
                      epsrel=0, points=pts or None, limit=10000)
    assert err < 1e-12
    return r.reshape(4, -1) if moments else r


NONCONVEX = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0.5, 0.4), (0, 1)],
                            holes=[[(0.2, 0.2), (0.3, 0.2), (0.3, 0.3), (0.2, 0.3)]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_areas_exact_against_scanlines_nonconvex_domain(seed):
    rng = np.random.default_rng(seed)
    J = 6
    y = rng.random((J, 2)) * 1.4 - 0.2  # some sites outside the domain
    psi = 0.3 * rng.standard_normal(J)
    # a hidden site: y_5 inside the cell of y_0 (psi_5 - psi_0 < -|y_5 - y_0|)
    y[5] = y[0] + [0.05, 0.02]
    psi[5] = psi[0] - 0.2
    D = laguerre.diagram(y, psi, NONCONVEX, cost="euclidean")
    ref = scanline_areas(y, psi, NONCONVEX)
    np.testing.assert_allclose(D.areas, ref, rtol=0, atol=1e-12 * NONCONVEX.area)
    assert D.empty[5] and D.areas[5] == 0
    np.testing.assert_allclose(D.areas.sum(), NONCONVEX.area, rtol=1e-14)
    np.testing.assert_allclose(D.masses, D.areas / NONCONVEX.area, rtol=0, atol=1e-15)


def test_centroids_and_transport_costs_exact_against_scanlines():
    rng = np.random.default_rng(11)
    J = 5
    y = rng.random((J, 2)) * 1.4 - 0.2
    psi = 0.2 * rng.standard_normal(J)
    D = laguerre.diagram(y, psi, NONCONVEX, cost="euclidean")
    area, m1, m2, cost = scanline_areas(y, psi, NONCONVEX, moments=True)
    np.testing.assert_allclose(D.areas, area, rtol=0, atol=1e-12)
    ok = ~D.empty
    np.testing.assert_allclose(D.centroids[ok] * D.areas[ok, None],
                               np.column_stack([m1, m2])[ok], rtol=0, atol=1e-12)
    # moments are int_{L_j} ||x - y_j|| dmu with mu uniform: divide by |D|
    np.testing.assert_allclose(D.moments, cost / NONCONVEX.area, rtol=0, atol=1e-12)


def test_areas_exact_against_scanlines_square_many_sites():
    rng = np.random.default_rng(7)
    J = 14
    y = rng.random((J, 2))
    psi = 0.05 * rng.standard_normal(J)
    D = laguerre.diagram(y, psi, cost="euclidean")
    ref = scanline_areas(y, psi, shapely.box(0, 0, 1, 1))
    np.testing.assert_allclose(D.areas, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["cone", "lattice"])
def test_areas_exact_in_degenerate_configurations(case):
    """Many hyperbolas through one point (psi_j = |y_j - c|: every cell is a cone with apex c),
    and a lattice of sites on the domain's boundary and corners with tied weights."""
    if case == "cone":
        y = np.random.default_rng(0).random((8, 2))
        psi = np.hypot(*(y - 0.5).T)
    else:
        g = np.linspace(0, 1, 3)
        y = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
        psi = 0.05 * (np.arange(9) % 2)
    D = laguerre.diagram(y, psi, cost="euclidean")
    ref = scanline_areas(y, psi, shapely.box(0, 0, 1, 1))
    np.testing.assert_allclose(D.areas, ref, rtol=0, atol=1e-12)


def test_nearly_hidden_sites_keep_the_partition_exact():
    """psi_1 - psi_0 = -|y_1 - y_0| + eps (y_1 barely visible: a needle-shaped cell of width
    ~sqrt(eps r)) and psi_3 - psi_2 = |y_3 - y_2| - eps (y_3 barely constrains y_2), eps = 1e-12:
    the areas still sum to the domain's area. The envelope's coefficients are ~1/eps; the cells
    are conditioned as (rounding of d + c) / sqrt(eps) ~ 1e-16 / 1e-6, hence atol 1e-9."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.random((8, 2))
        psi = 0.05 * rng.standard_normal(8)
        psi[1] = psi[0] - np.hypot(*(y[1] - y[0])) + 1e-12
        psi[3] = psi[2] + np.hypot(*(y[3] - y[2])) - 1e-12
        D = laguerre.diagram(y, psi, cost="euclidean")
        np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=0, atol=1e-9)


def test_centroids_moments_against_monte_carlo_and_invariance():
    rng = np.random.default_rng(3)
    y = rng.random((7, 2))
    psi = 0.1 * rng.standard_normal(7)
    D = laguerre.diagram(y, psi, cost="euclidean")
    D2 = laguerre.diagram(y, psi + 3.0, cost="euclidean")  # psi + const: same cells
    np.testing.assert_allclose(D2.areas, D.areas, atol=1e-15)
    x = rng.random((200_000, 2))
    vals, idx = c_transform(psi, y, x, cost="euclidean")
    n = len(x)
    mc_mass = np.bincount(idx, minlength=7) / n
    # Monte Carlo: standard errors ~ sqrt(p / n) < 1.2e-3; 5 sigma
    np.testing.assert_allclose(D.masses, mc_mass, atol=6e-3)
    mc_cost = np.bincount(idx, np.hypot(*(x - y[idx]).T), minlength=7) / n
    np.testing.assert_allclose(D.moments, mc_cost, atol=4e-3)
    mc_cx = np.bincount(idx, x[:, 0], minlength=7) / n
    np.testing.assert_allclose(D.centroids[:, 0] * D.masses, mc_cx, atol=4e-3)
    # semi-dual = E[psi^c] + nu . psi
    nu = np.full(7, 1 / 7)
    np.testing.assert_allclose(D.semi_dual(nu), vals.mean() + nu @ psi, atol=5e-3)


def test_adjacency_and_hessian_by_finite_differences():
    rng = np.random.default_rng(5)
    J = 7
    y = rng.random((J, 2))
    psi = 0.1 * rng.standard_normal(J)
    mu = ImageDensity(rng.random((5, 7)) + 0.1)
    D = laguerre.diagram(y, psi, measure=mu, cost="euclidean")
    L = D.jacobian().toarray()
    h = 1e-6
    FD = np.zeros((J, J))
    for j in range(J):
        e = np.zeros(J)
        e[j] = h
        FD[:, j] = (laguerre.diagram(y, psi + e, measure=mu, cost="euclidean").masses
                    - laguerre.diagram(y, psi - e, measure=mu, cost="euclidean").masses) / (2 * h)
    np.testing.assert_allclose(L, FD, atol=1e-8)
    # neighbours in the adjacency are exactly the non-zero Hessian entries
    assert set(zip(*D.adjacency.nonzero())) == set(zip(*D.weights.nonzero()))


def test_image_density_masses_are_sums_over_pixels():
    rng = np.random.default_rng(3)
    img = rng.random((3, 4)) + 0.2
    img[1, 2] = 0.0
    ext = (-0.5, 1.5, 0.0, 1.0)
    mu = ImageDensity(img, ext)
    J = 9
    y = np.column_stack([rng.uniform(-0.7, 1.7, J), rng.uniform(-0.2, 1.2, J)])
    psi = 0.2 * rng.standard_normal(J)
    D = laguerre.diagram(y, psi, measure=mu, cost="euclidean")
    ref = np.zeros(J)
    w, h = mu.pixel_size
    for r in range(3):
        for c in range(4):
            box = shapely.box(ext[0] + c * w, ext[3] - (r + 1) * h, ext[0] + (c + 1) * w,
                              ext[3] - r * h)
            pix = scanline_areas(y, psi, box) if (r, c) == (0, 0) else \
                laguerre.diagram(y, psi, box, cost="euclidean").areas
            ref += mu.density_values[r, c] * pix
    np.testing.assert_allclose(D.masses, ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(D.masses.sum(), 1.0, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Newton
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_converges_on_random_problems(seed):
    rng = np.random.default_rng(seed)
    J = 25 if seed < 2 else 12
    y = rng.random((J, 2)) * 1.2 - 0.1  # some sites outside the domain
    nu = rng.random(J) + 0.5
    nu /= nu.sum()
    mu = Uniform() if seed < 2 else Uniform(NONCONVEX)
    res = semidiscrete.solve(mu, y, nu, cost="euclidean", method="newton", tol=1e-9)
    assert res.converged and res.method == "newton" and res.error <= 1e-9
    D = laguerre.diagram(y, res.psi, measure=mu, cost="euclidean")
    np.testing.assert_allclose(D.masses, nu, rtol=1e-9)
    # weak duality: H(psi) <= W1 = value (equal at the optimum)
    assert D.semi_dual(nu) == pytest.approx(res.value, rel=1e-9)
    np.testing.assert_allclose(res.history["max_rel_error"][-1], res.error)


def test_newton_image_density_and_torch_io():
    rng = np.random.default_rng(4)
    mu = ImageDensity(rng.random((16, 16)) ** 2 + 0.05)
    y = torch.tensor(rng.random((12, 2)) * 1.4 - 0.2)
    res = semidiscrete.solve(mu, y, cost="euclidean")
    assert res.method == "newton" and res.converged
    assert isinstance(res.psi, torch.Tensor) and res.psi.dtype == torch.float64
    D = laguerre.diagram(y.numpy(), res.psi.numpy(), measure=mu, cost="euclidean")
    np.testing.assert_allclose(D.masses, 1 / 12, rtol=1e-9)


def test_newton_image_with_empty_regions_and_sites_there():
    """Sites in the zero-density part of an image: the start needs psi != 0, and boundaries
    in zero density carry no Hessian weight."""
    img = np.zeros((20, 20))
    img[5:15, 5:15] = 1 + np.random.default_rng(0).random((10, 10))
    mu = ImageDensity(img)
    y = np.random.default_rng(1).random((15, 2))
    res = semidiscrete.solve(mu, y, cost="euclidean")
    assert res.converged
    D = laguerre.diagram(y, res.psi, measure=mu, cost="euclidean")
    np.testing.assert_allclose(D.masses, 1 / 15, rtol=1e-9)


def test_exercise_1_by_the_general_solver():
    ex = closed_forms.exercise_1()
    mu = Uniform(np.array([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]]))
    res = semidiscrete.solve(mu, ex["y"], ex["nu"], cost="euclidean", tol=1e-13)
    assert res.converged
    np.testing.assert_allclose(res.value, ex["w1"], rtol=1e-12)
    np.testing.assert_allclose(res.psi - res.psi[0], ex["psi"], atol=1e-11)


def test_bad_inputs():
    with pytest.raises(ValueError, match="laguerre.diagram: exact cells exist for 'cost'"):
        laguerre.diagram(np.random.default_rng(0).random((3, 2)), np.zeros(3),
                         cost=PowerEuclidean(3))
    mu = Uniform()
    with pytest.raises(ValueError, match="'domain' must be the domain of 'measure'"):
        laguerre.diagram(np.random.default_rng(0).random((3, 2)), np.zeros(3),
                         shapely.box(0, 0, 2, 2), measure=mu, cost="euclidean")
    with pytest.raises(ValueError, match="'nu' must be strictly positive"):
        semidiscrete.solve(mu, np.random.default_rng(0).random((3, 2)), [0.5, 0.5, 0.0],
                           cost="euclidean")
    with pytest.warns(semidiscrete.NotConvergedWarning, match="solve: not converged.*max_iter = 1 iterations reached"):
        res = semidiscrete.solve(mu, np.random.default_rng(0).random((5, 2)), cost="euclidean",
                                 max_iter=1)
    assert not res.converged


# --------------------------------------------------------------------------------------------
# the optimal critic and its demo
# --------------------------------------------------------------------------------------------


def test_optimal_critic_is_the_kantorovich_potential():
    from otgan.w1 import optimal_critic

    rng = np.random.default_rng(0)
    y = rng.random((6, 2))
    mu = Uniform()
    crit = optimal_critic(mu, y, tol=1e-12)
    # 1-Lipschitz, |grad| = 1 almost everywhere (torch autograd through the c-transform)
    x = torch.tensor(rng.random((500, 2)), requires_grad=True)
    (g,) = torch.autograd.grad(crit(x).sum(), x)
    np.testing.assert_allclose(g.norm(dim=1).numpy(), 1.0, atol=1e-12)
    a, b = rng.random((2, 2000, 2))
    fa, fb = crit(a), crit(b)
    assert np.all(np.abs(fa - fb) <= np.hypot(*(a - b).T) + 1e-12)
    # W1 = E_nu f - E_mu f, the mu-integral exactly from the diagram: int psi^c dmu
    D = laguerre.diagram(y, crit.psi, cost="euclidean")
    int_psic = float(D.moments.sum() - crit.psi @ D.masses)
    shift = float(crit.potential(y) @ crit.nu)
    np.testing.assert_allclose(crit.nu @ crit(y) - (shift - int_psic), crit.w1, rtol=1e-12)
    # against the discrete OT of a fine uniform grid (POT): midpoint-rule error ~ h
    import ot

    n = 120
    g1 = (np.arange(n) + 0.5) / n
    xx = np.stack(np.meshgrid(g1, g1), -1).reshape(-1, 2)
    w1_grid = ot.emd2(np.full(n * n, 1 / n**2), crit.nu, ot.dist(xx, y, metric="euclidean"))
    np.testing.assert_allclose(crit.w1, w1_grid, atol=2e-3)


def test_fig12_quick(tmp_path):
    from demos import fig12_w1_critic

    side = fig12_w1_critic.main(["--quick", "--out", str(tmp_path), "--seed", "0"])
    n = side["numbers"]
    assert n["newton_max_rel_mass_error"] <= 1e-12
    np.testing.assert_allclose(n["exact_grad_norm_range"], [1.0, 1.0], atol=1e-12)
    assert (tmp_path / "fig12_w1_critic.png").stat().st_size > 10_000
    assert set(n["critics"]) == {"gp", "clip"}
