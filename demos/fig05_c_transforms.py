"""Figure 05 -- c-transforms for the quadratic cost on ``mu = U([0, 1]^2)``.

The lecture's slides "Let's look at c-transforms for the quadratic cost": the lower envelope
``psi^c(x) = min_j ||x - y_j||^2 - psi_j`` of paraboloids, first with ``psi = 0`` (its cells are
the Voronoi diagram of the sites), then with the optimal ``psi`` for ``nu`` uniform on the sites
(its cells form the Laguerre diagram whose cells all have area ``1/J``).

Library calls: :func:`otgan.ctransform.c_transform` (the landscapes on a grid),
:func:`otgan.semidiscrete.solve` (damped Newton, the optimal ``psi``),
:func:`otgan.laguerre.diagram` (exact cells and their areas). Axes: mathematical convention
(``y`` pointing up).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from demos._common import Demo, parse_args, unit_square
from otgan import ctransform, laguerre, measures, plot, semidiscrete

NAME = "fig05_c_transforms"


def sites(J, rng):
    """``J`` sites drawn uniformly in ``[0.05, 0.95]^2``."""
    return 0.05 + 0.9 * rng.random((J, 2))


def landscapes(y, psi_opt, n):
    """``psi^c`` and ``T_psi`` on the ``n x n`` grid for ``psi = 0`` and the optimal ``psi``."""
    g = plot.grid(n)
    out = {}
    for key, psi in (("voronoi", np.zeros(len(y))), ("laguerre", psi_opt)):
        vals, idx = ctransform.c_transform(psi, y, g)
        out[key] = (vals.reshape(n, n), idx.reshape(n, n))
    return g, out


def main(argv=None, *, announce: bool = True) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    demo = Demo(NAME, args, announce=announce)
    J = 8 if demo.quick else 15
    n = 64 if demo.quick else 256
    rng = np.random.default_rng(demo.seed)
    y = sites(J, rng)
    nu = np.full(J, 1.0 / J)
    mu = measures.Uniform()
    res = semidiscrete.solve(mu, y, nu, method="newton", tol=1e-10)
    psi = np.asarray(res.psi, dtype=float)
    psi = psi - psi.mean()
    vor = laguerre.diagram(y, np.zeros(J))
    lag = laguerre.diagram(y, psi)
    g, land = landscapes(y, psi, n)
    demo.params.update(J=J, grid=n, nu="uniform 1/J", solver="newton", tol=1e-10, y=y)

    fig = plot_figure(y, g, land, vor, lag, n)
    demo.save(fig, caption="c-transforms for the quadratic cost on U([0,1]^2): psi = 0 (Voronoi cells) and the optimal psi (Laguerre cells of equal area).")

    lag_areas = np.asarray(lag.areas, dtype=float)
    demo.numbers.update(
        psi_opt=psi,
        voronoi_areas=np.asarray(vor.areas, dtype=float),
        laguerre_areas=lag_areas,
        nu=nu,
        solver_masses=np.asarray(res.masses, dtype=float),
        max_abs_mass_error=float(np.max(np.abs(lag_areas - nu))),
        newton_iterations=int(res.n_iter),
        converged=bool(res.converged),
        w2_squared=float(res.value),
    )
    return demo.finish()


def plot_figure(y, g, land, vor, lag, n):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 8.6), constrained_layout=True)
    X = g[:, 0].reshape(n, n)
    Y = g[:, 1].reshape(n, n)
    titles = {"voronoi": r"$\psi = 0$ (Voronoi)", "laguerre": r"optimal $\psi$ (Laguerre)"}
    vmin = min(v.min() for v, _ in land.values())
    vmax = max(v.max() for v, _ in land.values())
    for col, key in enumerate(("voronoi", "laguerre")):
        vals, _idx = land[key]
        ax = fig.add_subplot(2, 2, 1 + col, projection="3d")
        step = max(1, n // 64)
        ax.plot_surface(X[::step, ::step], Y[::step, ::step], vals[::step, ::step],
                        cmap=plot.LANDSCAPE_CMAP, vmin=vmin, vmax=vmax, linewidth=0,
                        antialiased=False)
        ax.set_title(r"$\psi^c(x) = \min_j \|x - y_j\|^2 - \psi_j$" + "\n" + titles[key])
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.view_init(elev=35, azim=-60)
        ax = fig.add_subplot(2, 2, 3 + col)
        plot.landscape(ax, vals, vmin=vmin, vmax=vmax, colorbar=(col == 1),
                       label=r"$\psi^c$")
        diagram = vor if key == "voronoi" else lag
        plot.polygons(ax, diagram.polygons, color="saddlebrown", linewidth=1.2)
        plot.data(ax, y, label=None)
        areas = np.asarray(diagram.areas)
        unit_square(ax, title=f"{titles[key]}: cell areas {areas.min():.3f} .. {areas.max():.3f}")
    return fig


if __name__ == "__main__":
    main()
