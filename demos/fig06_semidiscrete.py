"""Figure 06 -- semi-discrete OT from a grayscale density: Laguerre diagram, ASGD and Newton.

The lecture's "WGAN in the semi-discrete case" (``mu`` a density in graylevels, ``nu`` uniform on
``Y``) and "ASGD Algorithm for Semi-Discrete OT":

- ``laguerre``: a procedural grayscale picture (a face; nothing is downloaded) is the density
  ``mu`` (:class:`otgan.measures.ImageDensity`); the optimal ``psi`` for ``nu`` uniform on ``J``
  random sites is found by damped Newton (:func:`otgan.semidiscrete.solve`), and the Laguerre
  diagram (:func:`otgan.laguerre.diagram`) is drawn in orange over the picture, beside the
  Voronoi diagram (``psi = 0``). The cells of the optimal diagram all carry mass ``1/J``: small
  where the picture is bright.
- ``convergence``: on a smaller problem, the ASGD suboptimality ``H(psi*) - H(psi_k)``
  (:func:`otgan.semidiscrete.asgd`; exact ``H`` from the exact diagram at log-spaced ``k``)
  against the ``O(log k / sqrt k)`` rate of Genevay et al. (2016), and Newton's maximal relative
  mass error per iteration (quadratic convergence, Kitagawa, Mérigot & Thibert 2019).

Axes: mathematical convention (``y`` up); the picture's row 0 is its top, as in an image file.
"""

from __future__ import annotations

import warnings

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, subplots, unit_square
from otgan import laguerre, measures, plot, semidiscrete

NAME = "fig06_semidiscrete"


def face_image(n: int) -> np.ndarray:
    """A procedural grayscale face, ``n x n`` in ``[0.05, 1]`` (row 0 at the top)."""
    u = (np.arange(n) + 0.5) / n
    X, R = np.meshgrid(u, u)  # R: distance from the top
    face = np.exp(-((X - 0.5) ** 2 / 0.09 + (R - 0.5) ** 2 / 0.13))
    eyes = sum(np.exp(-((X - cx) ** 2 + (R - 0.4) ** 2) / (2 * 0.035**2)) for cx in (0.37, 0.63))
    arc = np.abs(np.hypot(X - 0.5, R - 0.45) - 0.2) < 0.035
    mouth = arc & (R > 0.56)
    img = 0.1 + 0.9 * face - 0.8 * eyes - 0.6 * mouth
    return np.clip(img, 0.05, 1.0)


def semi_dual_exact(mu, y, psi, nu):
    """Exact ``H(psi) = sum_j int_{L_j} ||x - y_j||^2 dmu - psi . mu(L) + nu . psi``."""
    return laguerre.diagram(y, psi, measure=mu).semi_dual(nu)


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    q = demo.quick
    n_img = 24 if q else 64
    J = 25 if q else 250
    J_asgd = 12 if q else 40
    n_asgd = 300 if q else 5_000
    rng = np.random.default_rng(demo.seed)
    img = face_image(n_img)
    mu = measures.ImageDensity(img)
    demo.params.update(image=f"procedural face {n_img}x{n_img}", J=J, J_asgd=J_asgd,
                       asgd_steps=n_asgd, asgd_batch=64, nu="uniform 1/J")

    # Laguerre diagram with optimal weights (Newton)
    y = 0.02 + 0.96 * rng.random((J, 2))
    nu = np.full(J, 1.0 / J)
    res = semidiscrete.solve(mu, y, nu, method="newton", tol=1e-9)
    psi = np.asarray(res.psi, dtype=float)
    lag = laguerre.diagram(y, psi, measure=mu)
    vor = laguerre.diagram(y, np.zeros(J), measure=mu)
    fig, axes = subplots(1, 2, size=5.0)
    for ax, diag, title in ((axes[0], vor, r"$\psi = 0$ (Voronoi)"),
                            (axes[1], lag, r"optimal $\psi$ (Laguerre)")):
        ax.imshow(img, cmap="gray", extent=(0, 1, 0, 1), vmin=0, vmax=1)
        plot.polygons(ax, diag.polygons, linewidth=1.0)
        plot.data(ax, y, size=6, label=None, linewidths=0)
        m = np.asarray(diag.masses)
        unit_square(ax, title=f"{title}: cell masses {m.min():.4f} .. {m.max():.4f}")
    demo.save(fig, "laguerre", caption="Voronoi cells (psi = 0) and Laguerre cells of the optimal psi for a grayscale density.")

    # convergence: ASGD (exact records) and Newton, on a smaller problem
    ya = 0.05 + 0.9 * rng.random((J_asgd, 2))
    ref = semidiscrete.solve(mu, ya, method="newton", tol=1e-12)
    h_star = float(ref.value)
    checkpoints = set(np.unique(np.geomspace(1, n_asgd, 40).astype(int)).tolist())
    saved = {}

    def keep(k, state):  # store the averaged potential psi_k at log-spaced k
        if k in checkpoints:
            saved[k] = np.array(state.psi, dtype=float)

    # a fixed budget of steps, to show ASGD's rate: it is not meant to reach a tolerance, and
    # its final error is in the figure and the sidecar (no NotConvergedWarning for that)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", semidiscrete.NotConvergedWarning)
        sg = semidiscrete.asgd(mu, ya, n_iter=n_asgd, batch_size=64, rng=demo.seed,
                               callback=keep)
    k = np.array(sorted(saved), dtype=float)
    nu_a = np.full(J_asgd, 1.0 / J_asgd)
    gap = np.array([h_star - semi_dual_exact(mu, ya, saved[int(i)], nu_a) for i in k])
    fig, axes = subplots(1, 2, size=4.3)
    ax = axes[0]
    ok = gap > 0
    ax.loglog(k[ok], gap[ok], "-", color=plot.CURVE_COLORS[0], lw=2,
              label=r"ASGD: $H(\psi^*) - H(\psi_k)$")
    kk = k[ok]
    rate = np.log(kk + 1) / np.sqrt(kk)
    # the smallest C for which C log(k + 1) / sqrt(k) bounds the measured gap (an envelope)
    c = float(np.max(gap[ok] / rate)) if ok.any() else 1.0
    ax.loglog(kk, c * rate, "--", color=plot.CURVE_COLORS[1], lw=1.5,
              label=r"$C \log k / \sqrt{k}$ (envelope)")
    ax.set_xlabel("iteration k")
    ax.set_title(f"ASGD, J = {J_asgd}, batch 64")
    ax.legend(fontsize=8)
    ax = axes[1]
    err = np.asarray(res.history["max_rel_error"], dtype=float)
    ax.semilogy(np.arange(len(err)), np.maximum(err, 1e-17), "o-", color=plot.CURVE_COLORS[0])
    ax.axhline(1e-9, color="gray", ls=":", lw=1, label="tolerance")
    ax.set_xlabel("Newton iteration")
    ax.set_ylabel(r"$\max_j |\mu(L_j) - \nu_j| / \nu_j$")
    ax.set_title(f"Damped Newton, J = {J}")
    ax.legend(fontsize=8)
    demo.save(fig, "convergence", caption="ASGD against the O(log k / sqrt k) rate, and damped Newton.")

    masses = np.asarray(lag.masses, dtype=float)
    demo.numbers.update(
        y=y,
        psi=psi,
        laguerre_masses=masses,
        nu=nu,
        max_abs_mass_error=float(np.max(np.abs(masses - nu))),
        voronoi_masses=np.asarray(vor.masses, dtype=float),
        w2_squared=float(res.value),
        newton_iterations=int(res.n_iter),
        newton_max_rel_error=err,
        newton_converged=bool(res.converged),
        asgd_record_iter=k,
        asgd_gap=gap,
        asgd_h_star=h_star,
        asgd_final_max_rel_error=float(sg.error),
        asgd_rate_constant=c,
    )
    return demo.finish()


if __name__ == "__main__":
    main()
