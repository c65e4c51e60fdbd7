"""Figure 10 -- the 1D "piles of dirt" example (W = 5) and the WGAN lecture's exercises.

- Piles of dirt (Yin, *Deep Generative Models*, WGAN slides): ``P = (3, 2, 1, 4)`` and
  ``Q = (1, 2, 4, 3)`` on the positions 1..4; the flows ``delta_{i+1} = delta_i + P_i - Q_i``
  are ``2, 2, -1, 0`` and ``W(P, Q) = sum |delta_i| = 5`` (unnormalised masses, total 10).
  Computed with :func:`otgan.closed_forms.w1_histograms` on the normalised histograms, times 10.
- Exercise 1 (Leclaire, *GAN and WGAN training*): ``mu`` uniform on the square of vertices
  ``(0, +-1), (+-1, 0)``, ``nu = 1/2 d_(2,0) + 1/4 d_(-1,1) + 1/4 d_(-1,-1)``, cost ``||x - y||``.
  :func:`otgan.closed_forms.exercise_1` gives JS, W1 and the optimal ``psi``; the figure shows
  the (hyperbolic) Laguerre cells of that ``psi``, rasterised with
  :func:`otgan.ctransform.c_transform`, whose areas are checked against ``nu``.
- Exercise 2: ``mu_theta`` uniform on the segment ``[a, b]``, ``nu = (d_(-1,0) + d_(1,0)) / 2``,
  cost ``||x - y||^2``: :func:`otgan.closed_forms.exercise_2` along centred horizontal segments
  ``[(-t, 0), (t, 0)]`` and the minimiser from :func:`otgan.closed_forms.exercise_2_argmin`.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, subplots
from otgan import closed_forms, ctransform, plot

NAME = "fig10_exercises"

P_DIRT = np.array([3.0, 2.0, 1.0, 4.0])
Q_DIRT = np.array([1.0, 2.0, 4.0, 3.0])
EX1_Y = np.array([[2.0, 0.0], [-1.0, 1.0], [-1.0, -1.0]])
EX1_NU = np.array([0.5, 0.25, 0.25])


def piles_of_dirt():
    """W between the two piles (unnormalised masses) and the flows ``delta_i``."""
    total = P_DIRT.sum()
    w = total * float(closed_forms.w1_histograms(P_DIRT / total, Q_DIRT / total,
                                                  positions=np.arange(1.0, 5.0)))
    delta = np.cumsum(P_DIRT - Q_DIRT)
    return w, delta


def exercise_1_cells(psi, n):
    """Raster of the Laguerre cells of ``psi`` for ``||x - y||`` on the square ``|x1|+|x2| <= 1``.

    Returns ``(labels, inside, masses)``: labels on :func:`otgan.plot.grid` over [-1.2, 2.2] x
    [-1.2, 1.2]-ish (image order; -1 outside the square) and the mu-mass of each cell.
    """
    extent = (-1.3, 2.3, -1.3, 1.3)
    g = plot.grid(n, extent)
    inside = np.abs(g[:, 0]) + np.abs(g[:, 1]) <= 1.0
    _, idx = ctransform.c_transform(np.asarray(psi, float), EX1_Y, g, "euclidean")
    labels = np.where(inside, idx, -1)
    masses = np.bincount(idx[inside], minlength=3) / inside.sum()
    return labels, extent, masses


def _get(obj, key, pos):
    if isinstance(obj, dict):
        return obj[key]
    if hasattr(obj, key):
        return getattr(obj, key)
    return obj[pos]


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    n_grid = 128 if demo.quick else 400
    n_t = 30 if demo.quick else 200
    demo.params.update(P=P_DIRT, Q=Q_DIRT, ex1_y=EX1_Y, ex1_nu=EX1_NU, raster=n_grid, n_t=n_t)

    # --- piles of dirt ---------------------------------------------------------------------
    w, delta = piles_of_dirt()
    fig, axes = subplots(1, 3, size=3.4)
    pos = np.arange(1, 5)
    axes[0].bar(pos, P_DIRT, color=plot.DATA_COLOR)
    axes[0].set_title("P = (3, 2, 1, 4)")
    axes[1].bar(pos, Q_DIRT, color=plot.SAMPLE_COLOR)
    axes[1].set_title("Q = (1, 2, 4, 3)")
    axes[2].bar(pos + 0.5, delta, width=0.4, color=plot.CELL_COLOR)
    axes[2].axhline(0, color="k", lw=0.8)
    for p, d in zip(pos + 0.5, delta):
        axes[2].text(p, d + (0.1 if d >= 0 else -0.35), f"{d:+.0f}", ha="center")
    axes[2].set_title(r"$\delta_{i} = \delta_{i-1} + P_i - Q_i$:  "
                      rf"$W(P, Q) = \sum_i |\delta_i| = {w:g}$")
    for ax in axes:
        ax.set_xticks(pos)
        ax.set_ylim(min(-1.5, delta.min() - 0.5), 4.5)
    axes[2].set_xticks(pos + 0.5, [rf"$\delta_{i}$" for i in pos])
    axes[2].set_ylabel("dirt moved from pile i to pile i + 1")
    fig.suptitle("Wasserstein distance: a discrete example (piles of dirt)", fontsize=12)
    demo.save(fig, "piles_of_dirt", caption="The lecture's piles of dirt: P, Q and the flows "
              "delta_1..delta_4 = 2, 2, -1, 0, whose absolute values add up to W(P, Q) = 5.")

    # --- exercise 1 ---------------------------------------------------------------------------
    ex1 = closed_forms.exercise_1()
    psi = np.asarray(ex1["psi"], dtype=float)
    labels, extent, masses = exercise_1_cells(psi, n_grid)
    fig, ax = subplots(1, 1, size=5.0)
    ax.fill([0, 1, 0, -1], [1, 0, -1, 0], color=plot.SAMPLE_COLOR, alpha=0.25,
            label=r"$\mu$ (uniform)")
    plot.cells_from_labels(ax, labels, extent=extent, fill=False)
    plot.data(ax, EX1_Y, size=[160, 80, 80], label=r"$\nu$")
    for j, (yj, nj) in enumerate(zip(EX1_Y, EX1_NU)):
        ax.annotate(f"$y_{j + 1}$: mass {nj:g}, cell {masses[j]:.3f}", yj, textcoords="offset points",
                    xytext=(-60, 10 if yj[1] >= 0 else -18), fontsize=8)
    ax.set_aspect("equal")
    ax.set_title(
        f"Exercise 1: W1 = {float(ex1['w1']):.4f}, JS = {float(ex1['js']):.4f}\n"
        rf"optimal $\psi$ = ({', '.join(f'{v:.3f}' for v in psi)}), cells of $T_\psi$"
    )
    ax.legend(loc="lower right", fontsize=8)
    demo.save(fig, "exercise_1", caption="Exercise 1: the optimal psi's Laguerre cells carry the masses of nu.")

    # --- exercise 2 ---------------------------------------------------------------------------
    ts = np.linspace(0.05, 3.0, n_t)
    costs = np.array([float(closed_forms.exercise_2(np.array([-t, 0.0]), np.array([t, 0.0])))
                      for t in ts])
    best = closed_forms.exercise_2_argmin()
    a_opt = np.asarray(_get(best, "a", 0), float)
    b_opt = np.asarray(_get(best, "b", 1), float)
    w_opt = float(_get(best, "value", 2))
    fig, axes = subplots(1, 2, size=4.0)
    ax = axes[0]
    plot.curve(ax, ts, costs, label=r"$W(\mu_\theta, \nu)$, $[a, b] = [(-t, 0), (t, 0)]$")
    ax.axhline(w_opt, color=plot.CURVE_COLORS[1], ls="--", lw=1, label=f"min = {w_opt:.4g}")
    ax.set_xlabel("t (half-length of the segment)")
    ax.legend(fontsize=8)
    ax.set_title("Exercise 2: quadratic OT cost of a segment")
    ax = axes[1]
    ax.plot([a_opt[0], b_opt[0]], [a_opt[1], b_opt[1]], color=plot.SAMPLE_COLOR, lw=5, alpha=0.8,
            label=r"optimal $[a, b]$")
    plot.data(ax, np.array([[-1.0, 0.0], [1.0, 0.0]]), size=80, label=r"$\nu$")
    mid = (a_opt + b_opt) / 2
    ax.axvline(mid[0], color=plot.CELL_COLOR, lw=1.5, label="Laguerre boundary")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-1, 1)
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"a = ({a_opt[0]:.3g}, {a_opt[1]:.3g}), b = ({b_opt[0]:.3g}, {b_opt[1]:.3g})")
    demo.save(fig, "exercise_2", caption="Exercise 2: the quadratic OT cost of a segment and its minimiser.")

    demo.numbers.update(
        piles_w=w,
        piles_delta=delta,
        ex1_w1=float(ex1["w1"]),
        ex1_js=float(ex1["js"]),
        ex1_psi=psi,
        ex1_raster_cell_masses=masses,
        ex2_t=ts,
        ex2_cost=costs,
        ex2_argmin_a=a_opt,
        ex2_argmin_b=b_opt,
        ex2_min_cost=w_opt,
    )
    return demo.finish()


if __name__ == "__main__":
    main()
