"""Figure 07 -- semi-discrete WGAN training in 2D (the lecture's "Alternate algorithm for
semi-discrete WGAN learning").

On the lectures' 6-point toy (``nu`` uniform on the data), the generator (the course's MLP,
sigmoid output) is trained with the semi-discrete WGAN for the quadratic cost: each iteration
takes ASGD steps on the dual weights ``psi`` (samples of ``g_theta(Z)``) and an Adam step on
``theta`` through the c-transform (:class:`otgan.gan.trainer.Trainer` with ``loss="sdwgan"``).
Each frame shows the data (navy), 100 generated samples (light blue) and the Laguerre diagram of
``T_psi`` (orange, :func:`otgan.laguerre.diagram` of the current ``psi`` on the unit square)
over the landscape ``psi^c`` (light oranges); a GIF, a grid of frames "Iter k" and the exact
``W2^2`` (POT) between 500 generated points and the data along training. Axes: the
mathematical convention (``y`` up), as in every figure of the 6-point toy (fig01, fig07, fig11,
fig12).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots, unit_square
from otgan import datasets, laguerre, plot
from otgan.gan import trainer as gtrainer

NAME = "fig07_sdwgan_2d"
EXTENT = (0.0, 1.0, 0.0, 1.0)


def draw(ax, snap, data, title):
    """Landscape ``psi^c`` (light), Laguerre cells (orange), samples, data; ``y`` up."""
    plot.landscape(ax, snap.grid_values, extent=EXTENT, vmax=2.5 * snap.grid_values.max()
                   if snap.grid_values.max() > 0 else None)
    cells = laguerre.diagram(data, snap.psi.astype(np.float64))
    plot.polygons(ax, cells, linewidth=1.8)
    plot.samples(ax, snap.samples, label=None)
    plot.data(ax, data, label=None)
    return unit_square(ax, title=title), cells


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    q = demo.quick
    n_iter = 30 if q else 1000
    n_grid = 48 if q else 128
    at = sorted(set(np.unique(np.geomspace(1, n_iter, 10).astype(int)).tolist()) | {0})
    demo.params.update(n_iter=n_iter, loss="sdwgan", cost="sqeuclidean", n_inner=10,
                       batch_size=100, optimizer="adam 1e-3 (0.5, 0.999)", snapshots=at,
                       convention="mathematical (y up)")
    data = datasets.six_points()
    tr = gtrainer.Trainer(data, loss="sdwgan", seed=demo.seed, device=torch.device(demo.device),
                          snapshot_at=at, snapshot_grid=EXTENT, grid_size=n_grid,
                          eval_every=max(1, n_iter // 20), eval_size=500, lipschitz=False,
                          progress=demo.verbose)
    tr.run(n_iter)
    snaps = tr.snapshots

    frames, masses = [], {}
    for sn in snaps:
        f, a = subplots(size=4.0)
        _, cells = draw(a, sn, data, f"Iter {sn.iteration}")
        masses[sn.iteration] = np.asarray(cells.areas)
        frames.append(f)
    demo.gif(frames, "training", duration_ms=500, caption="Semi-discrete WGAN training on the 6-point toy "
             "(animation): samples, data and the Laguerre cells of T_psi.")
    show = [snaps[i] for i in np.unique(np.linspace(0, len(snaps) - 1, 6).astype(int))]
    ncols = min(3, len(show))  # two rows of three: the strip fits a page's width
    fig, axes = subplots(-(-len(show) // ncols), ncols, size=3.2)
    axes = np.atleast_1d(axes).ravel()
    for a, sn in zip(axes, show):
        draw(a, sn, data, f"Iter {sn.iteration}")
    for a in axes[len(show):]:
        a.axis("off")
    demo.save(fig, "training", caption="Semi-discrete WGAN on the 6-point toy: samples (light "
              "blue), data (navy) and the exact Laguerre diagram of T_psi (orange) over the "
              "landscape psi^c, over iterations.")

    h = tr.history
    fig, ax = subplots(size=4.0)
    plot.curve(ax, h.eval_iteration, h.w2, label=r"exact $W_2^2(\mu_\theta, \nu)$ (POT)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("Semi-discrete WGAN on the 6-point toy")
    ax.legend(fontsize=8)
    demo.save(fig, "w2", caption="Exact W2^2 between generated points and the data along training.")

    demo.numbers.update(
        eval_iteration=h.eval_iteration,
        w2_squared=h.w2,
        final_w2_squared=float(h.w2[-1]),
        initial_w2_squared=float(h.w2[0]),
        final_psi=snaps[-1].psi,
        final_samples=snaps[-1].samples,
        final_snapshot_w2_squared=float(gtrainer.w2_squared(snaps[-1].samples, data)),
        cell_areas_at_snapshots={str(k): v for k, v in masses.items()},
    )
    return demo.finish()


if __name__ == "__main__":
    main()
