"""Figure 01 -- GAN discriminator landscapes on the lectures' 6-point toy.

The slides "Illustration with a 2D example" of the GAN lecture: the 6 data points (navy) and
100 generated samples (light blue) over the discriminator ``D(x) = sigmoid(logit)`` drawn on a
256 x 256 grid (oranges), with the course's networks (generator: 3 blocks Linear + ELU on 10-dim
Gaussian noise, sigmoid output; discriminator 2-10-10-1 with LeakyReLU(0.2); Adam, lr 2e-3,
betas (0.5, 0.999); BCE discriminator loss and the non-saturating generator loss):

1. ``easy``: the untrained generator's samples, discriminator trained alone;
2. ``tougher``: after some joint training the samples interleave with the data; the
   discriminator, retrained alone, has to carve finer regions;
3. ``final``: the final configuration after joint training;
4. ``generator_only``: from there, only the generator is updated (a GIF and a grid
   "Iter k"): the samples run to the maxima of the frozen discriminator;
5. ``retrain``: "and if we retrain the discriminator?".

Every stage is :class:`otgan.gan.trainer.Trainer` with ``step="discriminator"``,
``"both"`` or ``"generator"`` sharing the same two networks; the JSON records the exact ``W2^2``
(POT) between generated samples and the data at each stage. Each panel's colour scale spans
its own range of ``D(x)`` (printed in its title; iso-lines in black), so that the structure
shows even where ``D`` is nearly constant (the final configuration, where ``D ~ 1/2``); the view
reaches a little past [0, 1]^2 so that samples on its border stay in sight. Axes: the
mathematical convention (``y`` up), as in every figure of the 6-point toy.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import copy

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots, unit_square
from otgan import datasets, plot
from otgan.gan import trainer as gtrainer

NAME = "fig01_discriminators"
EXTENT = (0.0, 1.0, 0.0, 1.0)
#: the lectures' BCE discriminator with the non-saturating generator loss ``-E log D(g(z))``
LOSS = "nsgan"


def stage(data, generator, discriminator, step, n_iter, *, seed, n_grid, device, snap_every=None,
          n_critic=1):
    """Run one training stage; returns the trainer and its snapshots (last one at n_iter)."""
    at = {n_iter}
    if snap_every:
        at |= set(range(0, n_iter + 1, snap_every))
    tr = gtrainer.Trainer(data, loss=LOSS, generator=generator, discriminator=discriminator,
                          step=step, seed=seed, snapshot_at=sorted(at), snapshot_grid=EXTENT,
                          grid_size=n_grid, device=device, n_critic=n_critic, eval_every=0)
    tr.run(n_iter)
    return tr, tr.snapshots


def draw(ax, snap, data, title, colorbar=False, clim=None):
    """One slide: landscape (``y`` up) on the panel's own colour scale (``clim``, default the
    range of ``D`` on it) with iso-lines, samples and data kept in view; returns the range."""
    plot.landscape(ax, snap.grid_values, extent=EXTENT, vmin=0.0, vmax=1.0,
                   colorbar=colorbar, label="D(x)")
    im = ax.images[-1]
    v = np.asarray(im.get_array(), dtype=float)  # image order (row 0 at the top)
    lo, hi = clim or (float(v.min()), float(v.max()))
    im.set_clim(lo, hi if hi > lo else lo + 1e-9)
    if hi > lo:
        n = v.shape[0]
        xs = (np.arange(n) + 0.5) / n
        ax.contour(xs, xs[::-1], v, levels=np.linspace(lo, hi, 9)[1:-1], colors="k",
                   linewidths=0.4, alpha=0.5)
    plot.samples(ax, snap.samples, label=None, clip_on=False)
    plot.data(ax, data, label=None, clip_on=False)
    unit_square(ax, title=f"{title}\nD(x) from {lo:.3g} to {hi:.3g}")
    ax.set_xlim(-0.04, 1.04)
    ax.set_ylim(-0.04, 1.04)
    return lo, hi


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    q = demo.quick
    n_grid = 32 if q else 256
    it = {"easy_d": 10 if q else 300, "tough_both": 10 if q else 750, "tough_d": 10 if q else 300,
          "final_both": 20 if q else 1250, "gen_only": 6 if q else 60,
          "retrain_d": 10 if q else 300}
    demo.params.update(iterations=it, grid=n_grid, loss=LOSS, optimizer="adam 2e-3 (0.5, 0.999)",
                       discriminator="2-10-10-1 LeakyReLU(0.2)", generator="MLP 3 x (Linear+ELU)",
                       convention="mathematical (y up)", colour_scale="each panel's own range of D")
    device = torch.device(demo.device)
    data = datasets.six_points()
    s = demo.seed
    base = gtrainer.Trainer(data, loss=LOSS, seed=s, device=device)
    G, D = base.generator, base.discriminator
    w2 = {}

    def record(key, tr):
        w2[key] = float(gtrainer.w2_squared(tr.sample(500), data))

    # 1. easy configuration: untrained generator, a copy of the discriminator trained alone
    demo.stage(f"easy configuration: training the discriminator alone ({it['easy_d']} steps)")
    tr, snaps = stage(data, G, copy.deepcopy(D), "discriminator", it["easy_d"], seed=s,
                      n_grid=n_grid, device=device)
    record("easy", tr)
    fig, ax = subplots(size=4.5)
    draw(ax, snaps[-1], data, f"Easy configuration: D after {it['easy_d']} steps",
         colorbar=True)
    demo.save(fig, "easy", caption="Illustration with a 2D example: the untrained generator's samples and the discriminator trained alone.")

    # 2. tougher example: joint training for a while (the samples now thread between the data
    # points), then a copy of the discriminator retrained alone on that configuration
    demo.stage(f"tougher example: joint training ({it['tough_both']} steps), then the "
               f"discriminator alone ({it['tough_d']} steps)")
    stage(data, G, D, "both", it["tough_both"], seed=s + 1, n_grid=n_grid, device=device)
    tr, snaps = stage(data, copy.deepcopy(G), copy.deepcopy(D), "discriminator", it["tough_d"],
                      seed=s + 2, n_grid=n_grid, device=device)
    record("tougher", tr)
    fig, ax = subplots(size=4.5)
    draw(ax, snaps[-1], data, "And now a tougher example...", colorbar=True)
    demo.save(fig, "tougher", caption="And now a tougher example: after joint training the samples thread between the data points.")

    # 3. final configuration: joint training goes on
    demo.stage(f"final configuration: joint training ({it['final_both']} more steps)")
    tr, snaps = stage(data, G, D, "both", it["final_both"], seed=s + 3, n_grid=n_grid,
                      device=device)
    record("final", tr)
    final = snaps[-1]
    fig, ax = subplots(size=4.5)
    draw(ax, final, data, f"Final configuration (Iter {it['tough_both'] + it['final_both']})",
         colorbar=True)
    demo.save(fig, "final", caption="Final configuration after joint training.")

    # 4. update only the generator
    demo.stage(f"update only the generator ({it['gen_only']} steps, GIF)")
    every = max(1, it["gen_only"] // 6)
    tr, snaps = stage(data, G, D, "generator", it["gen_only"], seed=s + 4, n_grid=n_grid,
                      device=device, snap_every=every)
    record("generator_only", tr)
    frames = []
    for sn in snaps:
        f, a = subplots(size=4.0)
        draw(a, sn, data, f"Update only the generator: Iter {sn.iteration}")
        frames.append(f)
    demo.gif(frames, "generator_only", duration_ms=600, caption="What happens if we update only "
             "the generator? (animation): the samples run to the maxima of the frozen D.")
    show = snaps[:: max(1, len(snaps) // 6)][:6]
    ncols = min(3, len(show))  # two rows of three: the strip fits a page's width
    fig, axes = subplots(-(-len(show) // ncols), ncols, size=3.2)
    axes = np.atleast_1d(axes).ravel()
    clim = None
    for a, sn in zip(axes, show):  # one colour scale (the frozen D), that of the first panel
        clim = draw(a, sn, data, f"Iter {sn.iteration}", clim=clim)
    for a in axes[len(show):]:
        a.axis("off")
    fig.colorbar(axes[0].images[0], ax=list(axes), fraction=0.02, pad=0.02, label="D(x)")
    fig.suptitle("What happens if we update only the generator? (the discriminator is frozen: "
                 "the samples run to its maxima)", fontsize=12)
    demo.save(fig, "generator_only", caption="Update only the generator: the frozen "
              "discriminator's landscape D(x) and the samples, which run to its maxima.")

    # 5. and if we retrain the discriminator?
    demo.stage(f"retrain the discriminator ({it['retrain_d']} steps)")
    tr, snaps = stage(data, G, D, "discriminator", it["retrain_d"], seed=s + 5, n_grid=n_grid,
                      device=device)
    record("retrain", tr)
    fig, ax = subplots(size=4.5)
    draw(ax, snaps[-1], data, "And if we retrain the discriminator?", colorbar=True)
    demo.save(fig, "retrain", caption="And if we retrain the discriminator?")

    with torch.no_grad():
        yt = torch.as_tensor(data, dtype=torch.float32, device=device)
        d_data = torch.sigmoid(D(yt)).cpu().numpy()
    demo.numbers.update(
        w2_squared_to_data=w2,
        final_snapshot_w2_squared=float(gtrainer.w2_squared(final.samples, data)),
        final_samples=final.samples,
        d_at_data_after_retrain=d_data,
        landscape_range_final=[float(final.grid_values.min()), float(final.grid_values.max())],
    )
    return demo.finish()


if __name__ == "__main__":
    main()
