"""A live playground: train a GAN, a WGAN or the semi-discrete WGAN on a 2D toy, step by step.

``python -m demos.playground`` opens a matplotlib window (any interactive backend; in Jupyter,
``%matplotlib widget`` with ``ipympl``, then ``Playground().fig``). No server is involved.

- **Toys** of the lectures (:mod:`otgan.datasets`): the 6 points, 8 Gaussians, the Swiss roll.
- **Losses**: GAN, NS-GAN, WGAN-WC (weight clipping), WGAN-GP, SD-WGAN for W2 (quadratic cost)
  and for W1 (Euclidean cost).
- **Buttons**: step the critic (``k`` steps: the critic-steps slider; for SD-WGAN ``k`` ASGD
  steps on ``psi``), step the generator (one step), step both (one iteration of the
  alternating algorithm), play / pause, reset, save the session as a GIF.
- **Sliders**: the generator's and the critic's learning rates (for SD-WGAN the critic's is the
  ASGD step ``gamma``), the critic steps ``k``, and ``psi_j`` of the selected data point.
- **Main panel**: the critic's landscape (``sigmoid(D)`` for GAN / NS-GAN, ``D`` for WGANs; for
  SD-WGAN ``psi^c``) with, for SD-WGAN, the exact cells of ``T_psi``: Laguerre cells for W2
  (:func:`otgan.laguerre.diagram`), Apollonius cells for W1 (``cost="euclidean"``; while
  playing, or for more than 16 points, their boundaries on the landscape's pixel grid, which
  is faster); the data (navy; drag one to move it, click one to select it for the ``psi_j``
  slider), the samples (light blue) and their gradient arrows (where the generator's loss
  pushes each sample).
- **Readouts**: the exact ``W2^2`` (or ``W1``) between samples and data (POT ``ot.emd2``), the
  semi-dual value ``H(psi)`` on the samples (SD-WGAN; for the other losses the critic's own
  objective) and the mass error ``max_j |mu_theta(L_j) - nu_j| / nu_j`` of the cells (SD-WGAN,
  Monte Carlo on 2000 samples); a curve of ``W`` along the generator steps.

Built on the public :mod:`otgan.gan` API: two :class:`otgan.gan.Trainer` objects share the
generator and the critic, one with ``step="discriminator"`` (the critic's steps, ``n_critic``
or ``n_inner = k``), one with ``step="generator"``; "step both" runs one iteration of each,
which is what ``Trainer(step="both").run(1)`` does. Changing a learning rate, ``k``, the loss
or the data rebuilds them around the same networks (the optimisers restart their moments).

Options: ``--toy``, ``--loss``, ``--seed``, ``--out`` (where "save GIF" writes
``playground.gif``), ``--frames N --gif`` (no window: play ``N`` frames and write the GIF).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import pathlib
import time

import numpy as np
import torch

from otgan import datasets, laguerre, plot
from otgan.ctransform import c_transform, semi_dual
from otgan.gan import Trainer, generator_loss, wgan_generator_loss

__all__ = ["LOSSES", "TOYS", "Playground", "Session", "main"]

#: toy name -> (data maker(rng), drawing window (xmin, xmax, ymin, ymax))
TOYS = {
    "6 points": (lambda rng: datasets.six_points(), (0.0, 1.0, 0.0, 1.0)),
    "8 Gaussians": (lambda rng: datasets.eight_gaussians(64, rng=rng), (-2.6, 2.6, -2.6, 2.6)),
    "Swiss roll": (lambda rng: datasets.swiss_roll(100, rng=rng), (-2.2, 2.2, -2.2, 2.2)),
}
#: loss name -> Trainer options (the W1 / W2 variants of SD-WGAN differ by their cost)
LOSSES = {
    "GAN": {"loss": "gan"},
    "NS-GAN": {"loss": "nsgan"},
    "WGAN-WC": {"loss": "wgan"},
    "WGAN-GP": {"loss": "wgan-gp"},
    "SD-WGAN W2": {"loss": "sdwgan", "cost": "sqeuclidean"},
    "SD-WGAN W1": {"loss": "sdwgan", "cost": "euclidean"},
}
#: exact Apollonius (W1) cells are drawn up to this many data points (seconds beyond)
W1_EXACT_MAX = 16


def _emd(x, y, metric):
    import ot

    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, ot.dist(x, y, metric=metric), numItermax=1_000_000))


class Session:
    """The model behind the playground (no drawing): data, two trainers, readouts.

    Parameters
    ----------
    toy : str
        A key of :data:`TOYS`.
    loss : str
        A key of :data:`LOSSES`.
    seed : int
        Seeds the networks, the noise and the displayed latents.
    n_critic : int
        Critic (or ASGD) steps per "step critic".
    n_samples : int
        Generated points drawn (fixed latents), 100 as in the lectures.
    """

    def __init__(self, toy="6 points", loss="SD-WGAN W2", *, seed=0, n_critic=5,
                 n_samples=100, batch_size=100):
        if toy not in TOYS:
            raise ValueError(f"playground: 'toy' must be one of {sorted(TOYS)}; got {toy!r}")
        if loss not in LOSSES:
            raise ValueError(f"playground: 'loss' must be one of {list(LOSSES)}; got {loss!r}")
        self.toy, self.loss, self.seed = toy, loss, int(seed)
        self.n_critic, self.n_samples, self.batch_size = int(n_critic), int(n_samples), batch_size
        self.lr_g = self.lr_d = None  # None: the Trainer's defaults for the loss
        self.reset()

    # ------------------------------------------------------------------ building
    @property
    def is_sd(self) -> bool:
        return LOSSES[self.loss]["loss"] == "sdwgan"

    @property
    def metric(self) -> str:
        """POT's metric of the readout: W1 for SD-WGAN W1, W2^2 otherwise."""
        return "euclidean" if LOSSES[self.loss].get("cost") == "euclidean" else "sqeuclidean"

    @property
    def extent(self):
        return TOYS[self.toy][1]

    def reset(self, *, data=True):
        """New networks (and, with ``data``, new data); ``psi = 0``; empty history."""
        self._builds = 0
        if data:
            self.data = np.asarray(TOYS[self.toy][0](self.seed), dtype=np.float64)
        base = Trainer(self.data, rng=self.seed, **LOSSES[self.loss])  # the default networks
        self.generator, self.discriminator = base.generator, base.discriminator
        gen = torch.Generator().manual_seed(self.seed)
        self.z = torch.randn(self.n_samples, self.generator.latent_dim, generator=gen)
        self.psi = np.zeros(len(self.data))
        self.iteration = 0
        self.curve = []  # (generator iteration, W)
        self._rebuild()

    def _options(self, step):
        opts = dict(LOSSES[self.loss])
        opts.update(generator=self.generator, step=step, batch_size=self.batch_size,
                    rng=self.seed + 1000 * self._builds + (step == "generator"))
        if self.lr_g is not None:
            opts["lr_g"] = self.lr_g
        if self.is_sd:
            opts["n_inner"] = self.n_critic
            if self.lr_d is not None:
                opts["asgd_gamma"] = self.lr_d
        else:
            opts["discriminator"] = self.discriminator
            opts["n_critic"] = self.n_critic
            if self.lr_d is not None:
                opts["lr_d"] = self.lr_d
        return opts

    def _rebuild(self):
        """Two trainers around the same networks: the critic's steps and the generator's."""
        self.critic_trainer = Trainer(self.data, **self._options("discriminator"))
        self.generator_trainer = Trainer(self.data, **self._options("generator"))
        self._builds += 1
        self._push_psi()

    def _push_psi(self):
        if self.is_sd:
            for tr in (self.critic_trainer, self.generator_trainer):
                tr.psi = torch.as_tensor(self.psi, dtype=tr.data.dtype)

    @property
    def critic_lr(self) -> float:
        """The critic's learning rate in use (the ASGD step ``gamma`` for SD-WGAN)."""
        tr = self.critic_trainer
        return float(tr.asgd_gamma if self.is_sd else tr.lr_d)

    @property
    def generator_lr(self) -> float:
        return float(self.generator_trainer.lr_g)

    def configure(self, *, toy=None, loss=None, lr_g=None, lr_d=None, n_critic=None):
        """Change the toy or the loss (new networks), or a learning rate / ``k`` (same
        networks, new optimisers)."""
        if toy is not None and toy != self.toy:
            if toy not in TOYS:
                raise ValueError(f"playground: unknown toy {toy!r}")
            self.toy, self.lr_g, self.lr_d = toy, None, None  # the defaults fit the new scale
            return self.reset()
        if loss is not None and loss != self.loss:
            if loss not in LOSSES:
                raise ValueError(f"playground: unknown loss {loss!r}")
            self.loss, self.lr_g, self.lr_d = loss, None, None
            return self.reset(data=False)
        if lr_g is not None:
            self.lr_g = float(lr_g)
        if lr_d is not None:
            self.lr_d = float(lr_d)
        if n_critic is not None:
            self.n_critic = max(1, int(n_critic))
        self._rebuild()
        return None

    # ------------------------------------------------------------------ steps
    def step_critic(self):
        """``k`` critic steps (SD-WGAN: ``k`` ASGD steps on ``psi``, warm-started)."""
        self.critic_trainer.run(1)
        if self.is_sd:
            self.psi = self.critic_trainer.psi.detach().cpu().numpy().astype(np.float64)
            self._push_psi()

    def step_generator(self):
        """One generator step against the current critic (or ``psi``)."""
        self.generator_trainer.run(1)
        self.iteration += 1
        self.curve.append((self.iteration, self.distance()))

    def step_both(self):
        """One iteration of the alternating algorithm: ``k`` critic steps, then the
        generator's."""
        self.step_critic()
        self.step_generator()

    def move_point(self, j, xy):
        """Move data point ``j`` to ``xy`` (the trainers are rebuilt on the new data)."""
        self.data = self.data.copy()
        self.data[int(j)] = np.asarray(xy, dtype=np.float64)
        self._rebuild()

    def set_psi(self, j, value):
        """Set ``psi_j`` (SD-WGAN): the cells and the next steps use it."""
        self.psi = self.psi.copy()
        self.psi[int(j)] = float(value)
        self._push_psi()

    # ------------------------------------------------------------------ what is drawn
    def samples(self) -> np.ndarray:
        """The generator applied to the fixed latents (``n_samples`` points)."""
        with torch.no_grad():
            return self.generator(self.z).double().numpy()

    def arrows(self, x=None) -> np.ndarray:
        """``-grad_x`` of the generator's loss at each sample: where it pushes the sample
        (per sample: the loss of the mean times the number of samples)."""
        x = torch.as_tensor(self.samples() if x is None else x, dtype=torch.float32)
        x = x.clone().requires_grad_(True)
        out = self.generator_trainer.critic(x)
        kind = LOSSES[self.loss]["loss"]
        if kind == "gan":
            loss = generator_loss(out, saturating=True)
        elif kind == "nsgan":
            loss = generator_loss(out, saturating=False)
        elif kind == "sdwgan":
            loss = out.mean()
        else:
            loss = wgan_generator_loss(out)
        (g,) = torch.autograd.grad(loss * len(x), x)
        return -g.double().numpy()

    def landscape(self, n=64) -> np.ndarray:
        """The critic on the ``n x n`` grid of :func:`otgan.plot.grid` (image order)."""
        pts = torch.as_tensor(plot.grid(n, self.extent), dtype=torch.float32)
        return self.generator_trainer.landscape(pts).double().numpy().reshape(n, n)

    def labels(self, n=64) -> np.ndarray:
        """The exact argmin ``T_psi`` on the grid (SD-WGAN), image order."""
        cost = LOSSES[self.loss]["cost"]
        _, idx = c_transform(self.psi, self.data, plot.grid(n, self.extent), cost)
        return idx.reshape(n, n)

    def cells(self):
        """The exact diagram of ``T_psi`` on the window (SD-WGAN): Laguerre for W2,
        Apollonius for W1 (``cost="euclidean"``); None where it cannot be drawn (two data
        points on top of each other while one is dragged)."""
        import shapely

        box = shapely.box(self.extent[0], self.extent[2], self.extent[1], self.extent[3])
        try:
            if self.metric == "euclidean":
                from otgan.measures import Uniform

                return laguerre.diagram(self.data, self.psi, cost="euclidean",
                                        measure=Uniform(box))
            return laguerre.diagram(self.data, self.psi, domain=box)
        except ValueError:
            return None

    def distance(self, x=None) -> float:
        """Exact ``W2^2`` (or ``W1`` for SD-WGAN W1) between the samples and the data (POT)."""
        return _emd(self.samples() if x is None else x, self.data, self.metric)

    def readouts(self, n_mass=2000) -> dict:
        """``{"w", "w_name", "objective", "objective_name", "mass_error"}`` now."""
        x = self.samples()
        out = {"w": self.distance(x), "w_name": "W1" if self.metric == "euclidean" else "W2^2",
               "iteration": self.iteration, "mass_error": float("nan")}
        if self.is_sd:
            cost = LOSSES[self.loss]["cost"]
            out["objective"] = float(semi_dual(self.psi, self.data, x, cost=cost))
            out["objective_name"] = "semi-dual H(psi)"
            gen = torch.Generator().manual_seed(12345)
            with torch.no_grad():
                xm = self.generator(torch.randn(n_mass, self.generator.latent_dim,
                                                generator=gen)).double().numpy()
            _, idx = c_transform(self.psi, self.data, xm, cost)
            freq = np.bincount(idx, minlength=len(self.data)) / n_mass
            nu = 1.0 / len(self.data)
            out["mass_error"] = float(np.max(np.abs(freq - nu)) / nu)
        else:
            xt = torch.as_tensor(x, dtype=torch.float32)
            yt = torch.as_tensor(self.data, dtype=torch.float32)
            with torch.no_grad():
                d_real = self.generator_trainer.critic(yt).mean()
                d_fake = self.generator_trainer.critic(xt).mean()
            out["objective"] = float(d_real - d_fake)
            out["objective_name"] = "E D(y) - E D(g(z))"
        return out


class Playground:
    """The window: a :class:`Session` drawn live, with matplotlib widgets.

    Every widget callback is a method (``on_step_both``, ``on_loss``, ...), so that the
    playground can be driven without a display (the tests do, under Agg).

    Parameters
    ----------
    session : Session, optional
        Default: ``Session()`` (6 points, SD-WGAN W2).
    out : str or pathlib.Path
        Folder of "save GIF" (``playground.gif``).
    interval_ms : int
        Timer period while playing.
    max_frames : int
        Frames kept for the GIF (the most recent ones, at half resolution).
    """

    GRID = 64

    def __init__(self, session=None, *, out=".", interval_ms=50, max_frames=150, figsize=(12, 7)):
        import matplotlib.pyplot as plt
        from matplotlib.widgets import Button, RadioButtons, Slider

        self.s = session or Session()
        self.out = pathlib.Path(out)
        self.max_frames = int(max_frames)
        self.frames = []
        self.playing = False
        self.selected = 0
        self._drag = None
        self._syncing = False
        self.fig = fig = plt.figure(figsize=figsize, dpi=100)
        if getattr(fig.canvas, "manager", None) is not None:
            fig.canvas.manager.set_window_title("otgan playground")
        self.ax = fig.add_axes((0.04, 0.30, 0.50, 0.64))
        self.ax_w = fig.add_axes((0.62, 0.62, 0.35, 0.32))
        self.ax_text = fig.add_axes((0.60, 0.30, 0.38, 0.27))
        self.ax_text.axis("off")
        self.readout_text = ""
        self.static_text = self.ax_text.text(0.0, 0.0, "", va="bottom", ha="left", fontsize=9,
                                             color="0.3", transform=self.ax_text.transAxes)
        # widgets
        self.w_toy = RadioButtons(fig.add_axes((0.02, 0.02, 0.12, 0.20)), list(TOYS),
                                  active=list(TOYS).index(self.s.toy))
        self.w_loss = RadioButtons(fig.add_axes((0.15, 0.02, 0.13, 0.22)), list(LOSSES),
                                   active=list(LOSSES).index(self.s.loss))
        names = ("step critic", "step generator", "step both", "play", "reset", "save GIF")
        self.buttons = {}
        for k, name in enumerate(names):
            b = Button(fig.add_axes((0.30 + 0.113 * k, 0.175, 0.105, 0.055)), name)
            self.buttons[name] = b
        self.w_lr_g = Slider(fig.add_axes((0.40, 0.125, 0.45, 0.025)), "log10 lr G", -5, -1,
                             valinit=np.log10(self.s.generator_lr))
        self.w_lr_d = Slider(fig.add_axes((0.40, 0.09, 0.45, 0.025)), "log10 lr critic", -5, 2,
                             valinit=np.log10(self.s.critic_lr))
        self.w_k = Slider(fig.add_axes((0.40, 0.055, 0.45, 0.025)), "critic steps k", 1, 50,
                          valinit=self.s.n_critic, valstep=1)
        self.w_psi = Slider(fig.add_axes((0.40, 0.02, 0.45, 0.025)), "psi_j (selected)", -1, 1,
                            valinit=0.0)
        self.w_toy.on_clicked(self.on_toy)
        self.w_loss.on_clicked(self.on_loss)
        self.buttons["step critic"].on_clicked(self.on_step_critic)
        self.buttons["step generator"].on_clicked(self.on_step_generator)
        self.buttons["step both"].on_clicked(self.on_step_both)
        self.buttons["play"].on_clicked(self.on_play)
        self.buttons["reset"].on_clicked(self.on_reset)
        self.buttons["save GIF"].on_clicked(self.on_save_gif)
        self.w_lr_g.on_changed(self.on_lr_g)
        self.w_lr_d.on_changed(self.on_lr_d)
        self.w_k.on_changed(self.on_k)
        self.w_psi.on_changed(self.on_psi)
        fig.canvas.mpl_connect("button_press_event", self.on_press)
        fig.canvas.mpl_connect("motion_notify_event", self.on_motion)
        fig.canvas.mpl_connect("button_release_event", self.on_release)
        fig.canvas.mpl_connect("draw_event", self._on_draw)
        self.timer = fig.canvas.new_timer(interval=interval_ms)
        self.timer.add_callback(self.on_timer)
        self._bg = None
        self._static_key = None
        self._tick = 0
        self.readout = None
        self.text = None
        self._build_artists()
        self.redraw()

    # ------------------------------------------------------------------ artists
    def _build_artists(self):
        """(Re)create the main panel's artists for the current toy and loss."""
        ax, s = self.ax, self.s
        ax.clear()
        n = self.GRID
        import matplotlib

        self._cmap = matplotlib.colormaps[plot.LANDSCAPE_CMAP]
        self.im = ax.imshow(np.zeros((n, n, 4), dtype=np.uint8), origin="upper",
                            extent=s.extent, interpolation="nearest", zorder=0)
        self.cell_image = ax.imshow(np.zeros((n, n, 4)), origin="upper", extent=s.extent,
                                    interpolation="nearest", zorder=2)
        from matplotlib.collections import PolyCollection

        self.cell_lines = PolyCollection([], facecolors="none", edgecolors=plot.CELL_COLOR,
                                         linewidths=1.5, zorder=2)
        ax.add_collection(self.cell_lines)
        x = s.samples()
        self.sample_art = ax.scatter(x[:, 0], x[:, 1], s=18, c=plot.SAMPLE_COLOR,
                                     alpha=plot.SAMPLE_ALPHA, linewidths=0, zorder=3)
        self.quiver = ax.quiver(x[:, 0], x[:, 1], np.zeros(len(x)), np.zeros(len(x)),
                                color="steelblue", angles="xy", scale_units="xy", scale=1.0,
                                width=0.003, zorder=3)
        self.data_art = ax.scatter(s.data[:, 0], s.data[:, 1], s=60, c=plot.DATA_COLOR,
                                   edgecolors="white", linewidths=0.8, zorder=4, picker=True)
        self.sel_art = ax.scatter([s.data[0, 0]], [s.data[0, 1]], s=220, facecolors="none",
                                  edgecolors="crimson", linewidths=1.5, zorder=5)
        ax.set_xlim(s.extent[0], s.extent[1])
        ax.set_ylim(s.extent[2], s.extent[3])
        ax.set_aspect("equal")
        self.ax_w.clear()
        (self.w_line,) = self.ax_w.plot([], [], color=plot.CURVE_COLORS[0], lw=1.5)
        self.ax_w.set_xlabel("generator step")
        self.ax_w.set_yscale("log")
        # what changes at every frame is drawn over a saved background (blitting): a full
        # redraw of the figure (widgets, ticks, labels) costs ten times more
        # the readouts: text drawn by Pillow into an image (matplotlib's text layout costs
        # ~6 ms a line, Pillow's well under one)
        # (a figure image, drawn pixel for pixel at the panel's corner, without resampling)
        if getattr(self, "text", None) is not None:
            self.text.remove()
        self.text = self.fig.figimage(np.zeros((2, 2, 4), dtype=np.uint8), origin="upper",
                                      zorder=3)
        self.dynamic = [self.im, self.cell_image, self.cell_lines, self.sample_art, self.quiver,
                        self.data_art, self.sel_art, self.w_line, self.text]  # w, text last
        for a in self.dynamic:
            a.set_animated(True)
        self._static_key = None
        self._psi_range()

    def _psi_range(self):
        """The psi_j slider spans the scale of the cost on the window."""
        w = self.s.extent[1] - self.s.extent[0]
        r = (w * w / 4) if self.s.metric == "sqeuclidean" else w / 2
        self._syncing = True
        try:
            self.w_psi.valmin, self.w_psi.valmax = -r, r
            self.w_psi.ax.set_xlim(-r, r)
            self.w_psi.set_val(float(np.clip(self.s.psi[self.selected], -r, r)))
        finally:
            self._syncing = False

    def cells_mode(self) -> str:
        """How the SD-WGAN cells are drawn now: ``"exact"`` polygons or the ``"raster"`` of
        the exact argmin (W1 while playing, or W1 with more than :data:`W1_EXACT_MAX`
        points); ``"none"`` for the adversarial losses."""
        s = self.s
        if not s.is_sd:
            return "none"
        if s.metric == "euclidean" and (self.playing or len(s.data) > W1_EXACT_MAX):
            return "raster"
        return "exact"

    def redraw(self, *, draw=True, text=True):
        """Update every artist from the session and draw the canvas (unless ``draw=False``);
        ``text=False`` keeps the readouts of the previous frame (faster, while playing)."""
        s, n = self.s, self.GRID
        v = s.landscape(n)
        lo, hi = float(v.min()), float(v.max())
        # coloured here at 64 x 64 (uint8 RGBA): matplotlib then only resamples the pixels
        self.landscape_values = v
        self.im.set_data(self._cmap((v - lo) / (hi - lo if hi > lo else 1.0), bytes=True))
        mode = self.cells_mode()
        rgba = np.zeros((n, n, 4), dtype=np.uint8)
        verts = []
        if mode == "exact":
            D = s.cells()
            if D is not None:
                verts = [np.asarray(r) for cell in D.polygons for r in plot._rings(cell)]
        elif mode == "raster":
            lab = s.labels(n)
            edge = np.zeros(lab.shape, dtype=bool)
            edge[:-1, :] |= lab[:-1, :] != lab[1:, :]
            edge[1:, :] |= lab[:-1, :] != lab[1:, :]
            edge[:, :-1] |= lab[:, :-1] != lab[:, 1:]
            edge[:, 1:] |= lab[:, :-1] != lab[:, 1:]
            import matplotlib.colors as mcolors

            rgba[edge] = np.round(255 * np.asarray(mcolors.to_rgba(plot.CELL_COLOR)))
        self.cell_image.set_data(rgba)
        self.cell_image.set_visible(mode == "raster")
        self.cell_lines.set_verts(verts)
        x = s.samples()
        self.sample_art.set_offsets(x)
        g = s.arrows(x)
        w = s.extent[1] - s.extent[0]
        norm = np.linalg.norm(g, axis=1).max()
        g = g * (0.08 * w / norm) if norm > 0 else g
        self.quiver.set_offsets(x)
        self.quiver.set_UVC(g[:, 0], g[:, 1])
        self.data_art.set_offsets(s.data)
        self.sel_art.set_offsets(s.data[[self.selected]])
        r = s.readouts() if text or self.readout is None else self.readout
        what = {"none": "critic landscape", "exact": "exact cells of T_psi",
                "raster": "cells of T_psi (exact argmin on the pixel grid)"}[mode]
        self.ax.set_title(f"{s.loss} on {s.toy}: {what}", fontsize=11)
        if s.curve:
            it, w_ = np.asarray(s.curve).T
            w_ = np.maximum(w_, 1e-9)
            self.w_line.set_data(it, w_)
            # limits in steps of powers of two and of ten, so that they rarely change
            self.ax_w.set_xlim(0, 2 ** int(np.ceil(np.log2(max(16, it[-1])))))
            self.ax_w.set_ylim(10.0 ** np.floor(np.log10(w_.min())),
                               10.0 ** np.ceil(np.log10(w_.max())))
        else:
            self.w_line.set_data([], [])
            self.ax_w.set_xlim(0, 16)
            self.ax_w.set_ylim(1e-3, 1)
        self.ax_w.set_ylabel(f"exact {r['w_name']} (POT)")
        self.ax_w.set_title(f"{r['w_name']}(samples, data) along training", fontsize=10)
        lines = [f"generator step {r['iteration']}",
                 f"exact {r['w_name']} = {r['w']:.5f}",
                 f"{r['objective_name']} = {r['objective']:.5f}"]
        if s.is_sd:
            lines.append(f"mass error max|mu(L_j) - nu_j|/nu_j = {r['mass_error']:.3f}")
            lines.append(f"psi_{self.selected} = {s.psi[self.selected]:.4f}")
        if text or not self.readout_text:
            self.set_readout_text("\n".join(lines))
        self.static_text.set_text(
            f"critic steps k = {s.n_critic}, lr G = {s.generator_lr:.2g}, lr critic "
            f"= {s.critic_lr:.2g}\ndrag a data point to move it; click one to select it")
        self.readout = r
        psi_moved = False
        if not self.playing and s.is_sd:  # the psi_j slider follows the selected psi_j
            v = float(np.clip(s.psi[self.selected], self.w_psi.valmin, self.w_psi.valmax))
            if v != self.w_psi.val:
                self._syncing, self.w_psi.drawon = True, False  # drawn with the frame below
                try:
                    self.w_psi.set_val(v)
                finally:
                    self._syncing, self.w_psi.drawon = False, True
                psi_moved = True
        # the static parts (titles, axis limits) change rarely: a full draw then, else a blit
        key = (self.ax.get_title(), self.ax_w.get_xlim(), self.ax_w.get_ylim(),
               self.ax_w.get_ylabel(), self.static_text.get_text())
        self._full = key != self._static_key or self._bg is None or psi_moved
        self._static_key = key
        if draw:
            self.draw(text=text)

    def draw(self, *, text=True):
        """Draw the frame: the whole figure when its static parts changed, else the changing
        artists over the saved backgrounds of their panels (the readouts only when ``text``:
        text is the slowest artist to draw); then keep the frame for the GIF."""
        canvas = self.fig.canvas
        if self._full or not getattr(canvas, "supports_blit", False):
            canvas.draw()  # -> _on_draw: saves the backgrounds, draws the changing artists
        else:
            for name, arts in self._panels(text):
                canvas.restore_region(self._bg[name])
                for a in arts:
                    self.fig.draw_artist(a)
            canvas.blit(self.fig.bbox)
            canvas.flush_events()
        self._record()

    def _panels(self, text=True):
        """``(panel, changing artists)``: the main panel, the W curve and the readouts."""
        out = [("main", self.dynamic[:-2]), ("w", [self.w_line])]
        if text:
            out.append(("text", [self.text]))
        return out

    def _on_draw(self, _event):
        canvas = self.fig.canvas
        if getattr(canvas, "supports_blit", False):
            self._bg = {"main": canvas.copy_from_bbox(self.ax.bbox),
                        "w": canvas.copy_from_bbox(self.ax_w.bbox),
                        "text": canvas.copy_from_bbox(self.ax_text.bbox.padded(4))}
        for a in self.dynamic:
            self.fig.draw_artist(a)

    def set_readout_text(self, text):
        """Show ``text`` in the readouts panel (rendered by Pillow at the panel's size)."""
        from matplotlib import font_manager
        from PIL import Image, ImageDraw, ImageFont

        self.readout_text = text
        bbox = self.ax_text.get_window_extent()
        w, h = max(2, int(bbox.width)), max(2, int(bbox.height))
        self.text.ox, self.text.oy = int(bbox.x0), int(bbox.y0)
        size = round(10 * self.fig.dpi / 72)
        if getattr(self, "_font", (None,))[0] != size:
            self._font = (size, ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size))
        img = Image.new("RGBA", (w, h), (255, 255, 255, 0))
        ImageDraw.Draw(img).multiline_text((2, 2), text, font=self._font[1],
                                           fill=(0, 0, 0, 255), spacing=size // 2)
        self.text.set_data(np.asarray(img))

    def _record(self):
        """Keep the frame just drawn (half resolution) for the GIF."""
        from PIL import Image

        canvas = self.fig.canvas
        if not hasattr(canvas, "buffer_rgba"):
            return
        try:
            buf = np.asarray(canvas.buffer_rgba())
        except Exception:  # noqa: BLE001 - a backend that cannot give its pixels: no GIF
            return
        img = Image.fromarray(np.ascontiguousarray(buf[::2, ::2, :3]))
        self.frames.append(img)
        if len(self.frames) > self.max_frames:
            del self.frames[0]

    # ------------------------------------------------------------------ callbacks
    def on_step_critic(self, _event=None):
        self.s.step_critic()
        self.redraw()

    def on_step_generator(self, _event=None):
        self.s.step_generator()
        self.redraw()

    def on_step_both(self, _event=None):
        self.s.step_both()
        self.redraw()

    def on_timer(self):
        """One frame while playing: a step of both players, and the window updated."""
        if self.playing:
            self._tick += 1
            self.s.step_both()
            self.redraw()

    def on_play(self, _event=None):
        self.playing = not self.playing
        self.buttons["play"].label.set_text("pause" if self.playing else "play")
        if self.playing:
            self.timer.start()
        else:
            self.timer.stop()
            self.redraw()  # exact cells again

    def on_reset(self, _event=None):
        if self.playing:
            self.on_play()
        self.s.reset()
        self.frames.clear()
        self.selected = 0
        self._build_artists()
        self._sync_sliders()
        self.redraw()

    def _sync_sliders(self):
        self._syncing = True
        try:
            self.w_lr_g.set_val(float(np.clip(np.log10(self.s.generator_lr), -5, -1)))
            self.w_lr_d.set_val(float(np.clip(np.log10(self.s.critic_lr), -5, 2)))
            self.w_k.set_val(self.s.n_critic)
        finally:
            self._syncing = False
        self._psi_range()

    def on_toy(self, label):
        self.s.configure(toy=label)
        self.selected = 0
        self._build_artists()
        self._sync_sliders()
        self.redraw()

    def on_loss(self, label):
        self.s.configure(loss=label)
        self.selected = 0
        self._build_artists()
        self._sync_sliders()
        self.redraw()

    def on_lr_g(self, val):
        if not self._syncing:
            self.s.configure(lr_g=10.0 ** val)
            self.redraw()

    def on_lr_d(self, val):
        if not self._syncing:
            self.s.configure(lr_d=10.0 ** val)
            self.redraw()

    def on_k(self, val):
        if not self._syncing:
            self.s.configure(n_critic=int(val))
            self.redraw()

    def on_psi(self, val):
        if not self._syncing:
            self.s.set_psi(self.selected, val)
            self.redraw()

    def on_save_gif(self, _event=None, path=None):
        """Write the frames kept so far as ``<out>/playground.gif``; returns the path."""
        if not self.frames:
            self.redraw()
        path = pathlib.Path(path) if path is not None else self.out / "playground.gif"
        path.parent.mkdir(parents=True, exist_ok=True)
        plot.save_gif(self.frames, path, duration_ms=80)
        self.set_readout_text(self.readout_text + f"\nsaved {len(self.frames)} frames: {path}")
        self.fig.canvas.draw_idle()
        return path

    def _nearest(self, xy):
        d = np.linalg.norm(self.s.data - np.asarray(xy), axis=1)
        j = int(np.argmin(d))
        w = self.s.extent[1] - self.s.extent[0]
        return j if d[j] < 0.03 * w else None

    def on_press(self, event):
        if event.inaxes is not self.ax or event.xdata is None:
            return
        j = self._nearest((event.xdata, event.ydata))
        if j is None:
            return
        self._drag = j
        self.selected = j
        self._psi_range()
        self.redraw()

    def on_motion(self, event):
        if self._drag is None or event.inaxes is not self.ax or event.xdata is None:
            return
        self.s.move_point(self._drag, (event.xdata, event.ydata))
        self.redraw()

    def on_release(self, _event):
        self._drag = None


def _parse(argv=None):
    p = argparse.ArgumentParser(description="The otgan playground (matplotlib widgets).")
    p.add_argument("--toy", default="6 points", choices=list(TOYS))
    p.add_argument("--loss", default="SD-WGAN W2", choices=list(LOSSES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="figures", help="folder of 'save GIF' (default figures/)")
    p.add_argument("--frames", type=int, default=0,
                   help="no window: play this many frames (step both), then exit")
    p.add_argument("--gif", action="store_true", help="with --frames: write playground.gif")
    p.add_argument("--screenshot", default=None, metavar="PNG",
                   help="open the window, play --frames frames (default 20), save a picture of "
                   "the whole X screen (PIL.ImageGrab) to PNG and close: for a check under Xvfb")
    return p.parse_args(argv)


def main(argv=None):
    """Open the playground (or, with ``--frames N``, play ``N`` frames without a window)."""
    args = _parse(argv)
    import matplotlib

    if args.frames and not args.screenshot:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    torch.set_num_threads(1)  # tiny networks: one thread is faster and smoother
    pg = Playground(Session(args.toy, args.loss, seed=args.seed), out=args.out)
    if args.screenshot:
        import os

        def shoot():
            from PIL import ImageGrab

            for _ in range(args.frames or 20):
                pg.on_step_both()
            pg.fig.canvas.flush_events()
            time.sleep(0.5)
            pg.fig.canvas.flush_events()
            ImageGrab.grab(xdisplay=os.environ.get("DISPLAY")).save(args.screenshot)
            print(f"screenshot of {matplotlib.get_backend()} window: {args.screenshot}")
            plt.close(pg.fig)

        timer = pg.fig.canvas.new_timer(interval=1500)
        timer.single_shot = True
        timer.add_callback(shoot)
        timer.start()
        plt.show()
        return pg
    if args.frames:
        t0 = time.perf_counter()
        for _ in range(args.frames):
            pg.s.step_both()
            pg.redraw()
        dt = time.perf_counter() - t0
        print(f"{args.frames} frames in {dt:.2f} s ({args.frames / dt:.1f} frames/s); "
              f"{pg.readout['w_name']} = {pg.readout['w']:.5f}")
        if args.gif:
            print(f"wrote {pg.on_save_gif()}")
        return pg
    plt.show()
    return pg


if __name__ == "__main__":
    main()
