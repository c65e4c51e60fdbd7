r"""Exact 2D Laguerre (power) diagrams for the quadratic cost, clipped to a polygon domain.

For sites :math:`y_j \in \mathbf R^2` and weights (the dual potential) :math:`\psi_j`, the Laguerre
cell of :math:`y_j` for :math:`c(x, y) = \|x - y\|^2` is

.. math::

    L_j = \{x \in D : \|x - y_j\|^2 - \psi_j \le \|x - y_k\|^2 - \psi_k \ \forall k\},

the preimage :math:`T_\psi^{-1}(y_j)` of the map :math:`T_\psi(x) = \mathrm{argmin}_j\,
\|x - y_j\|^2 - \psi_j` (the lectures' "Laguerre diagram"; :math:`\psi = 0` gives the Voronoi
diagram). Each cell is a convex polygon (before clipping to a non-convex domain): the
intersection of the half-planes :math:`2 \langle x, y_k - y_j \rangle \le \|y_k\|^2 - \|y_j\|^2
- \psi_k + \psi_j`.

Algorithm (:func:`diagram`): every cell starts as the bounding box of the domain and is clipped by
the half-planes of the sites that can cut it, found by walking a kd-tree of the sites whose
nodes carry the largest weight of their sites (the numba kernel of ``otgan._power``). A node is
skipped when no site in it can beat :math:`y_j` at a vertex of the current cell, a test that
uses that node's own largest weight, so the walk stays local whatever the spread of
:math:`\psi` (at an optimal potential, :math:`\psi` varies by hundreds of times the squared
spacing of the sites). Each half-plane is written in the frame of :math:`y_j`,
:math:`\langle x - y_j, u \rangle \le \frac12 (\|u\|^2 + \psi_j - \psi_k)` with
:math:`u = y_k - y_j`, which does not cancel for nearby sites (sites :math:`10^{-12}` apart get
exact cells), and the areas and moments are computed in that frame. This is exact (no
perturbation, unlike qhull's joggle ``QJ``), works for any number of sites (``J = 1``, ``J = 2``,
collinear sites, clusters, sites far outside the domain), computes the areas and moments in the
same pass, and runs on all CPUs (threads over ranges of cells). Cells crossing the boundary of a
non-rectangular domain are then intersected with it by shapely (vectorised); cells inside it are
kept as they are. Every edge of a cell remembers the site that created it, which gives the
adjacency graph and the shared edge lengths.

Each cell is computed on its own, so the two copies of a shared vertex agree to float64 rounding
(about 1e-16 relative) rather than bit for bit; the areas sum to the domain's area to rounding.
Ties (cocircular sites, a lattice) are exact: a half-plane through a vertex creates no new vertex,
and edges shorter than 1e-13 of the domain's diameter (cells touching at a corner) are not
adjacencies.

References
----------
Aurenhammer, Hoffmann, Aronov (1998), "Minkowski-type theorems and least-squares clustering",
Algorithmica. Lévy (2015), "A numerical algorithm for L2 semi-discrete optimal transport in 3D",
ESAIM M2AN (cells by clipping). Kitagawa, Mérigot, Thibert (2019), "Convergence of a Newton
algorithm for semi-discrete optimal transport", JEMS (the Hessian).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import shapely

from ._power import edge_pairs, gather, power_cells, symmetric_csr
from ._utils import (
    GeometryError,
    check_points,
    check_vector,
    common_library,
    to_numpy,
)
from .measures import DensityMeasure, Uniform, as_domain, polygon_moments

__all__ = ["LaguerreDiagram", "LaguerreRaster", "assign", "diagram", "raster"]

_EMPTY_REL = 1e-13  # cells with area below this fraction of the bounding box are empty


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LaguerreDiagram:
    r"""A Laguerre diagram clipped to a domain, with exact cell integrals.

    All attributes are numpy arrays or scipy sparse matrices (a diagram is a geometric object,
    computed in float64 on the CPU). ``J`` is the number of sites.

    Attributes
    ----------
    y : (J, 2)
        Sites.
    psi : (J,)
        Weights (dual potential): :math:`L_j = \{x: \|x-y_j\|^2 - \psi_j \le \|x-y_k\|^2 -
        \psi_k\ \forall k\} \cap D`.
    domain : shapely Polygon or MultiPolygon
        The domain ``D``.
    measure : otgan.measures.DensityMeasure
        The measure :math:`\mu` giving ``masses``, ``moments`` and ``edge_mass``.
    areas : (J,)
        Lebesgue areas :math:`|L_j|`.
    centroids : (J, 2)
        Geometric centroids :math:`\frac1{|L_j|}\int_{L_j} x\,dx`; ``nan`` for empty cells.
    empty : (J,) bool
        Cells of zero area (hidden sites, cells outside the domain, or smaller than
        ``1e-13`` times the area of the domain's bounding box, below float64 resolution).
    masses : (J,)
        :math:`\mu(L_j)` (the uniform measure on D by default: ``areas / |D|``).
    barycenters : (J, 2)
        :math:`\frac1{\mu(L_j)}\int_{L_j} x\,d\mu`; ``nan`` where the mass is 0.
    moments : (J,)
        :math:`\int_{L_j} \|x - y_j\|^2 d\mu(x)`: ``moments.sum()`` is the transport cost of
        :math:`T_\psi` (the semi-dual value is ``moments.sum() - psi @ masses + nu @ psi``).
    adjacency : scipy.sparse.csr_matrix (J, J)
        Symmetric; entry (i, j) is the length of the shared edge :math:`L_i \cap L_j` inside D.
    edge_mass : scipy.sparse.csr_matrix (J, J)
        :math:`\int_{L_i \cap L_j} \rho \, ds`. The Hessian of the semi-dual (Newton) is
        ``H_ij = edge_mass_ij / (2 ||y_i - y_j||)``, ``H_ii = -sum_j H_ij``
        (:math:`\partial \mu(L_i) / \partial \psi_j`).
    polygons : (J,) object array of shapely geometries
        The cells (a Polygon, or a MultiPolygon when a non-convex domain splits a cell; an empty
        Polygon for empty cells). Built on first access.
    """

    y: np.ndarray
    psi: np.ndarray
    domain: object
    measure: object
    areas: np.ndarray
    centroids: np.ndarray
    empty: np.ndarray
    masses: np.ndarray
    barycenters: np.ndarray
    moments: np.ndarray
    _cells: object = field(repr=False)  # otgan._power.PowerCells (box-clipped cells)
    _clipped: dict = field(repr=False)
    # () -> the directed edges of the cells (computed on first use: a diagram used for its
    # masses alone, e.g. a trial step of Newton's line search, never builds them)
    _edge_fn: object = field(repr=False)

    @cached_property
    def _edges(self):
        return self._edge_fn()

    @cached_property
    def adjacency(self) -> sp.csr_matrix:
        e = self._edges
        return _sym(e["ei"], e["ej"], e["elen"], e["rev"], self.y.shape[0])

    @cached_property
    def edge_mass(self) -> sp.csr_matrix:
        e = self._edges
        if e["mass"] is None:
            return self.adjacency / self.measure.area
        return _sym(e["ei"], e["ej"], e["mass"](), e["rev"], self.y.shape[0])

    def __repr__(self):
        return (
            f"LaguerreDiagram(J={self.y.shape[0]}, empty={int(self.empty.sum())}, "
            f"domain area={self.domain.area:.6g})"
        )

    def semi_dual(self, nu) -> float:
        r"""Exact semi-dual at this diagram's ``psi``: ``H(psi) = sum_j int_{L_j} ||x - y_j||^2
        dmu - psi . mu(L) + nu . psi`` (``= int psi^c dmu + nu . psi``); ``nu`` (J,)."""
        nu = np.asarray(nu, dtype=np.float64)
        return float(np.sum(self.moments) + np.einsum("i,i->", nu - self.masses, self.psi))

    @cached_property
    def _box(self):
        return self._box_measure()

    def _box_measure(self):
        """The cell masses and edge masses (csr) for the uniform probability on the domain's
        bounding box: the cells before they are clipped to the domain (the regularising
        measure of :func:`otgan.semidiscrete.newton`'s continuation)."""
        x0, y0, x1, y1 = self.domain.bounds
        A = (x1 - x0) * (y1 - y0)
        e = self._edges
        return self._cells.area / A, _sym(e["ei"], e["ej"], e["box_len"] / A, e["rev"],
                                          self.y.shape[0])

    @cached_property
    def polygons(self) -> np.ndarray:
        J = self.y.shape[0]
        out = np.empty(J, dtype=object)
        simple = (self._cells.n >= 3) & ~self.empty
        simple[list(self._clipped)] = False
        idx = np.flatnonzero(simple)
        if idx.size:
            out[idx] = _polys(self._cells, idx)
        for j, g in self._clipped.items():
            out[j] = g
        none = np.equal(out, None) | self.empty
        out[none] = shapely.Polygon()
        return out


def _polys(cells, idx):
    """shapely polygons of the box-clipped cells ``idx`` (at least 3 vertices each).

    A cell is convex, but where several sites are cocircular its vertices can repeat within
    rounding (all the cells meet at one point), which can make the ring cross itself by
    1e-17; such rings are repaired (``shapely.make_valid``, keeping the polygonal part), or
    shapely's intersection with a domain would be wrong."""
    coords, owner, _ = gather(cells.ptr, cells.n, cells.vx, cells.vy, idx)
    polys = shapely.polygons(shapely.linearrings(coords, indices=owner))
    bad = np.flatnonzero(~shapely.is_valid(polys))
    if bad.size:
        polys[bad] = _polygonal(shapely.make_valid(polys[bad]))
    return polys


def _where(fn):
    return f"laguerre.{fn}"


def _check_sites(y, psi, where):
    y = check_points(y, "y", where, dim=None, min_points=1)
    if y.shape[1] != 2:
        raise ValueError(f"{where}: 'y' must have shape (J, 2) (sites in the plane); got "
                         f"{tuple(y.shape)}")
    J = y.shape[0]
    psi = check_vector(psi, J, "psi", where, match=f"'y' {tuple(y.shape)}")
    return to_numpy(y, dtype=np.float64), to_numpy(psi, dtype=np.float64)


def _check_duplicates(y, where):
    order = np.argsort(y[:, 0], kind="stable")
    xs = y[order, 0]
    same_x = np.flatnonzero(xs[1:] == xs[:-1])
    if same_x.size == 0:  # all abscissae distinct (the usual case): no duplicate
        return
    cand = np.unique(np.concatenate([order[same_x], order[same_x + 1]]))
    sub = cand[np.lexsort((y[cand, 1], y[cand, 0]))]
    ys = y[sub]
    dup = np.flatnonzero((ys[1:] == ys[:-1]).all(axis=1))
    if dup.size:
        i, j = sorted((int(sub[dup[0]]), int(sub[dup[0] + 1])))
        raise ValueError(
            f"{where}: 'y' must hold distinct sites; y[{i}] == y[{j}] == {y[i].tolist()} "
            f"({dup.size} duplicate pair(s)). Merge duplicates (adding their masses)"
        )


def _is_box(dom):
    if not isinstance(dom, shapely.Polygon) or len(dom.interiors):
        return False
    x0, y0, x1, y1 = dom.bounds
    return abs(dom.area - (x1 - x0) * (y1 - y0)) <= 1e-14 * (x1 - x0) * (y1 - y0)


def diagram(y, psi, domain=None, *, measure=None, cost="sqeuclidean") -> LaguerreDiagram:
    r"""Exact Laguerre (power) diagram of sites ``y`` with weights ``psi``, clipped to ``domain``.

    Parameters
    ----------
    y : array (J, 2)
        Distinct sites (numpy or torch; computed in float64 on the CPU).
    psi : array (J,)
        Weights, finite. ``psi + const`` gives the same diagram.
    domain : shapely Polygon/MultiPolygon or array (k, 2), optional
        The domain (convex or not, holes allowed). Default: ``measure.domain`` if a measure is
        given, else the unit square.
    measure : otgan.measures.DensityMeasure, optional
        The measure :math:`\mu` for ``masses``, ``moments``, ``barycenters`` and ``edge_mass``
        (:class:`~otgan.measures.Uniform` or :class:`~otgan.measures.ImageDensity`). Default:
        uniform on the domain.
    cost : {"sqeuclidean", "euclidean"} or otgan.costs.Cost
        ``"euclidean"`` (W1): exact additively weighted (Apollonius) cells with hyperbolic
        boundaries, returned as an :class:`otgan.w1.W1Diagram` (same attribute names; see
        ``otgan._apollonius``; the domain must then be the measure's).

    Returns
    -------
    LaguerreDiagram

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, duplicate sites, a domain of zero area or invalid.
    TypeError
        A measure without a density.
    otgan.errors.GeometryError
        A geometric failure (not expected: the construction has no degenerate case).

    Notes
    -----
    Cost convention: :math:`c(x, y) = \|x - y\|^2` (no factor 1/2), as in
    :func:`otgan.ctransform.c_transform` with ``cost="sqeuclidean"``. Scaling ``y`` and the
    domain by ``s`` and ``psi`` by ``s**2`` scales the cells by ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> D = diagram(np.array([[0.25, 0.5], [0.75, 0.5]]), np.zeros(2))
    >>> D.areas.tolist()
    [0.5, 0.5]
    >>> float(D.adjacency[0, 1])
    1.0
    """
    where = _where("diagram")
    yn, pn = _check_sites(y, psi, where)
    if measure is not None and not isinstance(measure, DensityMeasure):
        raise TypeError(
            f"{where}: 'measure' must be a measure with a density (otgan.measures.Uniform or "
            f"ImageDensity); got {type(measure).__name__}. Use laguerre.raster or sampling "
            "(otgan.ctransform.cell_masses) for other measures"
        )
    if domain is None and measure is not None:
        dom = measure.domain
    else:
        dom = as_domain(domain, "domain", where)
    if measure is None:
        measure = Uniform(dom)
    _check_duplicates(yn, where)
    # --- issue 13 hook: exact W1 (Apollonius) cells for the Euclidean cost -----------------
    from . import _w1
    if _w1.check_diagram_cost(cost, where):
        return _w1.diagram_hook(yn, pn, dom, measure, domain is not None, where)
    # ---------------------------------------------------------------------------------------
    return _diagram(yn, pn, dom, measure, where)


def _diagram(yn, pn, dom, measure, where="laguerre.diagram"):
    """:func:`diagram` on validated float64 sites and weights, a shapely domain and a measure
    (Newton calls it for every iterate of the same validated sites)."""
    J = yn.shape[0]
    bx0, by0, bx1, by1 = dom.bounds
    # in the given coordinates: the kernel works in the frame of each site, so rescaling the
    # problem would only add rounding to the differences y_k - y_i of nearby sites
    try:
        cells = power_cells(yn[:, 0], yn[:, 1], pn, (bx0, by0, bx1, by1))
    except Exception as exc:  # pragma: no cover - defensive
        raise GeometryError(f"{where}: the power-cell construction failed: {exc}") from exc
    n = cells.n
    areas = cells.area.copy()
    first = np.column_stack([cells.sx, cells.sy])
    first += yn * areas[:, None]
    second = cells.i2.copy()
    clipped = {}
    xrows = np.zeros(0, dtype=np.int64)
    btree = None
    if not _is_box(dom):
        shapely.prepare(dom)
        # a cell whose bounding box meets no boundary segment of the domain lies entirely
        # inside or entirely outside it: one vertex tells which; the others are intersected
        # with the domain
        rows = np.flatnonzero(n >= 3)
        _, _, bb = gather(cells.ptr, n, cells.vx, cells.vy, rows)
        boxes = shapely.box(bb[:, 0], bb[:, 1], bb[:, 2], bb[:, 3])
        btree = shapely.STRtree(_boundary_segments(dom))
        hit = btree.query(boxes, predicate="intersects")
        inside = np.zeros(J, dtype=bool)
        p0 = cells.ptr[rows]
        inside[rows] = shapely.contains_xy(dom, cells.vx[p0], cells.vy[p0])
        inside[rows[np.unique(hit[0])]] = False
        xrows = np.flatnonzero(~inside & (n >= 3))
        if xrows.size:
            cut = _polygonal(shapely.intersection(_polys(cells, xrows), dom))
            ca, cf, cs = polygon_moments(cut, yn[xrows])
            areas[xrows] = ca
            first[xrows] = cf
            second[xrows] = cs
            clipped = dict(zip(xrows.tolist(), cut))
    bbox_area = (bx1 - bx0) * (by1 - by0)
    # edges shorter than the float64 resolution of the geometry (cells touching at a vertex,
    # ties) are not adjacencies
    min_len = _EMPTY_REL * np.hypot(bx1 - bx0, by1 - by0)
    empty = ~(areas > _EMPTY_REL * bbox_area)
    areas = np.where(empty, 0.0, areas)
    first = np.where(empty[:, None], 0.0, first)
    second = np.where(empty, 0.0, second)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = np.where(empty[:, None], np.nan, first / areas[:, None])
    same_uniform = type(measure) is Uniform and (
        measure.domain is dom or bool(shapely.equals(measure.domain, dom))
    )

    def edge_table():
        """The directed edges (cell ei, created by site ej), the same edge seen from ej (rev),
        the segments, their lengths in the domain and in its bounding box, and a function
        giving their masses (None: the uniform measure of the domain)."""
        ei, ej, seg4, rev = edge_pairs(cells.ptr, n, cells.vx, cells.vy, cells.lab,
                                       cells.order)
        seg = seg4.reshape(-1, 2, 2)
        elen = np.hypot(seg4[:, 2] - seg4[:, 0], seg4[:, 3] - seg4[:, 1])
        box_len = np.where(elen > min_len, elen, 0.0)
        clip_geom = None  # clipped geometries of the edges crossing the domain's boundary
        if xrows.size:
            # edges of crossing cells: an edge meeting no boundary segment is entirely inside
            # or outside (its midpoint tells); the others are intersected with the domain
            ecand = np.flatnonzero(np.isin(ei, xrows))
            if ecand.size:
                lines = shapely.linestrings(seg[ecand].reshape(-1, 2),
                                            indices=np.repeat(np.arange(ecand.size), 2))
                mid = (seg[ecand, 0] + seg[ecand, 1]) / 2
                elen[ecand[~shapely.contains_xy(dom, mid[:, 0], mid[:, 1])]] = 0.0
                hitl = np.unique(btree.query(lines, predicate="intersects")[0])
                if hitl.size:
                    inter = shapely.intersection(lines[hitl], dom)
                    elen[ecand[hitl]] = shapely.length(inter)
                    clip_geom = np.full(ei.size, None, dtype=object)
                    clip_geom[ecand[hitl]] = inter
        long = elen > min_len
        elen = np.where(long, elen, 0.0)

        def edge_masses():
            em = np.zeros(ei.size)
            kl = np.flatnonzero(long)
            if kl.size:
                em[kl] = measure.line_integral(seg[kl])
            if clip_geom is not None:
                k = np.flatnonzero(~np.equal(clip_geom, None) & long)
                if k.size:
                    em[k] = measure.line_integral(clip_geom[k])
            return em

        return {"ei": ei, "ej": ej, "rev": rev, "elen": elen, "box_len": box_len,
                "mass": None if same_uniform else edge_masses}

    diag = {
        "y": yn, "psi": pn, "domain": dom, "measure": measure, "areas": areas,
        "centroids": centroids, "empty": empty, "_cells": cells, "_clipped": clipped,
        "_edge_fn": edge_table,
    }
    if same_uniform:
        A = measure.area
        diag.update(masses=areas / A, barycenters=centroids, moments=second / A)
        return LaguerreDiagram(**diag)
    # general measure: integrate over the cells now, along the edges when edge_mass is used
    tmp = LaguerreDiagram(masses=areas, barycenters=centroids, moments=second, **diag)
    polys = tmp.polygons
    if isinstance(measure, Uniform):
        integ = measure.integrate(polys, yn, clip=True)
    else:
        integ = measure.integrate(polys, yn)
    masses = integ.mass
    with np.errstate(invalid="ignore", divide="ignore"):
        bary = np.where((masses > 0)[:, None], integ.first / masses[:, None], np.nan)
    diag.update(masses=masses, barycenters=bary, moments=integ.second)
    out = LaguerreDiagram(**diag)
    out.__dict__["polygons"] = polys
    return out


def _sym(ei, ej, v, rev, J):
    """Symmetric csr matrix from the values on directed edges (each shared edge is seen by
    both cells; the larger of the two values is kept, zero entries dropped)."""
    indptr, indices, data = symmetric_csr(ei, ej, np.ascontiguousarray(v, dtype=np.float64),
                                          rev, J)
    return sp.csr_matrix((data, indices, indptr), shape=(J, J))


def _boundary_segments(dom):
    """The boundary of a polygonal domain as an array of two-point LineStrings."""
    rings = shapely.get_rings(shapely.get_parts(dom))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    seg = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return shapely.linestrings(seg.reshape(-1, 2), indices=np.repeat(np.arange(len(seg)), 2))


def _polygonal(geoms):
    """Keep the polygonal part of each geometry (drop stray points/lines of intersections)."""
    geoms = np.asarray(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    odd = np.flatnonzero(~np.isin(tid, (3, 6)))  # not Polygon / MultiPolygon
    for k in odd:
        parts = [p for p in shapely.get_parts(geoms[k]) if p.geom_type == "Polygon"]
        geoms[k] = (shapely.MultiPolygon(parts) if len(parts) > 1
                    else parts[0] if parts else shapely.Polygon())
    return geoms


def assign(x, y, psi):
    r"""Index of the Laguerre cell of each point: :math:`T_\psi(x_i) =
    \mathrm{argmin}_j \|x_i - y_j\|^2 - \psi_j` (the map :math:`T_\psi`).

    Parameters
    ----------
    x : array (n, d)
        Points (numpy or torch).
    y : array (J, d)
        Sites.
    psi : array (J,)
        Weights.

    Returns
    -------
    array (n,) of int64
        In the library (and device) of ``x``. Computed by
        :func:`otgan.ctransform.c_transform` (its exact kd-tree fast path on the CPU).

    Examples
    --------
    >>> import numpy as np
    >>> assign(np.array([[0.1, 0.5], [0.9, 0.5]]), np.array([[0.25, 0.5], [0.75, 0.5]]),
    ...        np.zeros(2)).tolist()
    [0, 1]
    """
    from .ctransform import c_transform

    where = "laguerre.assign"  # validated here, so that errors name this function
    arrays, _ = common_library(where, x=x, y=y, psi=psi)
    y = check_points(arrays["y"], "y", where)
    x = check_points(arrays["x"], "x", where, dim=y.shape[1])
    psi = check_vector(arrays["psi"], y.shape[0], "psi", where, match=f"'y' {tuple(y.shape)}")
    return c_transform(psi, y, x, cost="sqeuclidean")[1]


@dataclass(frozen=True)
class LaguerreRaster:
    r"""Laguerre cells of any cost rasterised on a pixel grid (:func:`raster`).

    Attributes
    ----------
    labels : numpy int64 array (ny, nx)
        Cell index of each pixel centre; -1 outside the domain. Row 0 is the top of the domain
        (image convention, as :class:`otgan.measures.ImageDensity` and
        ``imshow(labels, extent=extent)``).
    masses : numpy array (J,)
        :math:`\mu(L_j)` estimated by the midpoint rule on the pixels.
    error : numpy array (J,)
        A-posteriori error estimate of ``masses``: the mass of the pixels within one pixel
        (8-neighbourhood) of a label change involving cell ``j`` — the pixels that the boundary
        of :math:`L_j` or of the domain may cross. It is :math:`O(\mathrm{perimeter}(L_j)\, h
        \max\rho)` for a pixel size ``h``.
    extent : tuple (xmin, xmax, ymin, ymax)
    pixel_size : tuple (w, h)
    """

    labels: np.ndarray
    masses: np.ndarray
    error: np.ndarray
    extent: tuple
    pixel_size: tuple


def raster(y, psi, cost="sqeuclidean", *, domain=None, measure=None, resolution=256):
    r"""Laguerre cells :math:`\{x : c(x, y_j) - \psi_j \le c(x, y_k) - \psi_k\}` of any cost, on a
    pixel grid of the domain's bounding box.

    Used for costs without polygonal cells (``"euclidean"``: hyperbolic boundaries) and for
    pictures. Each pixel is given the cell of its centre (:func:`otgan.ctransform.c_transform`)
    and, if its centre is in the domain, the mass ``rho(centre) * pixel area``.

    Parameters
    ----------
    y : array (J, d=2)
        Sites.
    psi : array (J,)
        Weights.
    cost : str or otgan.costs.Cost
        Ground cost (default quadratic).
    domain : shapely polygon or array (k, 2), optional
        Default: ``measure.domain`` or the unit square.
    measure : otgan.measures.DensityMeasure, optional
        Default uniform on the domain.
    resolution : int or (ny, nx)
        Pixels along each side of the bounding box (default 256).

    Returns
    -------
    LaguerreRaster

    Notes
    -----
    The masses converge at rate :math:`O(h)` in the pixel size (midpoint rule on a grid cut by
    curves of finite length); ``error`` estimates the error per cell (a fine-grid estimate, not
    a proven bound: a boundary passing between pixel centres without changing any label within
    one pixel can escape it).

    Examples
    --------
    >>> import numpy as np
    >>> R = raster(np.array([[0.25, 0.5], [0.75, 0.5]]), np.zeros(2), "euclidean",
    ...            resolution=64)
    >>> R.masses.tolist()
    [0.5, 0.5]
    """
    from .ctransform import c_transform

    where = _where("raster")
    yn, pn = _check_sites(y, psi, where)
    if measure is not None and not isinstance(measure, DensityMeasure):
        raise TypeError(
            f"{where}: 'measure' must be a measure with a density; got {type(measure).__name__}"
        )
    dom = measure.domain if (domain is None and measure is not None) else as_domain(
        domain, "domain", where)
    if measure is None:
        measure = Uniform(dom)
    res = np.atleast_1d(np.asarray(resolution))
    if res.size == 1:
        res = np.repeat(res, 2)
    if res.shape != (2,) or not np.issubdtype(res.dtype, np.integer) or (res < 1).any():
        raise ValueError(f"{where}: 'resolution' must be a positive int or (ny, nx); got "
                         f"{resolution!r}")
    ny, nx = int(res[0]), int(res[1])
    x0, y0, x1, y1 = dom.bounds
    w = (x1 - x0) / nx
    h = (y1 - y0) / ny
    xc = x0 + (np.arange(nx) + 0.5) * w
    yc = y1 - (np.arange(ny) + 0.5) * h
    XX, YY = np.meshgrid(xc, yc)
    pts = np.column_stack([XX.ravel(), YY.ravel()])
    shapely.prepare(dom)
    inside = shapely.contains_xy(dom, pts[:, 0], pts[:, 1])
    _, idx = c_transform(pn, yn, pts, cost=cost)
    idx = to_numpy(idx).astype(np.int64)
    labels = np.where(inside, idx, -1).reshape(ny, nx)
    pm = np.where(inside, measure.density(pts) * w * h, 0.0)
    J = yn.shape[0]
    masses = np.bincount(labels.ravel()[inside], pm[inside], J)
    # label changes: pixels with an 8-neighbour of another label (domain outside = -1)
    P = np.pad(labels, 1, mode="edge")
    border = np.zeros((ny, nx), dtype=bool)
    rmax = pm.reshape(ny, nx)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                border |= P[1 + di: 1 + di + ny, 1 + dj: 1 + dj + nx] != labels
    # a pixel near a change counts for its own cell and for every neighbouring label;
    # its potential mass is the largest density around times the pixel area
    dens = np.pad(rmax, 1, mode="edge")
    pmax = np.zeros((ny, nx))
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            pmax = np.maximum(pmax, dens[1 + di: 1 + di + ny, 1 + dj: 1 + dj + nx])
    error = np.zeros(J)
    bi, bj = np.nonzero(border)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            lab = P[1 + bi + di, 1 + bj + dj]
            ok = lab >= 0
            # add each (pixel, label) pair once: skip labels already seen at a previous offset
            seen = np.zeros(bi.size, dtype=bool)
            for pi_, pj_ in _offsets_before(di, dj):
                seen |= P[1 + bi + pi_, 1 + bj + pj_] == lab
            ok &= ~seen
            error += np.bincount(lab[ok], pmax[bi, bj][ok], J)
    return LaguerreRaster(labels, masses, error, (x0, x1, y0, y1), (w, h))


def _offsets_before(di, dj):
    order = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    return order[: order.index((di, dj))]
