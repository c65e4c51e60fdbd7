"""Figure 03 -- parallel lines (Arjovsky, Chintala, Bottou 2017, Example 1 and Figure 1).

``P_0`` is the law of ``(0, Z)`` and ``P_theta`` the law of ``(theta, Z)`` with ``Z ~ U[0, 1]``.
Then ``W1(P_0, P_theta) = |theta|`` while ``JS = log 2`` and ``KL = +inf`` for every
``theta != 0``: only the Wasserstein distance gives a useful gradient in ``theta``.

The curves come from :func:`otgan.closed_forms.parallel_lines`; the markers are an
independent Monte-Carlo check (POT's exact ``ot.emd2`` between samples of the two lines).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, subplots
from otgan import closed_forms, plot

NAME = "fig03_parallel_lines"


def compute(thetas):
    """Closed-form W1, JS and KL between the two lines for each theta (arrays)."""
    rows = [closed_forms.parallel_lines(float(t)) for t in thetas]
    return {k: np.array([float(r[k]) for r in rows]) for k in ("w1", "js", "kl")}


def monte_carlo_w1(thetas, n, rng):
    """W1 between ``n`` samples of each line, solved exactly by POT (``ot.emd2``)."""
    import ot

    out = []
    for t in thetas:
        a = np.column_stack([np.zeros(n), rng.random(n)])
        b = np.column_stack([np.full(n, t), rng.random(n)])
        m = ot.dist(a, b, metric="euclidean")
        out.append(float(ot.emd2(np.full(n, 1 / n), np.full(n, 1 / n), m)))
    return np.array(out)


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    n_theta = 21 if demo.quick else 401
    n_mc = 50 if demo.quick else 300
    thetas = np.linspace(-1.0, 1.0, n_theta)
    mc_thetas = np.linspace(-1.0, 1.0, 5 if demo.quick else 9)
    rng = np.random.default_rng(demo.seed)
    demo.params.update(n_theta=n_theta, theta_range=[-1.0, 1.0], n_monte_carlo=n_mc)

    vals = compute(thetas)
    mc = monte_carlo_w1(mc_thetas, n_mc, rng)

    fig, axes = subplots(1, 3, size=3.6)
    ax = axes[0]
    z = np.linspace(0, 1, 2)
    ax.plot([0, 0], z, color=plot.DATA_COLOR, lw=4, label="$P_0$")
    ax.plot([0.5, 0.5], z, color=plot.SAMPLE_COLOR, lw=4, alpha=0.8, label=r"$P_\theta$")
    ax.annotate("", xy=(0.5, 0.5), xytext=(0, 0.5),
                arrowprops={"arrowstyle": "<->", "color": "gray"})
    ax.text(0.25, 0.55, r"$\theta$", ha="center")
    ax.set_xlim(-0.5, 1.0)
    ax.set_ylim(-0.1, 1.1)
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    ax.set_title(r"$P_0$: $(0, Z)$,  $P_\theta$: $(\theta, Z)$")

    ax = axes[1]
    plot.curve(ax, thetas, vals["w1"], label=r"$W_1(P_0, P_\theta)$")
    ax.plot(mc_thetas, mc, "o", color=plot.CURVE_COLORS[1], ms=6,
            label=f"POT emd2, {n_mc} samples")
    ax.set_xlabel(r"$\theta$")
    ax.set_title("Earth-Mover (W1) distance")
    ax.legend(loc="upper center", fontsize=8)

    ax = axes[2]
    js = vals["js"]
    plot.curve(ax, thetas[thetas < 0], js[thetas < 0], label=r"$JS(P_0, P_\theta)$")
    plot.curve(ax, thetas[thetas > 0], js[thetas > 0])
    ax.plot([0], [js[np.argmin(np.abs(thetas))]], "o", color=plot.CURVE_COLORS[0])
    ax.axhline(np.log(2), color="gray", ls=":", lw=1, label=r"$\log 2$")
    ax.set_xlabel(r"$\theta$")
    ax.set_ylim(-0.05, 0.8)
    ax.set_title("Jensen-Shannon divergence")
    ax.legend(loc="lower right", fontsize=8)
    demo.save(fig, caption="Parallel lines: W1 = |theta| is continuous, JS jumps to log 2 (Arjovsky et al., Figure 1).")

    nz = thetas != 0
    demo.numbers.update(
        theta=thetas,
        w1=vals["w1"],
        js=vals["js"],
        kl=vals["kl"],
        mc_theta=mc_thetas,
        mc_w1=mc,
        max_abs_w1_minus_abs_theta=float(np.max(np.abs(vals["w1"] - np.abs(thetas)))),
        js_off_zero_min=float(js[nz].min()),
        js_off_zero_max=float(js[nz].max()),
    )
    return demo.finish()


if __name__ == "__main__":
    main()
