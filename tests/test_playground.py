"""The live playground (demos/playground.py), driven headless: the widget callbacks are called
under Agg and the model state and the drawn artists are checked against independent
computations (POT, a brute-force argmin, the trainers' parameters); one run opens a real Tk
window under Xvfb and takes a screenshot (skipped without Xvfb or tkinter)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demos.playground import LOSSES, TOYS, Playground, Session  # noqa: E402


@pytest.fixture
def pg(tmp_path):
    p = Playground(Session("6 points", "SD-WGAN W2", seed=0), out=tmp_path)
    yield p
    plt.close(p.fig)


def _params(module):
    return torch.cat([q.detach().flatten().clone() for q in module.parameters()])


class _Event:
    def __init__(self, ax, x, y):
        self.inaxes, self.xdata, self.ydata = ax, x, y


def _w2(x, y, metric="sqeuclidean"):
    import ot

    return float(ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)),
                         ot.dist(np.asarray(x), np.asarray(y), metric=metric)))


def test_steps_move_the_right_player(pg):
    s = pg.s
    g0, psi0 = _params(s.generator), s.psi.copy()
    pg.on_step_critic()
    assert not np.allclose(s.psi, psi0)  # k ASGD steps on psi
    torch.testing.assert_close(_params(s.generator), g0, rtol=0, atol=0)  # generator frozen
    psi1 = s.psi.copy()
    pg.on_step_generator()
    assert not torch.equal(_params(s.generator), g0)
    np.testing.assert_array_equal(s.psi, psi1)  # psi frozen
    assert s.iteration == 1 and len(s.curve) == 1
    pg.on_step_both()
    assert s.iteration == 2
    # the two trainers share the networks and psi
    assert s.critic_trainer.generator is s.generator_trainer.generator is s.generator
    np.testing.assert_allclose(s.generator_trainer.psi.numpy(), s.psi, rtol=1e-6)


def test_adversarial_steps_train_the_discriminator_only(pg):
    pg.on_loss("WGAN-GP")
    s = pg.s
    assert s.discriminator is not None and s.critic_trainer.discriminator is s.discriminator
    d0, g0 = _params(s.discriminator), _params(s.generator)
    pg.on_step_critic()
    assert not torch.equal(_params(s.discriminator), d0)
    torch.testing.assert_close(_params(s.generator), g0, rtol=0, atol=0)
    d1 = _params(s.discriminator)
    pg.on_step_generator()
    torch.testing.assert_close(_params(s.discriminator), d1, rtol=0, atol=0)
    assert not torch.equal(_params(s.generator), g0)
    assert pg.cells_mode() == "none" and len(pg.cell_lines.get_paths()) == 0
    assert "critic landscape" in pg.ax.get_title()


def test_drawn_artists_are_the_session_state(pg):
    s = pg.s
    pg.on_step_both()
    x = s.samples()
    np.testing.assert_allclose(pg.sample_art.get_offsets(), x)
    np.testing.assert_allclose(pg.data_art.get_offsets(), s.data)
    # one exact Laguerre cell per data point, tiling the window
    paths = pg.cell_lines.get_paths()
    assert len(paths) == len(s.data) == 6
    area = sum(0.5 * abs(np.dot(v[:-1, 0], v[1:, 1]) - np.dot(v[1:, 0], v[:-1, 1]))
               for v in (p.vertices for p in paths))
    assert area == pytest.approx(1.0, abs=1e-9)
    # the arrows point where the generator's loss mean psi^c(x) decreases: -grad psi^c(x) =
    # 2 (T_psi(x) - x), towards the sample's own site (brute-force argmin)
    scores = ((x[:, None, :] - s.data[None]) ** 2).sum(-1) - s.psi[None]
    target = s.data[scores.argmin(1)]
    u = np.column_stack([pg.quiver.U, pg.quiver.V])
    expected = target - x
    cos = (u * expected).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(expected, axis=1))
    assert np.all(cos > 0.999)
    # the landscape is psi^c on the grid (image order)
    from otgan import plot

    g = plot.grid(pg.GRID, s.extent)
    sc = ((g[:, None, :] - s.data[None]) ** 2).sum(-1) - s.psi[None]
    np.testing.assert_allclose(pg.landscape_values.ravel(), sc.min(1), atol=1e-5)


def test_readouts_agree_with_independent_computations(pg):
    s = pg.s
    for _ in range(3):
        pg.on_step_both()
    r = pg.readout
    x = s.samples()
    assert r["w_name"] == "W2^2"
    assert r["w"] == pytest.approx(_w2(x, s.data), rel=1e-9)
    # the semi-dual on the samples: mean psi^c(x) + nu . psi, by brute force
    sc = ((x[:, None, :] - s.data[None]) ** 2).sum(-1) - s.psi[None]
    assert r["objective"] == pytest.approx(sc.min(1).mean() + s.psi.mean(), rel=1e-9)
    assert r["objective"] <= r["w"] + 1e-12  # weak duality
    assert 0 <= r["mass_error"] < 6
    pg.on_loss("SD-WGAN W1")
    assert pg.readout["w_name"] == "W1"
    assert pg.readout["w"] == pytest.approx(_w2(s.samples(), s.data, "euclidean"), rel=1e-9)


def test_w1_cells_exact_when_paused_and_rasterised_while_playing(pg):
    pg.on_loss("SD-WGAN W1")
    assert pg.cells_mode() == "exact"
    assert len(pg.cell_lines.get_paths()) >= 6  # Apollonius cells (polygonal drawing)
    pg.on_play()
    assert pg.playing and pg.cells_mode() == "raster"
    pg.on_timer()
    assert len(pg.cell_lines.get_paths()) == 0
    edges = np.asarray(pg.cell_image.get_array())[..., 3] > 0
    assert 0 < edges.mean() < 0.3 and pg.cell_image.get_visible()
    pg.on_play()
    assert not pg.playing and len(pg.cell_lines.get_paths()) >= 6


def test_dragging_a_data_point_moves_it_and_redraws_the_cells(pg):
    s = pg.s
    j = 2
    before = [p.vertices.copy() for p in pg.cell_lines.get_paths()]
    y0 = s.data[j].copy()
    pg.on_press(_Event(pg.ax, *(y0 + 0.005)))
    assert pg.selected == j and pg._drag == j
    pg.on_motion(_Event(pg.ax, 0.15, 0.15))
    pg.on_release(_Event(pg.ax, 0.15, 0.15))
    np.testing.assert_allclose(s.data[j], [0.15, 0.15])
    np.testing.assert_allclose(s.critic_trainer.data.numpy()[j], [0.15, 0.15], rtol=1e-6)
    np.testing.assert_allclose(pg.data_art.get_offsets()[j], [0.15, 0.15])
    after = [p.vertices for p in pg.cell_lines.get_paths()]
    assert any(a.shape != b.shape or not np.allclose(a, b) for a, b in zip(before, after))
    # the cell of the moved point contains its new position
    from matplotlib.path import Path

    assert any(Path(v).contains_point((0.15, 0.15)) for v in after)
    # a press far from every data point selects nothing
    pg.on_press(_Event(pg.ax, 0.02, 0.98))
    assert pg._drag is None


def test_editing_psi_j_grows_its_cell(pg):
    s = pg.s
    j = 0
    area0 = s.cells().areas[j]
    pg.selected = j
    pg.w_psi.set_val(0.05)  # the slider's callback
    assert s.psi[j] == pytest.approx(0.05)
    assert s.cells().areas[j] > area0
    np.testing.assert_allclose(s.critic_trainer.psi.numpy()[j], 0.05, rtol=1e-6)


def test_sliders_rebuild_the_trainers(pg):
    s = pg.s
    g = s.generator
    pg.w_lr_g.set_val(-2.0)
    assert s.generator_lr == pytest.approx(1e-2)
    pg.w_lr_d.set_val(-1.5)
    assert s.critic_lr == pytest.approx(10 ** -1.5)
    pg.w_k.set_val(7)
    assert s.n_critic == 7 and s.critic_trainer.n_inner == 7
    assert s.generator is g  # same networks
    pg.on_loss("GAN")
    pg.w_lr_d.set_val(-3.0)
    assert pg.s.critic_trainer.lr_d == pytest.approx(1e-3)


@pytest.mark.parametrize("toy", list(TOYS))
def test_every_toy_and_loss_steps(toy):
    s = Session(toy, "GAN", seed=1)
    for loss in LOSSES:
        s.configure(loss=loss)
        s.step_both()
        r = s.readouts()
        assert np.isfinite(r["w"]) and np.isfinite(r["objective"]) and s.iteration == 1, loss
        assert s.arrows().shape == (s.n_samples, 2)
        assert s.landscape(16).shape == (16, 16)
        if s.is_sd and (s.metric == "sqeuclidean" or len(s.data) <= 16):
            assert len(s.cells().polygons) == len(s.data)
        elif s.is_sd:  # the W1 raster: the exact argmin of ||x - y_j|| - psi_j on the grid
            from otgan import plot

            g = plot.grid(32, s.extent)
            sc = np.linalg.norm(g[:, None, :] - s.data[None], axis=-1) - s.psi[None]
            lab = s.labels(32).ravel()
            np.testing.assert_allclose(sc[np.arange(len(g)), lab], sc.min(1), atol=1e-9)
    assert len(s.data) == {"6 points": 6, "8 Gaussians": 64, "Swiss roll": 100}[toy]
    x0, x1, y0, y1 = s.extent
    assert np.all((s.data > [x0, y0]) & (s.data < [x1, y1]))


def test_reset_and_toy_change(pg):
    pg.on_step_both()
    pg.on_toy("8 Gaussians")
    assert pg.s.toy == "8 Gaussians" and pg.s.iteration == 0 and len(pg.s.data) == 64
    assert pg.ax.get_xlim() == (-2.6, 2.6)
    pg.on_step_both()
    pg.on_reset()
    assert pg.s.iteration == 0 and not pg.s.curve and np.all(pg.s.psi == 0)


def test_session_saved_as_gif(pg, tmp_path):
    for _ in range(3):
        pg.on_step_both()
    pg.on_play()
    for _ in range(3):
        pg.on_timer()
    pg.on_play()
    path = pg.on_save_gif()
    assert path == tmp_path / "playground.gif"
    img = Image.open(path)
    assert img.format == "GIF" and img.n_frames >= 7
    w, h = img.size
    assert abs(w - pg.fig.bbox.width / 2) <= 1 and abs(h - pg.fig.bbox.height / 2) <= 1


def test_play_blits_without_full_redraws(pg):
    pg.on_play()
    pg.on_timer()
    draws = []
    cid = pg.fig.canvas.mpl_connect("draw_event", lambda e: draws.append(1))
    for _ in range(5):
        pg.on_timer()
    pg.fig.canvas.mpl_disconnect(cid)
    pg.on_play()
    assert len(draws) <= 1  # at most one full draw (a new decade on the W axis)


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="'toy' must be one of"):
        Session("moons")
    with pytest.raises(ValueError, match="'loss' must be one of"):
        Session("6 points", "LSGAN")


XVFB = shutil.which("Xvfb")
TK = importlib.util.find_spec("tkinter") is not None


@pytest.mark.skipif(XVFB is None or not TK,
                    reason="no Xvfb or no tkinter (apt-get install xvfb; python with Tk)")
def test_screenshot_of_a_real_window_under_xvfb(tmp_path):
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen([XVFB, display, "-screen", "0", "1280x800x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        shot = tmp_path / "playground.png"
        env = dict(os.environ, DISPLAY=display, MPLBACKEND="TkAgg")
        res = subprocess.run([sys.executable, "-m", "demos.playground", "--screenshot",
                              str(shot), "--frames", "5", "--out", str(tmp_path)],
                             cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "TkAgg" in res.stdout
        img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
        assert img.shape[:2] == (800, 1280)
        # the window shows the orange landscape and the navy data, not a blank screen
        orange = (img[..., 0] > 200) & (img[..., 1] > 100) & (img[..., 1] < 200) & (
            img[..., 2] < 120)
        navy = (img[..., 0] < 40) & (img[..., 1] < 40) & (img[..., 2] > 90)
        assert orange.mean() > 0.02 and navy.sum() > 50, (orange.mean(), navy.sum())
    finally:
        server.terminate()
        server.wait(timeout=10)
