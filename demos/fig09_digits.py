"""Figure 9 -- digits: GAN / WGAN-GP / semi-discrete WGAN samples per epoch; SGD vs Adam.

The lecture's "GAN Training for MNIST digits" slides, on scikit-learn's 8 x 8 digits (1797
images shipped inside its wheel, :func:`otgan.datasets.load_digits`; nothing is downloaded) with
small budgets so that the whole demo runs in under a minute on a laptop CPU. Generators are
MLPs (16-dim Gaussian noise, 3 blocks Linear + ELU of width 128, sigmoid output = 64 pixels);
discriminators MLPs 64-128-128-1 with LeakyReLU(0.2). One *epoch* is ``1797 / batch`` generator
updates.

- ``methods``: rows GAN (non-saturating; Adam with lr 1e-3 instead of the lecture's 2e-4,
  for the small budget), WGAN-GP (``lambda = 10``, 5 critic steps, Adam 5e-4 (0.5, 0.9)),
  semi-discrete WGAN (quadratic cost, ASGD on ``psi`` in R^1797, Adam 1e-3 on the generator);
  columns: 16 samples (fixed latents) after epochs 1, 2, 5 and 10.
- ``sgd_vs_adam``: the same GAN trained with SGD (lr 0.1) instead of Adam: the lecture's
  *mode collapse* (the samples become nearly identical); the JSON records the mean pairwise
  distance between samples (diversity) beside that of the data.

All runs are :class:`otgan.gan.trainer.Trainer`; the JSON records the exact ``W2^2`` (POT)
between 500 generated and 500 real digits at each epoch.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots
from otgan import datasets, plot
from otgan.gan import models
from otgan.gan import trainer as gtrainer

NAME = "fig09_digits"
TITLE = "Digits: GAN / WGAN-GP / semi-discrete WGAN per epoch, mode collapse with SGD"
LATENT = 16


def build(loss, seed, width, **kw):
    """A trainer on the digits with MLP models of the given width."""
    torch.manual_seed(seed)
    gen = models.MLPGenerator(LATENT, 64, hidden=(width, width, width), output="sigmoid")
    disc = None if loss == "sdwgan" else models.MLPDiscriminator(64, hidden=(width, width))
    return gen, disc


def diversity(x):
    """Mean pairwise Euclidean distance between the rows of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def run(data, loss, epochs, per_epoch, *, seed, width, device, **kw):
    gen, disc = build(loss, seed, width)
    at = sorted({e * per_epoch for e in epochs})
    tr = gtrainer.Trainer(data, loss=loss, generator=gen, discriminator=disc, seed=seed,
                          snapshot_at=at, snapshot_size=16, eval_every=per_epoch, eval_size=500,
                          lipschitz=False, device=device, **kw)
    tr.run(max(at))
    return tr


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args)
    q = demo.quick
    digits = datasets.load_digits()
    data = digits.flat.astype(np.float32)
    if q:
        data = data[:200]
    batch = 64
    per_epoch = max(1, len(data) // batch)
    epochs = (1, 2) if q else (1, 2, 5, 10)
    width = 32 if q else 128
    device = torch.device(demo.device)
    configs = {
        "GAN": {"loss": "nsgan", "lr_g": 1e-3, "lr_d": 1e-3, "batch_size": batch},
        "WGAN-GP": {"loss": "wgan-gp", "lr_g": 5e-4, "lr_d": 5e-4, "batch_size": batch, "n_critic": 5},
        "semi-discrete WGAN": {"loss": "sdwgan", "lr_g": 1e-3, "batch_size": batch, "n_inner": 10},
    }
    sgd = {"loss": "nsgan", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "batch_size": batch}
    demo.params.update(n_images=len(data), batch=batch, updates_per_epoch=per_epoch,
                       epochs=epochs, width=width, latent=LATENT, configs=configs, sgd=sgd)

    runs = {}
    for k, (name, cfg) in enumerate(configs.items()):
        runs[name] = run(data, epochs=epochs, per_epoch=per_epoch, seed=demo.seed + k,
                         width=width, device=device, **cfg)
    runs["GAN with SGD"] = run(data, epochs=epochs, per_epoch=per_epoch, seed=demo.seed,
                               width=width, device=device, **sgd)

    def row(fig_axes, r, name, tr, real):
        plot.image_grid(fig_axes[r, 0], real, ncols=4)
        fig_axes[r, 0].set_title("Real images" if r == 0 else "")
        fig_axes[r, 0].set_ylabel(name)
        for c, sn in enumerate(tr.snapshots, start=1):
            plot.image_grid(fig_axes[r, c], sn.samples.reshape(-1, 8, 8), ncols=4)
            fig_axes[r, c].set_title(f"{name}: epoch {sn.iteration // per_epoch}", fontsize=9)

    rng = np.random.default_rng(demo.seed)
    real = data[rng.choice(len(data), 16, replace=False)].reshape(-1, 8, 8)
    names = list(configs)
    fig, axes = subplots(len(names), len(epochs) + 1, size=2.2)
    for r, name in enumerate(names):
        row(axes, r, name, runs[name], real)
    demo.save(fig, "methods")

    fig, axes = subplots(2, len(epochs) + 1, size=2.2)
    row(axes, 0, "GAN with Adam", runs["GAN"], real)
    row(axes, 1, "GAN with SGD", runs["GAN with SGD"], real)
    demo.save(fig, "sgd_vs_adam")

    fig, ax = subplots(size=4.0)
    for k, (name, tr) in enumerate(runs.items()):
        h = tr.history
        plot.curve(ax, h.eval_iteration / per_epoch, h.w2, index=k, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(r"exact $W_2^2$ to the digits (500 vs 500)")
    ax.legend(fontsize=8)
    demo.save(fig, "w2")

    with torch.no_grad():
        div = {name: diversity(tr.sample(200).cpu().numpy()) for name, tr in runs.items()}
    demo.numbers.update(
        w2_squared={name: tr.history.w2 for name, tr in runs.items()},
        eval_epoch=runs["GAN"].history.eval_iteration / per_epoch,
        final_w2_squared={name: float(tr.history.w2[-1]) for name, tr in runs.items()},
        diversity=div,
        data_diversity=diversity(data[rng.choice(len(data), min(200, len(data)), replace=False)]),
    )
    return demo.finish()


if __name__ == "__main__":
    main()
