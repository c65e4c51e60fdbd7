"""Matplotlib helpers shared by the demos: the lectures' colours, landscapes, cells, animations.

Plot functions take a matplotlib ``ax`` first and return it; they never compute any
optimal-transport quantity themselves (compute with :mod:`otgan.ctransform`,
:mod:`otgan.laguerre`, ... and pass arrays in). The visual grammar follows the lectures
(Leclaire, *GAN and WGAN training*, 2024):

- data points :data:`DATA_COLOR` (``"navy"``, "dark blue" in the slides);
- the 100 generated samples :data:`SAMPLE_COLOR` (``"deepskyblue"``) with alpha
  :data:`SAMPLE_ALPHA` (0.5, "light blue");
- discriminator / critic / c-transform landscapes in :data:`LANDSCAPE_CMAP` (``"Oranges"``) and
  Laguerre cell boundaries in :data:`CELL_COLOR` (``"darkorange"``);
- the two WGANs compared throughout, one colour each in every figure: :data:`METHOD_COLORS`
  (WGAN-WC, weight clipping, ``"firebrick"``; WGAN-GP, gradient penalty, ``"seagreen"``).

Grid convention
---------------
:func:`grid` returns the points of an ``n x n`` grid in **image order** (row ``r``, column
``c``; row 0 at the *top* of the picture, i.e. the largest ``y``), which is the order of
``values.reshape(n, n)`` that :func:`landscape` draws with ``imshow(origin="upper")`` and the
correct extent. The axes themselves keep the mathematical orientation (``y`` pointing up), so
that points drawn with :func:`data` / :func:`samples` land on their pixels. The course's
practicals draw the 256 x 256 discriminator with the image convention (``y`` pointing down);
pass ``y_down=True`` to :func:`landscape` (or call :func:`image_convention`) to flip the
*axis* and reproduce that look: the picture and the points flip together, nothing is
mis-registered.
"""

from __future__ import annotations

import io

import matplotlib.colors as mcolors
import numpy as np

from otgan._utils import to_numpy

__all__ = [
    "CELL_COLOR",
    "CURVE_COLORS",
    "DATA_COLOR",
    "LANDSCAPE_CMAP",
    "METHOD_COLORS",
    "SAMPLE_ALPHA",
    "SAMPLE_COLOR",
    "cells_from_labels",
    "curve",
    "data",
    "diagram",
    "figure_to_image",
    "grid",
    "image_convention",
    "image_grid",
    "landscape",
    "polygons",
    "samples",
    "save_gif",
    "vector_field",
]

#: Colour of the data points ``y_j`` ("dark blue" in the slides).
DATA_COLOR = "navy"
#: Colour of the generated samples ``g_theta(z_k)`` ("light blue" in the slides).
SAMPLE_COLOR = "deepskyblue"
#: Opacity of the generated samples.
SAMPLE_ALPHA = 0.5
#: Colormap of discriminator / critic / c-transform landscapes.
LANDSCAPE_CMAP = "Oranges"
#: Colour of Laguerre cell boundaries.
CELL_COLOR = "darkorange"
#: Colours of curves in line plots (first: the quantity of interest, then references).
CURVE_COLORS = ("navy", "darkorange", "deepskyblue", "firebrick", "seagreen", "purple")
#: One fixed colour per compared method, the same in every figure (curves, histograms).
METHOD_COLORS = {"WGAN-WC": "firebrick", "WGAN-GP": "seagreen", "exact": "navy"}


def _where(fn):
    return f"plot.{fn}"


def grid(n: int = 256, extent=(0.0, 1.0, 0.0, 1.0)) -> np.ndarray:
    """Points of an ``n x n`` pixel-centre grid in image order.

    Parameters
    ----------
    n : int, default 256
        Number of pixels per side (the course uses 256).
    extent : tuple of 4 floats, default (0, 1, 0, 1)
        ``(xmin, xmax, ymin, ymax)`` of the drawn window.

    Returns
    -------
    numpy.ndarray, shape (n * n, 2)
        Pixel centres; row ``r * n + c`` is pixel ``(r, c)`` with row 0 at the top
        (``y = ymax``), so ``f(grid(n)).reshape(n, n)`` is an image for :func:`landscape`.

    Examples
    --------
    >>> g = grid(2)
    >>> g.tolist()
    [[0.25, 0.75], [0.75, 0.75], [0.25, 0.25], [0.75, 0.25]]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{_where('grid')}: 'n' must be a positive int; got {n!r}")
    xmin, xmax, ymin, ymax = _extent(extent, "grid")
    xs = xmin + (np.arange(n) + 0.5) * (xmax - xmin) / n
    ys = ymax - (np.arange(n) + 0.5) * (ymax - ymin) / n
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def _extent(extent, fn):
    try:
        xmin, xmax, ymin, ymax = (float(v) for v in extent)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{_where(fn)}: 'extent' must be 4 numbers (xmin, xmax, ymin, ymax); got {extent!r}"
        ) from exc
    if not (xmax > xmin and ymax > ymin):
        raise ValueError(
            f"{_where(fn)}: 'extent' must satisfy xmin < xmax and ymin < ymax; got {extent!r}"
        )
    return xmin, xmax, ymin, ymax


def image_convention(ax):
    """Flip ``ax`` so that ``y`` points down, as the course's practicals draw images.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes; their y limits are swapped if ``y`` points up (idempotent).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    lo, hi = ax.get_ylim()
    if lo < hi:
        ax.set_ylim(hi, lo)
    return ax


def _square(a, name, fn):
    """Return ``a`` as an (n, n) image.

    2D arrays are returned as they are, a flat (n*n,) grid (as from :func:`grid`) is reshaped;
    anything else is a ValueError naming ``name``.
    """
    if a.ndim == 1:
        n = round(np.sqrt(a.size))
        if n * n == a.size:
            return a.reshape(n, n)
    elif a.ndim == 2:
        return a
    raise ValueError(f"{_where(fn)}: {name!r} must have shape (n, n) or (n*n,); got {a.shape}")


def landscape(
    ax,
    values,
    *,
    extent=(0.0, 1.0, 0.0, 1.0),
    cmap=LANDSCAPE_CMAP,
    vmin=None,
    vmax=None,
    colorbar: bool = False,
    label: str | None = None,
    contours: int = 0,
    y_down: bool = False,
):
    """Draw a scalar field sampled on :func:`grid` as a heatmap.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array_like, shape (n, n) or (n * n,)
        Field values in the image order of :func:`grid` (numpy or torch).
    extent : tuple of 4 floats
        The window passed to :func:`grid`.
    cmap : str, default "Oranges"
    vmin, vmax : float, optional
        Colour limits.
    colorbar : bool, default False
        Add a colorbar labelled ``label``.
    label : str, optional
        The colorbar's label (used only with ``colorbar=True``).
    contours : int, default 0
        Number of iso-lines drawn over the heatmap (0: none).
    y_down : bool, default False
        Flip the y axis afterwards (the course's image convention, see :func:`image_convention`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    v = _square(to_numpy(values, dtype=np.float64), "values", "landscape")
    xmin, xmax, ymin, ymax = _extent(extent, "landscape")
    im = ax.imshow(
        v,
        origin="upper",
        extent=(xmin, xmax, ymin, ymax),
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        aspect="auto" if (xmax - xmin) != (ymax - ymin) else "equal",
    )
    if contours:
        h, w = v.shape
        xs = xmin + (np.arange(w) + 0.5) * (xmax - xmin) / w
        ys = ymax - (np.arange(h) + 0.5) * (ymax - ymin) / h
        ax.contour(xs, ys, v, levels=contours, colors="k", linewidths=0.4, alpha=0.5)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if label:
            cb.set_label(label)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    if y_down:
        image_convention(ax)
    return ax


def _points(p, fn, name):
    p = to_numpy(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{_where(fn)}: {name!r} must have shape (n, 2); got {p.shape}")
    return p


def data(ax, y, *, size: float = 40, label: str | None = "data", **kwargs):
    """Scatter the data points ``y`` in :data:`DATA_COLOR` (dark blue).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    y : array_like, shape (J, 2)
        The points (numpy or torch).
    size : float, default 40
        Marker area.
    label : str or None, default "data"
        Legend label (``None``: none).
    **kwargs
        Passed to ``ax.scatter``, overriding the defaults (colour, size, white edges).

    Returns
    -------
    matplotlib.axes.Axes
    """
    y = _points(y, "data", "y")
    kw = {"c": DATA_COLOR, "s": size, "zorder": 4, "edgecolors": "white", "linewidths": 0.5}
    kw.update(kwargs)
    ax.scatter(y[:, 0], y[:, 1], label=label, **kw)
    return ax


def samples(ax, x, *, size: float = 18, label: str | None = "generated", **kwargs):
    """Scatter generated samples ``x`` in :data:`SAMPLE_COLOR` with alpha :data:`SAMPLE_ALPHA`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    x : array_like, shape (n, 2)
        The samples (numpy or torch).
    size : float, default 18
        Marker area.
    label : str or None, default "generated"
        Legend label (``None``: none).
    **kwargs
        Passed to ``ax.scatter``, overriding the defaults (colour, alpha, size).

    Returns
    -------
    matplotlib.axes.Axes
    """
    x = _points(x, "samples", "x")
    kw = {"c": SAMPLE_COLOR, "alpha": SAMPLE_ALPHA, "s": size, "zorder": 3, "linewidths": 0}
    kw.update(kwargs)
    ax.scatter(x[:, 0], x[:, 1], label=label, **kw)
    return ax


def cells_from_labels(
    ax, labels, *, extent=(0.0, 1.0, 0.0, 1.0), color=CELL_COLOR, fill: bool = False,
    linewidth: float = 1.2, alpha: float = 0.35,
):
    """Draw the boundaries of a partition given as a label image (any cost).

    A pixel belongs to a boundary when a 4-neighbour carries another label. Useful for the
    Laguerre cells of non-quadratic costs (hyperbolic boundaries) where no polygon exists:
    rasterise ``T_psi`` with :func:`otgan.ctransform.c_transform` on :func:`grid` and pass the
    argmin image here.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    labels : array_like of int, shape (n, n) or (n * n,)
        Cell index of each pixel, in the image order of :func:`grid`.
    extent : tuple of 4 floats
        ``(xmin, xmax, ymin, ymax)`` of the picture.
    color : str, default :data:`CELL_COLOR`
        Colour of the boundary pixels.
    fill : bool, default False
        Also shade the cells with alternating light oranges.
    linewidth : float, default 1.2
        Not used: the boundaries are drawn one pixel wide.
    alpha : float, default 0.35
        Opacity of the shading of ``fill``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    lab = _square(to_numpy(labels), "labels", "cells_from_labels")
    xmin, xmax, ymin, ymax = _extent(extent, "cells_from_labels")
    edge = np.zeros(lab.shape, dtype=bool)
    edge[:-1, :] |= lab[:-1, :] != lab[1:, :]
    edge[1:, :] |= lab[:-1, :] != lab[1:, :]
    edge[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    edge[:, 1:] |= lab[:, :-1] != lab[:, 1:]
    if fill:
        shades = mcolors.ListedColormap(["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b"])
        ax.imshow(
            np.mod(lab, 4), origin="upper", extent=(xmin, xmax, ymin, ymax), cmap=shades,
            vmin=0, vmax=3, interpolation="nearest", alpha=alpha,
        )
    rgba = np.zeros(lab.shape + (4,))
    rgba[edge] = mcolors.to_rgba(color)
    ax.imshow(rgba, origin="upper", extent=(xmin, xmax, ymin, ymax), interpolation="nearest",
              zorder=2)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    return ax


def _cells_of(cells, fn):
    """Return the cell geometries of ``cells``.

    ``cells`` is a diagram (anything with a ``polygons`` attribute, e.g.
    :class:`otgan.laguerre.LaguerreDiagram` or a W1 diagram), an object holding one in a
    ``diagram`` attribute (a result), or a sequence of cells, returned as it is. Duck-typed:
    this module sits below :mod:`otgan.laguerre` and imports none of it.
    """
    if hasattr(cells, "polygons"):
        return cells.polygons
    inner = getattr(cells, "diagram", None)
    if inner is not None and hasattr(inner, "polygons"):
        return inner.polygons
    if isinstance(cells, (str, bytes)) or not hasattr(cells, "__iter__"):
        raise TypeError(
            f"{_where(fn)}: 'cells' must be a diagram (an object with a 'polygons' attribute, "
            f"such as otgan.laguerre.diagram(...)) or a sequence of polygons; got "
            f"{type(cells).__name__}")
    return cells


def _autoscale(ax):
    """Fit the view to what is drawn, with matplotlib's usual margins, as ``scatter`` does.

    Limits set by hand are kept (matplotlib's autoscaling is off there).
    """
    ax.autoscale_view()


def polygons(ax, cells, *, color=CELL_COLOR, linewidth: float = 1.5, fill=None, vmin=None,
             vmax=None, **kwargs):
    """Draw polygonal cells (exact Laguerre / power cells, or the W1 cells' polygonal drawing).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    cells : diagram or sequence
        A diagram (an object with a ``polygons`` attribute: what
        :func:`otgan.laguerre.diagram` returns, for either cost), an object holding one as
        ``.diagram``, or one entry per cell: a shapely ``Polygon`` / ``MultiPolygon``, an
        ``(k, 2)`` vertex array, or ``None`` / an empty geometry for an empty cell (skipped).
    color : str, default :data:`CELL_COLOR`
        Edge colour.
    linewidth : float, default 1.5
        Edge width.
    fill : array_like, optional
        One scalar per cell, drawn with the ``Oranges`` colormap inside the cells.
    vmin, vmax : float, optional
        The values of ``fill`` at the light and the dark end of the shades (default: its
        minimum and maximum); pass the same ones to compare several diagrams.
    **kwargs
        Passed to each ``matplotlib.patches.Polygon`` (``alpha``, ``linestyle``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, its limits widened to show every cell with matplotlib's usual margins (limits
        set by hand, e.g. with ``ax.set_xlim``, are kept).

    Examples
    --------
    >>> import matplotlib.pyplot as plt, numpy as np
    >>> from otgan import laguerre
    >>> D = laguerre.diagram(np.array([[0.25, 0.5], [0.75, 0.5]]), np.zeros(2))
    >>> fig, ax = plt.subplots()
    >>> len(polygons(ax, D).patches), [round(float(v), 2) for v in ax.get_xlim()]
    (2, [-0.05, 1.05])
    >>> plt.close(fig)
    """
    from matplotlib.patches import Polygon as MplPolygon

    cells = _cells_of(cells, "polygons")
    fills = None
    if fill is not None:
        f = to_numpy(fill, dtype=np.float64)
        cmap = __import__("matplotlib").colormaps[LANDSCAPE_CMAP]
        lo = float(np.min(f)) if vmin is None else float(vmin)
        hi = float(np.max(f)) if vmax is None else float(vmax)
        fills = cmap(0.15 + 0.6 * np.clip((f - lo) / (hi - lo if hi > lo else 1.0), 0, 1))
    for k, cell in enumerate(cells):
        for ring in _rings(cell):
            face = fills[k] if fills is not None else "none"
            ax.add_patch(
                MplPolygon(ring, closed=True, facecolor=face, edgecolor=color,
                           linewidth=linewidth, zorder=2, **kwargs)
            )
    _autoscale(ax)
    return ax


def diagram(ax, D, *, sites: bool = True, fill=None, color=CELL_COLOR, linewidth: float = 1.5,
            site_size: float = 30, **style):
    """Draw a cell diagram: its cells (orange boundaries) and, by default, its sites (navy).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    D : diagram
        What :func:`otgan.laguerre.diagram` returns (Laguerre / power cells of the quadratic
        cost, or the Apollonius cells of ``cost="euclidean"``), or any object with
        ``polygons`` and ``y`` (sites) attributes, or one holding such a diagram as
        ``.diagram``.
    sites : bool, default True
        Also scatter the sites ``D.y`` in :data:`DATA_COLOR`.
    fill : array_like or str, optional
        One scalar per cell shaded with ``Oranges`` (for example ``D.masses``), or the name
        of such an attribute of ``D`` (``"masses"``, ``"areas"``, ``"psi"``).
    color, linewidth
        Cell boundaries (see :func:`polygons`).
    site_size : float, default 30
        Marker area of the sites.
    **style
        Passed to :func:`polygons` (and on to each patch).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, autoscaled to the cells.

    Examples
    --------
    >>> import matplotlib.pyplot as plt, numpy as np
    >>> from otgan import laguerre
    >>> D = laguerre.diagram(np.array([[0.2, 0.3], [0.7, 0.6], [0.4, 0.9]]), np.zeros(3))
    >>> fig, ax = plt.subplots()
    >>> ax = diagram(ax, D, fill="areas")
    >>> len(ax.patches), len(ax.collections)
    (3, 1)
    >>> plt.close(fig)
    """
    if not hasattr(D, "polygons") and hasattr(getattr(D, "diagram", None), "polygons"):
        D = D.diagram
    if not hasattr(D, "polygons"):
        raise TypeError(f"{_where('diagram')}: 'D' must be a diagram (an object with 'polygons' "
                        f"and 'y' attributes, such as otgan.laguerre.diagram(...)); got "
                        f"{type(D).__name__}")
    if isinstance(fill, str):
        if not hasattr(D, fill):
            raise ValueError(f"{_where('diagram')}: 'fill' names no attribute of the diagram; "
                             f"got {fill!r} (try 'masses', 'areas' or 'psi')")
        fill = getattr(D, fill)
    polygons(ax, D, color=color, linewidth=linewidth, fill=fill, **style)
    if sites:
        y = getattr(D, "y", None)
        if y is None:
            raise TypeError(f"{_where('diagram')}: the diagram has no sites 'y' to draw; pass "
                            "sites=False")
        data(ax, y, size=site_size, label=None)
    _autoscale(ax)
    return ax


def _rings(cell):
    if cell is None:
        return []
    if hasattr(cell, "geoms"):  # shapely multi-part geometry
        return [r for g in cell.geoms for r in _rings(g)]
    if hasattr(cell, "exterior"):
        if cell.is_empty:
            return []
        return [np.asarray(cell.exterior.coords)]
    arr = to_numpy(cell, dtype=np.float64)
    if arr.size == 0:
        return []
    return [arr.reshape(-1, 2)]


def vector_field(ax, xx, yy, u, v, *, color="gray", normalize: bool = True, **kwargs):
    """Quiver plot of a 2D vector field sampled on a meshgrid.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    xx, yy : array_like, shape (h, w)
        Meshgrid coordinates.
    u, v : array_like, shape (h, w)
        Field components.
    color : str, default "gray"
        Arrow colour.
    normalize : bool, default True
        Draw unit arrows (directions only), as in Mescheder et al. (2018)'s Dirac-GAN figure;
        zero vectors stay zero.
    **kwargs
        Passed to ``ax.quiver``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    u = to_numpy(u, dtype=np.float64)
    v = to_numpy(v, dtype=np.float64)
    if normalize:
        norm = np.hypot(u, v)
        norm[norm == 0] = 1.0
        u, v = u / norm, v / norm
    ax.quiver(to_numpy(xx), to_numpy(yy), u, v, color=color, **kwargs)
    return ax


def image_grid(ax, images, *, ncols: int | None = None, cmap="gray_r", pad: int = 1,
               vmin=0.0, vmax=1.0):
    """Tile grayscale images (digits) into one picture.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on (their ticks are removed).
    images : array_like, shape (k, h, w) or (k, h * w) with square images
        The images (numpy or torch).
    ncols : int, optional
        Images per row (default ``ceil(sqrt(k))``).
    cmap : str, default "gray_r"
        Colormap (``"gray_r"``: 0 white, 1 black).
    pad : int, default 1
        Pixels between the images, filled with ``vmin``.
    vmin, vmax : float, default 0 and 1
        Colour limits.

    Returns
    -------
    matplotlib.axes.Axes
    """
    im = to_numpy(images, dtype=np.float64)
    if im.ndim == 2:
        side = round(np.sqrt(im.shape[1]))
        if side * side != im.shape[1]:
            raise ValueError(
                f"{_where('image_grid')}: 'images' of shape (k, p) needs p a square; "
                f"got {im.shape}"
            )
        im = im.reshape(-1, side, side)
    if im.ndim != 3:
        raise ValueError(
            f"{_where('image_grid')}: 'images' must have shape (k, h, w); got {im.shape}"
        )
    k, h, w = im.shape
    ncols = int(ncols or np.ceil(np.sqrt(k)))
    nrows = int(np.ceil(k / ncols))
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), vmin, dtype=float)
    for i in range(k):
        r, c = divmod(i, ncols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h,
               pad + c * (w + pad):pad + c * (w + pad) + w] = im[i]
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def curve(ax, x, y, *, index: int = 0, label: str | None = None, **kwargs):
    """Draw a line plot in the ``index``-th colour of :data:`CURVE_COLORS`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to draw on.
    x, y : array_like, shape (n,)
        Abscissae and values (numpy or torch).
    index : int, default 0
        Colour index, taken modulo ``len(CURVE_COLORS)``.
    label : str, optional
        Legend label.
    **kwargs
        Passed to ``ax.plot``, overriding the defaults (colour, ``lw=2``).

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    kw = {"color": CURVE_COLORS[index % len(CURVE_COLORS)], "lw": 2}
    kw.update(kwargs)
    ax.plot(to_numpy(x), to_numpy(y), label=label, **kw)
    return ax


def figure_to_image(fig, *, dpi: int | None = None):
    """Render a matplotlib figure into a ``PIL.Image`` (RGB).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, rendered as a PNG in memory.
    dpi : int, optional
        Resolution (default: the figure's own).

    Returns
    -------
    PIL.Image.Image
        The RGB picture.
    """
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    img = Image.open(buf)
    img.load()
    return img.convert("RGB")


def save_gif(frames, path, *, duration_ms: int = 500, loop: int = 0):
    """Write a sequence of ``PIL`` images (or matplotlib figures) as an animated GIF (Pillow).

    Parameters
    ----------
    frames : sequence of PIL.Image.Image or matplotlib.figure.Figure
        The frames, at least one; figures are rendered by :func:`figure_to_image`, and frames
        of another size than the first are resized to it.
    path : str or os.PathLike
        The file to write.
    duration_ms : int, default 500
        Display time of each frame.
    loop : int, default 0
        Number of loops (0: forever), as Pillow's GIF writer takes it.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        When ``frames`` is empty.
    """
    import pathlib

    frames = [figure_to_image(f) if hasattr(f, "savefig") else f for f in frames]
    if not frames:
        raise ValueError(f"{_where('save_gif')}: 'frames' must hold at least one frame; got 0")
    path = pathlib.Path(path)
    size = frames[0].size
    frames = [f.convert("RGB").resize(size) if f.size != size else f.convert("RGB")
              for f in frames]
    pal = [f.quantize(colors=255, method=2) for f in frames]
    pal[0].save(path, save_all=True, append_images=pal[1:], duration=duration_ms, loop=loop,
                optimize=False)
    return path
