"""Figure 11 -- example of WGAN training: WGAN-WC against WGAN-GP on the lectures' 6-point toy.

The lecture's "Example of WGAN training" slide: the same generator (the course's MLP, sigmoid
output, 10-dim noise) and critic (2-10-10-1, LeakyReLU(0.2)) are trained on the 6 data points,
once as a WGAN with weight clipping (WGAN-WC: Arjovsky et al. 2017, clip 0.01, RMSprop 5e-4)
and once with the two-sided gradient penalty (WGAN-GP: Gulrajani et al. 2017, Adam 1e-3,
betas (0.5, 0.9), ``lam = 0.1`` as in their toy script), both with 5 critic steps per generator
step (:class:`otgan.gan.trainer.Trainer` with ``loss="wgan"`` and ``loss="wgan-gp"``; the
settings of ``benchmarks/bench_training.py``). Each row shows the critic's landscape (oranges,
each panel with its own colourbar: ``D`` minus its mean), the data (navy) and 100 generated
samples (light blue) over 1500 generator iterations; a second plot gives the exact ``W2^2``
(POT) between 500 generated points and the data along training.

What it shows: the clipped critic is a weak, almost affine function (its values span ``1e-6``
or less), so it only pushes the samples as a block and they stay a diffuse cloud over the data;
the penalised critic has gradient norms of order 1 (the JSON records them) and a shaped
landscape (values spanning about 1) whose slopes gather the samples onto the data points. On
this toy the exact ``W2^2`` does not favour WGAN-GP: the diffuse cloud is about as close to the
six points as the gathered samples. Axes: the course's image convention (``y`` pointing down).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots, unit_square
from otgan import datasets, plot
from otgan.gan import trainer as gtrainer

NAME = "fig11_wgan_training"
EXTENT = (0.0, 1.0, 0.0, 1.0)
#: (label, Trainer options): the lectures' two WGANs (settings of benchmarks/bench_training.py)
METHODS = (
    ("WGAN-WC", {"loss": "wgan", "optimizer": "rmsprop", "lr_g": 5e-4, "lr_d": 5e-4,
                 "clip": 0.01, "n_critic": 5, "batch_size": 128}),
    ("WGAN-GP", {"loss": "wgan-gp", "optimizer": "adam", "lr_g": 1e-3, "lr_d": 1e-3,
                 "betas": (0.5, 0.9), "gp_weight": 0.1, "n_critic": 5,
                 "batch_size": 128}),
)


def draw(ax, snap, data, title):
    """Critic landscape minus its mean (image convention), samples, data; returns the image."""
    v = snap.grid_values[::-1]
    plot.landscape(ax, v - v.mean(), extent=EXTENT)
    plot.samples(ax, snap.samples, label=None)
    plot.data(ax, data, label=None)
    unit_square(ax, title=title, y_down=True)
    return ax.images[-1]


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    q = demo.quick
    n_iter = 60 if q else 1500
    n_grid = 48 if q else 128
    at = [0, n_iter // 20, n_iter // 5, n_iter // 2, n_iter]
    demo.params.update(n_iter=n_iter, snapshots=at,
                       methods={k: {a: (list(b) if isinstance(b, tuple) else b)
                                    for a, b in v.items()} for k, v in METHODS},
                       convention="image (y down)")
    data = datasets.six_points()
    device = torch.device(demo.device)
    fig, axes = subplots(2, len(at), size=3.0)
    curves = {}
    numbers = {}
    for row, (label, opts) in enumerate(METHODS):
        demo.stage(f"{label}: {n_iter} generator steps, 5 critic steps each")
        tr = gtrainer.Trainer(data, seed=demo.seed, device=device, snapshot_at=at,
                              snapshot_grid=EXTENT, grid_size=n_grid,
                              eval_every=max(1, n_iter // 30), eval_size=500, lipschitz=True,
                              progress=demo.verbose,
                              **opts)
        tr.run(n_iter)
        for col, sn in enumerate(tr.snapshots):
            im = draw(axes[row, col], sn, data, f"{label}: Iter {sn.iteration}")
            fig.colorbar(im, ax=axes[row, col], fraction=0.046, pad=0.03)
        h = tr.history
        curves[label] = (np.asarray(h.eval_iteration), np.asarray(h.w2))
        last = tr.snapshots[-1]
        numbers[label] = {
            "eval_iteration": h.eval_iteration,
            "w2_squared": h.w2,
            "final_w2_squared": float(h.w2[-1]),
            "grad_norm_mean": h.lip_mean,
            "grad_norm_max": h.lip_max,
            "final_critic_range": float(np.ptp(last.grid_values)),
            "final_snapshot_w2_squared": float(gtrainer.w2_squared(last.samples, data)),
            "final_samples": last.samples,
        }
    fig.suptitle("Example of WGAN training on the 6-point toy: weight clipping (top) vs "
                 "gradient penalty (bottom); colourbars: critic D minus its mean", fontsize=12)
    demo.save(fig, "training", caption="WGAN-WC (top) and WGAN-GP (bottom) on the lectures' "
              "6-point toy: critic landscapes, data and generated samples over iterations.")

    fig, ax = subplots(size=4.0)
    for k, (label, (it, w2)) in enumerate(curves.items()):
        plot.curve(ax, it, w2, index=k, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel(r"exact $W_2^2(\mu_\theta, \nu)$ (POT, 500 samples)")
    ax.set_title("WGAN-WC vs WGAN-GP on the 6-point toy")
    ax.legend(fontsize=9)
    demo.save(fig, "w2", caption="Exact W2^2 between 500 generated points and the data "
              "along training.")
    demo.numbers.update(methods=numbers)
    return demo.finish()


if __name__ == "__main__":
    main()
