"""The exact 2D core under degeneracy: near-coincident sites against exact rational arithmetic,
and damped Newton on the families where it used to stop short (tiny masses, float32 or nearly
normalised ``nu``, disconnected and gapped supports, zero pixels), with a warning on every
non-converged return."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
import shapely

from otgan import laguerre
from otgan import semidiscrete as sd
from otgan.measures import ImageDensity, Uniform

# ------------------------------------------------------------------------------------------
# independent reference: power cells in exact rational arithmetic
# ------------------------------------------------------------------------------------------


def _exact_cells(y, psi, box=(0, 0, 1, 1)):
    """Areas and centroids of the power cells clipped to ``box``, by clipping the box with
    every half-plane ``2 <x, y_k - y_i> <= |y_k|^2 - |y_i|^2 - psi_k + psi_i`` in exact rational
    arithmetic (the float inputs are converted exactly): no rounding anywhere."""
    Y = [(Fraction(a), Fraction(b)) for a, b in y]
    P = [Fraction(p) for p in psi]
    x0, y0, x1, y1 = (Fraction(v) for v in box)
    areas, cents = [], []
    for i, (yi0, yi1) in enumerate(Y):
        poly = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        for k, (yk0, yk1) in enumerate(Y):
            if k == i or not poly:
                continue
            a0, a1 = 2 * (yk0 - yi0), 2 * (yk1 - yi1)
            b = yk0**2 + yk1**2 - yi0**2 - yi1**2 - P[k] + P[i]
            s = [a0 * px + a1 * py - b for px, py in poly]
            out = []
            for c in range(len(poly)):
                cn = (c + 1) % len(poly)
                if s[c] <= 0:
                    out.append(poly[c])
                if (s[c] < 0 < s[cn]) or (s[c] > 0 > s[cn]):
                    t = s[c] / (s[c] - s[cn])
                    out.append((poly[c][0] + t * (poly[cn][0] - poly[c][0]),
                                poly[c][1] + t * (poly[cn][1] - poly[c][1])))
            poly = out
        A = Fraction(0)
        cx = Fraction(0)
        cy = Fraction(0)
        for c in range(len(poly)):
            (p0, q0), (p1, q1) = poly[c], poly[(c + 1) % len(poly)]
            cr = p0 * q1 - p1 * q0
            A += cr
            cx += (p0 + p1) * cr
            cy += (q0 + q1) * cr
        A /= 2
        areas.append(float(A))
        cents.append((float(cx / (6 * A)), float(cy / (6 * A))) if A else (np.nan, np.nan))
    return np.array(areas), np.array(cents)


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
    D = laguerre.diagram(y, psi)
    areas, cents = _exact_cells(y, psi)
    np.testing.assert_allclose(D.areas, areas, rtol=0, atol=1e-12)
    ok = areas > 1e-9  # centroids of cells of non-negligible area
    np.testing.assert_allclose(D.centroids[ok], cents[ok], rtol=0, atol=1e-12)
    # the pair shares its region: both cells are substantial, the cut is not lost
    assert areas[9] > 1e-3 and areas[10] > 1e-3


def test_sites_1e17_apart_split_the_square():
    """Two sites 1e-17 apart with equal weights: the bisector x = 5e-18 halves the square."""
    D = laguerre.diagram(np.array([[1e-17, 0.5], [0.0, 0.5]]), np.zeros(2))
    areas, _ = _exact_cells(np.array([[1e-17, 0.5], [0.0, 0.5]]), np.zeros(2))
    np.testing.assert_allclose(D.areas, areas, rtol=0, atol=1e-15)
    np.testing.assert_allclose(D.areas.sum(), 1.0, rtol=1e-15)


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
        a = _exact_cells(y, psi)[0][3]
        lo, hi = (mid, hi) if a < 1e-10 else (lo, mid)
    psi[3] = hi
    exact = _exact_cells(y, psi)[0]
    assert 1e-11 < exact[3] < 1e-9
    np.testing.assert_allclose(laguerre.diagram(y, psi).areas[3], exact[3], rtol=1e-9)


# ------------------------------------------------------------------------------------------
# Newton on the failure families
# ------------------------------------------------------------------------------------------


def _converged(res, nu, tol=1e-9):
    assert res.converged and res.error <= tol
    np.testing.assert_allclose(res.masses, nu, rtol=tol, atol=0)


def test_newton_tiny_target_mass():
    y = np.array([[0.52828244, 0.2265004], [0.77754412, 0.1700785], [0.57719795, 0.53589893],
                  [0.6719028, 0.7604866]])
    nu = np.array([0.25, 0.25, 0.5 - 1e-10, 1e-10])
    with warnings.catch_warnings():
        warnings.simplefilter("error", sd.NotConvergedWarning)
        res = sd.newton(Uniform(), y, nu)
    _converged(res, nu)
    # the tiny cell, by exact rational arithmetic at the returned potential
    areas, _ = _exact_cells(y, np.asarray(res.psi))
    np.testing.assert_allclose(areas[3], 1e-10, rtol=1e-9)


def test_newton_float32_and_nearly_normalised_nu():
    rng = np.random.default_rng(1)
    y = rng.random((150, 2))
    nu32 = (rng.random(150) + 0.5).astype(np.float32)
    nu32 /= nu32.sum()
    res = sd.newton(Uniform(), y, nu32)
    target = nu32.astype(np.float64) / nu32.astype(np.float64).sum()
    _converged(res, target)
    nu = np.full(150, 1 / 150) * (1 + 5e-7)  # within the validation tolerance
    res = sd.newton(Uniform(), y, nu)
    _converged(res, np.full(150, 1 / 150))
    np.testing.assert_allclose(res.masses.sum(), 1.0, rtol=1e-13)


def test_newton_disconnected_domain():
    two = shapely.MultiPolygon([shapely.box(0, 0, 0.4, 1), shapely.box(0.6, 0, 1, 1)])
    rng = np.random.default_rng(2)
    y = rng.random((120, 2))  # some sites in the gap between the two islands
    nu = np.full(120, 1 / 120)
    res = sd.newton(Uniform(two), y, nu)
    _converged(res, nu)
    # independent masses: shapely areas of the cells intersected with the domain
    D = laguerre.diagram(y, np.asarray(res.psi))
    m = shapely.area(shapely.intersection(D.polygons, two)) / two.area
    np.testing.assert_allclose(m, nu, rtol=1e-8)


def test_newton_gapped_and_zero_pixel_images():
    img = np.ones((64, 64))
    img[20:40] = 0  # zero rows between rows of sites
    rng = np.random.default_rng(4)
    y = rng.random((100, 2))
    nu = np.full(100, 1 / 100)
    res = sd.newton(ImageDensity(img), y, nu)
    _converged(res, nu)
    img2 = rng.random((48, 48))
    img2[img2 < 0.5] = 0
    img2[:, :15] = 0
    res = sd.newton(ImageDensity(img2), y, nu)
    _converged(res, nu)
    # Monte-Carlo check of the masses with samples of the image density
    x = ImageDensity(img2).sample(200_000, rng=0)
    freq = np.bincount(laguerre.assign(x, y, np.asarray(res.psi)), minlength=100) / len(x)
    np.testing.assert_allclose(freq, nu, rtol=0, atol=5 * np.sqrt(nu[0] / len(x)))


def test_near_duplicates_converge_where_float64_allows_and_warn_where_not():
    rng = np.random.default_rng(0)
    y = rng.random((60, 2))
    ok = np.vstack([y, y[:1] + [1e-6, 0]])
    _converged(sd.newton(Uniform(), ok), np.full(61, 1 / 61))
    bad = np.vstack([y, y[:1] + [1e-12, 0]])
    with pytest.warns(sd.NotConvergedWarning, match="resolution of float64"):
        res = sd.newton(Uniform(), bad)
    assert not res.converged and res.error < 1e-4


def test_every_non_converged_return_warns():
    y = np.random.default_rng(5).random((50, 2))
    with pytest.warns(sd.NotConvergedWarning, match="max_iter = 1 iterations reached"):
        res = sd.newton(Uniform(), y, max_iter=1)
    assert not res.converged
    with pytest.warns(sd.NotConvergedWarning, match="stochastic steps"):
        res = sd.solve(Uniform(), y, method="asgd", max_iter=20, rng=0)
    assert not res.converged
    with pytest.warns(sd.NotConvergedWarning):
        res = sd.solve(Uniform(), y, cost="euclidean", method="asgd", max_iter=20, rng=0,
                       n_eval=1000)
    assert not res.converged


def test_cocircular_cluster_clipped_to_a_holed_domain():
    """Four cocircular sites 1e-7 apart: all cells meet at one point, where a cell's vertices
    repeat within rounding; clipped to a domain with a hole, the areas must still partition it
    (found by otgan.testing's site sets: they summed to 1.38 for a domain of area 0.91)."""
    y = np.array([[0.375, 0.375], [0.375, 0.3750001], [0.3750001, 0.375], [0.3750001, 0.3750001]])
    hole = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)],
                           [[(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)]])
    D = laguerre.diagram(y, np.zeros(4), hole)
    np.testing.assert_allclose(D.areas.sum(), hole.area, rtol=1e-13)
    # each cell: its exact box cell minus the part of the hole it covers; the four cells are
    # the four quadrants around (0.37500005, 0.37500005), so the hole takes a known rectangle
    box, _ = _exact_cells(y, np.zeros(4))
    c = 0.37500005
    in_hole = np.array([(c - 0.3) ** 2, (c - 0.3) * (0.6 - c), (0.6 - c) * (c - 0.3),
                        (0.6 - c) ** 2])
    np.testing.assert_allclose(D.areas, box - in_hole, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# the inputs researchers bring: sites off the support, images with black pixels, split supports
# --------------------------------------------------------------------------------------------

_HARD_DOMAINS = {
    "L": shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)]),
    "hole": shapely.box(0, 0, 1, 1).difference(shapely.box(0.3, 0.3, 0.7, 0.7)),
    "half": shapely.box(0, 0, 1, 0.5),
}


@pytest.mark.parametrize("name", sorted(_HARD_DOMAINS))
def test_newton_sites_partly_outside_nonconvex_domains(name):
    """4-25 sites in [-0.2, 1.2]^2 (many outside) on an L, a holed square, a half square: the
    start gave a cell of box area 7e-33 (seed 64 of the L), which no Newton step could
    repair; every problem converges now. Masses re-checked by shapely areas of the cells."""
    dom = _HARD_DOMAINS[name]
    mu = Uniform(dom)
    for seed in range(40) if name != "L" else [*range(40), 64]:
        rng = np.random.default_rng(seed)
        J = int(rng.integers(4, 26))
        y = rng.random((J, 2)) * 1.4 - 0.2
        r = sd.newton(mu, y)
        assert r.converged, (name, seed, r.error)
        D = laguerre.diagram(y, r.psi, dom)
        np.testing.assert_allclose(shapely.area(D.polygons) / dom.area, np.full(J, 1 / J),
                                   rtol=1e-8, err_msg=f"{name} seed {seed}")


def _pixel_masses(polys, img):
    """Masses of the cells under ImageDensity(img) by shapely: each cell clipped against each
    pixel of positive density (row 0 = top), area times density (independent of otgan's
    Green-formula integration)."""
    nr, nc = img.shape
    rows, cols = np.nonzero(img > 0)
    boxes = shapely.box(cols / nc, 1 - (rows + 1) / nr, (cols + 1) / nc, 1 - rows / nr)
    dens = img[rows, cols] / img.sum() * nr * nc
    tree = shapely.STRtree(boxes)
    cell, pix = tree.query(polys, predicate="intersects")
    areas = shapely.area(shapely.intersection(polys[cell], boxes[pix]))
    return np.bincount(cell, areas * dens[pix], len(polys))


@pytest.mark.parametrize("kind", ["black", "binary", "blobs"])
def test_newton_on_images_with_black_pixels_and_split_supports(kind):
    n = 32
    u = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(u, u[::-1])
    if kind == "black":
        img = np.exp(-((X - 0.3) ** 2 + (Y - 0.7) ** 2) / 0.01)
        img[img < 1e-3] = 0.0
    elif kind == "binary":
        img = ((((X - 0.35) ** 2 + (Y - 0.62) ** 2) < 0.2 ** 2)
               | ((np.abs(X - 0.72) < 0.13) & (np.abs(Y - 0.28) < 0.17))).astype(float)
    else:
        img = np.exp(-((X - 0.2) ** 2 + (Y - 0.8) ** 2) / 0.004) + np.exp(
            -((X - 0.8) ** 2 + (Y - 0.2) ** 2) / 0.004)
        img[img < 1e-3] = 0.0
    J = 60
    y = np.random.default_rng(1).random((J, 2))
    r = sd.newton(ImageDensity(img), y)
    assert r.converged and r.error <= 1e-9
    D = laguerre.diagram(y, r.psi, measure=ImageDensity(img))
    np.testing.assert_allclose(_pixel_masses(D.polygons, img), np.full(J, 1 / J), rtol=1e-8)
