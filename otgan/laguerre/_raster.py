r"""Laguerre cells of any cost rasterised on a pixel grid (:func:`raster`).

For costs without exact polygonal cells, and for pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .._utils import to_numpy
from ..ctransform import c_transform
from ..measures import DensityMeasure, Uniform, as_domain
from ._sites import check_sites

__all__ = ["LaguerreRaster", "raster"]


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
    r"""Rasterise the Laguerre cells of any cost on a pixel grid of the domain's bounding box.

    The cells are
    :math:`L_j = \{x \in D : c(x, y_j) - \psi_j \le c(x, y_k) - \psi_k \ \forall k\}`.
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
        The labels, masses and mass errors of the cells (numpy, whatever the inputs' library).

    Raises
    ------
    ValueError
        Bad shapes or non-finite ``y`` / ``psi``, an invalid domain, or a ``resolution`` that
        is not a positive int or ``(ny, nx)``.
    TypeError
        A ``measure`` without a density, or complex / half-precision inputs.

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
    where = "laguerre.raster"
    yn, pn = check_sites(y, psi, where)
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
