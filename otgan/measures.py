r"""Source measures :math:`\mu`: uniform on a polygon, image densities, discrete, samplers.

Every measure draws samples with ``mu.sample(n, rng=...)`` (an ``(n, d)`` array). The two measures
with a density on the plane (:class:`Uniform` and :class:`ImageDensity`) also integrate *exactly*
over polygons, which is what the exact semi-discrete machinery (Laguerre cells, damped Newton)
needs: for polygons :math:`P_k` and points :math:`c_k`,

.. math::

    \mu(P_k), \qquad \int_{P_k} x \, d\mu(x), \qquad \int_{P_k} \|x - c_k\|^2 \, d\mu(x)

(:meth:`DensityMeasure.integrate`, vectorised over many polygons), and along segments
:math:`\int_{[a_k, b_k]} \rho \, ds` (:meth:`DensityMeasure.line_integral`), the quantity entering
the Hessian of the semi-dual (Kitagawa, Mérigot, Thibert 2019).

Polygon moments use the exact shoelace-type (Green) formulas: for a ring of vertices
:math:`p_0, \dots, p_{m-1}` (counter-clockwise) and :math:`w_k = x_k y_{k+1} - x_{k+1} y_k`,

.. math::

    |P| = \tfrac12 \sum_k w_k, \quad \int_P x = \tfrac16 \sum_k (x_k + x_{k+1}) w_k, \quad
    \int_P x^2 = \tfrac1{12} \sum_k (x_k^2 + x_k x_{k+1} + x_{k+1}^2) w_k,

with holes counted negatively; all cells are processed at once in numpy (no Python loop per
polygon). For the image density the same Green formula runs on the antiderivative of the density
along the pixel rows, the boundaries being cut at the pixel grid lines (numba kernels in
``otgan._pixels``): exact, and linear in the number of boundary crossings of the grid plus the
pixels covered (about the image's pixel count for the cells of a diagram). The second moment about
:math:`c_k` is computed on coordinates shifted by :math:`c_k` (for the image, by a point of each
polygon), which keeps it accurate for small cells far from the origin.

References
----------
Kitagawa, Mérigot, Thibert (2019), "Convergence of a Newton algorithm for semi-discrete optimal
transport", JEMS. Genevay, Cuturi, Peyré, Bach (2016), "Stochastic optimization for large-scale
optimal transport", NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import torch

from ._pixels import grid_tables, ring_integrals, segment_integrals
from ._utils import (
    as_float_array,
    as_rng,
    check_int,
    check_points,
    check_weights,
    finite_total,
    is_torch,
    to_numpy,
    torch_generator,
)
from .errors import GeometryError

__all__ = [
    "DensityMeasure",
    "Discrete",
    "ImageDensity",
    "Measure",
    "PolygonIntegrals",
    "Sampler",
    "Uniform",
    "as_domain",
    "polygon_moments",
]

_UNIT_SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


# --------------------------------------------------------------------------------------------
# polygons
# --------------------------------------------------------------------------------------------


def as_domain(domain, name: str = "domain", where: str = "measures.as_domain"):
    """Normalise a planar domain to a valid shapely ``Polygon`` or ``MultiPolygon``.

    Parameters
    ----------
    domain : shapely Polygon or MultiPolygon, array (k, 2) of vertices, or None
        ``None`` gives the unit square ``[0, 1]^2``. A vertex array is read as the exterior ring
        (either orientation, convex or not; repeat nothing). Holes need a shapely Polygon.
    name : str
        The argument's name in error messages.
    where : str
        The caller named in error messages.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        Valid, of positive area.

    Raises
    ------
    ValueError
        Zero area, fewer than 3 vertices, non-finite or invalid (self-intersecting) polygons.
    TypeError
        Anything else than the above.
    """
    if domain is None:
        return shapely.Polygon(_UNIT_SQUARE)
    if isinstance(domain, shapely.geometry.base.BaseGeometry):
        geom = domain
    else:
        try:
            arr = to_numpy(as_float_array(domain, name, where), dtype=np.float64)
        except ValueError as exc:  # ragged nesting; as_float_array's TypeErrors name 'domain'
            raise TypeError(
                f"{where}: {name!r} must be a shapely Polygon/MultiPolygon or a (k, 2) vertex "
                f"array; got {type(domain).__name__}"
            ) from exc
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
            raise ValueError(
                f"{where}: {name!r} as a vertex array must have shape (k, 2) with k >= 3; "
                f"got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{where}: {name!r} contains NaN or inf")
        geom = shapely.Polygon(arr)
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        raise TypeError(
            f"{where}: {name!r} must be a Polygon or MultiPolygon; got {geom.geom_type}"
        )
    if geom.is_empty or not (geom.area > 0):
        raise ValueError(f"{where}: {name!r} must have a positive area; got area {geom.area:g}")
    if not geom.is_valid:
        raise ValueError(
            f"{where}: {name!r} is not a valid polygon ({shapely.is_valid_reason(geom)}); "
            "fix it, e.g. with shapely.make_valid"
        )
    return geom


def _as_geometries(polygons, where):
    arr = np.asarray(polygons, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{where}: 'polygons' must be a 1D array of geometries; got {arr.shape}")
    ok = np.array([g is None or isinstance(g, shapely.geometry.base.BaseGeometry) for g in arr])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise TypeError(
            f"{where}: 'polygons' must hold shapely geometries; got "
            f"{type(arr[i]).__name__} at index {i}"
        )
    return arr


def _ring_sums(x, y, ring, nring, sign):
    """Green's-formula sums per ring of closed coordinate sequences (shifted coordinates).

    ``x, y`` hold the closed rings one after the other (first point repeated at the end),
    ``ring`` the ring index of each coordinate. Returns (area, Sx, Sy, Ixx + Iyy) per ring,
    multiplied by ``sign`` (+-1 per ring, giving each ring its orientation).
    """
    same = ring[1:] == ring[:-1]
    x0, x1 = x[:-1][same], x[1:][same]
    y0, y1 = y[:-1][same], y[1:][same]
    r = ring[:-1][same]
    w = x0 * y1 - x1 * y0
    area = np.bincount(r, w, nring) / 2.0
    sx = np.bincount(r, (x0 + x1) * w, nring) / 6.0
    sy = np.bincount(r, (y0 + y1) * w, nring) / 6.0
    i2 = np.bincount(r, (x0 * x0 + x0 * x1 + x1 * x1 + y0 * y0 + y0 * y1 + y1 * y1) * w, nring)
    i2 = i2 / 12.0
    s = sign * np.sign(area)
    return area * s, sx * s, sy * s, i2 * s


def polygon_moments(polygons, centers=None):
    r"""Exact Lebesgue moments of many polygons at once.

    Parameters
    ----------
    polygons : array-like of shapely geometries (m,)
        Polygons, MultiPolygons (holes allowed) or empty/None (zero moments). Non-polygonal parts
        of a GeometryCollection (points, lines) have no area and are ignored.
    centers : array (m, 2), optional
        Points :math:`c_k` for the second moment (default: the origin).

    Returns
    -------
    area : numpy array (m,)
        :math:`|P_k|`.
    first : numpy array (m, 2)
        :math:`\int_{P_k} x \, dx`.
    second : numpy array (m,)
        :math:`\int_{P_k} \|x - c_k\|^2 \, dx`.

    Examples
    --------
    >>> import shapely
    >>> a, s, q = polygon_moments([shapely.box(0, 0, 1, 1)], [[0.5, 0.5]])
    >>> float(a[0]), s[0].tolist(), round(float(q[0]), 12)
    (1.0, [0.5, 0.5], 0.166666666667)
    """
    geoms = _as_geometries(polygons, "measures.polygon_moments")
    m = geoms.shape[0]
    centers = np.zeros((m, 2)) if centers is None else np.asarray(centers, dtype=np.float64)
    centers = centers.reshape(m, 2)
    area = np.zeros(m)
    first = np.zeros((m, 2))
    second = np.zeros(m)
    geoms = np.where(np.equal(geoms, None), shapely.Polygon(), geoms)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3  # polygons only
    parts, part_of = parts[keep], part_of[keep]
    if parts.size == 0:
        return area, first, second
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    if rings.size == 0:
        return area, first, second
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    owner = part_of[ring_part]  # geometry index of each ring
    c = centers[owner[ring]]
    a, sx, sy, i2 = _ring_sums(
        coords[:, 0] - c[:, 0],
        coords[:, 1] - c[:, 1],
        ring,
        rings.shape[0],
        np.where(exterior, 1.0, -1.0),
    )
    area = np.bincount(owner, a, m)
    sxs = np.bincount(owner, sx, m)
    sys = np.bincount(owner, sy, m)
    second = np.bincount(owner, i2, m)
    first = np.stack([sxs, sys], axis=1) + centers * area[:, None]
    return area, first, second


# --------------------------------------------------------------------------------------------
# measures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolygonIntegrals:
    r"""Integrals of a measure over polygons :math:`P_k`.

    Attributes
    ----------
    mass : numpy array (m,)
        :math:`\mu(P_k)`.
    first : numpy array (m, 2)
        :math:`\int_{P_k} x \, d\mu(x)`.
    second : numpy array (m,)
        :math:`\int_{P_k} \|x - c_k\|^2 \, d\mu(x)` about the given centres :math:`c_k`.
    """

    mass: np.ndarray
    first: np.ndarray
    second: np.ndarray


class Measure:
    """Base class of otgan's source measures: anything that draws ``(n, d)`` samples.

    Subclasses implement :meth:`sample`. ``has_density`` is True for measures with a density on
    the plane that integrate exactly over polygons (:class:`DensityMeasure`).
    """

    has_density = False
    dim = 2

    def sample(self, n, *, rng=None):  # pragma: no cover - abstract
        """Draw ``n`` samples.

        Parameters
        ----------
        n : int
            How many (at least 0).
        rng : None, int, numpy.random.Generator or torch.Generator
            Seed or generator.

        Returns
        -------
        array, shape (n, d)
        """
        raise NotImplementedError

    @staticmethod
    def _check_n(n, where):
        return check_int(n, "n", where, minimum=0)


class DensityMeasure(Measure):
    r"""A probability measure with a density :math:`\rho` on a polygonal ``domain`` of the plane.

    Provides exact integrals over polygons (:meth:`integrate`) and along segments
    (:meth:`line_integral`), the density itself (:meth:`density`) and ``domain``, the support
    (a shapely polygon).
    """

    has_density = True
    domain: shapely.Polygon | shapely.MultiPolygon

    def density(self, x):  # pragma: no cover - abstract
        r"""Evaluate the density :math:`\rho(x_i)` at points ``x``; 0 outside the support.

        Parameters
        ----------
        x : array, shape (n, 2)
            Points.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        raise NotImplementedError

    def integrate(self, polygons, centers=None):  # pragma: no cover - abstract
        """Integrate exactly over polygons.

        Parameters
        ----------
        polygons : array-like of shapely geometries (m,)
            The polygons.
        centers : array (m, 2), optional
            Centres of the second moments (default: the origin).

        Returns
        -------
        PolygonIntegrals
        """
        raise NotImplementedError

    def mass(self, polygons):
        r"""Compute :math:`\mu(P_k)` for each polygon.

        Parameters
        ----------
        polygons : array-like of shapely geometries (m,)
            The polygons.

        Returns
        -------
        numpy.ndarray, shape (m,)
        """
        return self.integrate(polygons).mass

    def line_integral(self, segments):  # pragma: no cover - abstract
        r"""Integrate the density exactly along each segment: :math:`\int_{S_k} \rho \, ds`.

        Parameters
        ----------
        segments : array (m, 2, 2) or array-like of shapely line geometries (m,)
            End points ``[a_k, b_k]``, or lines.

        Returns
        -------
        numpy.ndarray, shape (m,)
        """
        raise NotImplementedError

    @staticmethod
    def _segment_array(segments, where):
        """Read ``segments`` as a (m, 2, 2) float64 array [a_k, b_k]; None for line geometries."""
        if isinstance(segments, np.ndarray) and segments.dtype != object or is_torch(segments):
            s = to_numpy(segments, dtype=np.float64)
            if s.ndim != 3 or s.shape[1:] != (2, 2):
                raise ValueError(
                    f"{where}: 'segments' must have shape (m, 2, 2) (end points a_k, b_k) or be "
                    f"line geometries; got {s.shape}"
                )
            return s
        return None

    @classmethod
    def _segments(cls, segments, where):
        """Segments as shapely geometries: a (m, 2, 2) array [a_k, b_k] or line geometries."""
        s = cls._segment_array(segments, where)
        if s is not None:
            return shapely.linestrings(s.reshape(-1, 2), indices=np.repeat(np.arange(len(s)), 2))
        return _as_geometries(segments, where)


class Uniform(DensityMeasure):
    r"""The uniform probability measure on a polygon: :math:`\rho = 1 / |D|` on ``domain`` D.

    Parameters
    ----------
    domain : shapely Polygon or MultiPolygon, array (k, 2) of vertices, or None
        Convex or not, holes allowed; the unit square ``[0, 1]^2`` by default.

    Attributes
    ----------
    domain : shapely.Polygon or shapely.MultiPolygon
    area : float
        :math:`|D|`.

    Examples
    --------
    >>> mu = Uniform()
    >>> mu.sample(3, rng=0).shape
    (3, 2)
    >>> import shapely
    >>> float(mu.mass([shapely.box(0, 0, 0.5, 0.5)])[0])
    0.25
    """

    def __init__(self, domain=None):
        self.domain = as_domain(domain, "domain", "measures.Uniform")
        shapely.prepare(self.domain)
        self.area = float(self.domain.area)

    def __repr__(self):
        """``Uniform(domain=<WKT>)``, cut at 60 characters."""
        return f"Uniform(domain={self.domain.wkt[:60]}{'...' if len(self.domain.wkt) > 60 else ''})"

    def sample(self, n, *, rng=None):
        """Draw ``n`` i.i.d. uniform points of the domain.

        When the domain fills at least half of its bounding box (squares, rectangles, most
        convex shapes), points are drawn by rejection from the box: fewer than two draws per
        point. Otherwise the domain is triangulated once (a constrained Delaunay triangulation
        that respects holes and every part of a multipolygon), a triangle is drawn with
        probability proportional to its area, and a uniform point in it (the unit square folded
        onto the unit triangle: ``(u, v) -> (1 - u, 1 - v)`` when ``u + v > 1``). Either way the
        cost is linear in ``n`` and independent of how little of its bounding box the domain
        covers (far-apart islands, very thin domains).

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Seed or generator.

        Returns
        -------
        numpy.ndarray, shape (n, 2)
            float64.
        """
        n = self._check_n(n, "Uniform.sample")
        gen = as_rng(rng)
        x0, y0, x1, y1 = self.domain.bounds
        ratio = self.area / ((x1 - x0) * (y1 - y0))
        if not ratio >= 0.5:
            return self._sample_triangles(n, gen)
        out = np.empty((n, 2))
        got = 0
        while got < n:
            k = int(1.2 * (n - got) / ratio) + 16
            p = gen.random((k, 2)) * [x1 - x0, y1 - y0] + [x0, y0]
            p = p[shapely.contains_xy(self.domain, p[:, 0], p[:, 1])][: n - got]
            out[got : got + len(p)] = p
            got += len(p)
        return out

    def _triangles(self):
        """Triangulate the domain (constrained Delaunay), with the CDF of the areas (cached).

        Returns the triangles ``(T, 3, 2)`` and the cumulative distribution of their areas.
        """
        if getattr(self, "_tri_cache", None) is None:
            parts = shapely.get_parts(shapely.constrained_delaunay_triangles(self.domain))
            tri = shapely.get_coordinates(parts).reshape(len(parts), 4, 2)[:, :3]
            e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
            areas = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
            x0, y0, x1, y1 = self.domain.bounds
            rounding = 16 * np.finfo(float).eps * len(tri) * ((x1 - x0) ** 2 + (y1 - y0) ** 2)
            if not abs(areas.sum() - self.area) <= 1e-9 * self.area + rounding:
                raise GeometryError(
                    f"Uniform.sample: the triangulation of the domain covers area "
                    f"{areas.sum():.12g}, not {self.area:.12g}"
                )
            cdf = np.cumsum(areas)
            self._tri_cache = (tri, cdf / cdf[-1])
        return self._tri_cache

    def _sample_triangles(self, n, gen):
        tri, cdf = self._triangles()
        k = np.minimum(np.searchsorted(cdf, gen.random(n), side="right"), len(cdf) - 1)
        uv = gen.random((n, 2))
        fold = uv.sum(axis=1) > 1.0
        uv[fold] = 1.0 - uv[fold]
        t = tri[k]
        return t[:, 0] + uv[:, :1] * (t[:, 1] - t[:, 0]) + uv[:, 1:] * (t[:, 2] - t[:, 0])

    def density(self, x):
        """Evaluate the density: ``1/|D|`` inside the domain (boundary included), 0 outside.

        Parameters
        ----------
        x : array, shape (n, 2)
            Points.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        x = to_numpy(check_points(x, "x", "Uniform.density", dim=2), dtype=np.float64)
        inside = shapely.intersects_xy(self.domain, x[:, 0], x[:, 1])
        return inside / self.area

    def integrate(self, polygons, centers=None, *, clip=True):
        r"""Exact integrals over polygons: :math:`\mu(P_k) = |P_k \cap D| / |D|`, etc.

        Parameters
        ----------
        polygons : array-like of shapely geometries (m,)
            The polygons.
        centers : array (m, 2), optional
            Centres :math:`c_k` of the second moments (default: the origin).
        clip : bool
            Intersect the polygons with the domain first (default). ``False`` when they are known
            to lie inside it (faster).

        Returns
        -------
        PolygonIntegrals
        """
        geoms = _as_geometries(polygons, "Uniform.integrate")
        if clip:
            geoms = shapely.intersection(geoms, self.domain)
        a, f, s = polygon_moments(geoms, centers)
        return PolygonIntegrals(a / self.area, f / self.area, s / self.area)

    def line_integral(self, segments):
        r"""Integrate the density along segments: :math:`|S_k \cap D| / |D|`.

        Parameters
        ----------
        segments : array (m, 2, 2) or array-like of shapely line geometries (m,)
            End points ``[a_k, b_k]``, or lines.

        Returns
        -------
        numpy.ndarray, shape (m,)
        """
        geoms = self._segments(segments, "Uniform.line_integral")
        return shapely.length(shapely.intersection(geoms, self.domain)) / self.area


class ImageDensity(DensityMeasure):
    r"""Piecewise-constant probability density from a grayscale image.

    ("mu is a density in graylevels".)

    Pixel ``image[i, k]`` covers the rectangle
    ``[xmin + k w, xmin + (k + 1) w] x [ymax - (i + 1) h, ymax - i h]`` with
    ``w = (xmax - xmin) / ncols`` and ``h = (ymax - ymin) / nrows``: **row 0 is the top** of the
    picture, as in an image file and in ``matplotlib.pyplot.imshow(image, extent=extent)``
    (``origin="upper"``). The density is ``image / (image.sum() * w * h)``, a probability.

    Parameters
    ----------
    image : array (nrows, ncols)
        Non-negative, finite, with a positive sum (numpy or torch).
    extent : tuple (xmin, xmax, ymin, ymax)
        The rectangle covered by the image, ``(0, 1, 0, 1)`` by default.

    Attributes
    ----------
    density_values : numpy array (nrows, ncols)
        The density on each pixel (same orientation as ``image``).
    domain : shapely.Polygon
        The rectangle ``extent`` (the support, pixels of density 0 included).
    pixel_size : tuple (w, h)
        The pixel's width and height.

    Examples
    --------
    >>> mu = ImageDensity([[1.0, 0.0], [0.0, 0.0]])  # all the mass in the top-left quarter
    >>> x = mu.sample(1000, rng=0)
    >>> bool((x[:, 0] <= 0.5).all() and (x[:, 1] >= 0.5).all())
    True
    """

    def __init__(self, image, extent=(0.0, 1.0, 0.0, 1.0)):
        where = "measures.ImageDensity"
        img = to_numpy(image)
        if img.dtype == np.float16:  # an image stored in half precision: exact in float64
            img = img.astype(np.float64)
        img = to_numpy(as_float_array(img, "image", where), dtype=np.float64)
        if img.ndim != 2 or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"{where}: 'image' must have shape (nrows, ncols); got {img.shape}")
        if not np.isfinite(img).all():
            raise ValueError(f"{where}: 'image' contains NaN or inf")
        if (img < 0).any():
            raise ValueError(f"{where}: 'image' must be non-negative; got min {img.min():.6g}")
        with np.errstate(over="ignore"):
            total = finite_total(float(img.sum()), "image", where)
        if not total > 0:
            raise ValueError(f"{where}: 'image' must have a positive sum; got {total:g}")
        ext = np.asarray(extent, dtype=np.float64).ravel()
        if ext.shape != (4,) or not np.isfinite(ext).all():
            raise ValueError(
                f"{where}: 'extent' must be (xmin, xmax, ymin, ymax), finite; got {extent!r}"
            )
        if not (ext[1] > ext[0] and ext[3] > ext[2]):
            raise ValueError(
                f"{where}: 'extent' must satisfy xmin < xmax and ymin < ymax (a 'domain' of "
                f"positive area); got {tuple(ext.tolist())}"
            )
        self.extent = tuple(float(e) for e in ext)
        nr, nc = img.shape
        self.shape = (nr, nc)
        w = (ext[1] - ext[0]) / nc
        h = (ext[3] - ext[2]) / nr
        self.pixel_size = (float(w), float(h))
        self.weights = img / total  # pixel probabilities
        self.density_values = self.weights / (w * h)
        self.domain = shapely.box(ext[0], ext[2], ext[1], ext[3])
        shapely.prepare(self.domain)
        self.area = float(self.domain.area)
        # pixels of positive density (row 0 = top), for sampling
        rows, cols = np.nonzero(self.weights > 0)
        self._rows, self._cols = rows, cols
        self._grid_tables = None

    def __repr__(self):
        """``ImageDensity(shape=..., extent=...)``."""
        return f"ImageDensity(shape={self.shape}, extent={self.extent})"

    def pixel_index(self, x):
        """Find the pixel containing each point.

        Parameters
        ----------
        x : array, shape (n, 2)
            Points.

        Returns
        -------
        row, col : numpy.ndarray of int64, shape (n,)
            The pixel (row 0 at the top); -1 outside the extent.
        """
        x = to_numpy(x, dtype=np.float64).reshape(-1, 2)
        xmin, xmax, ymin, ymax = self.extent
        w, h = self.pixel_size
        col = np.floor((x[:, 0] - xmin) / w).astype(np.int64)
        row = np.floor((ymax - x[:, 1]) / h).astype(np.int64)
        # points on the far edges belong to the last pixel
        col = np.where(x[:, 0] == xmax, self.shape[1] - 1, col)
        row = np.where(x[:, 1] == ymin, self.shape[0] - 1, row)
        out = (col < 0) | (col >= self.shape[1]) | (row < 0) | (row >= self.shape[0])
        return np.where(out, -1, row), np.where(out, -1, col)

    def density(self, x):
        """Evaluate the density at points ``x``, 0 outside the extent.

        Parameters
        ----------
        x : array, shape (n, 2)
            Points.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        x = to_numpy(check_points(x, "x", "ImageDensity.density", dim=2), dtype=np.float64)
        r, c = self.pixel_index(x)
        out = r < 0
        return np.where(out, 0.0, self.density_values[np.maximum(r, 0), np.maximum(c, 0)])

    def sample(self, n, *, rng=None):
        """Draw ``n`` i.i.d. points: a pixel drawn by weight, then a uniform point in it.

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Seed or generator.

        Returns
        -------
        numpy.ndarray, shape (n, 2)
        """
        n = self._check_n(n, "ImageDensity.sample")
        gen = as_rng(rng)
        k = gen.choice(self._rows.size, size=n, p=self.weights[self._rows, self._cols])
        w, h = self.pixel_size
        u = gen.random((n, 2))
        x = self.extent[0] + (self._cols[k] + u[:, 0]) * w
        y = self.extent[3] - (self._rows[k] + u[:, 1]) * h
        return np.stack([x, y], axis=1)

    # -- exact integration by Green's formula on the pixel grid (kernels in otgan._pixels) ------

    def _tables(self):
        """Return the grid arrays ``(xs, ys, rho)`` of :func:`otgan._pixels.grid_tables`.

        Cached; plain numpy arrays, so the measure still pickles.
        """
        if getattr(self, "_grid_tables", None) is None:
            self._grid_tables = grid_tables(self.extent, self.shape, self.density_values)
        return self._grid_tables

    def integrate_cells(self, ptr, n, vx, vy, centers=None):
        r"""Exact integrals over polygons in CSR form, as the power-cell kernel gives them.

        Polygon ``i`` has the vertices ``(vx[ptr[i] + t], vy[ptr[i] + t])``,
        ``0 <= t < n[i]``, counter-clockwise, the closing edge implied (no vertex repeated);
        fewer than 3 vertices is an empty polygon. Same integrals as :meth:`integrate`
        (Green's formula on the pixel rows, see :mod:`otgan._pixels`), without building
        shapely geometries. A clockwise ring counts negatively.

        Parameters
        ----------
        ptr, n : int arrays (m,)
        vx, vy : float arrays
            Vertex coordinates (absolute).
        centers : array (m, 2), optional
            Centres :math:`c_i` of the second moments (default: the origin).

        Returns
        -------
        PolygonIntegrals
            :math:`\mu(P_i)`, :math:`\int_{P_i} x \, d\mu`,
            :math:`\int_{P_i} \|x - c_i\|^2 d\mu`; parts outside the extent carry no mass.
        """
        where = "ImageDensity.integrate_cells"
        ptr = np.asarray(ptr)
        n = np.asarray(n)
        m = ptr.shape[0] if ptr.ndim == 1 else -1
        if ptr.ndim != 1 or n.shape != ptr.shape:
            raise ValueError(f"{where}: 'ptr' and 'n' must be 1D of the same length; got "
                             f"{ptr.shape} and {n.shape}")
        vx = np.asarray(vx, dtype=np.float64)
        vy = np.asarray(vy, dtype=np.float64)
        if vx.shape != vy.shape or vx.ndim != 1:
            raise ValueError(f"{where}: 'vx' and 'vy' must be 1D of the same length; got "
                             f"{vx.shape} and {vy.shape}")
        if m and int((ptr + np.where(n > 0, n, 0)).max()) > vx.size:
            raise ValueError(f"{where}: 'ptr' + 'n' runs past the {vx.size} vertices")
        if m and int(ptr.min()) < 0:
            raise ValueError(f"{where}: 'ptr' must be non-negative; got {int(ptr.min())}")
        if not (np.isfinite(vx).all() and np.isfinite(vy).all()):
            raise ValueError(f"{where}: 'vx' and 'vy' must be finite (NaN or inf found)")
        c = np.zeros((m, 2)) if centers is None else np.asarray(centers, dtype=np.float64)
        if c.shape != (m, 2):
            raise ValueError(f"{where}: 'centers' must have shape ({m}, 2); got {c.shape}")
        mass, fx, fy, second = ring_integrals(ptr, n, vx, vy, c[:, 0], c[:, 1], *self._tables())
        return PolygonIntegrals(mass, np.stack([fx, fy], axis=1), second)

    def integrate(self, polygons, centers=None):
        r"""Exact integrals over polygons (Green's formula on the pixel grid).

        Each polygon boundary is cut at the pixel grid lines; on each piece the antiderivative
        of the piecewise-constant density along the rows is a polynomial, integrated exactly
        (:mod:`otgan._pixels`). The rings are read at once with ``shapely.to_ragged_array``
        (no geometry object per ring), each signed by its orientation (holes negatively), and
        integrated like :meth:`integrate_cells`. Cost: the (boundary piece, pixel) crossings
        plus about the number of pixels inside the polygons, whatever their order.

        Parameters
        ----------
        polygons : array-like of shapely geometries (m,)
            Polygons or MultiPolygons (holes allowed); parts outside the extent carry no mass.
        centers : array (m, 2), optional
            Centres of the second moments (default: the origin).

        Returns
        -------
        PolygonIntegrals
        """
        geoms = _as_geometries(polygons, "ImageDensity.integrate")
        m = geoms.shape[0]
        centers = np.zeros((m, 2)) if centers is None else np.asarray(centers, np.float64)
        centers = centers.reshape(m, 2)
        zero = PolygonIntegrals(np.zeros(m), np.zeros((m, 2)), np.zeros(m))
        geoms = np.where(np.equal(geoms, None), shapely.Polygon(), geoms)
        owner = np.arange(m)
        if not np.isin(shapely.get_type_id(geoms), (3, 6)).all():  # collections: their polygons
            geoms, owner = shapely.get_parts(geoms, return_index=True)
            keep = np.isin(shapely.get_type_id(geoms), (3, 6))
            geoms, owner = geoms[keep], owner[keep]
        if geoms.size == 0:
            return zero
        if (shapely.get_type_id(geoms) == 3).all() and \
                not shapely.get_num_interior_rings(geoms).any():
            # polygons without holes (cells): their coordinates are one closed ring each
            coords, ring = shapely.get_coordinates(geoms, return_index=True)
            count = np.bincount(ring, minlength=geoms.size)
            ring_off = np.r_[0, np.cumsum(count)]
            poly_off = np.r_[0, np.cumsum(count > 0)]
            ring_off = ring_off[np.r_[True, count > 0]]
            geom_off = np.arange(geoms.size + 1)
        else:
            kind, coords, offsets = shapely.to_ragged_array(geoms)
            ring_off, poly_off = offsets[0], offsets[1]
            geom_off = offsets[2] if len(offsets) > 2 else np.arange(geoms.size + 1)
        count = np.diff(ring_off)
        nring = count.size
        if nring == 0:
            return zero
        poly_of_ring = np.repeat(np.arange(poly_off.size - 1), np.diff(poly_off))
        owner = owner[np.repeat(np.arange(geom_off.size - 1), np.diff(geom_off))[poly_of_ring]]
        exterior = np.zeros(nring, dtype=bool)
        exterior[poly_off[:-1][np.diff(poly_off) > 0]] = True
        # orientation of each ring (shoelace about its first vertex: a pair straddling two rings
        # adds 0); holes count negatively
        ptr = ring_off[:-1]
        ring = np.repeat(np.arange(nring), count)
        rel = coords - coords[ptr][ring]
        cross = np.bincount(ring[:-1], rel[:-1, 0] * rel[1:, 1] - rel[1:, 0] * rel[:-1, 1], nring)
        sign = np.where(exterior, 1.0, -1.0) * np.sign(cross)
        c = centers[owner]
        mass, fx, fy, second = ring_integrals(ptr, count - 1, coords[:, 0], coords[:, 1],
                                              c[:, 0], c[:, 1], *self._tables())
        first = np.stack([np.bincount(owner, sign * fx, m), np.bincount(owner, sign * fy, m)],
                         axis=1)
        return PolygonIntegrals(np.bincount(owner, sign * mass, m), first,
                                np.bincount(owner, sign * second, m))

    def line_integral(self, segments):
        r"""Integrate the density exactly along segments: :math:`\int_{S_k} \rho \, ds`.

        The segments are cut at the pixel grid lines and each piece weighted by the density of
        its pixel. A piece lying on an edge between two pixels counts the mean of their two
        densities (0 outside the extent).

        Parameters
        ----------
        segments : array (m, 2, 2) or array-like of shapely line geometries (m,)
            End points ``[a_k, b_k]``, or lines.

        Returns
        -------
        numpy.ndarray, shape (m,)
        """
        where = "ImageDensity.line_integral"
        s = self._segment_array(segments, where)
        if s is not None:
            return segment_integrals(s[:, 0, 0], s[:, 0, 1], s[:, 1, 0], s[:, 1, 1],
                                     *self._tables())
        geoms = _as_geometries(segments, where)
        m = geoms.shape[0]
        geoms = np.where(np.equal(geoms, None), shapely.LineString(), geoms)
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        coords, idx = shapely.get_coordinates(parts, return_index=True)
        same = idx[1:] == idx[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        if a.shape[0] == 0:
            return np.zeros(m)
        val = segment_integrals(a[:, 0], a[:, 1], b[:, 0], b[:, 1], *self._tables())
        return np.bincount(part_of[idx[:-1][same]], val, m)


class Discrete(Measure):
    r"""A discrete measure :math:`\sum_i a_i \delta_{x_i}`.

    Parameters
    ----------
    x : array (n, d)
        Support points (numpy or torch, any device).
    a : array (n,), optional
        Probability weights (default uniform ``1/n``).

    Examples
    --------
    >>> mu = Discrete([[0.0, 0.0], [1.0, 1.0]], [0.25, 0.75])
    >>> mu.sample(4, rng=0).shape
    (4, 2)
    """

    def __init__(self, x, a=None):
        self.x = check_points(x, "x", "measures.Discrete")
        self.dim = int(self.x.shape[1])
        self.a = check_weights(a, self.x.shape[0], "a", "measures.Discrete", ref=self.x,
                               match=f"'x' {tuple(self.x.shape)}")
        self._p = to_numpy(self.a, dtype=np.float64)
        self._p = self._p / self._p.sum()

    def __repr__(self):
        """``Discrete(n=..., d=...)``."""
        return f"Discrete(n={self.x.shape[0]}, d={self.dim})"

    def sample(self, n, *, rng=None):
        """Draw ``n`` points with replacement with probabilities ``a``.

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Seed or generator.

        Returns
        -------
        array, shape (n, d)
            In the library and on the device of ``x``.
        """
        n = self._check_n(n, "Discrete.sample")
        idx = as_rng(rng).choice(self._p.size, size=n, p=self._p)
        if is_torch(self.x):
            return self.x[torch.as_tensor(idx, device=self.x.device)]
        return self.x[idx]


class Sampler(Measure):
    r"""A measure known only through samples: a callable, or a generator network.

    A network pushes a latent distribution forward (:math:`\mu_\theta = {g_\theta}_\# \zeta`).

    Two forms:

    - ``Sampler(fn)``: ``fn(n, rng)`` returns ``(n, d)`` points (numpy or torch); ``rng`` is
      passed as a ``numpy.random.Generator`` (``torch_rng=False``, default) or as a
      ``torch.Generator`` on ``device`` (``torch_rng=True``).
    - ``Sampler(g_theta, latent_dim=k)``: draws :math:`z \sim \mathcal N(0, I_k)`
      (``latent="normal"``) or :math:`\mathcal U([0, 1]^k)` (``latent="uniform"``), or
      ``latent(n, generator)`` for a callable, as a torch tensor on ``device`` (default: the
      device of ``g_theta``'s first parameter, else CPU) with a ``torch.Generator`` seeded from
      ``rng``, and returns ``g_theta(z)``. The output keeps the autograd graph (the caller
      decides: the semi-discrete solvers sample under ``torch.no_grad()``).

    Parameters
    ----------
    fn : callable
        ``fn(n, rng)`` or, with ``latent_dim``, the generator ``g_theta(z)``.
    latent_dim : int, optional
        Dimension of the latent noise; selects the generator form.
    latent : {"normal", "uniform"} or callable, optional
        Latent law (generator form only; default "normal").
    device : str or torch.device, optional
        Where the latent noise (or the torch Generator) lives.
    torch_rng : bool
        Plain form only: pass ``fn`` a torch Generator instead of a numpy one.

    Examples
    --------
    >>> import torch
    >>> mu = Sampler(lambda n, rng: rng.normal(size=(n, 2)))
    >>> mu.sample(5, rng=0).shape
    (5, 2)
    >>> g = torch.nn.Linear(3, 2)
    >>> tuple(Sampler(g, latent_dim=3).sample(5, rng=0).shape)
    (5, 2)
    """

    def __init__(self, fn, *, latent_dim=None, latent=None, device=None, torch_rng=False):
        where = "measures.Sampler"
        if not callable(fn):
            raise TypeError(f"{where}: 'fn' must be callable; got {type(fn).__name__}")
        if latent_dim is None and latent is not None:
            raise ValueError(f"{where}: 'latent' needs 'latent_dim' (the generator form)")
        if latent_dim is not None:
            if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) \
                    or latent_dim < 1:
                raise ValueError(
                    f"{where}: 'latent_dim' must be a positive integer; got {latent_dim!r}"
                )
            latent = "normal" if latent is None else latent
            if not (callable(latent) or latent in ("normal", "uniform")):
                raise ValueError(
                    f"{where}: 'latent' must be 'normal', 'uniform' or a callable "
                    f"(n, generator) -> z; got {latent!r}"
                )
        if device is None and isinstance(fn, torch.nn.Module):
            p = next(iter(fn.parameters()), None)
            device = p.device if p is not None else "cpu"
        self.fn = fn
        self.latent_dim = None if latent_dim is None else int(latent_dim)
        self.latent = latent
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.torch_rng = bool(torch_rng)

    def __repr__(self):
        """``Sampler(latent_dim=... or fn, device=...)``."""
        kind = f"latent_dim={self.latent_dim}" if self.latent_dim else "fn"
        return f"Sampler({kind}, device={self.device})"

    def sample(self, n, *, rng=None):
        """Draw ``n`` points.

        Parameters
        ----------
        n : int
            How many.
        rng : None, int, numpy.random.Generator or torch.Generator
            Seed or generator.

        Returns
        -------
        array, shape (n, d)
            numpy or torch, as ``fn`` returns them (the shape is checked).
        """
        n = self._check_n(n, "Sampler.sample")
        if self.latent_dim is None:
            r = torch_generator(rng, self.device) if self.torch_rng else as_rng(rng)
            out = self.fn(n, r)
        else:
            gen = torch_generator(rng, self.device)
            if callable(self.latent):
                z = self.latent(n, gen)
            elif self.latent == "normal":
                z = torch.randn(n, self.latent_dim, generator=gen, device=self.device)
            else:
                z = torch.rand(n, self.latent_dim, generator=gen, device=self.device)
            out = self.fn(z)
        shape = tuple(out.shape) if hasattr(out, "shape") else np.shape(out)
        if not is_torch(out):
            out = np.asarray(out)
        if len(shape) != 2 or shape[0] != n:
            raise ValueError(
                f"Sampler.sample: the sampler must return shape (n, d) = ({n}, d); got {shape}"
            )
        return out
