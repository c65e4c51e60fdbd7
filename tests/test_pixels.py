"""The pixel-grid integration kernels (otgan._pixels, through ImageDensity.integrate,
integrate_cells and line_integral) against an independent method: shapely intersection of each
polygon (segment) with every pixel box, times the pixel's density, the clipped pieces' moments by
the shoelace formulas (polygon_moments), all in a frame centred on the polygon's centre."""

import pickle

import numpy as np
import pytest
import shapely

from otgan import _pixels
from otgan.measures import ImageDensity, polygon_moments


def _edges(img, ext):
    """Pixel edges as the ImageDensity docstring defines them: column k spans
    [xmin + k w, xmin + (k + 1) w], row i spans [ymax - (i + 1) h, ymax - i h] (the outer edges
    the extent's own)."""
    nr, nc = img.shape
    w, h = (ext[1] - ext[0]) / nc, (ext[3] - ext[2]) / nr
    xs = ext[0] + w * np.arange(nc + 1)
    ys = ext[3] - h * np.arange(nr + 1)
    xs[-1], ys[-1] = ext[1], ext[2]
    return xs, ys, img / (img.sum() * w * h)


def reference_integrals(img, ext, polys, centers):
    """(mass, first (m, 2), second) by clipping every polygon against every pixel box."""
    xs, ys, rho = _edges(img, ext)
    nr, nc = img.shape
    K, R = np.meshgrid(np.arange(nc), np.arange(nr))
    K, R = K.ravel(), R.ravel()
    out = np.zeros((len(polys), 4))
    for j, (P, c) in enumerate(zip(polys, centers)):
        Pc = shapely.transform(P, lambda p, c=c: p - c)
        boxes = shapely.box(xs[K] - c[0], ys[R + 1] - c[1], xs[K + 1] - c[0], ys[R] - c[1])
        a, f, s = polygon_moments(shapely.intersection(Pc, boxes))
        r = rho[R, K]
        mass = (r * a).sum()
        out[j] = [mass, *((r[:, None] * f).sum(0) + c * mass), (r * s).sum()]
    return out


def reference_lengths(img, ext, segs):
    """int_S rho ds by clipping each segment against the pixel boxes; a segment lying on a grid
    line takes the mean of the pixels on both sides."""
    xs, ys, rho = _edges(img, ext)
    nr, nc = img.shape
    out = np.zeros(len(segs))
    for j, (a, b) in enumerate(segs):
        line = shapely.LineString([a, b])
        vert = a[0] == b[0] and np.isin(a[0], xs)
        horiz = a[1] == b[1] and np.isin(a[1], ys)
        for i in range(nr):
            for k in range(nc):
                pix = shapely.box(xs[k], ys[i + 1], xs[k + 1], ys[i])
                if vert or horiz:  # half of the length on the pixel's edges
                    L = shapely.length(shapely.intersection(line, pix.boundary))
                    out[j] += rho[i, k] * L / 2
                else:
                    out[j] += rho[i, k] * shapely.length(shapely.intersection(line, pix))
    return out


def _csr(polys):
    """CSR vertex arrays (counter-clockwise, closing vertex dropped) of shapely polygons."""
    rings = [np.asarray(shapely.orient_polygons(P).exterior.coords)[:-1] for P in polys]
    n = np.array([len(r) for r in rings])
    ptr = np.cumsum(n) - n
    v = np.concatenate(rings)
    return ptr, n, v[:, 0], v[:, 1]


def _check(mu, img, ext, polys, centers, rtol=1e-12):
    ref = reference_integrals(img, ext, polys, centers)
    scale = np.abs(ref).max(axis=0)
    for out in (mu.integrate(polys, centers), mu.integrate_cells(*_csr(polys), centers)):
        got = np.column_stack([out.mass, out.first, out.second])
        for q in range(4):  # mass, first x, first y, second: each to its own scale
            np.testing.assert_allclose(got[:, q], ref[:, q], rtol=rtol, atol=1e-15 * scale[q])


def _convex(rng, k, lo, hi):
    return shapely.convex_hull(shapely.multipoints(lo + rng.random((k, 2)) * (np.asarray(hi) - lo)))


def test_random_convex_polygons_over_many_pixels_partly_outside():
    rng = np.random.default_rng(0)
    img = rng.random((9, 13))
    img[img < 0.3] = 0.0  # zeros
    ext = (-0.7, 1.9, 0.3, 1.5)
    mu = ImageDensity(img, extent=ext)
    polys = [_convex(rng, 12, [-1.2, 0.0], [2.3, 1.9]) for _ in range(12)]
    polys += [_convex(rng, 6, [0.2, 0.6], [0.6, 0.9]) for _ in range(6)]
    centers = rng.random((len(polys), 2)) * [2.6, 1.2] + [-0.7, 0.3]
    _check(mu, img, ext, polys, centers)


def test_polygon_inside_one_pixel_and_in_a_flat_region():
    img = np.ones((6, 6))
    img[3:, :] = 4.0  # one density jump, at y = 0.5
    mu = ImageDensity(img)
    rho_top, rho_bot = 36 / 90, 4 * 36 / 90  # image sum 90, pixel area 1/36
    one_pixel = shapely.Polygon([(0.21, 0.7), (0.3, 0.72), (0.25, 0.8)])
    flat = shapely.Polygon([(0.05, 0.55), (0.95, 0.6), (0.9, 0.98), (0.1, 0.9)])  # 18 pixels
    below = shapely.Polygon([(0.05, 0.05), (0.95, 0.1), (0.5, 0.45)])
    polys = [one_pixel, flat, below]
    centers = np.array([[0.25, 0.75], [0.4, 0.7], [0.5, 0.2]])
    out = mu.integrate(polys, centers)
    a, f, s = polygon_moments(polys, centers)  # no density jump inside: rho times the moments
    rho = np.array([rho_top, rho_top, rho_bot])
    np.testing.assert_allclose(out.mass, rho * a, rtol=1e-13)
    np.testing.assert_allclose(out.first, rho[:, None] * f, rtol=1e-13)
    np.testing.assert_allclose(out.second, rho * s, rtol=1e-13)
    _check(mu, img, (0, 1, 0, 1), polys, centers)


def test_tiny_cells_far_from_the_origin():
    rng = np.random.default_rng(1)
    img = rng.random((4, 5)) + 0.5
    ext = (1000.0, 1005.0, -2004.0, -2000.0)  # unit pixels
    mu = ImageDensity(img, extent=ext)
    polys, centers = [], []
    # on a pixel corner, on a vertical line, on a horizontal line, inside a pixel: area ~1e-10
    for p in ([1002.0, -2001.0], [1003.0, -2002.5], [1001.5, -2003.0], [1004.3, -2000.7]):
        for _ in range(3):
            d = rng.normal(size=(5, 2)) * 1e-5
            polys.append(shapely.convex_hull(shapely.multipoints(np.asarray(p) + d)))
            centers.append(np.asarray(p) + rng.normal(size=2) * 1e-5)
    assert 1e-11 < min(P.area for P in polys) and max(P.area for P in polys) < 1e-9
    _check(mu, img, ext, polys, np.array(centers))


def test_one_pixel_image_and_non_square_extent():
    rng = np.random.default_rng(2)
    mu = ImageDensity([[3.0]], extent=(-2.0, 1.0, 5.0, 5.5))
    polys = [_convex(rng, 9, [-3.0, 4.8], [2.0, 5.8]) for _ in range(5)]
    centers = rng.random((5, 2))
    out = mu.integrate(polys, centers)
    a, f, s = polygon_moments(shapely.intersection(polys, mu.domain), centers)
    np.testing.assert_allclose(out.mass, a / 1.5, rtol=1e-12)
    np.testing.assert_allclose(out.first, f / 1.5, rtol=1e-12)
    np.testing.assert_allclose(out.second, s / 1.5, rtol=1e-12)
    _check(mu, np.array([[3.0]]), (-2.0, 1.0, 5.0, 5.5), polys, centers)


def test_non_square_image_holes_multipolygons_and_empty():
    rng = np.random.default_rng(3)
    img = rng.random((3, 11))
    img[1, 4:7] = 0.0
    ext = (0.0, 2.0, 0.0, 0.6)
    mu = ImageDensity(img, extent=ext)
    holed = shapely.box(0.1, 0.05, 1.9, 0.55).difference(shapely.box(0.5, 0.2, 1.2, 0.4))
    cw = shapely.Polygon([(0.3, 0.1), (0.3, 0.5), (1.5, 0.5)])  # clockwise: integrate orients it
    multi = shapely.MultiPolygon([shapely.box(-0.5, -0.1, 0.3, 0.2), shapely.box(1.6, 0.3, 2.5, 1)])
    polys = [holed, cw, multi, shapely.box(3, 3, 4, 4)]
    centers = rng.random((4, 2))
    out = mu.integrate(polys + [shapely.Polygon(), None], np.r_[centers, np.zeros((2, 2))])
    ref = reference_integrals(img, ext, polys, centers)
    got = np.column_stack([out.mass, out.first, out.second])
    np.testing.assert_allclose(got[:4], ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got[3:], 0.0)
    # the CSR path takes orientation as given: a clockwise ring counts negatively
    ptr, n, vx, vy = _csr([cw])
    pos = mu.integrate_cells(ptr, n, vx, vy, centers[1:2])
    neg = mu.integrate_cells(ptr, n, vx[::-1].copy(), vy[::-1].copy(), centers[1:2])
    np.testing.assert_allclose(neg.mass, -pos.mass, rtol=1e-14)
    np.testing.assert_allclose(neg.second, -pos.second, rtol=1e-14)


def test_cells_of_a_diagram_threads_and_pickling():
    """Many adjacent convex cells (a Voronoi diagram clipped to the extent): CSR and shapely
    paths agree, masses sum to 1, the result does not depend on the number of threads, and the
    measure pickles after use."""
    rng = np.random.default_rng(4)
    img = rng.random((16, 12))
    img[:5, :4] = 0.0
    ext = (0.0, 1.2, -0.3, 1.3)
    mu = ImageDensity(img, extent=ext)
    pts = rng.random((3000, 2)) * [1.2, 1.6] + [0.0, -0.3]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts),
                                                       extend_to=mu.domain))
    cells = shapely.intersection(cells, mu.domain)
    cells = cells[shapely.area(cells) > 0]
    centers = np.array([c.centroid.coords[0] for c in cells])
    ptr, n, vx, vy = _csr(cells)
    one = _pixels.ring_integrals(ptr, n, vx, vy, centers[:, 0], centers[:, 1], *mu._tables(),
                                 threads=1)
    two = _pixels.ring_integrals(ptr, n, vx, vy, centers[:, 0], centers[:, 1], *mu._tables(),
                                 threads=3)
    for u, v in zip(one, two):
        np.testing.assert_array_equal(u, v)
    a = mu.integrate(cells, centers)
    np.testing.assert_allclose(a.mass, one[0], rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(a.second, one[3], rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(one[0].sum(), 1.0, rtol=1e-13)
    sel = rng.choice(len(cells), 25, replace=False)
    ref = reference_integrals(img, ext, cells[sel], centers[sel])
    np.testing.assert_allclose(np.column_stack([one[0][sel], one[1][sel], one[2][sel],
                                                one[3][sel]]), ref, rtol=1e-12, atol=1e-18)
    mu2 = pickle.loads(pickle.dumps(mu))
    np.testing.assert_array_equal(mu2.integrate(cells[:50], centers[:50]).second,
                                  a.second[:50])


def test_segments_random_on_grid_lines_outside():
    rng = np.random.default_rng(5)
    img = rng.random((5, 7))
    img[2, 3] = 0.0
    ext = (-0.3, 1.7, 0.2, 1.4)
    mu = ImageDensity(img, extent=ext)
    xs, ys, _ = _edges(img, ext)
    segs = list(rng.random((12, 2, 2)) * [2.4, 1.6] - [0.5, 0.0])
    segs += [
        [[xs[3], 0.1], [xs[3], 1.3]],  # on an inner vertical grid line, leaving the grid
        [[xs[0], 0.5], [xs[0], 1.0]],  # on the extent's left edge
        [[xs[7], 1.5], [xs[7], 0.0]],  # on the right edge, downwards, overhanging
        [[-0.4, ys[2]], [1.5, ys[2]]],  # on an inner horizontal grid line
        [[1.0, ys[0]], [0.0, ys[0]]],  # on the top edge
        [[xs[1], ys[1]], [xs[4], ys[4]]],  # through grid corners (not on a line)
        [[2.0, 0.0], [3.0, 2.0]],  # outside
        [[0.5, 0.5], [0.5, 0.5]],  # a point
    ]
    segs = np.asarray(segs, dtype=float)
    ref = reference_lengths(img, ext, segs)
    np.testing.assert_allclose(mu.line_integral(segs), ref, rtol=1e-12, atol=1e-15)
    lines = shapely.linestrings(segs.reshape(-1, 2), indices=np.repeat(np.arange(len(segs)), 2))
    np.testing.assert_allclose(mu.line_integral(lines), ref, rtol=1e-12, atol=1e-15)
    # a polyline: the sum over its segments
    path = shapely.LineString(segs[:3].reshape(-1, 2))
    ref_path = reference_lengths(img, ext, np.stack([segs[:3].reshape(-1, 2)[:-1],
                                                     segs[:3].reshape(-1, 2)[1:]], axis=1))
    np.testing.assert_allclose(mu.line_integral([path]), [ref_path.sum()], rtol=1e-12)


@pytest.mark.parametrize("bad", ["shape", "centers", "overrun", "nan"])
def test_integrate_cells_validation(bad):
    mu = ImageDensity(np.ones((2, 2)))
    ptr, n, vx, vy = np.array([0]), np.array([3]), np.array([0, 1, 0.0]), np.array([0, 0, 1.0])
    c = np.zeros((1, 2))
    if bad == "shape":
        with pytest.raises(ValueError, match="integrate_cells: 'ptr' and 'n'"):
            mu.integrate_cells(ptr, np.array([3, 3]), vx, vy, c)
    elif bad == "centers":
        with pytest.raises(ValueError, match="integrate_cells: 'centers' must have shape"):
            mu.integrate_cells(ptr, n, vx, vy, np.zeros((2, 2)))
    elif bad == "overrun":
        with pytest.raises(ValueError, match="runs past the 3 vertices"):
            mu.integrate_cells(ptr, n + 1, vx, vy, c)
    else:
        with pytest.raises(ValueError, match="'vx' and 'vy' must be finite"):
            mu.integrate_cells(ptr, n, vx, np.array([0, np.nan, 1.0]), c)


def test_binary_image_runs_of_equal_pixels():
    """A disk in black: most grid lines separate equal pixels (the kernel does not cut there)."""
    rng = np.random.default_rng(6)
    u = (np.arange(20) + 0.5) / 20
    X, Y = np.meshgrid(u, u)
    img = ((X - 0.45) ** 2 + (Y - 0.55) ** 2 < 0.1).astype(float)
    mu = ImageDensity(img)
    polys = [_convex(rng, 10, [-0.1, -0.1], [1.1, 1.1]) for _ in range(6)]
    polys += [_convex(rng, 6, [0.3, 0.3], [0.5, 0.45]) for _ in range(6)]
    _check(mu, img, (0.0, 1.0, 0.0, 1.0), polys, rng.random((len(polys), 2)))


def test_integrate_empty_entries_keep_their_place():
    rng = np.random.default_rng(7)
    img = rng.random((4, 4))
    mu = ImageDensity(img)
    polys = [_convex(rng, 7, [0, 0], [1, 1]) for _ in range(3)]
    c = rng.random((5, 2))
    out = mu.integrate([polys[0], None, polys[1], shapely.Polygon(), polys[2]], c)
    ref = reference_integrals(img, (0, 1, 0, 1), polys, c[[0, 2, 4]])
    np.testing.assert_allclose(out.mass[[0, 2, 4]], ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(out.second[[0, 2, 4]], ref[:, 3], rtol=1e-12)
    np.testing.assert_array_equal(out.mass[[1, 3]], 0.0)


def test_vertices_within_ulps_of_grid_lines():
    """Vertices on the grid lines or a few ulps off them (as power cells clipped at a bisector
    through a pixel edge): the pixel each piece starts in is decided by exact comparisons."""
    rng = np.random.default_rng(9)
    img = rng.random((4, 3)) + 0.2
    img[1, 1] = 0.0
    ext = (0.0, 1.5, 0.0, 1.0)
    mu = ImageDensity(img, extent=ext)
    xs, ys, _ = _edges(img, ext)
    # the regression case: a cell above y = 0.5 whose lower edge sits 1-2 ulps below the line
    below = np.nextafter(0.5, 0.0)
    polys = [shapely.Polygon([(1.5, below), (1.5, 1.0), (0.0, 1.0), (0.0, np.nextafter(below, 0))])]
    for _ in range(40):
        px = xs[rng.integers(0, 4, 6)] + rng.integers(-3, 4, 6) * 1e-16 * rng.random(6)
        py = ys[rng.integers(0, 5, 6)] + rng.integers(-3, 4, 6) * 1e-16 * rng.random(6)
        px = np.where(rng.random(6) < 0.3, rng.random(6) * 1.5, px)
        P = shapely.convex_hull(shapely.multipoints(np.column_stack([px, py])))
        if P.area > 1e-3:
            polys.append(P)
    _check(mu, img, ext, polys, rng.random((len(polys), 2)))
