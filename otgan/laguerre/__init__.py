r"""Exact 2D Laguerre diagrams clipped to a polygon domain, for the quadratic and Euclidean costs.

Power cells for the quadratic cost and additively weighted (Apollonius) cells for the Euclidean
cost, behind one contract (:class:`CellDiagram`) that the semi-discrete solvers use.

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
nodes carry the largest weight of their sites (the numba kernel of ``otgan.laguerre._power``). A node is
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

import shapely

from .._utils import check_points, check_vector, common_library
from ..costs import get_cost
from ..ctransform import c_transform
from ..measures import DensityMeasure, Uniform, as_domain
from ._contract import CellDiagram
from ._raster import LaguerreRaster, raster
from ._sites import check_distinct, check_sites
from .apollonius import ApolloniusDiagrams, W1Diagram
from .power import LaguerreDiagram, PowerDiagrams

__all__ = [
    "ApolloniusDiagrams",
    "CellDiagram",
    "LaguerreDiagram",
    "LaguerreRaster",
    "PowerDiagrams",
    "W1Diagram",
    "assign",
    "diagram",
    "geometry",
    "raster",
]

#: the exact cell geometries, by the kind of cost: factory classes built as
#: ``F(y, domain, measure)`` from validated float64 sites; ``F(...)(psi, where)`` is a
#: CellDiagram, ``F(...).with_measure(other)`` the factory of the same sites under another
#: measure (sharing the search structure), ``F(...).reintegrate(D)`` the diagram of ``D``'s
#: potential under ``F``'s measure (the power cells are not searched again), and
#: ``F(...).cell_masses(psi, idx)`` the masses of a few cells (those cells alone computed when
#: ``F.partial``)
GEOMETRIES = {"quadratic": PowerDiagrams, "euclidean": ApolloniusDiagrams}


def geometry(cost, where="laguerre.diagram"):
    """Return the diagram factory class of the exact cells of ``cost`` (:data:`GEOMETRIES`).

    :class:`PowerDiagrams` for ``||x - y||^2`` (power cells), :class:`ApolloniusDiagrams` for
    ``||x - y||`` (additively weighted cells); no other cost has exact cells here.

    Parameters
    ----------
    cost : str or otgan.costs.Cost
        The ground cost, as :func:`otgan.costs.get_cost` takes it (``"sqeuclidean"``,
        ``"euclidean"`` or a cost object; ``PowerEuclidean(2)`` and ``PowerEuclidean(1)``
        count as the quadratic and the Euclidean cost).
    where : str
        The public function that the error messages name.

    Returns
    -------
    type
        :class:`PowerDiagrams` or :class:`ApolloniusDiagrams`: a factory ``F`` built as
        ``F(y, domain, measure)`` from validated float64 sites and called as
        ``F(y, domain, measure)(psi, where)``, which gives a :class:`CellDiagram`.

    Raises
    ------
    ValueError
        Naming ``where`` and ``cost`` for a cost without exact cells, or an unknown cost name.
    TypeError
        For a ``cost`` that is neither a string nor a cost object.
    """
    c = get_cost(cost)
    kind = "quadratic" if c.is_quadratic else "euclidean" if c.is_euclidean else None
    if kind is None:
        raise ValueError(
            f"{where}: exact cells exist for 'cost' 'sqeuclidean' (power cells) and "
            f"'euclidean' (Apollonius cells); got {c!r}. Use laguerre.raster for other costs"
        )
    return GEOMETRIES[kind]


def _check_measure(measure, where, name="measure"):
    """``measure`` must be one of otgan's measures with a density (Uniform, ImageDensity)."""
    if not isinstance(measure, DensityMeasure):
        raise TypeError(
            f"{where}: '{name}' must be a measure with a density (otgan.measures.Uniform or "
            f"ImageDensity); got {type(measure).__name__}. Use laguerre.raster or sampling "
            "(otgan.ctransform.cell_masses) for other measures"
        )
    return measure


def diagram(y, psi, domain=None, *, measure=None, cost="sqeuclidean") -> CellDiagram:
    r"""Exact Laguerre diagram of sites ``y`` with weights ``psi``, clipped to ``domain``.

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
        ``"sqeuclidean"``: power cells (:class:`LaguerreDiagram`). ``"euclidean"`` (W1): exact
        additively weighted (Apollonius) cells with hyperbolic boundaries
        (:class:`W1Diagram`; the domain must then be the measure's). Both meet the
        :class:`CellDiagram` contract; other costs raise a ValueError (use :func:`raster`).

    Returns
    -------
    CellDiagram
        :class:`LaguerreDiagram` or :class:`W1Diagram`.

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, duplicate sites, a domain of zero area or invalid.
    TypeError
        A measure without a density, or a measure that is not an otgan measure.
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
    where = "laguerre.diagram"
    yn, pn = check_sites(y, psi, where)
    if measure is not None:
        _check_measure(measure, where)
    factory = geometry(cost, where)
    if domain is None and measure is not None:
        dom = measure.domain
    else:
        dom = as_domain(domain, "domain", where)
    if measure is None:
        measure = Uniform(dom)
    elif factory is ApolloniusDiagrams and domain is not None and not (
            measure.domain is dom or bool(shapely.equals(measure.domain, dom))):
        raise ValueError(
            f"{where}: with cost='euclidean', 'domain' must be the domain of 'measure' (or be "
            "omitted); got a different polygon")
    check_distinct(yn, where)
    return factory(yn, dom, measure)(pn, where)


def assign(x, y, psi):
    r"""Return the index of the Laguerre cell of each point (the map :math:`T_\psi`).

    :math:`T_\psi(x_i) = \mathrm{argmin}_j \|x_i - y_j\|^2 - \psi_j`, the quadratic cost
    without a factor 1/2 (in any dimension ``d``).

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
        numpy for numpy inputs; a torch tensor (on the inputs' device) when any input is one.
        Computed by :func:`otgan.ctransform.c_transform` (its exact kd-tree fast path on the
        CPU); a point on a cell boundary gets one of the tied indices.

    Raises
    ------
    ValueError
        Bad shapes (``x`` and ``y`` of different dimensions, ``psi`` not ``(J,)``), non-finite
        values, or torch inputs on different devices.
    TypeError
        Complex, half-precision or non-numeric inputs.

    Examples
    --------
    >>> import numpy as np
    >>> assign(np.array([[0.1, 0.5], [0.9, 0.5]]), np.array([[0.25, 0.5], [0.75, 0.5]]),
    ...        np.zeros(2)).tolist()
    [0, 1]
    """
    where = "laguerre.assign"  # validated here, so that errors name this function
    arrays, _ = common_library(where, x=x, y=y, psi=psi)
    y = check_points(arrays["y"], "y", where)
    x = check_points(arrays["x"], "x", where, dim=y.shape[1])
    psi = check_vector(arrays["psi"], y.shape[0], "psi", where, match=f"'y' {tuple(y.shape)}")
    return c_transform(psi, y, x, cost="sqeuclidean")[1]
