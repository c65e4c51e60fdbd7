"""Laguerre diagrams: Voronoi special case, brute-force grids, shapely, invariances, moments,
adjacency, the Newton Hessian by finite differences, degenerate and empty cells, rasters, and
hostile inputs (``pytest -m hostile``: near-coincident sites against exact rational arithmetic)."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.spatial import Voronoi

from otgan.errors import GeometryError
from otgan.laguerre import LaguerreDiagram, assign, diagram, raster
from otgan.measures import ImageDensity, Uniform
from otgan.testing import DOMAINS, assert_laguerre_valid, potentials, site_sets
from tests.reference import brute_assign, brute_power_min, exact_power_cells, grid_points

L_SHAPE, UNIT_SQUARE, WITH_HOLE = DOMAINS["L"], DOMAINS["square"], DOMAINS["hole"]
# examples per property: the hypothesis profile's (200 in CI, tests/conftest.py)
SETTINGS = settings(deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def sites(draw, j_max=40, min_sep=1e-9):
    """Distinct sites of every kind (otgan.testing.site_sets) at least ``min_sep`` apart (closer
    sites: the hostile tests at the end of this file) and weights of the order of psi_scale times the
    mean cell area, so that a few cells may be empty."""
    y = draw(site_sets(max_size=j_max))
    if len(y) > 1:
        d2 = ((y[:, None] - y[None]) ** 2).sum(-1) + np.diag(np.full(len(y), np.inf))
        assume(d2.min() > min_sep**2)
    scale = draw(st.sampled_from([0.0, 0.1, 0.5]))
    return SimpleNamespace(y=y, psi=draw(potentials(len(y), scale=scale / len(y))))


def _random(J, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    y = rng.random((J, 2))
    return y, scale / J * rng.standard_normal(J)


def _hessian(D):
    """d masses / d psi from the diagram: W_ij = edge_mass_ij / (2 |y_i - y_j|), diag(W1) - W."""
    E = D.edge_mass.tocoo()
    J = D.y.shape[0]
    W = np.zeros((J, J))
    W[E.row, E.col] = E.data / (2 * np.linalg.norm(D.y[E.row] - D.y[E.col], axis=1))
    return np.diag(W.sum(axis=1)) - W


# --- psi = 0: the Voronoi diagram ---------------------------------------------------------------


def test_voronoi_matches_scipy():
    rng = np.random.default_rng(3)
    y = rng.random((60, 2))
    D = diagram(y, np.zeros(60))
    vor = Voronoi(y)
    checked = 0
    for j in range(60):
        reg = vor.regions[vor.point_region[j]]
        if -1 in reg or not reg:
            continue
        P = shapely.Polygon(vor.vertices[reg])
        if not UNIT_SQUARE.contains(P):
            continue
        checked += 1
        np.testing.assert_allclose(D.areas[j], P.area, rtol=1e-10)
        # same vertex set
        ours = shapely.get_coordinates(D.polygons[j])[:-1]
        theirs = vor.vertices[reg]
        dist = np.linalg.norm(ours[:, None] - theirs[None], axis=-1)
        np.testing.assert_allclose(dist.min(axis=1), 0, atol=1e-10)
        np.testing.assert_allclose(dist.min(axis=0), 0, atol=1e-10)
    assert checked >= 20


@pytest.mark.parametrize("name", ["square", "L", "hole", "triangle"])
def test_areas_match_brute_force_grid(name):
    dom = DOMAINS[name]
    y, psi = _random(25, seed=1)
    x0, y0, x1, y1 = dom.bounds
    y = np.column_stack([x0 + (x1 - x0) * y[:, 0], y0 + (y1 - y0) * y[:, 1]])
    D = diagram(y, psi, dom)
    P, cell = grid_points(dom, 600)
    lab = brute_assign(P, y, psi)
    areas = np.bincount(lab, minlength=25) * cell
    # midpoint rule on a 600 x 600 grid: error ~ perimeter * pixel size
    np.testing.assert_allclose(D.areas, areas, atol=3 * (x1 - x0) / 600 * 0.2)
    np.testing.assert_allclose(D.areas.sum(), dom.area, rtol=1e-12)
    # centroids against the grid
    ok = D.areas > 0.01
    cen = np.stack([np.bincount(lab, P[:, k], 25) for k in (0, 1)], axis=1) * cell
    np.testing.assert_allclose(D.centroids[ok], cen[ok] / areas[ok, None], atol=3e-3)


# 60 examples: each one assigns a 150 x 150 grid by brute force (~0.1 s)
@settings(SETTINGS, max_examples=60)
@given(sites(j_max=30))
def test_cells_against_shapely_and_grid(s):
    D = diagram(s.y, s.psi)
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(D.masses, D.areas, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(shapely.area(D.polygons), D.areas, atol=1e-13)
    ok = ~D.empty
    cen = shapely.get_coordinates(shapely.centroid(D.polygons[ok]))
    np.testing.assert_allclose(D.centroids[ok], cen, atol=1e-10)
    assert np.isnan(D.centroids[D.empty]).all()
    assert (D.areas[D.empty] == 0).all()
    # every cell is the set where site j wins the power comparison (up to the grid)
    P, _ = grid_points(UNIT_SQUARE, 150)
    lab = brute_assign(P, s.y, s.psi)
    inside = shapely.contains_xy(D.polygons[lab], P[:, 0], P[:, 1])
    on_edge = shapely.distance(D.polygons[lab], shapely.points(P)) < 1e-9
    assert (inside | on_edge).all()


# --- invariances ---------------------------------------------------------------------------------


@SETTINGS
@given(sites(j_max=25, min_sep=1e-3))  # a bisector moves by ~ eps |t|^2 / |y_i - y_j|
def test_psi_plus_constant_translation_and_scaling(s):
    D = diagram(s.y, s.psi)
    D2 = diagram(s.y, s.psi + 3.7)
    np.testing.assert_allclose(D2.areas, D.areas, atol=1e-13)
    # translate by t and scale by 2.5: cells scale, areas by 2.5^2
    t = np.array([-3.0, 10.0])
    sc = 2.5
    dom = shapely.affinity.translate(shapely.affinity.scale(UNIT_SQUARE, sc, sc, origin=(0, 0)),
                                     *t)
    D3 = diagram(sc * s.y + t, sc**2 * s.psi, dom)
    np.testing.assert_allclose(D3.areas, sc**2 * D.areas, atol=1e-12)
    np.testing.assert_allclose(D3.masses, D.masses, atol=1e-12)
    ok = ~D.empty
    np.testing.assert_allclose(D3.centroids[ok], sc * D.centroids[ok] + t, atol=1e-9)
    np.testing.assert_allclose(D3.moments, sc**2 * D.moments, atol=1e-12)
    np.testing.assert_allclose((D3.adjacency - sc * D.adjacency).toarray(), 0, atol=1e-10)


# --- moments: the transport cost ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["square", "L", "hole"])
def test_moments_equal_transport_cost_by_quadrature(name):
    dom = DOMAINS[name]
    y, psi = _random(20, seed=5, scale=0.5)
    D = diagram(y, psi, dom)
    # sum_j int_{L_j} |x - y_j|^2 dmu = int min_j(|x-y_j|^2 - psi_j) dmu + sum_j psi_j mu(L_j)
    P, cell = grid_points(dom, 700)
    quad = brute_power_min(P, y, psi).sum() * cell / dom.area
    np.testing.assert_allclose(D.moments.sum(), quad + psi @ D.masses, rtol=1e-4)
    # and cell by cell against the grid
    lab = brute_assign(P, y, psi)
    mom = np.bincount(lab, ((P - y[lab]) ** 2).sum(1), 20) * cell / dom.area
    np.testing.assert_allclose(D.moments, mom, atol=2e-4)


def test_moment_of_a_single_cell_is_closed_form():
    # one site at (a, b) in the unit square: int |x - y|^2 = 1/6 + (a-1/2)^2 + (b-1/2)^2
    D = diagram([[0.2, 0.9]], [0.0])
    np.testing.assert_allclose(D.moments, [1 / 6 + 0.3**2 + 0.4**2], rtol=1e-14)
    np.testing.assert_allclose(D.centroids, [[0.5, 0.5]], rtol=1e-14)
    assert D.adjacency.nnz == 0


# --- adjacency and the Hessian ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["square", "L", "hole"])
def test_adjacency_against_shapely(name):
    dom = DOMAINS[name]
    y, psi = _random(30, seed=2)
    D = diagram(y, psi, dom)
    A = D.adjacency
    assert (A != A.T).nnz == 0
    J = 30
    ref = np.zeros((J, J))
    for i in range(J):
        for j in range(i + 1, J):
            # shared boundary, robust to 1e-16 differences between the two cells' vertices
            ref[i, j] = ref[j, i] = shapely.intersection(
                D.polygons[i].boundary, D.polygons[j].boundary.buffer(1e-10)
            ).length
    np.testing.assert_allclose(A.toarray(), ref, atol=1e-8)
    np.testing.assert_allclose(D.edge_mass.toarray(), ref / dom.area, atol=1e-8)


@pytest.mark.parametrize("name", ["square", "L", "hole"])
def test_hessian_is_finite_difference_of_masses(name):
    dom = DOMAINS[name]
    y, psi = _random(15, seed=7)
    D = diagram(y, psi, dom)
    eps = 1e-7
    FD = np.zeros((15, 15))
    for j in range(15):
        e = np.zeros(15)
        e[j] = eps
        FD[:, j] = (diagram(y, psi + e, dom).masses - diagram(y, psi - e, dom).masses) / (2 * eps)
    np.testing.assert_allclose(_hessian(D), FD, atol=1e-6 * np.abs(FD).max())


@pytest.mark.parametrize("dom", [None, L_SHAPE])
def test_hessian_under_image_density(dom):
    img = np.random.default_rng(0).random((7, 9)) + 0.2
    mu = ImageDensity(img, extent=(0, 1, 0, 1))
    y, psi = _random(10, seed=8)
    D = diagram(y, psi, dom, measure=mu)
    eps = 1e-7
    FD = np.zeros((10, 10))
    for j in range(10):
        e = np.zeros(10)
        e[j] = eps
        FD[:, j] = (diagram(y, psi + e, dom, measure=mu).masses
                    - diagram(y, psi - e, dom, measure=mu).masses) / (2 * eps)
    np.testing.assert_allclose(_hessian(D), FD, atol=1e-6 * np.abs(FD).max())
    if dom is not None:  # the masses are those of mu restricted to the L-shape
        np.testing.assert_allclose(D.masses.sum(), mu.mass([L_SHAPE])[0], rtol=1e-12)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
def test_contract_jacobian_is_finite_difference_of_masses(cost):
    """Both geometries meet CellDiagram: jacobian() and the continuation's box masses/weights
    are the central finite differences of the masses (image density, psi away from ties)."""
    from otgan._graph import laplacian
    from otgan.laguerre import CellDiagram

    rng = np.random.default_rng(12)
    mu = ImageDensity(rng.random((5, 6)) + 0.1)
    J = 9
    y = rng.random((J, 2))
    psi = (0.02 if cost == "sqeuclidean" else 0.05) * rng.standard_normal(J)
    D = diagram(y, psi, measure=mu, cost=cost)
    assert isinstance(D, CellDiagram) and D.cost == cost
    h = 1e-6
    FD, FDbox = np.zeros((J, J)), np.zeros((J, J))
    for j in range(J):
        e = np.zeros(J)
        e[j] = h
        Dp, Dm = (diagram(y, psi + e, measure=mu, cost=cost),
                  diagram(y, psi - e, measure=mu, cost=cost))
        FD[:, j] = (Dp.masses - Dm.masses) / (2 * h)
        FDbox[:, j] = (Dp.box_masses - Dm.box_masses) / (2 * h)
    tol = 1e-6 * np.abs(FD).max()
    np.testing.assert_allclose(D.jacobian().toarray(), FD, atol=tol)
    np.testing.assert_allclose(laplacian(D.box_weights).toarray(), FDbox, atol=tol)
    np.testing.assert_allclose(D.jacobian(0.3).toarray(), 0.7 * FD + 0.3 * FDbox, atol=tol)
    G, _ = D.regularised(0.3)
    np.testing.assert_allclose(G, 0.7 * D.masses + 0.3 * D.box_masses, rtol=1e-15)
    np.testing.assert_allclose(D.box_masses.sum(), 1.0, rtol=1e-12)


# --- image densities ------------------------------------------------------------------------------


def test_masses_under_image_density_against_supersampling():
    rng = np.random.default_rng(4)
    img = rng.random((6, 8))
    img[0, :] = 3.0  # a bright top row: checks the orientation (row 0 = top)
    mu = ImageDensity(img, extent=(0, 2, 0, 1))
    y = rng.random((12, 2)) * [2, 1]
    psi = 0.02 * rng.standard_normal(12)
    D = diagram(y, psi, measure=mu)
    np.testing.assert_allclose(D.masses.sum(), 1.0, rtol=1e-12)
    # supersampled pixel assignment: 1200 x 600 sub-pixels, density read from the image array
    P, cell = grid_points(shapely.box(0, 0, 2, 1), 1200)
    col = np.minimum((P[:, 0] / (2 / 8)).astype(int), 7)
    row = np.minimum(((1 - P[:, 1]) / (1 / 6)).astype(int), 5)
    rho = img[row, col] / (img.sum() * (2 / 8) * (1 / 6))
    lab = brute_assign(P, y, psi)
    ref = np.bincount(lab, rho, 12) * cell
    np.testing.assert_allclose(D.masses, ref, atol=2e-3)
    mom = np.bincount(lab, rho * ((P - y[lab]) ** 2).sum(1), 12) * cell
    np.testing.assert_allclose(D.moments, mom, atol=2e-3)
    bary = np.stack([np.bincount(lab, rho * P[:, k], 12) for k in (0, 1)], 1) * cell
    ok = D.masses > 0.02
    np.testing.assert_allclose(D.barycenters[ok], bary[ok] / ref[ok, None], atol=5e-3)


@pytest.mark.parametrize("cost", ["sqeuclidean", "euclidean"])
@pytest.mark.parametrize("dom", [None, L_SHAPE], ids=["square", "L"])
def test_reintegrate_gives_the_fresh_diagram_under_another_measure(cost, dom):
    """factory.with_measure(nu).reintegrate(D): D's cells under another measure are the diagram
    the factory would compute afresh, and their masses are the pixel integrals over the cells
    (shapely: cell clipped against every pixel)."""
    from otgan.laguerre import geometry

    rng = np.random.default_rng(21)
    img = rng.random((5, 6)) + 0.1
    img[1:3, 2:5] = 0.0  # black pixels
    domain = UNIT_SQUARE if dom is None else dom
    uni, mu = Uniform(domain), ImageDensity(img)
    J = 11
    y = rng.random((J, 2))
    psi = 0.02 * rng.standard_normal(J)
    F = geometry(cost)(y, domain, uni)
    D = F(psi)
    G = F.with_measure(mu)
    R, fresh = G.reintegrate(D), G(psi)
    assert type(R) is type(fresh)
    for name in ("masses", "moments", "areas", "box_masses"):
        np.testing.assert_allclose(getattr(R, name), getattr(fresh, name), rtol=1e-12,
                                   atol=1e-15, err_msg=name)
    np.testing.assert_allclose(R.jacobian().toarray(), fresh.jacobian().toarray(), rtol=1e-12,
                               atol=1e-15)
    if cost == "sqeuclidean":
        # image masses: each cell clipped against each pixel, density img / mean over [0, 1]^2
        h, w = img.shape
        ref = np.zeros(J)
        rho = img / (img.sum() / (h * w))
        for r in range(h):
            for k in range(w):
                pix = shapely.box(k / w, 1 - (r + 1) / h, (k + 1) / w, 1 - r / h)
                ref += rho[r, k] * shapely.area(shapely.intersection(R.polygons, pix))
        np.testing.assert_allclose(R.masses, ref, atol=1e-14)
    with pytest.raises(TypeError, match="'D' must be a"):
        G.reintegrate(np.zeros(J))


@pytest.mark.parametrize("cost, case", [
    ("sqeuclidean", "image"), ("sqeuclidean", "uniform"), ("sqeuclidean", "image on L"),
    ("sqeuclidean", "uniform L"), ("euclidean", "image"), ("euclidean", "uniform")])
def test_cell_masses_of_a_few_cells_are_the_whole_diagrams(cost, case):
    """factory.cell_masses(psi, idx): the masses and box masses of the cells idx, as the whole
    diagram gives them (bit for bit on a rectangle, warm-started or not; to rounding on the
    L-shape, whose cells shapely clips), an empty cell included."""
    from otgan.laguerre import geometry

    rng = np.random.default_rng(5)
    img = rng.random((6, 7)) + 0.1
    img[2:4, 1:5] = 0.0
    domain = L_SHAPE if "L" in case else UNIT_SQUARE
    mu = ImageDensity(img) if "image" in case else Uniform(domain)
    J = 40
    y = rng.random((J, 2))
    psi = 0.01 * rng.standard_normal(J)
    psi[7] = -1.0  # an empty cell
    F = geometry(cost)(y, domain, mu)
    near = F(psi + 0.002 * rng.standard_normal(J))
    idx = np.array([31, 7, 2, 18, 0])
    for warm in (None, near):
        D = F(psi, near=warm)
        m, bm = F.cell_masses(psi, idx, near=warm)
        assert D.masses[7] == 0.0 and m[1] == 0.0
        if domain is UNIT_SQUARE:
            np.testing.assert_array_equal(m, D.masses[idx])
            np.testing.assert_array_equal(bm, D.box_masses[idx])
        else:
            np.testing.assert_allclose(m, D.masses[idx], rtol=1e-12, atol=1e-16)
            np.testing.assert_allclose(bm, D.box_masses[idx], rtol=1e-12, atol=1e-16)
    assert F.partial == (cost == "sqeuclidean")


def test_uniform_measure_on_another_polygon():
    # the measure lives on the L-shape, the diagram is clipped to the unit square
    mu = Uniform(L_SHAPE)
    y, psi = _random(12, seed=9)
    D = diagram(y, psi, UNIT_SQUARE, measure=mu)
    ref = shapely.area(shapely.intersection(D.polygons, L_SHAPE)) / L_SHAPE.area
    np.testing.assert_allclose(D.masses, ref, atol=1e-13)
    np.testing.assert_allclose(D.masses.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-12)


# --- empty cells and degenerate configurations ----------------------------------------------------


def test_very_negative_psi_gives_an_empty_cell():
    y, psi = _random(10, seed=1)
    psi[3] = -10.0
    D = diagram(y, psi)
    assert D.empty[3] and D.areas[3] == 0 and D.masses[3] == 0
    assert D.polygons[3].is_empty
    assert np.isnan(D.centroids[3]).all()
    assert D.adjacency[3].nnz == 0
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-12)


def test_j_equals_one_and_two():
    D = diagram(np.array([[3.0, -1.0]]), np.array([5.0]))  # site outside the domain
    np.testing.assert_allclose(D.areas, [1.0])
    D = diagram(np.array([[0.2, 0.2], [0.6, 0.2]]), np.array([0.0, 0.04]))
    # boundary: |x-y0|^2 = |x-y1|^2 - 0.04  ->  x = 0.4 - 0.04 / 0.8 = 0.35
    np.testing.assert_allclose(D.areas, [0.35, 0.65], rtol=1e-14)
    np.testing.assert_allclose(D.adjacency.toarray(), [[0, 1], [1, 0]], rtol=1e-14)


def test_collinear_sites():
    y = np.column_stack([np.linspace(0.1, 0.9, 9), np.full(9, 0.5)])
    D = diagram(y, np.zeros(9))
    edges = np.r_[0, (y[1:, 0] + y[:-1, 0]) / 2, 1]
    np.testing.assert_allclose(D.areas, np.diff(edges), rtol=1e-13)
    # a grid of sites with exact cocircular ties
    g = (np.arange(5) + 0.5) / 5
    y = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    D = diagram(y, np.zeros(25))
    np.testing.assert_allclose(D.areas, 1 / 25, rtol=1e-12)
    assert D.adjacency.nnz == 2 * 2 * 5 * 4  # only the 4-neighbours share an edge
    np.testing.assert_allclose(D.adjacency.data, 0.2, rtol=1e-12)


def test_sites_far_outside_and_non_convex_split_cells():
    dom = shapely.Polygon([(0, 0), (3, 0), (3, 1), (2, 1), (2, 0.2), (1, 0.2), (1, 1), (0, 1)])
    y = np.array([[1.5, 5.0], [1.5, -3.0]])  # the U-shape's arms split the first cell
    D = diagram(y, np.zeros(2), dom)
    np.testing.assert_allclose(D.areas.sum(), dom.area, rtol=1e-12)
    ref = shapely.area(shapely.intersection(dom, shapely.box(-1, 1, 4, 2)))
    np.testing.assert_allclose(D.areas[0], ref + 0.0, atol=1e-12)


# --- validation ------------------------------------------------------------------------------------


def test_validation_messages():
    y = np.random.default_rng(0).random((50, 2))
    with pytest.raises(ValueError, match=r"laguerre.diagram: 'psi' must have shape \(50,\) to "
                                         r"match 'y' \(50, 2\); got \(49,\)"):
        diagram(y, np.zeros(49))
    with pytest.raises(ValueError, match=r"laguerre.diagram: 'y' must have shape \(J, 2\)"):
        diagram(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="'y' contains NaN"):
        diagram(np.array([[0.0, np.nan]]), np.zeros(1))
    with pytest.raises(ValueError, match="'psi' contains NaN"):
        diagram(y, np.full(50, np.inf))
    y2 = y.copy()
    y2[7] = y2[3]
    with pytest.raises(ValueError, match=r"distinct sites; y\[3\] == y\[7\]"):
        diagram(y2, np.zeros(50))
    with pytest.raises(ValueError, match="'domain' must have a positive area"):
        diagram(y, np.zeros(50), np.array([[0, 0], [1, 1], [2, 2]]))
    with pytest.raises(ValueError, match="'domain' is not a valid polygon"):
        diagram(y, np.zeros(50), np.array([[0, 0], [2, 2], [2, 0], [0, 1]]))
    with pytest.raises(TypeError, match="'measure' must be a measure with a density"):
        diagram(y, np.zeros(50), measure="uniform")
    assert issubclass(GeometryError, Exception)


def test_torch_inputs_and_result_type():
    y, psi = _random(20, seed=3)
    D = diagram(torch.tensor(y, dtype=torch.float32), torch.tensor(psi, dtype=torch.float32))
    D64 = diagram(y.astype(np.float32).astype(np.float64), psi.astype(np.float32))
    assert isinstance(D, LaguerreDiagram)
    assert isinstance(D.areas, np.ndarray) and D.areas.dtype == np.float64
    np.testing.assert_allclose(D.areas, D64.areas, rtol=1e-12, atol=1e-15)
    with pytest.raises(dataclasses.FrozenInstanceError):
        D.areas = None  # frozen


# --- assign --------------------------------------------------------------------------------------------


def test_assign_agrees_with_brute_force_and_cells():
    y, psi = _random(30, seed=11)
    x = np.random.default_rng(12).random((2000, 2))
    idx = assign(x, y, psi)
    assert isinstance(idx, np.ndarray) and idx.dtype == np.int64
    ref = brute_assign(x, y, psi)
    vals = ((x[:, None] - y[None]) ** 2).sum(-1) - psi
    np.testing.assert_allclose(vals[np.arange(2000), idx], vals[np.arange(2000), ref],
                               atol=1e-12)
    D = diagram(y, psi)
    inside = shapely.intersects_xy(D.polygons[idx], x[:, 0], x[:, 1])
    assert inside.all()
    it = assign(torch.tensor(x), torch.tensor(y), torch.tensor(psi))
    assert isinstance(it, torch.Tensor)
    np.testing.assert_array_equal(it.numpy(), idx)


# --- raster (any cost) ----------------------------------------------------------------------------------


def test_raster_voronoi_for_euclidean_cost_converges():
    # psi = 0: the Euclidean-cost cells are the Voronoi cells, known exactly
    y, _ = _random(8, seed=13)
    exact = diagram(y, np.zeros(8)).masses
    errs = []
    for res in (32, 64, 128, 256):
        R = raster(y, np.zeros(8), "euclidean", resolution=res)
        err = np.abs(R.masses - exact)
        assert (err <= R.error + 1e-12).all()
        errs.append(err.max())
        assert R.labels.shape == (res, res)
    # O(h): the error shrinks roughly by 2 when the resolution doubles
    assert errs[-1] < errs[0] / 4
    np.testing.assert_allclose(errs[-1], 0, atol=8 / 256)


def test_raster_quadratic_cost_matches_exact_and_orientation():
    y, psi = _random(10, seed=14)
    D = diagram(y, psi, L_SHAPE)
    R = raster(y, psi, domain=L_SHAPE, resolution=400)
    assert (np.abs(R.masses - D.masses) <= R.error + 1e-12).all()
    np.testing.assert_allclose(R.masses, D.masses, atol=0.01)
    # row 0 is the top: the top-right quarter lies outside the L-shape
    assert (R.labels[:150, 250:] == -1).all() and (R.labels[250:, :150] >= 0).all()


def test_raster_euclidean_hyperbolic_boundary_by_fine_grid():
    y = np.array([[0.3, 0.4], [0.7, 0.6], [0.4, 0.8]])
    psi = np.array([0.0, 0.1, -0.05])
    P, cell = grid_points(UNIT_SQUARE, 1500)
    lab = np.argmin(np.linalg.norm(P[:, None] - y[None], axis=-1) - psi, axis=1)
    ref = np.bincount(lab, minlength=3) * cell
    R = raster(y, psi, "euclidean", resolution=300)
    assert (np.abs(R.masses - ref) <= R.error).all()
    np.testing.assert_allclose(R.masses, ref, atol=5e-3)


def test_raster_validation():
    with pytest.raises(ValueError, match="laguerre.raster: 'resolution' must be a positive int"):
        raster(np.zeros((1, 2)), np.zeros(1), resolution=0)


def test_diagram_with_many_sites_is_a_partition():
    y, psi = _random(3000, seed=21, scale=0.5)
    D = diagram(y, psi, WITH_HOLE)
    np.testing.assert_allclose(D.areas.sum(), WITH_HOLE.area, rtol=1e-12)
    np.testing.assert_allclose(D.masses.sum(), 1.0, rtol=1e-12)
    A = D.adjacency
    assert (abs(A - A.T) > 1e-12).nnz == 0
    x = np.random.default_rng(0).random((5000, 2))
    x = x[shapely.contains_xy(WITH_HOLE, x[:, 0], x[:, 1])]
    idx = brute_assign(x, y, psi)
    assert shapely.intersects_xy(D.polygons[idx], x[:, 0], x[:, 1]).all()


def test_cell_crossing_a_hole_without_containing_its_corners():
    # the middle cell is the band 0.3 <= x <= 0.7; the hole [0.2, 0.8] x [0.4, 0.6] crosses it
    # with all its corners in the other cells, and all the band's corners in the domain
    dom = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)],
                          [[(0.2, 0.4), (0.8, 0.4), (0.8, 0.6), (0.2, 0.6)]])
    y = np.array([[0.1, 0.5], [0.5, 0.5], [0.9, 0.5]])
    D = diagram(y, np.zeros(3), dom)
    np.testing.assert_allclose(D.areas, [0.3 - 0.1 * 0.2, 0.4 - 0.4 * 0.2, 0.3 - 0.1 * 0.2],
                               rtol=1e-13)
    assert isinstance(D.polygons[1], shapely.MultiPolygon)
    np.testing.assert_allclose(D.adjacency[0, 1], 0.8, rtol=1e-13)  # the hole cuts the edge


# --- the numba kernel: many-vertex cells, uneven site distributions, threads ---------------------


def test_cell_with_more_vertices_than_the_working_buffer():
    # a site surrounded by n sites on a circle of radius R: its cell is the regular n-gon of
    # apothem R / 2 (n above the kernel's initial capacity of 64 vertices)
    n, R = 300, 0.3
    t = 2 * np.pi * np.arange(n) / n
    y = np.vstack([[0.5, 0.5], 0.5 + R * np.column_stack([np.cos(t), np.sin(t)])])
    D = diagram(y, np.zeros(n + 1))
    a = R / 2
    np.testing.assert_allclose(D.areas[0], n * a**2 * np.tan(np.pi / n), rtol=1e-12)
    assert len(D.polygons[0].exterior.coords) == n + 1  # closed ring: n vertices
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-12)
    assert D.adjacency[0].nnz == n
    # polar moment of a regular n-gon about its centre: n a^4 tan(t) (1 + tan(t)^2 / 3) / 2
    tt = np.tan(np.pi / n)
    np.testing.assert_allclose(D.moments[0], n * a**4 * tt * (1 + tt**2 / 3) / 2, rtol=1e-10)


def _clusters(kind, J, rng):
    if kind == "tight cluster and an outlier":
        return np.vstack([0.5 + 1e-3 * rng.random((J - 1, 2)), [[0.99, 0.01]]])
    if kind == "two tight clusters":
        return np.vstack([0.2 + 1e-3 * rng.random((J // 2, 2)),
                          0.8 + 1e-3 * rng.random((J - J // 2, 2))])
    if kind == "gaussian, some sites outside":
        return 0.5 + 0.3 * rng.standard_normal((J, 2))
    if kind == "far outliers":
        return np.vstack([rng.random((J - 3, 2)), [[1e6, 3.0], [-1e5, -2e4], [0.5, 1e3]]])
    return np.column_stack([rng.random(J), 0.37 + 0.3 * rng.random(J) ** 8])  # squeezed band


@pytest.mark.parametrize("kind", ["tight cluster and an outlier", "two tight clusters",
                                  "gaussian, some sites outside", "far outliers", "band"])
@pytest.mark.parametrize("scale", [0.0, 0.3])
def test_uneven_sites_give_exact_cells_by_brute_force_envelope(kind, scale):
    rng = np.random.default_rng(5)
    J = 1500
    y = _clusters(kind, J, rng)
    psi = scale * 1e-3 / J * rng.standard_normal(J)
    D = diagram(y, psi)
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-12)
    # every vertex of every cell is on the lower envelope of the power functions (brute force)
    assert_laguerre_valid(D, rtol=1e-12, envelope_atol=1e-13)
    # and the cells agree with shapely's areas of the returned polygons
    np.testing.assert_allclose(shapely.area(D.polygons), D.areas, atol=1e-15)


def test_kernel_result_does_not_depend_on_threads_or_tree():
    from otgan.laguerre._power import power_cells

    rng = np.random.default_rng(8)
    J = 2000
    y = rng.random((J, 2)) * 2 - 1
    psi = 0.5 / J * rng.standard_normal(J)
    box = (-1.0, -1.0, 1.0, 1.0)
    fields = ("area", "sx", "sy", "i2", "n")
    ref = power_cells(y[:, 0], y[:, 1], psi, box, threads=1)
    # same tree, other threads: bit for bit the same cells
    out = power_cells(y[:, 0], y[:, 1], psi, box, threads=3)
    for f in fields:
        np.testing.assert_array_equal(getattr(out, f), getattr(ref, f))
    for i in range(0, J, 97):
        a, b = slice(ref.ptr[i], ref.ptr[i] + ref.n[i]), slice(out.ptr[i], out.ptr[i] + out.n[i])
        np.testing.assert_array_equal(out.vx[b], ref.vx[a])
        np.testing.assert_array_equal(out.lab[b], ref.lab[a])
    # another leaf size changes the visiting order (hence the rounding), not the cells
    for leaf in (1, 3, 40):
        out = power_cells(y[:, 0], y[:, 1], psi, box, threads=2, leaf=leaf)
        np.testing.assert_allclose(out.area, ref.area, rtol=0, atol=1e-16)
    # exact cells: areas sum to the box's area and every vertex is on the lower envelope
    np.testing.assert_allclose(ref.area.sum(), 4.0, rtol=1e-13)
    polys = [shapely.Polygon(np.column_stack([ref.vx[ref.ptr[i]:ref.ptr[i] + ref.n[i]],
                                              ref.vy[ref.ptr[i]:ref.ptr[i] + ref.n[i]]]))
             if ref.n[i] >= 3 else shapely.Polygon() for i in range(J)]
    np.testing.assert_allclose(shapely.area(polys), ref.area, atol=1e-15)
    cells = SimpleNamespace(y=y, psi=psi, areas=ref.area, polygons=polys,
                            domain=shapely.box(*box))
    assert_laguerre_valid(cells, rtol=1e-13, envelope_atol=1e-13)


@pytest.mark.parametrize("leaf", [3, 8])
def test_plane_bound_and_warm_start_give_the_exact_cells_far_from_their_sites(leaf):
    """A potential with a strong slope and curvature moves every cell far from its site (as
    an image with black pixels does): the walk prunes with the nodes' planes of psi
    (``node_bounds``), and a warm start clips first by the neighbours of another potential's
    cells. Both must give the cells of exact rational arithmetic."""
    from otgan.laguerre._power import PowerTree, power_cells

    rng = np.random.default_rng(11)
    y = rng.random((70, 2))
    psi = 0.6 * y[:, 0] + 0.3 * y[:, 1] ** 2 + 1e-3 * rng.standard_normal(70)
    areas, _ = exact_power_cells(y, psi)
    tree = PowerTree(y[:, 0], y[:, 1], leaf=leaf)
    model = tree.nodes(psi)[7]
    assert np.any(model[:, 1:3] != 0.0)  # the plane bound is used
    box = (0.0, 0.0, 1.0, 1.0)
    cold = power_cells(y[:, 0], y[:, 1], psi, box, tree=tree)
    other = power_cells(y[:, 0], y[:, 1], 0.7 * psi + 0.02 * rng.random(70), box, tree=tree)
    warm = power_cells(y[:, 0], y[:, 1], psi, box, tree=tree, near=other)
    for cells in (cold, warm):
        np.testing.assert_allclose(cells.area, areas, rtol=0, atol=1e-15)
    # the cells are far from their sites: the test exercises displaced cells
    cen = y + np.column_stack([cold.sx, cold.sy]) / np.where(cold.area > 0, cold.area, 1)[:, None]
    assert np.median(np.hypot(*(cen - y).T)[cold.area > 0]) > 0.1


def test_kernel_restarts_when_a_cell_outgrows_its_buffers():
    """A cell with more vertices than the working buffers (64) and an output larger than its
    first guess: the kernel restarts with larger buffers; compare with shapely."""
    from otgan.laguerre._power import _cells, build_tree, node_bounds

    t = np.linspace(0, 2 * np.pi, 301)[:-1]
    y = np.vstack([[0.5, 0.5], 0.5 + 0.3 * np.column_stack([np.cos(t), np.sin(t)])])
    psi = np.zeros(len(y))
    perm, start, end, child, parent, bbox = build_tree(y[:, 0].copy(), y[:, 1].copy(), 8)
    pmax, model = node_bounds(start, end, child, y[perm, 0], y[perm, 1], psi[perm])
    gx, gy, gp = y[perm, 0], y[perm, 1], psi[perm]
    pos = np.empty(len(y), dtype=np.int64)
    pos[perm] = np.arange(len(y))
    none = np.zeros(0, dtype=np.int64)
    order = np.arange(len(y))
    ptr, n, vx, vy, lab, area, *_ = _cells(0, len(y), order, gx, gy, gp, perm, pos, start, end,
                                           child, parent, bbox, pmax, model, 0.0, 0.0, 1.0, 1.0,
                                           none, none, none)
    c = int(np.flatnonzero(perm == 0)[0])
    assert n[c] == 300
    ring = shapely.Polygon(np.column_stack([vx[ptr[c]:ptr[c] + n[c]], vy[ptr[c]:ptr[c] + n[c]]]))
    # the centre's Voronoi cell is the regular 300-gon with apothem 0.15
    apothem = 0.15
    exact = 300 * apothem**2 * np.tan(np.pi / 300)
    np.testing.assert_allclose([area[c], ring.area], exact, rtol=1e-13)
    np.testing.assert_allclose(area.sum(), 1.0, rtol=1e-13)


def test_semi_dual_method_matches_grid_quadrature():
    """H(psi) = int psi^c dmu + nu . psi, against the c-transform on a 600^2 midpoint grid."""
    from otgan.ctransform import semi_dual

    rng = np.random.default_rng(31)
    y, psi = rng.random((12, 2)), 0.01 * rng.standard_normal(12)
    nu = rng.random(12)
    nu /= nu.sum()
    t = (np.arange(600) + 0.5) / 600
    x = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
    np.testing.assert_allclose(diagram(y, psi).semi_dual(nu),
                               semi_dual(psi, y, x, nu=nu), rtol=0, atol=2e-5)


# --- hostile and degenerate inputs (pytest -m hostile) -------------------------------------------
# refused naming the argument; near-coincident sites and tiny cells against exact rational
# arithmetic (tests.reference.exact_power_cells)

#: the hostile tests' sites: test_semidiscrete.py's ``Y2`` (seed 1234, after 7 points)
Y2 = np.random.default_rng(1234).random((11, 2))[7:]


@pytest.mark.hostile
@pytest.mark.usefixtures("one_torch_thread")
def test_complex_sites_rejected():
    with pytest.raises(TypeError, match="'y' must be real"):
        diagram(Y2.astype(complex), np.zeros(4))


@pytest.mark.hostile
@pytest.mark.parametrize("gap", [1e-12, 1e-9, 1e-7])
def test_near_coincident_sites_are_exact_against_rational_arithmetic(gap):
    rng = np.random.default_rng(3)
    y = rng.random((9, 2))
    # a pair `gap` apart far from the origin, a cluster of four within `gap`, equal weights
    # for the pair (the bisector between them matters) and random weights elsewhere
    pair = np.array([[0.7312, 0.4117], [0.7312 + gap, 0.4117 + 0.5 * gap]])
    cluster = 0.3 + gap * rng.random((4, 2))
    y = np.vstack([y, pair, cluster])
    psi = 1e-3 * rng.standard_normal(len(y))
    psi[9:11] = 2e-4
    psi[11:] = 5e-4 + gap**2 * rng.random(4)
    D = diagram(y, psi)
    areas, cents = exact_power_cells(y, psi)
    np.testing.assert_allclose(D.areas, areas, rtol=0, atol=1e-12)
    ok = areas > 1e-9  # centroids of cells of non-negligible area
    np.testing.assert_allclose(D.centroids[ok], cents[ok], rtol=0, atol=1e-12)
    # the pair shares its region: both cells are substantial, the cut is not lost
    assert areas[9] > 1e-3 and areas[10] > 1e-3


@pytest.mark.hostile
def test_sites_1e17_apart_split_the_square():
    """Two sites 1e-17 apart with equal weights: the bisector x = 5e-18 halves the square."""
    D = diagram(np.array([[1e-17, 0.5], [0.0, 0.5]]), np.zeros(2))
    areas, _ = exact_power_cells(np.array([[1e-17, 0.5], [0.0, 0.5]]), np.zeros(2))
    np.testing.assert_allclose(D.areas, areas, rtol=0, atol=1e-15)
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-15)


@pytest.mark.hostile
def test_small_cell_far_from_its_site_has_an_accurate_area():
    """A cell of area ~1e-10 at distance ~0.25 from its site (the shoelace about the site
    would lose ~1e-7 of it to cancellation)."""
    y = np.array([[0.52828244, 0.2265004], [0.77754412, 0.1700785], [0.57719795, 0.53589893],
                  [0.6719028, 0.7604866]])
    psi = np.array([0.0, 0.0, 0.0, -0.0])
    # pick psi_3 so that cell 3 is tiny: bisect on the exact area
    lo, hi = -0.5, 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        psi[3] = mid
        a = exact_power_cells(y, psi)[0][3]
        lo, hi = (mid, hi) if a < 1e-10 else (lo, mid)
    psi[3] = hi
    exact = exact_power_cells(y, psi)[0]
    assert 1e-11 < exact[3] < 1e-9
    np.testing.assert_allclose(diagram(y, psi).areas[3], exact[3], rtol=1e-9)


@pytest.mark.hostile
def test_cocircular_cluster_clipped_to_a_holed_domain():
    """Four cocircular sites 1e-7 apart: all cells meet at one point, where a cell's vertices
    repeat within rounding; clipped to a domain with a hole, the areas must still partition it
    (found by otgan.testing's site sets: they summed to 1.38 for a domain of area 0.91)."""
    y = np.array([[0.375, 0.375], [0.375, 0.3750001], [0.3750001, 0.375], [0.3750001, 0.3750001]])
    hole = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)],
                           [[(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)]])
    D = diagram(y, np.zeros(4), hole)
    np.testing.assert_allclose(D.areas.sum(), hole.area, rtol=1e-13)
    # each cell: its exact box cell minus the part of the hole it covers; the four cells are
    # the four quadrants around (0.37500005, 0.37500005), so the hole takes a known rectangle
    box, _ = exact_power_cells(y, np.zeros(4))
    c = 0.37500005
    in_hole = np.array([(c - 0.3) ** 2, (c - 0.3) * (0.6 - c), (0.6 - c) * (c - 0.3),
                        (0.6 - c) ** 2])
    np.testing.assert_allclose(D.areas, box - in_hole, rtol=0, atol=1e-12)


def _asgd(y):
    """``semidiscrete.asgd`` on the sites ``y`` (J, d) from a uniform sampler of [0, 1]^d: a
    public entry that takes sites of any dimension (validated before any sampling). Only the
    validation is under test: three steps, and a tolerance that three steps meet."""
    from otgan import semidiscrete
    from otgan.measures import Sampler

    d = y.shape[1]
    return semidiscrete.asgd(Sampler(lambda n, rng: rng.random((n, d))), y, batch_size=16,
                             n_iter=3, tol=100.0, n_eval=1000, rng=0)


@pytest.mark.hostile
@pytest.mark.usefixtures("one_torch_thread")
def test_repeated_one_dimensional_sites_are_refused_naming_the_pair():
    # sites on the line: 0.7 appears at positions 1 and 3 (it used to raise an IndexError:
    # the duplicate search read a second coordinate)
    y = np.array([[0.3], [0.7], [0.1], [0.7], [0.9]])
    with pytest.raises(ValueError, match=r"asgd: 'y' must hold distinct sites; y\[1\] == y\[3\] "
                                         r"== \[0\.7\] \(1 duplicate pair\(s\)\)"):
        _asgd(y)


@pytest.mark.hostile
@pytest.mark.usefixtures("one_torch_thread")
def test_a_duplicate_pair_in_three_dimensions_is_found_past_a_site_between_them():
    # y[1] == y[6]; y[4] shares their first two coordinates and differs in the third, so on the
    # first two coordinates alone the three tie and stay in index order 1, 4, 6: no two equal
    # sites are adjacent there. On all three, 4 (z = 0.1) comes first and 1, 6 are adjacent.
    y = np.random.default_rng(5).random((8, 3))
    y[1] = y[6] = [0.5, 0.25, 0.75]
    y[4] = [0.5, 0.25, 0.1]
    with pytest.raises(ValueError, match=r"'y' must hold distinct sites; y\[1\] == y\[6\] == "
                                         r"\[0\.5, 0\.25, 0\.75\] \(1 duplicate pair\(s\)\)"):
        _asgd(y)
    # two duplicate pairs: the first in lexicographic order is named, (4, 7) before (1, 6)
    y[7] = y[4]
    with pytest.raises(ValueError, match=r"y\[4\] == y\[7\] == \[0\.5, 0\.25, 0\.1\] "
                                         r"\(2 duplicate pair\(s\)\)"):
        _asgd(y)


@pytest.mark.hostile
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("d", [2, 3, 4])
def test_distinct_sites_sharing_their_first_coordinates_are_accepted(d):
    # all sites share x = 0.5 and three share (0.5, 0.25): they differ only in a later
    # coordinate (or, for d = 2, in the second)
    y = np.random.default_rng(6).random((6, d))
    y[:, 0] = 0.5
    if d > 2:
        y[:3, 1] = 0.25
    res = _asgd(y)
    assert res.psi.shape == (6,)
