"""Figure 8 -- the Dirac-GAN (Mescheder, Geiger, Nowozin 2018): vector fields and trajectories.

Data ``delta_0``, generator ``delta_theta``, linear discriminator ``D_psi(x) = psi x``. For GAN,
non-saturating GAN, WGAN, WGAN-GP and R1 the figure shows the (normalised) gradient vector field
of the game in the ``(theta, psi)`` plane and the iterates of gradient descent from ``(1, 1)``
with step 0.2, simultaneous (top row) and alternating (bottom row) updates. The unique
equilibrium is ``(0, 0)``: GAN and WGAN circle around or away from it, R1 (and, to a smaller
extent, WGAN-GP) converge.

Library calls: :func:`otgan.gan.dirac.closed_form_field` (the arrows),
:func:`otgan.gan.dirac.trajectory` (the iterates, autograd through :mod:`otgan.gan.losses` and
:mod:`otgan.gan.penalties`), :func:`otgan.gan.dirac.vector_field` (autograd field, compared with
the closed form in the JSON). Penalty factors: WGAN-GP ``lam E[(||grad D|| - 1)^2]`` with
``lam = 1``; R1 ``gamma/2 E||grad D(y)||^2`` (the paper's factor) with ``gamma = 1``.
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
TITLE = "Dirac-GAN vector fields and trajectories (GAN, NS-GAN, WGAN, WGAN-GP, R1)"
LABELS = {"gan": "GAN", "nsgan": "NS-GAN", "wgan": "WGAN", "wgan-gp": "WGAN-GP", "r1": "R1"}


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args)
    n_steps = 40 if demo.quick else 300
    n_arrows = 11 if demo.quick else 19
    lim = 2.0
    step = 0.2
    demo.params.update(n_steps=n_steps, step=step, start=[1.0, 1.0], lam=1.0, gamma=1.0,
                       window=[-lim, lim])
    tt, pp = np.meshgrid(np.linspace(-lim, lim, n_arrows), np.linspace(-lim, lim, n_arrows))
    check = np.array([[0.7, -0.3], [-1.2, 0.5], [0.4, 1.6]])

    fig, axes = subplots(2, len(dirac.LOSSES), size=3.0)
    final = {}
    field_err = {}
    for col, loss in enumerate(dirac.LOSSES):
        vt, vp = dirac.closed_form_field(loss, tt, pp)
        at, ap = dirac.vector_field(loss, check[:, 0], check[:, 1])
        ct, cp = dirac.closed_form_field(loss, check[:, 0], check[:, 1])
        field_err[loss] = float(max(np.max(np.abs(at - ct)), np.max(np.abs(ap - cp))))
        for row, mode in enumerate(("simultaneous", "alternating")):
            ax = axes[row, col]
            plot.vector_field(ax, tt, pp, vt, vp, color="darkgray", width=0.004)
            tr = dirac.trajectory(loss, theta0=1.0, psi0=1.0, step=step, n_steps=n_steps,
                                  mode=mode)
            ax.plot(tr.theta, tr.psi, "-", color=plot.DATA_COLOR, lw=1.2)
            ax.plot(tr.theta[0], tr.psi[0], "o", color=plot.SAMPLE_COLOR, ms=7)
            ax.plot(0, 0, "*", color=plot.CELL_COLOR, ms=12)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"{LABELS[loss]} ({mode})", fontsize=10)
            if row == 1:
                ax.set_xlabel(r"$\theta$")
            if col == 0:
                ax.set_ylabel(r"$\psi$")
            final[f"{loss}/{mode}"] = float(np.hypot(tr.theta[-1], tr.psi[-1]))
    demo.save(fig)
    demo.numbers.update(
        final_distance_to_equilibrium=final,
        autograd_vs_closed_form_max_abs=field_err,
    )
    return demo.finish()


if __name__ == "__main__":
    main()
