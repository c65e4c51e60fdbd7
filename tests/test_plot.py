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
