"""Figure 02 -- vanishing gradients: the optimal discriminator and JS stuck at log 2.

The lectures' "Optimal Discriminator" and "Insufficiency of the Jensen-Shannon divergence":

(a) on the 6-point toy, with the data blurred into narrow Gaussians (density ``q``) and the
    generated measure a Gaussian blob (density ``p``, 100 samples shown), the optimal
    discriminator ``D* = q / (q + p)`` (:func:`otgan.closed_forms.optimal_discriminator`) is
    ~1 around the data points and ~0 around the generated samples: its landscape is flat on
    the supports, so the generator receives no useful gradient;
(b) in 1D, ``D*`` for a data Gaussian at 0 and a generated Gaussian at ``theta``: a sharp step
    as soon as the supports separate;
(c) ``JS(mu_theta, nu)`` between those two narrow Gaussians
    (:func:`otgan.closed_forms.js_divergence` on fine histograms, tails truncated at 1e-12) saturates at ``log 2`` (the
    value for disjoint supports, :func:`otgan.closed_forms.js_singular`) and its derivative in
    ``theta`` vanishes, while ``W1 = |theta|`` keeps a unit slope. The GAN value
    ``sup_D L(D) = L(D*) = 2 JS - log 4`` (:func:`otgan.closed_forms.gan_value`) is recorded.

Axes: the mathematical convention (``y`` up), as in every figure.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, subplots, unit_square
from otgan import closed_forms, datasets, plot

NAME = "fig02_vanishing_gradients"
GEN_MEAN = np.array([0.35, 0.2])
GEN_STD = 0.07
DATA_STD = 0.025


def gauss2d(x, centers, std):
    """Mixture (uniform weights) of isotropic 2D Gaussians, evaluated at ``x`` (n, 2)."""
    d2 = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * std**2)).mean(1) / (2 * np.pi * std**2)


def gauss1d(t, mean, std):
    return np.exp(-((t - mean) ** 2) / (2 * std**2)) / (np.sqrt(2 * np.pi) * std)


def _hist(t, mean, std):
    h = gauss1d(t, mean, std)
    # truncate the tails at 1e-12 of the peak: no subnormal masses, and D* = q / (q + p) never
    # rounds to exactly 0 or 1 where both densities are positive (log(1 - D*) stays finite)
    h[h < 1e-12 * h.max()] = 0.0
    return h / h.sum()


def js_curve(thetas, std, t):
    """JS between histograms of N(0, std) and N(theta, std) on the grid ``t`` (and L(D*))."""
    q = _hist(t, 0.0, std)
    js, val = [], []
    for th in thetas:
        p = _hist(t, th, std)
        p, qq = p / p.sum(), q / q.sum()
        js.append(float(closed_forms.js_divergence(p, qq)))
        val.append(float(closed_forms.gan_value(closed_forms.optimal_discriminator(p, qq), p, qq)))
    return np.array(js), np.array(val)


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    n = 96 if demo.quick else 256
    n_theta = 41 if demo.quick else 301
    n_t = 2001 if demo.quick else 20001
    stds = (0.3, 0.1, 0.02)
    demo.params.update(grid=n, gen_mean=GEN_MEAN, gen_std=GEN_STD, data_std=DATA_STD,
                       n_theta=n_theta, js_stds=stds, histogram_bins=n_t)
    rng = np.random.default_rng(demo.seed)
    y = datasets.six_points()

    fig, axes = subplots(1, 3, size=4.0)
    # (a) D* on the 6-point toy
    g = plot.grid(n)
    q = gauss2d(g, y, DATA_STD)
    p = gauss2d(g, GEN_MEAN[None], GEN_STD)
    d_star = closed_forms.optimal_discriminator(p, q)
    fake = GEN_MEAN + GEN_STD * rng.standard_normal((100, 2))
    ax = axes[0]
    plot.landscape(ax, d_star, vmin=0, vmax=1, colorbar=True, label=r"$D^*(x)$")
    plot.samples(ax, fake)
    plot.data(ax, y)
    unit_square(ax, title=r"optimal $D^* = q / (q + p_\theta)$: ~1 on data, ~0 on samples")
    d_data = closed_forms.optimal_discriminator(gauss2d(y, GEN_MEAN[None], GEN_STD),
                                                gauss2d(y, y, DATA_STD))
    d_fake = closed_forms.optimal_discriminator(gauss2d(fake, GEN_MEAN[None], GEN_STD),
                                                gauss2d(fake, y, DATA_STD))

    # (b) 1D profiles of D*
    ax = axes[1]
    t = np.linspace(-1.5, 2.5, 801)
    for k, th in enumerate((0.05, 0.3, 1.0)):
        ds = closed_forms.optimal_discriminator(gauss1d(t, th, 0.1), gauss1d(t, 0.0, 0.1))
        plot.curve(ax, t, ds, index=k, label=rf"$\theta$ = {th:g}")
    ax.fill_between(t, 0, gauss1d(t, 0.0, 0.1) / gauss1d(0, 0, 0.1) * 0.25, color=plot.DATA_COLOR,
                    alpha=0.25, label=r"$\nu$ (data) density")
    ax.set_xlabel("x")
    ax.set_ylabel(r"$D^*(x)$")
    ax.set_title(r"$D^*$ in 1D: $\nu = N(0, 0.1^2)$, $\mu_\theta = N(\theta, 0.1^2)$")
    ax.legend(fontsize=8)

    # (c) JS against theta
    ax = axes[2]
    thetas = np.linspace(0.0, 1.5, n_theta)
    tgrid = np.linspace(-3.0, 4.5, n_t)
    js_all, val_all = {}, {}
    for k, s in enumerate(stds):
        js, val = js_curve(thetas, s, tgrid)
        js_all[str(s)], val_all[str(s)] = js, val
        plot.curve(ax, thetas, js, index=k, label=rf"JS, std {s:g}")
    ax.axhline(closed_forms.js_singular(), color="gray", ls=":", label=r"$\log 2$")
    ax.plot(thetas, thetas * np.log(2) / thetas[-1], color="k", lw=1, ls="--",
            label=r"$W_1 = |\theta|$ (rescaled)")
    ax.set_xlabel(r"$\theta$")
    ax.set_title(r"JS$(\mu_\theta, \nu)$ saturates at $\log 2$")
    ax.legend(fontsize=8, loc="lower right")
    demo.save(fig, caption="The optimal discriminator is close to 0 and 1 on the supports; JS is stuck at log 2 for disjoint supports.")

    slope = {s: np.gradient(js_all[s], thetas) for s in js_all}
    demo.numbers.update(
        d_star_at_data_min=float(np.min(d_data)),
        d_star_at_samples_max=float(np.max(d_fake)),
        theta=thetas,
        js=js_all,
        gan_value_at_d_star=val_all,
        js_at_max_theta={s: float(v[-1]) for s, v in js_all.items()},
        js_slope_at_max_theta={s: float(v[-1]) for s, v in slope.items()},
        log2=float(np.log(2)),
    )
    return demo.finish()


if __name__ == "__main__":
    main()
