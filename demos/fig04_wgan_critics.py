"""Figure 04 -- WGAN critics: weight clipping against gradient penalty (Gulrajani et al. 2017, Fig. 1).

On the toy sets of Gulrajani et al. (8 Gaussians, 25 Gaussians, Swiss roll) a critic is trained
long (2000 steps by default, ``--steps``) against a *fixed* generator "data + Gaussian noise"
(:class:`otgan.gan.models.NoisyDataGenerator`), once with weight clipping (Arjovsky et al.
2017: clip 0.01, RMSprop) and once with the two-sided gradient penalty
``lam E[(||grad D|| - 1)^2]`` (:func:`otgan.gan.penalties.gradient_penalty`, ``lam = 10``, the
paper's default, Adam). Top rows: the critics' value surfaces (oranges, each with its colourbar:
``D`` minus its mean on the window, so that the ranges compare; the clipped critic's range is
about a thousandth of the penalised one's) with the data (navy) and generated samples (light
blue); bottom row: the distribution of the critics' gradient norms ``||grad D||`` on random
interpolates: the clipped critic's norms are tiny (far below 1, as every clipped network's
Lipschitz constant is), the penalised critic's concentrate near 1 (the sidecar records their
means). Axes: mathematical convention (y up).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots, train_critic
from otgan import datasets, plot
from otgan.gan import models, penalties

NAME = "fig04_wgan_critics"
TOYS = (("8gaussians", datasets.eight_gaussians), ("25gaussians", datasets.twenty_five_gaussians),
        ("swissroll", datasets.swiss_roll))
EXTENT = (-2.5, 2.5, -2.5, 2.5)


def _options(p):
    p.add_argument("--steps", type=int, default=None,
                   help="critic steps against the fixed generator (default 2000; 200 --quick)")


def fit(data, method, *, steps, batch, width, device, seed, noise_std=1.0, progress=False):
    """A critic trained against the fixed generator data + noise (eval mode), and that
    generator."""
    y = torch.as_tensor(data, dtype=torch.float32, device=device)
    fake_gen = models.NoisyDataGenerator(y, std=noise_std).to(device)
    critic = train_critic(y, fake_gen, method, steps=steps, batch=batch, width=width, rng=seed,
                          device=device, progress=progress)
    return critic, fake_gen


def critic_grid(critic, n, device):
    g = torch.as_tensor(plot.grid(n, EXTENT), dtype=torch.float32, device=device)
    with torch.no_grad():
        return critic(g).cpu().numpy().reshape(n, n)


def gradient_norms(critic, data, fake_gen, n, device, seed):
    gen = torch.Generator(device=device).manual_seed(seed + 1)
    y = torch.as_tensor(data, dtype=torch.float32, device=device)
    real = y[torch.randint(0, y.shape[0], (n,), generator=gen, device=device)]
    fake = fake_gen.sample(n, rng=gen)
    a = penalties.interpolates(fake, real, rng=gen)
    g = penalties.input_gradient(critic, a, create_graph=False)
    return g.norm(dim=1).detach().cpu().numpy()


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=_options)
    demo = Demo(NAME, args, announce=announce)
    steps = args.steps or (200 if demo.quick else 2000)
    width = 16 if demo.quick else 64
    n_data = 256 if demo.quick else 2000
    n_grid = 48 if demo.quick else 128
    batch = 128 if demo.quick else 256
    demo.params.update(critic_steps=steps, width=width, depth=3, batch=batch, n_data=n_data,
                       clip=0.01, clip_optimizer="RMSprop lr 5e-4", gp_lambda=10.0,
                       gp_optimizer="Adam lr 1e-3 betas (0.5, 0.9)", fixed_generator_noise=1.0,
                       window=EXTENT)
    device = torch.device(demo.device)
    fig, axes = subplots(3, 3, size=3.6)
    stats = {}
    for col, (name, sampler) in enumerate(TOYS):
        data = sampler(n_data, rng=demo.seed)
        norms = {}
        for row, method in enumerate(("clip", "gp")):
            demo.stage(f"{name}: training the {'clipped' if method == 'clip' else 'penalised'} "
                       f"critic ({steps} steps)")
            critic, fake_gen = fit(data, method, steps=steps, batch=batch, width=width,
                                   device=device, seed=demo.seed + 10 * col + row,
                                   progress=demo.verbose)
            vals = critic_grid(critic, n_grid, device)
            ax = axes[row, col]
            plot.landscape(ax, vals - vals.mean(), extent=EXTENT, contours=10, colorbar=True,
                           label="D(x) - mean")
            fake = fake_gen.sample(100, rng=demo.seed).cpu().numpy()
            plot.samples(ax, fake, size=8, label=None)
            plot.data(ax, data[:300], size=6, label=None, linewidths=0)
            ax.set_xlim(EXTENT[0], EXTENT[1])
            ax.set_ylim(EXTENT[2], EXTENT[3])
            label = "weight clipping (c = 0.01)" if method == "clip" else "gradient penalty"
            ax.set_title(f"{name}: {label}", fontsize=10)
            norms[method] = gradient_norms(critic, data, fake_gen, 1000 if not demo.quick else 200,
                                           device, demo.seed)
            stats[f"{name}/{method}"] = {
                "grad_norm_mean": float(norms[method].mean()),
                "grad_norm_median": float(np.median(norms[method])),
                "grad_norm_std": float(norms[method].std()),
                "grad_norm_max": float(norms[method].max()),
                "critic_range": [float(vals.min()), float(vals.max())],
            }
        ax = axes[2, col]
        lo = max(1e-4, min(v.min() for v in norms.values()) * 0.8)
        hi = max(v.max() for v in norms.values()) * 1.2
        bins = np.geomspace(lo, hi, 40)
        ax.hist(norms["clip"], bins=bins, color=plot.METHOD_COLORS["WGAN-WC"], alpha=0.7,
                label="weight clipping")
        ax.hist(norms["gp"], bins=bins, color=plot.METHOD_COLORS["WGAN-GP"], alpha=0.7,
                label="gradient penalty")
        ax.axvline(1.0, color="k", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\|\nabla D\|$ on interpolates")
        ax.set_title(f"{name}: gradient norms", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("WGAN critics trained against a fixed generator (data + noise): weight clipping "
                 "(top) vs gradient penalty (middle)", fontsize=12)
    demo.save(fig, caption="Value surfaces of critics trained long against the fixed generator "
              "'data + Gaussian noise' (top: weight clipping, middle: gradient penalty; "
              "colourbars show each critic's range) and their gradient norms on interpolates "
              "(bottom).")
    demo.numbers.update(critics=stats, layer_widths=[2, width, width, width, 1])
    return demo.finish()


if __name__ == "__main__":
    main()
