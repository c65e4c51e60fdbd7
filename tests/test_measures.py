"""Measures: domains, exact polygon integrals (closed forms, shapely, grids), image orientation,
sampling laws, discrete and generator samplers, validation."""

import numpy as np
import pytest
import shapely
import torch
from hypothesis import HealthCheck, assume, given, settings

from otgan.measures import (
    Discrete,
    ImageDensity,
    Measure,
    PolygonIntegrals,
    Sampler,
    Uniform,
    as_domain,
    polygon_moments,
)
from otgan.testing import DOMAINS, site_sets
from tests.reference import grid_points

L_SHAPE, TRIANGLE = DOMAINS["L"], DOMAINS["triangle"]
UNIT_SQUARE, WITH_HOLE = DOMAINS["square"], DOMAINS["hole"]
# examples per property: the hypothesis profile's (200 in CI, tests/conftest.py)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- domains -----------------------------------------------------------------------------------


def test_as_domain_accepts_vertices_and_shapely():
    assert as_domain(None).equals(UNIT_SQUARE)
    P = as_domain(np.array([[0, 0], [2, 0], [1, 1.5]]))
    np.testing.assert_allclose(P.area, 1.5)
    assert as_domain(WITH_HOLE) is WITH_HOLE
    M = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    np.testing.assert_allclose(Uniform(M).area, 2.0)


def test_domain_validation():
    with pytest.raises(ValueError, match="measures.Uniform: 'domain' must have a positive area"):
        Uniform(np.array([[0, 0], [1, 1], [2, 2]]))
    with pytest.raises(ValueError, match="'domain' is not a valid polygon"):
        Uniform(np.array([[0, 0], [2, 2], [2, 0], [0, 1]]))
    with pytest.raises(ValueError, match=r"'domain' as a vertex array must have shape \(k, 2\)"):
        Uniform(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="must be a Polygon or MultiPolygon; got LineString"):
        Uniform(shapely.LineString([(0, 0), (1, 1)]))
    with pytest.raises(ValueError, match="'domain' contains NaN"):
        Uniform(np.array([[0, 0], [1, np.nan], [1, 1]]))


# --- polygon moments ---------------------------------------------------------------------------------


def test_polygon_moments_closed_forms():
    # rectangle [a,b]x[c,d]: int |x - p|^2 known in closed form; triangle centroid; hole
    a, b, c, d = 0.3, 2.0, -1.0, 0.5
    R = shapely.box(a, c, b, d)
    p = np.array([0.1, 0.7])
    area, first, second = polygon_moments([R, TRIANGLE, WITH_HOLE], [p, [0, 0], [0.5, 0.5]])
    Ix = ((b - p[0]) ** 3 - (a - p[0]) ** 3) / 3 * (d - c)
    Iy = ((d - p[1]) ** 3 - (c - p[1]) ** 3) / 3 * (b - a)
    np.testing.assert_allclose(area, [(b - a) * (d - c), 1.5, 1 - 0.09], rtol=1e-14)
    np.testing.assert_allclose(first[0], [(b - a) * (d - c) * (a + b) / 2,
                                          (b - a) * (d - c) * (c + d) / 2], rtol=1e-14)
    np.testing.assert_allclose(second[0], Ix + Iy, rtol=1e-13)
    np.testing.assert_allclose(first[1] / area[1], [1.0, 0.5], rtol=1e-14)
    # square minus the square hole [0.3,0.6]^2, about (0.5, 0.5)
    full = 1 / 6
    hole = 0.3 * ((0.1**3 + 0.2**3) / 3) * 2
    np.testing.assert_allclose(second[2], full - hole, rtol=1e-13)


def test_polygon_moments_orientation_multipolygon_and_empty():
    cw = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])  # clockwise exterior
    M = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    gc = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (5, 5)])])
    area, first, second = polygon_moments([cw, M, shapely.Polygon(), None, gc])
    np.testing.assert_allclose(area, [1, 2, 0, 0, 1])
    np.testing.assert_allclose(first[1], [0.5 + 2.5, 1.0])
    # second moments about the origin, by shapely-independent closed forms:
    # unit square: int x^2 + y^2 = 2/3; [2,3]x[0,1]: (27 - 8)/3 + 1/3
    np.testing.assert_allclose(second[0], 2 / 3, rtol=1e-14)
    np.testing.assert_allclose(second[1], 2 / 3 + 19 / 3 + 1 / 3, rtol=1e-14)
    np.testing.assert_allclose(second[2:4], 0)


@SETTINGS
@given(site_sets(min_size=3, max_size=12), site_sets(max_size=1, box=(-1.0, 2.0)))
def test_polygon_moments_against_shapely_and_grid(pts, centre):
    P = shapely.convex_hull(shapely.multipoints(pts))
    assume(isinstance(P, shapely.Polygon) and P.area >= 1e-3)
    c = centre[0]
    area, first, second = polygon_moments([P], [c])
    np.testing.assert_allclose(area[0], P.area, rtol=1e-12)
    np.testing.assert_allclose(first[0] / area[0], shapely.get_coordinates(P.centroid)[0],
                               rtol=1e-10)
    # exact reference: shapely's triangulation and the closed form for a triangle (a, b, d)
    # relative to c: int |x - c|^2 = |T| / 6 (|a|^2 + |b|^2 + |d|^2 + a.b + b.d + d.a)
    ref = 0.0
    for tri in shapely.get_parts(shapely.delaunay_triangles(P)):
        a, b, d = shapely.get_coordinates(tri)[:3] - c
        ref += tri.area / 6 * (a @ a + b @ b + d @ d + a @ b + b @ d + d @ a)
    np.testing.assert_allclose(second[0], ref, rtol=1e-11)


# --- Uniform ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dom", [UNIT_SQUARE, L_SHAPE, WITH_HOLE, TRIANGLE])
def test_uniform_integrals_and_sampling(dom):
    mu = Uniform(dom)
    x = mu.sample(20000, rng=0)
    assert x.shape == (20000, 2) and x.dtype == np.float64
    assert shapely.contains_xy(dom, x[:, 0], x[:, 1]).all()
    # the sample mean matches the exact first moment within Monte-Carlo error ~ 4 sigma / sqrt(n)
    whole = mu.integrate([dom])
    np.testing.assert_allclose(whole.mass, [1.0], rtol=1e-12)
    sd = x.std(axis=0)
    np.testing.assert_allclose(x.mean(axis=0), whole.first[0], atol=4 * sd.max() / np.sqrt(20000))
    # a polygon half outside the domain is clipped
    B = shapely.box(0.5, -1, 5, 5)
    ref = shapely.intersection(B, dom).area / dom.area
    np.testing.assert_allclose(mu.mass([B]), [ref], rtol=1e-12)
    np.testing.assert_allclose(mu.density(np.array([[0.1, 0.1], [10, 10]])), [1 / dom.area, 0])
    # segments: length inside / area
    seg = np.array([[[-1.0, 0.05], [3.0, 0.05]]])
    L = shapely.intersection(shapely.LineString(seg[0]), dom).length
    np.testing.assert_allclose(mu.line_integral(seg), [L / dom.area], rtol=1e-12)


def test_uniform_sampling_is_seeded():
    mu = Uniform(L_SHAPE)
    np.testing.assert_array_equal(mu.sample(50, rng=3), mu.sample(50, rng=3))
    assert not np.array_equal(mu.sample(50, rng=3), mu.sample(50, rng=4))
    with pytest.raises(ValueError, match="Uniform.sample: 'n' must be a non-negative integer"):
        mu.sample(-1)


# --- hostile inputs: awkward domains for uniform sampling, complex and overflowing data ------

THIN_L = shapely.Polygon([(0, 0), (4, 0), (4, 0.3), (0.3, 0.3), (0.3, 4), (0, 4)])
FRAME = shapely.Polygon([(0, 0), (3, 0), (3, 3), (0, 3)],
                        [[(0.2, 0.2), (2.8, 0.2), (2.8, 2.8), (0.2, 2.8)]])


@pytest.mark.hostile
@pytest.mark.parametrize("domain", [THIN_L, FRAME], ids=["L", "frame"])
def test_uniform_sample_moments_and_chi_square(domain):
    import math

    import scipy.stats

    mu = Uniform(domain)
    x0, y0, x1, y1 = domain.bounds
    assert domain.area / ((x1 - x0) * (y1 - y0)) < 0.5  # the triangle route
    n = 40_000
    x = mu.sample(n, rng=7)
    assert shapely.contains_xy(domain, x[:, 0], x[:, 1]).all()
    # mean and covariance against the exact moments (Monte Carlo error ~ std / sqrt(n))
    c = np.array(domain.centroid.coords[0])
    _, _, second = polygon_moments([domain], [c])
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


@pytest.mark.hostile
def test_uniform_sample_far_apart_islands():
    a, b = shapely.box(0, 0, 1, 1), shapely.box(1e6, 1e6, 1e6 + 2, 1e6 + 1)
    mu = Uniform(shapely.MultiPolygon([a, b]))
    n = 30_000
    x = mu.sample(n, rng=0)
    in_a = shapely.contains_xy(a, x[:, 0], x[:, 1])
    in_b = shapely.contains_xy(b, x[:, 0], x[:, 1])
    assert (in_a | in_b).all()
    # island b holds 2/3 of the area: binomial standard error
    frac = in_b.mean()
    assert abs(frac - 2 / 3) < 5 * np.sqrt(2 / 9 / n)
    np.testing.assert_allclose(x[in_b].mean(0), [1e6 + 1, 1e6 + 0.5], atol=0.02)


@pytest.mark.hostile
def test_uniform_sample_very_thin_rotated_domain():
    import scipy.stats

    # a 1 x 1e-9 strip along the diagonal: it fills 1e-9 of its bounding box
    strip = shapely.affinity.rotate(shapely.box(0, 0, 1, 1e-9), 45, origin=(0, 0))
    x = Uniform(strip).sample(5000, rng=1)
    d = shapely.distance(strip, shapely.points(x))
    assert d.max() <= 1e-12
    # along the strip the law is uniform on [0, 1]: the projection on the diagonal
    t = x @ np.array([1.0, 1.0]) / np.sqrt(2.0)
    assert scipy.stats.kstest(t, "uniform").pvalue > 1e-4


@pytest.mark.hostile
def test_uniform_sample_square_keeps_its_stream():
    # the unit square fills its box: rejection, so seeded draws of earlier versions stay
    x = Uniform().sample(4, rng=0)
    np.testing.assert_array_equal(x, np.random.default_rng(0).random((20, 2))[:4])


@pytest.mark.hostile
def test_hostile_values_are_refused_naming_the_argument():
    from otgan.errors import ArgumentTypeError

    with pytest.raises(TypeError, match="'domain' must be real"):
        Uniform(np.array([[0, 0], [1, 0], [1, 1j]]))
    with pytest.raises(ArgumentTypeError, match="must be a non-negative integer"):
        Uniform().sample(2.0)
    with pytest.raises(TypeError, match="ImageDensity: 'image' must be real"):
        ImageDensity(np.ones((3, 3), dtype=complex))
    with pytest.raises(ValueError, match="ImageDensity: the sum of 'image' is inf"):
        ImageDensity(np.full((2, 2), 1e308))
    # a half-precision image is exact in float64: accepted, same density as float64
    img = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.random.default_rng(1234).random((7, 2))
    np.testing.assert_array_equal(ImageDensity(img.astype(np.float16)).density(x),
                                  ImageDensity(img).density(x))
    with pytest.raises(ValueError, match="the sum of 'a' is inf"):
        Discrete(x, np.full(7, 1e308))


# --- ImageDensity ---------------------------------------------------------------------------------------


def test_image_orientation_row0_is_top():
    img = np.zeros((4, 3))
    img[0, 2] = 1.0  # top-right pixel
    mu = ImageDensity(img, extent=(0, 3, 0, 4))
    x = mu.sample(500, rng=1)
    assert ((x[:, 0] >= 2) & (x[:, 0] <= 3) & (x[:, 1] >= 3) & (x[:, 1] <= 4)).all()
    np.testing.assert_allclose(mu.density(np.array([[2.5, 3.5], [0.5, 0.5]])), [1.0, 0.0])
    np.testing.assert_allclose(mu.mass([shapely.box(2, 3, 3, 4)]), [1.0])
    np.testing.assert_allclose(mu.mass([shapely.box(0, 0, 3, 3)]), [0.0])


def test_image_integrals_against_supersampling():
    rng = np.random.default_rng(2)
    img = rng.random((5, 7))
    mu = ImageDensity(torch.tensor(img), extent=(-1, 1, 0, 2))
    assert mu.density_values.shape == (5, 7)
    polys = [L_SHAPE, shapely.affinity.translate(WITH_HOLE, -0.5, 0.5), TRIANGLE,
             shapely.box(-2, -2, 3, 3)]
    c = rng.random((4, 2))
    out = mu.integrate(polys, c)
    assert isinstance(out, PolygonIntegrals)
    np.testing.assert_allclose(out.mass[3], 1.0, rtol=1e-12)
    # a sub-pixel grid: every sub-pixel lies in one image pixel
    P, cell = grid_points(shapely.box(-1, 0, 1, 2), 7 * 5 * 30)
    col = np.minimum(((P[:, 0] + 1) / (2 / 7)).astype(int), 6)
    row = np.minimum(((2 - P[:, 1]) / (2 / 5)).astype(int), 4)
    rho = img[row, col] / (img.sum() * (2 / 7) * (2 / 5))
    for k, Pk in enumerate(polys):
        inside = shapely.contains_xy(Pk, P[:, 0], P[:, 1])
        w = rho[inside] * cell
        np.testing.assert_allclose(out.mass[k], w.sum(), atol=3e-3)
        np.testing.assert_allclose(out.first[k], (w[:, None] * P[inside]).sum(0), atol=5e-3)
        np.testing.assert_allclose(out.second[k], (w * ((P[inside] - c[k]) ** 2).sum(1)).sum(),
                                   atol=1e-2)


def test_image_exact_on_pixel_aligned_polygons_and_segments():
    img = np.arange(12, dtype=float).reshape(3, 4) + 1
    mu = ImageDensity(img, extent=(0, 4, 0, 3))  # unit pixels
    total = img.sum()
    # the 2x2 block of the top-left pixels: rows 0-1, cols 0-1 -> y in [1, 3], x in [0, 2]
    np.testing.assert_allclose(mu.mass([shapely.box(0, 1, 2, 3)]), [img[:2, :2].sum() / total],
                               rtol=1e-14)
    # a horizontal segment through the middle of row 2 (y = 0.5), x from 0.5 to 3
    seg = np.array([[[0.5, 0.5], [3.0, 0.5]]])
    ref = (0.5 * img[2, 0] + img[2, 1] + img[2, 2]) / total
    np.testing.assert_allclose(mu.line_integral(seg), [ref], rtol=1e-14)
    # along a pixel edge (y = 1): the mean of the two rows
    seg = np.array([[[0.0, 1.0], [1.0, 1.0]]])
    np.testing.assert_allclose(mu.line_integral(seg), [(img[1, 0] + img[2, 0]) / 2 / total],
                               rtol=1e-14)


def test_image_sampling_law():
    img = np.array([[1.0, 3.0], [0.0, 4.0]])
    mu = ImageDensity(img)
    x = mu.sample(40000, rng=5)
    counts = np.array([
        ((x[:, 0] < 0.5) & (x[:, 1] >= 0.5)).mean(), ((x[:, 0] >= 0.5) & (x[:, 1] >= 0.5)).mean(),
        ((x[:, 0] < 0.5) & (x[:, 1] < 0.5)).mean(), ((x[:, 0] >= 0.5) & (x[:, 1] < 0.5)).mean(),
    ])
    p = img.ravel() / img.sum()
    np.testing.assert_allclose(counts, p, atol=4 * np.sqrt(0.25 / 40000))


def test_image_validation():
    with pytest.raises(ValueError, match="measures.ImageDensity: 'image' must be non-negative"):
        ImageDensity(-np.ones((2, 2)))
    with pytest.raises(ValueError, match="'image' must have a positive sum"):
        ImageDensity(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"'image' must have shape \(nrows, ncols\)"):
        ImageDensity(np.ones(4))
    with pytest.raises(ValueError, match="'extent' must satisfy xmin < xmax"):
        ImageDensity(np.ones((2, 2)), extent=(0, 0, 0, 1))
    with pytest.raises(ValueError, match="'image' contains NaN"):
        ImageDensity(np.full((2, 2), np.nan))


# --- Discrete and Sampler ----------------------------------------------------------------------------------


def test_discrete_sampling_law_and_types():
    mu = Discrete(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), [0.5, 0.3, 0.2])
    x = mu.sample(30000, rng=0)
    freq = np.array([(x == p).all(1).mean() for p in mu.x])
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2], atol=4 * np.sqrt(0.25 / 30000))
    mt = Discrete(torch.eye(3, dtype=torch.float32))
    xt = mt.sample(5, rng=1)
    assert isinstance(xt, torch.Tensor) and xt.dtype == torch.float32 and xt.shape == (5, 3)
    with pytest.raises(ValueError, match="measures.Discrete: 'a' must sum to 1"):
        Discrete(np.zeros((2, 2)), [0.5, 0.6])
    with pytest.raises(ValueError, match=r"'a' must have shape \(2,\)"):
        Discrete(np.zeros((2, 2)), [1.0])


def test_sampler_callable_and_generator():
    mu = Sampler(lambda n, rng: rng.normal(size=(n, 2)))
    assert isinstance(mu, Measure)
    np.testing.assert_array_equal(mu.sample(4, rng=2), mu.sample(4, rng=2))
    torch.manual_seed(0)
    g = torch.nn.Sequential(torch.nn.Linear(3, 2))
    mg = Sampler(g, latent_dim=3)
    a = mg.sample(6, rng=7)
    assert isinstance(a, torch.Tensor) and a.shape == (6, 2)
    torch.testing.assert_close(a, mg.sample(6, rng=7))
    # the output is g(z) with z ~ N(0, I) drawn from the seeded generator: recompute it
    gen = torch.Generator().manual_seed(11)
    z = torch.randn(6, 3, generator=gen)
    gen = torch.Generator().manual_seed(11)
    torch.testing.assert_close(mg.sample(6, rng=gen), g(z))
    a.sum().backward()  # the graph is kept
    assert g[0].weight.grad is not None
    mu_u = Sampler(lambda z: z, latent_dim=2, latent="uniform")
    u = mu_u.sample(1000, rng=0)
    assert (u >= 0).all() and (u <= 1).all()
    mt = Sampler(lambda n, gen: torch.rand(n, 2, generator=gen), torch_rng=True)
    assert isinstance(mt.sample(3, rng=0), torch.Tensor)


def test_sampler_validation():
    with pytest.raises(TypeError, match="measures.Sampler: 'fn' must be callable"):
        Sampler(3)
    with pytest.raises(ValueError, match="'latent_dim' must be a positive integer"):
        Sampler(lambda z: z, latent_dim=0)
    with pytest.raises(ValueError, match=r"must return shape \(n, d\) = \(4, d\)"):
        Sampler(lambda n, rng: np.zeros(n)).sample(4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sampler_on_cuda():
    g = torch.nn.Linear(2, 2).cuda()
    x = Sampler(g, latent_dim=2).sample(8, rng=0)
    assert x.device.type == "cuda"
    d = Discrete(torch.rand(5, 2, device="cuda")).sample(3, rng=0)
    assert d.device.type == "cuda"


def _tri_second_moment(P, c):
    """int_P |x - c|^2 for a convex polygon, by shapely's triangulation and the triangle formula
    |T| / 6 (|a|^2 + |b|^2 + |d|^2 + a.b + b.d + d.a) (vertices relative to c)."""
    out = 0.0
    for tri in shapely.get_parts(shapely.delaunay_triangles(P)):
        a, b, d = shapely.get_coordinates(tri)[:3] - c
        out += tri.area / 6 * (a @ a + b @ b + d @ d + a @ b + b @ d + d @ a)
    return out


def test_image_integrals_exact_against_pixel_by_pixel_shapely():
    rng = np.random.default_rng(8)
    img = rng.random((5, 7))
    img[1, 2] = 0.0
    ext = (-0.3, 1.7, 0.2, 1.4)
    mu = ImageDensity(img, extent=ext)
    w, h = 2.0 / 7, 1.2 / 5
    rho = img / (img.sum() * w * h)
    polys = [shapely.convex_hull(shapely.multipoints(rng.random((8, 2)) * [2.4, 1.6] - [0.5, 0]))
             for _ in range(6)]
    c = rng.random((6, 2))
    out = mu.integrate(polys, c)
    segs = rng.random((10, 2, 2)) * [2.4, 1.6] - [0.5, 0]
    lines = shapely.linestrings(segs.reshape(-1, 2), indices=np.repeat(np.arange(10), 2))
    ref = np.zeros((6, 4))
    ref_l = np.zeros(10)
    for i in range(5):
        for k in range(7):
            pix = shapely.box(ext[0] + k * w, ext[3] - (i + 1) * h, ext[0] + (k + 1) * w,
                              ext[3] - i * h)
            for j, P in enumerate(polys):
                Q = shapely.intersection(P, pix)
                if Q.area > 0:
                    cen = shapely.get_coordinates(Q.centroid)[0]
                    ref[j] += rho[i, k] * np.r_[Q.area, Q.area * cen,
                                                _tri_second_moment(Q, c[j])]
            ref_l += rho[i, k] * shapely.length(shapely.intersection(lines, pix))
    np.testing.assert_allclose(out.mass, ref[:, 0], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(out.first, ref[:, 1:3], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(out.second, ref[:, 3], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(mu.line_integral(segs), ref_l, rtol=1e-11)
    np.testing.assert_allclose(mu.line_integral(lines), ref_l, rtol=1e-11)
