"""otgan.plot: grid order, drawing helpers, colours, GIF writing and input validation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from otgan import plot


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_lecture_colours():
    assert plot.DATA_COLOR == "navy"
    assert plot.SAMPLE_COLOR == "deepskyblue"
    assert plot.SAMPLE_ALPHA == 0.5
    assert plot.LANDSCAPE_CMAP == "Oranges"
    # the two WGANs keep one colour each, distinct from the data, samples and cells
    wc, gp = plot.METHOD_COLORS["WGAN-WC"], plot.METHOD_COLORS["WGAN-GP"]
    assert len({wc, gp, plot.DATA_COLOR, plot.SAMPLE_COLOR, plot.CELL_COLOR}) == 5


def test_grid_is_pixel_centres_in_image_order():
    g = plot.grid(4, extent=(0, 2, -1, 1))
    assert g.shape == (16, 2)
    # row 0 is the top (largest y), columns left to right; centres of 0.5 x 0.5 pixels
    np.testing.assert_allclose(g[:4], [[0.25, 0.75], [0.75, 0.75], [1.25, 0.75], [1.75, 0.75]])
    np.testing.assert_allclose(g[-1], [1.75, -0.75])
    np.testing.assert_allclose(g[:, 1].reshape(4, 4)[:, 0], [0.75, 0.25, -0.25, -0.75])


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_grid_rejects_bad_n(bad):
    with pytest.raises(ValueError, match=r"plot.grid: 'n' must be a positive int"):
        plot.grid(bad)


def test_grid_rejects_bad_extent():
    with pytest.raises(ValueError, match=r"plot.grid: 'extent' must satisfy xmin < xmax"):
        plot.grid(4, extent=(1, 0, 0, 1))
    with pytest.raises(ValueError, match=r"'extent' must be 4 numbers"):
        plot.grid(4, extent=(0, 1))


def test_landscape_registers_values_with_points(ax):
    # f(x) = x1 + 10 x2 on the grid: the drawn image must show row 0 at the top (largest y)
    n = 8
    g = plot.grid(n)
    vals = g[:, 0] + 10 * g[:, 1]
    out = plot.landscape(ax, torch.as_tensor(vals))
    assert out is ax
    im = ax.images[0]
    np.testing.assert_allclose(np.asarray(im.get_array()), vals.reshape(n, n))
    assert im.origin == "upper"
    np.testing.assert_allclose(im.get_extent(), (0, 1, 0, 1))
    # pixel (0, 0) of an origin="upper" image with this extent is the top-left corner
    assert vals.reshape(n, n)[0, 0] == pytest.approx(g[0, 0] + 10 * g[0, 1])
    assert g[0, 1] > 0.9 and g[0, 0] < 0.1
    assert ax.get_ylim() == (0.0, 1.0)


def test_landscape_y_down_flips_the_axis(ax):
    plot.landscape(ax, np.zeros((4, 4)), y_down=True)
    lo, hi = ax.get_ylim()
    assert lo > hi


def test_landscape_rejects_non_square(ax):
    with pytest.raises(ValueError, match=r"plot.landscape: 'values' must have shape \(n, n\)"):
        plot.landscape(ax, np.zeros(10))


def test_data_and_samples_colours(ax):
    plot.data(ax, np.array([[0.1, 0.2], [0.3, 0.4]]))
    plot.samples(ax, torch.rand(5, 2))
    d, s = ax.collections
    np.testing.assert_allclose(d.get_facecolor()[0][:3], mcolors.to_rgb("navy"))
    np.testing.assert_allclose(s.get_facecolor()[0][:3], mcolors.to_rgb("deepskyblue"))
    assert s.get_alpha() == 0.5
    np.testing.assert_allclose(d.get_offsets(), [[0.1, 0.2], [0.3, 0.4]])


def test_points_must_be_2d(ax):
    with pytest.raises(ValueError, match=r"plot.data: 'y' must have shape \(n, 2\)"):
        plot.data(ax, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"plot.samples: 'x' must have shape \(n, 2\)"):
        plot.samples(ax, np.zeros(3))


def test_cells_from_labels_marks_exactly_the_boundary(ax):
    # two cells split between columns 1 and 2 of a 4 x 4 image: boundary = columns 1 and 2
    lab = np.zeros((4, 4), dtype=int)
    lab[:, 2:] = 1
    plot.cells_from_labels(ax, lab)
    rgba = np.asarray(ax.images[-1].get_array())
    alpha = rgba[..., 3] > 0
    expected = np.zeros((4, 4), dtype=bool)
    expected[:, 1:3] = True
    np.testing.assert_array_equal(alpha, expected)
    np.testing.assert_allclose(rgba[0, 1, :3], mcolors.to_rgb(plot.CELL_COLOR))


def test_polygons_draws_one_patch_per_non_empty_cell(ax):
    shapely = pytest.importorskip("shapely")
    cells = [shapely.box(0, 0, 0.5, 1), np.array([[0.5, 0], [1, 0], [1, 1], [0.5, 1]]), None,
             shapely.Polygon()]
    plot.polygons(ax, cells, fill=[1.0, 2.0, 3.0, 4.0])
    assert len(ax.patches) == 2
    np.testing.assert_allclose(ax.patches[0].get_xy()[:4].min(0), [0, 0])


def test_image_grid_tiles(ax):
    imgs = np.random.default_rng(0).random((5, 8 * 8))
    plot.image_grid(ax, imgs, ncols=3, pad=1)
    canvas = np.asarray(ax.images[0].get_array())
    assert canvas.shape == (2 * 9 + 1, 3 * 9 + 1)
    np.testing.assert_allclose(canvas[1:9, 1:9], imgs[0].reshape(8, 8))
    np.testing.assert_allclose(canvas[10:18, 10:18], imgs[4].reshape(8, 8))
    with pytest.raises(ValueError, match=r"plot.image_grid: 'images' of shape \(k, p\)"):
        plot.image_grid(ax, np.zeros((2, 10)))


def test_vector_field_normalises(ax):
    xx, yy = np.meshgrid([0.0, 1.0], [0.0, 1.0])
    plot.vector_field(ax, xx, yy, 3 * np.ones((2, 2)), 4 * np.ones((2, 2)))
    q = ax.collections[0]
    np.testing.assert_allclose(np.hypot(q.U, q.V), 1.0)


def test_save_gif_writes_all_frames(tmp_path):
    figs = []
    for k in range(3):
        f, a = plt.subplots(figsize=(2, 2))
        a.plot([0, 1], [0, k])
        figs.append(f)
    path = plot.save_gif(figs, tmp_path / "anim.gif", duration_ms=100)
    for f in figs:
        plt.close(f)
    img = Image.open(path)
    assert img.format == "GIF" and img.n_frames == 3
    with pytest.raises(ValueError, match=r"plot.save_gif: 'frames' must hold at least one"):
        plot.save_gif([], tmp_path / "empty.gif")


def test_figure_to_image(ax):
    ax.plot([0, 1], [0, 1])
    img = plot.figure_to_image(ax.figure)
    assert img.mode == "RGB" and img.size[0] > 10


def _diagram():
    from otgan import laguerre

    y = np.array([[0.2, 0.3], [0.7, 0.6], [0.4, 0.9], [0.8, 0.1]])
    return laguerre.diagram(y, np.array([0.0, 0.02, -0.01, 0.0]))


def test_polygons_takes_the_diagram_a_user_holds_and_autoscales(ax):
    D = _diagram()
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)  # matplotlib's blank
    plot.polygons(ax, D)
    assert len(ax.patches) == 4
    # the same patches as from the sequence of cells
    fig2, ax2 = plt.subplots()
    plot.polygons(ax2, list(D.polygons))
    for a, b in zip(ax.patches, ax2.patches):
        np.testing.assert_allclose(a.get_xy(), b.get_xy())
    plt.close(fig2)
    # autoscaled: the view holds every vertex of every cell (the unit square), with margins
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < 0 and x1 > 1 and y0 < 0 and y1 > 1 and x1 - x0 < 1.2


def test_polygons_far_from_the_default_view_are_in_view(ax):
    shapely = pytest.importorskip("shapely")
    plot.polygons(ax, [shapely.box(10, 20, 12, 21)])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 <= 10 and x1 >= 12 and y0 <= 20 and y1 >= 21 and x1 - x0 < 3


def test_polygons_keeps_limits_set_by_hand(ax):
    ax.set_xlim(0.2, 0.4)
    plot.polygons(ax, _diagram())
    assert ax.get_xlim() == (0.2, 0.4)


def test_polygons_accepts_an_object_holding_a_diagram(ax):
    class Result:
        diagram = _diagram()

    plot.polygons(ax, Result())
    assert len(ax.patches) == 4


def test_polygons_rejects_what_is_not_cells(ax):
    with pytest.raises(TypeError, match=r"plot.polygons: 'cells' must be a diagram"):
        plot.polygons(ax, 3.0)


def test_diagram_draws_cells_and_sites(ax):
    D = _diagram()
    out = plot.diagram(ax, D)
    assert out is ax
    assert len(ax.patches) == 4
    (sites,) = ax.collections
    np.testing.assert_allclose(sites.get_offsets(), D.y)
    np.testing.assert_allclose(sites.get_facecolor()[0][:3], mcolors.to_rgb(plot.DATA_COLOR))
    np.testing.assert_allclose(ax.patches[0].get_edgecolor()[:3],
                               mcolors.to_rgb(plot.CELL_COLOR))
    assert ax.get_xlim()[0] < 0 < 1 < ax.get_xlim()[1]


def test_diagram_options(ax):
    D = _diagram()
    plot.diagram(ax, D, sites=False, fill="masses", color="k", linewidth=0.5, linestyle="--")
    assert not ax.collections and len(ax.patches) == 4
    p = ax.patches[0]
    assert p.get_linewidth() == 0.5 and p.get_linestyle() == "--"
    faces = {tuple(q.get_facecolor()) for q in ax.patches}
    assert len(faces) > 1  # shaded by mass
    # a fixed shade range: equal values get one shade, not a stretched noise
    fig2, ax2 = plt.subplots()
    plot.diagram(ax2, D, fill=np.full(4, 0.25), vmin=0.0, vmax=0.5)
    assert len({tuple(q.get_facecolor()) for q in ax2.patches}) == 1
    plt.close(fig2)
    with pytest.raises(ValueError, match=r"plot.diagram: 'fill' names no attribute"):
        plot.diagram(ax, D, fill="nope")
    with pytest.raises(TypeError, match=r"plot.diagram: 'D' must be a diagram"):
        plot.diagram(ax, np.zeros((3, 2)))


def test_diagram_draws_the_w1_cells(ax):
    from otgan import laguerre

    y = np.array([[0.2, 0.3], [0.7, 0.6], [0.4, 0.9]])
    D = laguerre.diagram(y, np.zeros(3), cost="euclidean")
    plot.diagram(ax, D)
    assert len(ax.patches) == 3
    # the drawn cells tile the square: their shoelace areas add up to 1
    total = 0.0
    for p in ax.patches:
        xy = p.get_xy()
        total += 0.5 * abs(np.dot(xy[:-1, 0], xy[1:, 1]) - np.dot(xy[1:, 0], xy[:-1, 1]))
    assert total == pytest.approx(1.0, abs=1e-3)
