r"""Additively weighted (Apollonius) cells of the Euclidean cost (W1).

The diagram is a :class:`W1Diagram`, made by its factory :class:`ApolloniusDiagrams`. The cell
:math:`L_j = \{x \in D: \|x - y_j\| - \psi_j \le \|x - y_k\| - \psi_k\ \forall k\}` is
bounded by branches of hyperbolas; the exact construction (star-shaped cells about their site,
the upper envelope of sinusoids marched in closed form, Green's formula on the arcs) is in
:mod:`otgan.laguerre._apollonius`.

Jacobian. Moving :math:`\psi_j` by :math:`\delta` moves the common boundary of :math:`L_i, L_j`
(where :math:`\|x - y_i\| - \|x - y_j\| = \psi_i - \psi_j`) along the gradient of
:math:`f = \|x - y_i\| - \|x - y_j\|`, whose norm is :math:`\|u_i - u_j\|` with
:math:`u_k = (x - y_k)/\|x - y_k\|`. Hence the weights of the contract,

.. math:: W_{ij} = \int_{L_i \cap L_j} \frac{\rho(x)}{\|u_i(x) - u_j(x)\|}\, ds(x)
          = -\frac{\partial \mu(L_i)}{\partial \psi_j} \quad (i \ne j),

positive, and :math:`\partial \mu(L_i)/\partial \psi_i = \sum_{j \ne i} W_{ij}` (checked against
finite differences of the exact masses in the tests).

Only ``p = 1`` is handled: for ``PowerEuclidean(p)`` with ``p != 1, 2`` the cells are bounded by
curves that are not conics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import shapely

from ..errors import GeometryError
from ..measures import Uniform
from . import _apollonius
from ._contract import CellDiagram

__all__ = ["ApolloniusDiagrams", "W1Diagram"]

_EMPTY_REL = 1e-13


@dataclass(frozen=True, eq=False, repr=False)
class W1Diagram(CellDiagram):
    r"""An exact additively weighted (Apollonius) diagram, the cells of the Euclidean cost.

    The Laguerre cells of :math:`c(x, y) = \|x - y\|` are
    :math:`L_j = \{x \in D: \|x - y_j\| - \psi_j \le \|x - y_k\| - \psi_k\ \forall k\}`,
    bounded by branches of hyperbolas. Made by :class:`ApolloniusDiagrams` (or
    :func:`otgan.laguerre.diagram` with ``cost="euclidean"``), not by hand. It meets the
    :class:`~otgan.laguerre.CellDiagram` contract (same attribute names as
    :class:`otgan.laguerre.LaguerreDiagram`), with ``moments`` the transport costs
    :math:`\int_{L_j} \|x - y_j\| d\mu`.

    Parameters
    ----------
    y, psi, domain, measure, areas, centroids, empty, masses
        The attributes of the same names (below).
    barycenters, moments, adjacency, edge_mass
        The attributes of the same names (below).
    _weights : scipy.sparse.csr_matrix (J, J)
        The Jacobian weights, read as :attr:`weights`.
    _raw : dict
        The raw output of the cell computation (``otgan.laguerre._apollonius.compute``: the
        cells' integrals and boundary envelopes), from which :attr:`polygons` is drawn.

    Attributes
    ----------
    y, psi, domain, measure
        Inputs (``domain`` a shapely geometry, the measure's domain).
    areas : (J,)
        :math:`|L_j|` (exact to float64 rounding).
    centroids : (J, 2)
        Geometric centroids; ``nan`` for empty cells.
    empty : (J,) bool
        Cells of zero area (below ``1e-13`` of the domain's bounding box), hidden sites
        (:math:`\psi_j - \psi_k \le -\|y_j - y_k\|` for some ``k``) included.
    masses : (J,)
        :math:`\mu(L_j)`.
    barycenters : (J, 2)
        :math:`\int_{L_j} x\, d\mu / \mu(L_j)`; ``nan`` where the mass is 0.
    moments : (J,)
        :math:`\int_{L_j} \|x - y_j\|\, d\mu(x)` (their sum is the transport cost of
        :math:`T_\psi`).
    adjacency : scipy.sparse.csr_matrix (J, J)
        Length of the common (hyperbolic) boundary :math:`L_i \cap L_j` inside the domain.
    edge_mass : scipy.sparse.csr_matrix (J, J)
        :math:`\int_{L_i \cap L_j} \rho\, ds`.
    weights : scipy.sparse.csr_matrix (J, J)
        :math:`W_{ij} = \int_{L_i \cap L_j} \rho / \|u_i - u_j\|\, ds` with
        :math:`u_k = (x - y_k)/\|x - y_k\|`, positive: :math:`\partial \mu(L_i)/\partial \psi_j
        = -W_{ij}` for :math:`i \ne j` (``jacobian()`` is the Laplacian).
    polygons : (J,) object array of shapely geometries
        Polygonal approximations of the cells, for drawing (arcs sampled every ~0.5 degree
        around the site; computed on first access).
    """

    cost = "euclidean"

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
    adjacency: sp.csr_matrix
    edge_mass: sp.csr_matrix
    _weights: sp.csr_matrix = field(repr=False)
    _raw: dict = field(repr=False)

    @property
    def weights(self) -> sp.csr_matrix:
        r"""The Jacobian weights :math:`W_{ij}` (csr (J, J), symmetric, non-negative).

        :math:`\partial \mu(L_i) / \partial \psi_j = -W_{ij}` for :math:`i \ne j`, and
        :meth:`jacobian` is their Laplacian.
        """
        return self._weights

    @cached_property
    def _box_raw(self):
        x0, y0, x1, y1 = self.domain.bounds
        box = shapely.box(x0, y0, x1, y1)
        return _apollonius.compute(self.y, self.psi, Uniform(box), box)

    @cached_property
    def box_masses(self) -> np.ndarray:
        """Masses (J,) of the cells clipped to the domain's bounding box ``B``, under U(B).

        ``U(B)`` is the uniform probability on ``B`` (continuation). Computed on first access
        by a second exact pass over ``B``; shared with :attr:`box_weights`.
        """
        return np.maximum(self._box_raw["masses"], 0.0)

    @cached_property
    def box_weights(self) -> sp.csr_matrix:
        """The Jacobian weights (csr, (J, J)) of :attr:`box_masses`."""
        raw = self._box_raw
        return _sym(raw["rows"], raw["cols"], raw["hessian"], self.y.shape[0])

    @cached_property
    def polygons(self) -> np.ndarray:
        """Polygonal approximations of the cells (a (J,) object array of shapely geometries).

        Each arc of a cell's boundary is sampled at most 0.01 radian apart as seen from its
        site; the star-shaped polygon is clipped to the domain (a Polygon, a MultiPolygon when
        the domain splits it, an empty Polygon for an empty cell). Computed on first access.
        """
        raw = self._raw
        c, s = raw["c"], raw["s"]
        J = self.y.shape[0]
        out = np.empty(J, dtype=object)
        dom = self.domain
        for j in range(J):
            env = raw["envs"][j]
            if self.empty[j] or env is None:
                out[j] = shapely.Polygon()
                continue
            _nb, vx, vy, ck, ak = raw["cand"][j]
            yj = raw["yl"][j]
            far = 4.0 + 2.0 * np.hypot(*yj)  # beyond the normalised domain [-1, 1]^2
            pts = []
            for k, t0, t1 in env:
                n = max(2, int(np.ceil((t1 - t0) / 0.01)) + 1)
                th = np.linspace(t0, t1, n)
                u = np.column_stack([np.cos(th), np.sin(th)])
                if k < 0:
                    R = np.full(n, far)
                else:
                    h = (u @ np.array([vx[k], vy[k]]) - ck[k]) / ak[k]
                    with np.errstate(divide="ignore"):
                        R = np.where(h > 1.0 / far, 1.0 / np.maximum(h, 1e-300), far)
                pts.append(yj + R[:, None] * u)
            P = c + s * np.concatenate(pts)
            star = shapely.Polygon(P)
            if not star.is_valid:
                star = shapely.make_valid(star)
            g = shapely.intersection(star, dom)
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            out[j] = (parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts) if parts
                      else shapely.Polygon())
        return out


def _sym(rows, cols, vals, J):
    """Return the symmetric (J, J) csr matrix of values computed on both sides of each boundary.

    Entry ``(i, j)`` is the mean of the values given for the pairs ``(i, j)`` and ``(j, i)``
    (the two one-sided computations of a shared boundary); entries that are not positive are
    dropped.
    """
    rows, cols, vals = np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float)
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    key, inv = np.unique(lo * J + hi, return_inverse=True)
    mean = np.bincount(inv, vals, key.size) / np.bincount(inv, None, key.size)
    i, j = key // J, key % J
    keep = mean > 0
    i, j, mean = i[keep], j[keep], mean[keep]
    M = sp.coo_matrix((np.r_[mean, mean], (np.r_[i, j], np.r_[j, i])), shape=(J, J))
    return M.tocsr()


class ApolloniusDiagrams:
    r"""The W1 diagrams of fixed sites under a fixed measure, for any potential.

    ``ApolloniusDiagrams(y, domain, measure)(psi)`` is a :class:`W1Diagram` (``domain`` must be
    the measure's domain).

    Parameters
    ----------
    y : numpy float64 array (J, 2)
        Distinct sites (validated by the caller: :func:`otgan.laguerre.diagram` does it).
    domain : shapely Polygon or MultiPolygon
        The domain ``D``, the measure's.
    measure : otgan.measures.DensityMeasure
        The source :math:`\mu` whose masses the cells carry.
    """

    cost = "euclidean"
    #: :meth:`cell_masses` builds the whole diagram (the cells are not built one by one)
    partial = False

    def __init__(self, y, domain, measure):
        self.y = y
        self.domain = domain
        self.measure = measure

    def with_measure(self, measure):
        """Return the factory of the same sites and domain under another measure.

        Parameters
        ----------
        measure : otgan.measures.DensityMeasure
            The other source measure (on the same domain).

        Returns
        -------
        ApolloniusDiagrams
            A new factory (this one is unchanged).
        """
        return ApolloniusDiagrams(self.y, self.domain, measure)

    def reintegrate(self, D, where="laguerre.diagram") -> W1Diagram:
        """Return the diagram of ``D``'s potential under this factory's measure: ``self(D.psi)``.

        The counterpart of :meth:`PowerDiagrams.reintegrate`; the Apollonius cells are
        integrated as they are built, so this builds them again.

        Parameters
        ----------
        D : W1Diagram
            A diagram of the factory's sites (TypeError otherwise).
        where : str, default "laguerre.diagram"
            The public function that the error messages name.

        Returns
        -------
        W1Diagram
        """
        if not isinstance(D, W1Diagram) or D.y.shape != self.y.shape:
            raise TypeError(f"{where}: 'D' must be a W1Diagram of the same "
                            f"{self.y.shape[0]} sites; got {type(D).__name__}")
        return self(D.psi, where)

    def cell_masses(self, psi, idx, where="laguerre.diagram", near=None):
        """Return ``D.masses[idx], D.box_masses[idx]`` of ``D = self(psi)``.

        The counterpart of :meth:`PowerDiagrams.cell_masses`; it builds the whole diagram
        (:attr:`partial` is False: a line search does not check a few cells first).

        Parameters
        ----------
        psi : numpy float64 array (J,)
            The potential.
        idx : int array (m,)
            Site indices.
        where : str, default "laguerre.diagram"
            The public function that a GeometryError names.
        near : W1Diagram, optional
            Not used (see :meth:`__call__`).

        Returns
        -------
        masses, box_masses : numpy float64 arrays (m,)
        """
        D = self(psi, where, near=near)
        return D.masses[idx], D.box_masses[idx]

    def __call__(self, psi, where="laguerre.diagram", near=None) -> W1Diagram:
        """Compute the exact W1 diagram of the factory's sites for the potential ``psi``.

        Parameters
        ----------
        psi : numpy float64 array (J,)
            The potential (validated by the caller).
        where : str
            The public function that a GeometryError names.
        near : W1Diagram, optional
            A diagram at a nearby potential (the warm start of the power cells' search);
            not used here: the Apollonius cells are built from scratch.

        Returns
        -------
        W1Diagram
            The cells, their integrals under the factory's measure, and the Jacobian weights.

        Raises
        ------
        otgan.errors.GeometryError
            A cell of negative mass (a geometric failure, not expected), with its indices.
        """
        yn, pn, dom, measure = self.y, psi, self.domain, self.measure
        raw = _apollonius.compute(yn, pn, measure, dom)
        J = yn.shape[0]
        bx0, by0, bx1, by1 = dom.bounds
        areas = raw["areas"]
        empty = raw["hidden"] | ~(areas > _EMPTY_REL * (bx1 - bx0) * (by1 - by0))
        areas = np.where(empty, 0.0, areas)
        masses = np.where(empty, 0.0, raw["masses"])
        if np.any(masses < -1e-12):  # pragma: no cover - a geometric failure
            raise GeometryError(f"{where}: negative W1 cell mass (geometric failure)",
                                indices=np.flatnonzero(masses < -1e-12))
        masses = np.maximum(masses, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = np.where(empty[:, None], np.nan, yn + raw["first"] / areas[:, None])
            bary = np.where((masses > 0)[:, None], yn + raw["mfirst"] / masses[:, None],
                            np.nan)
        moments = np.where(empty, 0.0, raw["cost"])
        r, c = raw["rows"], raw["cols"]
        return W1Diagram(
            y=yn, psi=pn, domain=dom, measure=measure, areas=areas, centroids=centroids,
            empty=empty, masses=masses, barycenters=bary, moments=moments,
            adjacency=_sym(r, c, raw["lengths"], J), edge_mass=_sym(r, c, raw["edge_mass"], J),
            _weights=_sym(r, c, raw["hessian"], J), _raw=raw,
        )
