r"""Power cells of the quadratic cost: :class:`LaguerreDiagram` and :class:`PowerDiagrams`.

For sites :math:`y_j \in \mathbf R^2` and weights :math:`\psi_j`, the Laguerre cell of
:math:`y_j` for :math:`c(x, y) = \|x - y\|^2` is the convex polygon (before clipping to a
non-convex domain) :math:`\{x : \langle x - y_j, y_k - y_j\rangle \le \frac12 (\|y_k - y_j\|^2 +
\psi_j - \psi_k)\ \forall k\}`. The cells are built by the numba kernel of
:mod:`otgan.laguerre._power` (half-plane clipping in the frame of each site, a kd-tree walk that
bounds each node by the largest weight of its sites and by its least-squares plane of
:math:`\psi`); cells crossing the boundary of a non-rectangular domain are then
intersected with it by shapely. The Jacobian weights are
:math:`W_{ij} = \int_{L_i \cap L_j} \rho\, ds / (2 \|y_i - y_j\|)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import shapely

from .._utils import GeometryError
from ..measures import ImageDensity, Uniform, polygon_moments
from ._contract import CellDiagram
from ._power import PowerTree, edge_pairs, gather, power_cells, symmetric_csr

__all__ = ["LaguerreDiagram", "PowerDiagrams"]

_EMPTY_REL = 1e-13  # cells with area below this fraction of the bounding box are empty


@dataclass(frozen=True, eq=False, repr=False)
class LaguerreDiagram(CellDiagram):
    r"""A Laguerre (power) diagram clipped to a domain, with exact cell integrals.

    All attributes are numpy arrays or scipy sparse matrices (a diagram is a geometric object,
    computed in float64 on the CPU). ``J`` is the number of sites. Made by
    :class:`PowerDiagrams` (or :func:`otgan.laguerre.diagram` with the quadratic cost), not by
    hand. It meets the :class:`~otgan.laguerre.CellDiagram` contract.

    Parameters
    ----------
    y, psi, domain, measure, areas, centroids, empty, masses
        The attributes of the same names (below).
    barycenters, moments
        The attributes of the same names (below).
    _cells : otgan.laguerre._power.PowerCells
        The power cells clipped to the bounding box of the domain (vertices, the site that
        created each edge, areas and moments), as the numba kernel computed them: the source of
        :attr:`box_masses`, :attr:`box_weights` and :attr:`polygons`.
    _clipped : dict
        Site index -> shapely geometry: the cells not entirely inside a non-rectangular domain,
        intersected with it (empty for a rectangular domain).
    _edge_fn : callable
        ``() -> dict``, the table of the cells' directed edges, called on the first access to
        :attr:`adjacency`, :attr:`edge_mass`, :attr:`weights` or :attr:`box_weights` (a diagram
        used for its masses alone, e.g. a trial step of Newton's line search, never builds it);
        None in an unpickled diagram, whose edge matrices were built before pickling.

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
        :math:`\int_{L_i \cap L_j} \rho \, ds`.
    weights : scipy.sparse.csr_matrix (J, J)
        ``edge_mass_ij / (2 ||y_i - y_j||)``: the Jacobian of the masses is
        ``jacobian() = diag(W 1) - W`` (:math:`\partial \mu(L_i) / \partial \psi_j = -W_{ij}`).
    box_masses : (J,)
        Areas of the cells clipped to the bounding box ``B`` of the domain, over ``|B|``: their
        masses under the uniform probability on ``B`` (continuation).
    box_weights : scipy.sparse.csr_matrix (J, J)
        The Jacobian weights of ``box_masses``: the lengths of the edges shared by the
        box-clipped cells over ``2 |B| ||y_i - y_j||``.
    polygons : (J,) object array of shapely geometries
        The cells (a Polygon, or a MultiPolygon when a non-convex domain splits a cell; an empty
        Polygon for empty cells). Built on first access.
    """

    cost = "sqeuclidean"

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
    _cells: object = field(repr=False)  # otgan.laguerre._power.PowerCells (box-clipped cells)
    _clipped: dict = field(repr=False)
    # () -> the directed edges of the cells (computed on first use: a diagram used for its
    # masses alone, e.g. a trial step of Newton's line search, never builds them)
    _edge_fn: object = field(repr=False)

    @cached_property
    def _edges(self):
        return self._edge_fn()

    @cached_property
    def adjacency(self) -> sp.csr_matrix:
        r"""Lengths of the shared edges (csr (J, J), symmetric): :math:`|L_i \cap L_j|` in D.

        Edges shorter than ``1e-13`` times the diagonal of the domain's bounding box (cells that
        touch at a vertex, ties) are not adjacencies. Built on first access.
        """
        e = self._edges
        return _sym(e["ei"], e["ej"], e["elen"], e["rev"], self.y.shape[0])

    @cached_property
    def edge_mass(self) -> sp.csr_matrix:
        r"""Masses :math:`\int_{L_i \cap L_j} \rho\, ds` of the shared edges (csr (J, J)).

        Symmetric: ``adjacency / |D|`` under the uniform measure of the domain, else the
        measure's line integrals along the edges (clipped to the domain). Built on first
        access.
        """
        e = self._edges
        return _sym(e["ei"], e["ej"], self._edge_masses, e["rev"], self.y.shape[0])

    @cached_property
    def _edge_masses(self):
        # the masses of the directed edges: their lengths over |D| under the uniform measure
        # of the domain, else the measure's line integrals (computed once, for edge_mass and
        # weights alike)
        e = self._edges
        return e["elen"] / self.measure.area if e["mass"] is None else e["mass"]()

    @cached_property
    def _edge_gaps(self):
        # 2 ||y_i - y_j|| on the directed edges (i, j): the weights' denominators
        e = self._edges
        d = self.y[e["ei"]] - self.y[e["ej"]]
        return 2.0 * np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])

    @cached_property
    def weights(self) -> sp.csr_matrix:
        r"""The Jacobian weights :math:`W_{ij} = \int_{L_i \cap L_j} \rho\, ds / (2 \|y_i - y_j\|)`.

        A csr (J, J) matrix, symmetric and non-negative: :math:`\partial \mu(L_i) / \partial
        \psi_j = -W_{ij}` for :math:`i \ne j`, and :meth:`jacobian` is their Laplacian.
        """
        e = self._edges
        return _sym(e["ei"], e["ej"], self._edge_masses / self._edge_gaps, e["rev"],
                    self.y.shape[0])

    @cached_property
    def box_masses(self) -> np.ndarray:
        """Masses (J,) of the cells clipped to the domain's bounding box ``B``, under U(B).

        ``U(B)`` is the uniform probability on ``B`` (continuation): the areas of the
        box-clipped cells over the area of ``B``.
        """
        x0, y0, x1, y1 = self.domain.bounds
        return self._cells.area / ((x1 - x0) * (y1 - y0))

    @cached_property
    def box_weights(self) -> sp.csr_matrix:
        """The Jacobian weights (csr, (J, J)) of :attr:`box_masses`.

        The edges' lengths inside ``B`` over ``2 |B| ||y_i - y_j||``. Built on first access.
        """
        x0, y0, x1, y1 = self.domain.bounds
        e = self._edges
        return _sym(e["ei"], e["ej"], e["box_len"] / ((x1 - x0) * (y1 - y0)) / self._edge_gaps,
                    e["rev"], self.y.shape[0])

    @cached_property
    def polygons(self) -> np.ndarray:
        """The cells as a (J,) object array of shapely geometries.

        A Polygon, or a MultiPolygon when a non-convex domain splits a cell; an empty Polygon
        for an empty cell. Built when first needed (from the kernel's vertices, and the cells
        already intersected with a non-rectangular domain).
        """
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

    def __getstate__(self):
        """Return the state to pickle: the edge matrices, built now, without their builder.

        The builder of the edge table is a closure, which does not pickle; the unpickled
        diagram has :attr:`adjacency`, :attr:`edge_mass`, :attr:`weights`, :attr:`box_masses`
        and :attr:`box_weights` already.
        """
        for name in ("adjacency", "edge_mass", "weights", "box_masses", "box_weights"):
            getattr(self, name)
        state = dict(self.__dict__)
        for name in ("_edges", "_edge_masses", "_edge_gaps"):
            state.pop(name, None)
        state["_edge_fn"] = None
        return state


def _polys(cells, idx):
    """Return the shapely polygons of the box-clipped cells ``idx`` (at least 3 vertices each).

    A cell is convex, but where several sites are cocircular its vertices can repeat within
    rounding (all the cells meet at one point), which can make the ring cross itself by
    1e-17; such rings are repaired (``shapely.make_valid``, keeping the polygonal part), or
    shapely's intersection with a domain would be wrong.
    """
    coords, owner, _ = gather(cells.ptr, cells.n, cells.vx, cells.vy, idx)
    polys = shapely.polygons(shapely.linearrings(coords, indices=owner))
    bad = np.flatnonzero(~shapely.is_valid(polys))
    if bad.size:
        polys[bad] = _polygonal(shapely.make_valid(polys[bad]))
    return polys


def _is_box(dom):
    if not isinstance(dom, shapely.Polygon) or len(dom.interiors):
        return False
    x0, y0, x1, y1 = dom.bounds
    return abs(dom.area - (x1 - x0) * (y1 - y0)) <= 1e-14 * (x1 - x0) * (y1 - y0)


class PowerDiagrams:
    r"""The power diagrams of fixed sites in a fixed domain under a measure, for any potential.

    ``PowerDiagrams(y, domain, measure)(psi)`` is a :class:`LaguerreDiagram`. The factory owns
    the kd-tree of the sites and the domain's boundary index, built once: Newton calls it for
    every iterate of the same sites.

    Parameters
    ----------
    y : numpy float64 array (J, 2)
        Distinct sites (validated by the caller: :func:`otgan.laguerre.diagram` does it).
    domain : shapely Polygon or MultiPolygon
        The domain ``D`` the cells are clipped to (in practice the measure's).
    measure : otgan.measures.DensityMeasure
        The source :math:`\mu` whose masses, moments and edge masses the cells carry.
    tree : otgan.laguerre._power.PowerTree, optional
        The kd-tree of ``y`` (built here if not given; :meth:`with_measure` shares it).
    """

    cost = "sqeuclidean"
    #: :meth:`cell_masses` costs the cells asked for alone
    partial = True

    def __init__(self, y, domain, measure, *, tree=None):
        self.y = y
        self.domain = domain
        self.measure = measure
        self.tree = PowerTree(y[:, 0], y[:, 1]) if tree is None else tree
        self.box = _is_box(domain)
        self._btree = None
        if not self.box:
            shapely.prepare(domain)
            self._btree = shapely.STRtree(_boundary_segments(domain))
        on_domain = measure.domain is domain or bool(shapely.equals(measure.domain, domain))
        self.same_uniform = type(measure) is Uniform and on_domain
        # an image on its own extent: the box-clipped cells are the cells, integrated against
        # the pixel grid straight from the kernel's vertex arrays (no shapely polygons)
        self.image_cells = self.box and on_domain and isinstance(measure, ImageDensity)

    def with_measure(self, measure):
        """Return the factory of the same sites and domain under another measure.

        The kd-tree of the sites is shared (a continuation changes the measure, not the
        sites).

        Parameters
        ----------
        measure : otgan.measures.DensityMeasure
            The other source measure.

        Returns
        -------
        PowerDiagrams
            A new factory with this one's kd-tree (this one is unchanged).
        """
        return PowerDiagrams(self.y, self.domain, measure, tree=self.tree)

    def reintegrate(self, D, where="laguerre.diagram") -> LaguerreDiagram:
        """Return the diagram of ``D``'s potential under this factory's measure.

        The cells of a power diagram depend on the sites, the domain and the potential, not on
        the measure: ``D``'s cells (a diagram of the same sites and domain, from this factory
        or another one sharing its kd-tree, e.g. :meth:`with_measure`) are integrated against
        this factory's measure, without searching the cells again. The result is the diagram
        ``self(D.psi)`` would give, up to the rounding of a warm-started search.

        Parameters
        ----------
        D : LaguerreDiagram
            A diagram of the factory's sites in the factory's domain.
        where : str, default "laguerre.diagram"
            The public function that the error messages name.

        Returns
        -------
        LaguerreDiagram
            The cells of ``D`` and their integrals under this factory's measure.

        Raises
        ------
        TypeError
            If ``D`` is not a :class:`LaguerreDiagram` of the factory's sites and domain.
        """
        if (not isinstance(D, LaguerreDiagram) or D.y.shape != self.y.shape
                or D.domain is not self.domain and not bool(shapely.equals(D.domain,
                                                                           self.domain))):
            raise TypeError(f"{where}: 'D' must be a LaguerreDiagram of the same "
                            f"{self.y.shape[0]} sites and domain; got {type(D).__name__}")
        return self._integrate(D.psi, D._cells)

    def __call__(self, psi, where="laguerre.diagram", near=None) -> LaguerreDiagram:
        """Compute the power diagram of the factory's sites for the potential ``psi``.

        Parameters
        ----------
        psi : numpy float64 array (J,)
            The potential (validated by the caller).
        where : str, default "laguerre.diagram"
            The public function that the error messages name.
        near : LaguerreDiagram, optional
            A diagram of the same sites at a nearby potential (Newton's current iterate, when
            it tries a step): a warm start of the cell search, which first clips each cell by
            its neighbours in ``near``. The cells are the same as without it; their vertices
            can differ by rounding (the half-planes are clipped in another order).

        Returns
        -------
        LaguerreDiagram
            The cells clipped to the domain and their integrals under the factory's measure;
            the edge matrices (:attr:`LaguerreDiagram.adjacency`, ``weights``, ...) are built
            on first access.

        Raises
        ------
        TypeError
            If ``near`` is not a :class:`LaguerreDiagram` of ``J`` sites.
        otgan.errors.GeometryError
            If the power-cell construction fails (not expected).
        """
        return self._integrate(psi, self._search(psi, where, near))

    def _search(self, psi, where, near, subset=None):
        """Return the box-clipped power cells of ``psi`` (all, or the sites ``subset``'s)."""
        yn = self.y
        if near is not None and (not isinstance(near, LaguerreDiagram)
                                 or near.y.shape != yn.shape):
            raise TypeError(f"{where}: 'near' must be a LaguerreDiagram of the same "
                            f"{yn.shape[0]} sites; got {type(near).__name__}")
        # in the given coordinates: the kernel works in the frame of each site, so rescaling
        # the problem would only add rounding to the differences y_k - y_i of nearby sites
        try:
            return power_cells(yn[:, 0], yn[:, 1], psi, self.domain.bounds, tree=self.tree,
                               near=None if near is None else near._cells, subset=subset)
        except Exception as exc:  # pragma: no cover - defensive
            raise GeometryError(f"{where}: the power-cell construction failed: {exc}") from exc

    def cell_masses(self, psi, idx, where="laguerre.diagram", near=None):
        """Return the masses of a few cells, computing those cells alone.

        ``D.masses[idx]`` and ``D.box_masses[idx]`` of ``D = self(psi, near=near)``, bit for
        bit on a rectangular domain (each cell is clipped and integrated on its own; a
        non-rectangular domain clips them all with shapely: to rounding), at the cost of the
        cells ``idx``: a line search checks the cells it watches before the whole diagram.

        Parameters
        ----------
        psi : numpy float64 array (J,)
            The potential (validated by the caller).
        idx : int array (m,)
            Distinct site indices.
        where : str, default "laguerre.diagram"
            The public function that the error messages name.
        near : LaguerreDiagram, optional
            A diagram at a nearby potential (the warm start of :meth:`__call__`).

        Returns
        -------
        masses, box_masses : numpy float64 arrays (m,)
            The cells' masses under the factory's measure and under U(B), ``B`` the domain's
            bounding box (:attr:`LaguerreDiagram.box_masses`).
        """
        idx = np.asarray(idx, dtype=np.int64)
        cells = self._search(psi, where, near, subset=idx)
        dom, measure, yn = self.domain, self.measure, self.y[idx]
        bx0, by0, bx1, by1 = dom.bounds
        bbox_area = (bx1 - bx0) * (by1 - by0)
        areas = cells.area
        if self.image_cells:
            masses = measure.integrate_cells(cells.ptr, cells.n, cells.vx, cells.vy, yn).mass
        elif self.same_uniform and self.box:
            masses = areas / measure.area
        else:
            rows = np.flatnonzero(cells.n >= 3)
            polys = np.full(idx.size, shapely.Polygon(), dtype=object)
            polys[rows] = _polys(cells, rows)
            if not self.box:
                polys = _polygonal(shapely.intersection(polys, dom))
                areas = shapely.area(polys)
            integ = (measure.integrate(polys, yn, clip=True) if isinstance(measure, Uniform)
                     else measure.integrate(polys, yn))
            masses = integ.mass
        empty = ~(areas > _EMPTY_REL * bbox_area)
        return np.where(empty, 0.0, masses), cells.area / bbox_area

    def _integrate(self, pn, cells) -> LaguerreDiagram:
        """Return the diagram of the box-clipped ``cells`` of the potential ``pn``.

        The cells are clipped to the domain and integrated under the factory's measure.
        """
        yn, dom, measure = self.y, self.domain, self.measure
        J = yn.shape[0]
        bx0, by0, bx1, by1 = dom.bounds
        n = cells.n
        areas = cells.area.copy()
        first = np.column_stack([cells.sx, cells.sy])
        first += yn * areas[:, None]
        second = cells.i2.copy()
        clipped = {}
        xrows = np.zeros(0, dtype=np.int64)
        btree = self._btree
        if not self.box:
            # a cell whose bounding box meets no boundary segment of the domain lies entirely
            # inside or entirely outside it: one vertex tells which; the others are intersected
            # with the domain
            rows = np.flatnonzero(n >= 3)
            _, _, bb = gather(cells.ptr, n, cells.vx, cells.vy, rows)
            boxes = shapely.box(bb[:, 0], bb[:, 1], bb[:, 2], bb[:, 3])
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
                clipped = dict(zip(xrows.tolist(), cut, strict=True))
        bbox_area = (bx1 - bx0) * (by1 - by0)
        # edges shorter than the float64 resolution of the geometry (cells touching at a
        # vertex, ties) are not adjacencies
        min_len = _EMPTY_REL * np.hypot(bx1 - bx0, by1 - by0)
        empty = ~(areas > _EMPTY_REL * bbox_area)
        areas = np.where(empty, 0.0, areas)
        first = np.where(empty[:, None], 0.0, first)
        second = np.where(empty, 0.0, second)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = np.where(empty[:, None], np.nan, first / areas[:, None])
        same_uniform = self.same_uniform

        def edge_table():
            """Return the table of the cells' directed edges.

            The directed edges (cell ei, created by site ej), the same edge seen from ej
            (rev), their lengths in the domain and in its bounding box, and a function giving
            their masses (None: the uniform measure of the domain).
            """
            ei, ej, seg4, rev = edge_pairs(cells.ptr, n, cells.vx, cells.vy, cells.lab,
                                           cells.order)
            seg = seg4.reshape(-1, 2, 2)
            elen = np.hypot(seg4[:, 2] - seg4[:, 0], seg4[:, 3] - seg4[:, 1])
            box_len = np.where(elen > min_len, elen, 0.0)
            clip_geom = None  # clipped geometries of the edges crossing the domain's boundary
            if xrows.size:
                # edges of crossing cells: an edge meeting no boundary segment is entirely
                # inside or outside (its midpoint tells); the others are intersected with the
                # domain
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
        if self.image_cells:
            integ = measure.integrate_cells(cells.ptr, n, cells.vx, cells.vy, yn)
            masses = np.where(empty, 0.0, integ.mass)
            with np.errstate(invalid="ignore", divide="ignore"):
                bary = np.where((masses > 0)[:, None], integ.first / masses[:, None], np.nan)
            diag.update(masses=masses, barycenters=bary,
                        moments=np.where(empty, 0.0, integ.second))
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
    """Return the symmetric csr matrix of values on directed edges.

    Each shared edge is seen by both cells; the larger of the two values is kept, entries that
    are not positive are dropped.
    """
    indptr, indices, data = symmetric_csr(ei, ej, np.ascontiguousarray(v, dtype=np.float64),
                                          rev, J)
    return sp.csr_matrix((data, indices, indptr), shape=(J, J))


def _boundary_segments(dom):
    """Return the boundary of a polygonal domain as an array of two-point LineStrings."""
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
