"""Figure 12 -- the exact optimal W1 critic against trained WGAN-GP and weight-clipping critics.

The lectures' 2D toy: six data points (dark blue, uniform weights) and a generator frozen at the
uniform distribution on [0, 1]^2 (light blue samples). The W1 semi-discrete problem from the
generator to the data is solved *exactly* (damped Newton on the hyperbolic Apollonius cells,
``semidiscrete.solve(..., cost="euclidean")``, :func:`otgan.w1.optimal_critic`); the optimal
critic is ``f = -psi^c`` with ``psi^c(x) = min_j ||x - y_j|| - psi_j``, 1-Lipschitz with
``|grad f| = 1`` almost everywhere. Two MLP critics are trained against the same frozen
generator: WGAN-GP (Gulrajani et al. 2017, lambda = 10, Adam) and weight clipping (Arjovsky et
al. 2017, c = 0.01, RMSprop). Top row: the three critic surfaces (oranges) with the exact W1
Laguerre cells (orange curves) on each. Bottom row: gradient norms on uniform points, and the
trained critics against the exact one on a grid (after removing the mean). Axes: y up.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from demos._common import Demo, parse_args, subplots, train_critic
from otgan import datasets, laguerre, plot
from otgan.measures import Uniform
from otgan.w1 import optimal_critic

NAME = "fig12_w1_critic"


class UniformSquare(torch.nn.Module):
    """The frozen generator: ``Phi(z)`` (the Gaussian CDF, coordinatewise) of ``z ~ N(0, I_2)``
    is uniform on [0, 1]^2."""

    latent_dim = 2

    def forward(self, z):
        return torch.special.ndtr(z)


def grad_norms(f, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    return g.norm(dim=1).detach().numpy()


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    steps = 60 if demo.quick else 3000
    width = 16 if demo.quick else 64
    n_grid = 48 if demo.quick else 160
    batch = 128 if demo.quick else 256
    demo.params.update(critic_steps=steps, width=width, depth=3, batch=batch, clip=0.01,
                       clip_optimizer="RMSprop lr 5e-4", gp_lambda=10.0,
                       gp_optimizer="Adam lr 1e-3 betas (0.5, 0.9)", generator="U([0,1]^2)",
                       data="datasets.six_points()", newton_tol=1e-12)
    y = datasets.six_points()
    mu = Uniform()
    exact = optimal_critic(mu, y, tol=1e-12)
    D = laguerre.diagram(y, exact.psi, measure=mu, cost="euclidean")
    G = plot.grid(n_grid)
    f_exact = exact(G)
    critics = {}
    for i, method in enumerate(("gp", "clip")):
        net = train_critic(y, UniformSquare(), method, steps=steps, batch=batch, width=width,
                           rng=demo.seed + i, progress=demo.verbose)
        critics[method] = net
    fig, axes = subplots(2, 3, size=3.6)
    rng = np.random.default_rng(demo.seed)
    fake = rng.random((100, 2))
    vals = {"exact": f_exact}
    with torch.no_grad():
        for m, net in critics.items():
            vals[m] = net(torch.as_tensor(G, dtype=torch.float32)).numpy().ravel().astype(float)
    titles = {"exact": f"exact critic $-\\psi^c$ (W1 = {exact.w1:.6f})",
              "gp": "WGAN-GP critic (lambda = 10)", "clip": "WGAN-WC critic (clip c = 0.01)"}
    for ax, key in zip(axes[0], ("exact", "gp", "clip")):
        plot.landscape(ax, vals[key], contours=12)
        plot.polygons(ax, D, linewidth=1.2)
        plot.samples(ax, fake, size=8, label=None)
        plot.data(ax, y, size=30, label=None)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(titles[key], fontsize=9)
    # gradient norms on uniform points
    xu = torch.as_tensor(rng.random((2000 if not demo.quick else 300, 2)))
    norms = {"exact": grad_norms(lambda x: -exact.potential(x), xu)}
    for m, net in critics.items():
        norms[m] = grad_norms(lambda x, net=net: net(x.float()), xu)
    ax = axes[1, 0]
    allv = np.concatenate(list(norms.values()))
    bins = np.geomspace(max(1e-4, allv.min() * 0.8), allv.max() * 1.25, 40)
    method = {"gp": "WGAN-GP", "clip": "WGAN-WC"}
    for key in ("gp", "clip"):
        ax.hist(norms[key], bins=bins, color=plot.METHOD_COLORS[method[key]], alpha=0.7,
                label=method[key])
    ax.axvline(1.0, color="k", ls=":", lw=1, label="exact: |grad f| = 1")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\|\nabla f\|$ at uniform points")
    ax.legend(fontsize=8)
    ax.set_title("gradient norms", fontsize=9)
    stats = {}
    fe = f_exact - f_exact.mean()
    for ax, key in zip(axes[1, 1:], ("gp", "clip")):
        v = vals[key] - vals[key].mean()
        slope = float(v @ fe / (fe @ fe))
        corr = float(np.corrcoef(v, fe)[0, 1])
        sub = np.random.default_rng(1).choice(len(fe), size=min(3000, len(fe)), replace=False)
        ax.scatter(fe[sub], v[sub], s=2, color=plot.METHOD_COLORS[method[key]], alpha=0.5)
        t = np.array([fe.min(), fe.max()])
        ax.plot(t, slope * t, color="k", lw=1, ls=":")
        ax.set_xlabel("exact critic (mean removed)")
        ax.set_ylabel(f"{method[key]} critic (mean removed)")
        ax.set_title(f"{method[key]}: corr {corr:.3f}, slope {slope:.3g}", fontsize=9)
        # the trained critic's estimate of W1: E_data f - E_uniform f (a lower bound when
        # f is 1-Lipschitz; the clipped critic's scale is arbitrary)
        with torch.no_grad():
            fd = critics[key](torch.as_tensor(y, dtype=torch.float32)).numpy().mean()
            fu = critics[key](torch.rand(20000, 2, generator=torch.Generator().manual_seed(7)))
        stats[key] = {"corr_with_exact": corr, "slope": slope,
                      "dual_estimate": float(fd - fu.numpy().mean()),
                      "grad_norm_mean": float(norms[key].mean()),
                      "grad_norm_std": float(norms[key].std())}
    demo.save(fig, caption="Slide 'WGAN: Gradient Penalty v.s. Weight clipping' and the remark "
              "|grad psi^c| = 1 for W1, on the 6-point toy against the frozen generator "
              "U([0,1]^2): the exact optimal W1 critic -psi^c (damped Newton on the exact "
              "Apollonius cells, orange) beside the WGAN-GP and WGAN-WC critics trained against "
              "the same generator (top); their gradient norms at uniform points and their "
              "values against the exact critic's (bottom).")
    demo.numbers.update(
        w1_exact=exact.w1, psi=exact.psi, newton_iterations=exact.result.n_iter,
        newton_max_rel_mass_error=exact.result.error,
        exact_grad_norm_range=[float(norms["exact"].min()), float(norms["exact"].max())],
        critics=stats,
    )
    return demo.finish()


if __name__ == "__main__":
    main()
