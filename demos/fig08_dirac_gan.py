"""Figure 08 -- the Dirac-GAN (Mescheder, Geiger, Nowozin 2018): vector fields and trajectories.

Data ``delta_0``, generator ``delta_theta``, linear discriminator ``D_psi(x) = psi x``; the unique
equilibrium is ``(0, 0)`` (orange star). For GAN, non-saturating GAN, WGAN, WGAN-GP and R1 the
figure shows the (normalised) gradient vector field of the game in the ``(theta, psi)`` plane and
the iterates of gradient descent from ``(1, 1)`` (light-blue dot) with step 0.2: simultaneous
updates (top row), alternating updates (middle row) and, as in the lecture's "WGAN (n_d = 5)" and
"WGAN-GP (n_d = 5)" panels, ``n_d = 5`` discriminator steps per generator step (bottom row,
``--n-d``). Each panel's window is chosen to show its whole trajectory (its axis limits differ).
What the figure shows (the JSON records each run's final distance to the equilibrium):

- GAN and WGAN never converge: simultaneous steps spiral outwards (for WGAN the distance is
  multiplied by ``sqrt(1 + h^2)`` at every step: about 500 after 300 steps), alternating steps
  and ``n_d = 5`` discriminator steps circle the equilibrium on a closed orbit.
- NS-GAN approaches the equilibrium, slowly, circling it.
- WGAN-GP does not converge to the equilibrium either: the penalty pulls ``|psi|`` to 1, the
  generator drifts at unit speed, and the iterates stop at ``(theta, psi) = (-2 lam, 0)``
  (distance 2 for ``lam = 1``), where ``psi`` reaches 0 from above and the penalty's gradient
  jumps: a point of the field that is not the equilibrium.
- R1 converges to the equilibrium in every mode.

Library calls: :func:`otgan.gan.dirac.closed_form_field` (the arrows),
:func:`otgan.gan.dirac.trajectory` (simultaneous and alternating iterates, autograd through
:mod:`otgan.gan.losses` and :mod:`otgan.gan.penalties`), :func:`otgan.gan.dirac.vector_field`
(the ``n_d``-step iterates, and the autograd field compared with the closed form in the JSON).
Penalty factors: WGAN-GP ``lam E[(||grad D|| - 1)^2]`` with ``lam = 1``; R1
``gamma/2 E||grad D(y)||^2`` (the paper's factor) with ``gamma = 1``.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, subplots
from otgan import plot
from otgan.gan import dirac

NAME = "fig08_dirac_gan"
LABELS = {"gan": "GAN", "nsgan": "NS-GAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP", "r1": "R1"}


def _options(p):
    p.add_argument("--n-d", type=int, default=5, dest="n_d",
                   help="discriminator steps per generator step in the bottom row (default 5)")


def n_d_trajectory(loss, *, n_d, step, n_steps, theta0=1.0, psi0=1.0):
    """``n_d`` discriminator steps on ``psi``, then one generator step on ``theta`` (with the new
    ``psi``), repeated ``n_steps`` times; the field is :func:`otgan.gan.dirac.vector_field`."""
    th = np.empty(n_steps + 1)
    ps = np.empty(n_steps + 1)
    th[0], ps[0] = theta0, psi0
    for k in range(n_steps):
        t, p = th[k], ps[k]
        for _ in range(n_d):
            p = p + step * dirac.vector_field(loss, t, p)[1]
        th[k + 1] = t + step * dirac.vector_field(loss, t, p)[0]
        ps[k + 1] = p
    return th, ps


def _window(theta, psi):
    """Half-width of a square window centred on the equilibrium that holds the trajectory."""
    m = float(np.max(np.abs(np.concatenate([theta, psi]))))
    return max(2.0, 1.15 * m)


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=_options)
    demo = Demo(NAME, args, announce=announce)
    n_steps = 150 if demo.quick else 300
    n_arrows = 11 if demo.quick else 17
    step = 0.2
    n_d = int(args.n_d)
    if n_d < 1:
        raise SystemExit(f"{NAME}: --n-d must be at least 1; got {n_d}")
    demo.params.update(n_steps=n_steps, step=step, start=[1.0, 1.0], lam=1.0, gamma=1.0, n_d=n_d)
    check = np.array([[0.7, -0.3], [-1.2, 0.5], [0.4, 1.6]])

    modes = ("simultaneous", "alternating", f"n_d = {n_d}")
    fig, axes = subplots(3, len(dirac.LOSSES), size=3.0)
    final = {}
    windows = {}
    field_err = {}
    for col, loss in enumerate(dirac.LOSSES):
        at, ap = dirac.vector_field(loss, check[:, 0], check[:, 1])
        ct, cp = dirac.closed_form_field(loss, check[:, 0], check[:, 1])
        field_err[loss] = float(max(np.max(np.abs(at - ct)), np.max(np.abs(ap - cp))))
        for row, mode in enumerate(modes):
            if row < 2:
                tr = dirac.trajectory(loss, theta0=1.0, psi0=1.0, step=step, n_steps=n_steps,
                                      mode=mode)
                th, ps = tr.theta, tr.psi
            else:
                th, ps = n_d_trajectory(loss, n_d=n_d, step=step, n_steps=n_steps)
            lim = _window(th, ps)
            ax = axes[row, col]
            grid = np.linspace(-lim, lim, n_arrows)
            tt, pp = np.meshgrid(grid, grid)
            vt, vp = dirac.closed_form_field(loss, tt, pp)
            plot.vector_field(ax, tt, pp, vt, vp, color="darkgray", width=0.004)
            ax.plot(th, ps, "-", color=plot.DATA_COLOR, lw=1.0)
            ax.plot(th[-1], ps[-1], "s", color=plot.DATA_COLOR, ms=5)
            ax.plot(th[0], ps[0], "o", color=plot.SAMPLE_COLOR, ms=7)
            ax.plot(0, 0, "*", color=plot.CELL_COLOR, ms=12)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"{LABELS[loss]} ({mode})", fontsize=10)
            if row == 2:
                ax.set_xlabel(r"$\theta$")
            if col == 0:
                ax.set_ylabel(r"$\psi$")
            key = f"{loss}/{'n_d' if row == 2 else mode}"
            final[key] = float(np.hypot(th[-1], ps[-1]))
            windows[key] = lim
        demo.stage(f"{LABELS[loss]}: 3 trajectories")
    fig.suptitle(f"Dirac-GAN: {n_steps} gradient steps of size {step} from (1, 1) (circle; square: "
                 "last iterate); equilibrium (0, 0) (star)", fontsize=12)
    demo.save(fig, caption="Dirac-GAN vector fields and trajectories: simultaneous (top), "
              f"alternating (middle) and n_d = {n_d} discriminator steps per generator step "
              "(bottom); each window holds its whole trajectory.")
    demo.numbers.update(
        final_distance_to_equilibrium=final,
        window_half_width=windows,
        autograd_vs_closed_form_max_abs=field_err,
    )
    return demo.finish()


if __name__ == "__main__":
    main()
