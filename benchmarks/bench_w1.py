"""W1 (Euclidean cost) semi-discrete OT: exact Newton vs ASGD vs rasterisation at equal wall time.

Problem: source ``mu`` uniform on the unit square, sites ``y = default_rng(0).random((J, 2))``,
equal masses ``1/J``, cost ``||x - y||``; J = 100 and 1000 (``--quick``: J = 30 and 100).

1. **Reference**: the exact damped Newton (``semidiscrete.solve(cost="euclidean")``) to a
   maximal relative mass error 1e-12 gives ``W1*``.
2. **Newton** to 1e-9: its wall time ``T`` sets the budget of the two others.
3. **ASGD** (``semidiscrete.asgd``, its default step ``gamma = 2 J s`` and batch 256) stopped
   after ``T`` seconds.
4. **Raster gradient ascent**: ``psi <- psi + gamma (nu - m(psi))`` with the masses ``m``
   of ``laguerre.raster`` (pixel-centre rule) at ``--resolution`` pixels per side, step
   ``gamma = 0.5 / max_i L_ii`` (``L`` the exact Laplacian at ``psi = 0``, computed once
   outside the budget), stopped after ``T`` seconds.

Every final potential is evaluated with the *exact* W1 diagram: maximal relative mass error
``max_j |mu(L_j) - nu_j| / nu_j`` and the relative error of the exact semi-dual ``H(psi)``
(a lower bound of W1, equal at the optimum) against ``W1*``.

A second table compares, at the optimal ``psi``, the masses of the exact diagram with those of
the rasterisation at several resolutions (error against the exact masses, and time).

Usage::

    PYTHONPATH=. python benchmarks/bench_w1.py [--quick] [--out benchmarks/results_w1.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from otgan import laguerre, semidiscrete
from otgan.measures import Uniform


def exact_errors(y, psi, nu, w_ref, mu):
    D = laguerre.diagram(y, psi, measure=mu, cost="euclidean")
    err = float(np.max(np.abs(D.masses - nu) / nu))
    return err, abs(D.semi_dual(nu) - w_ref) / w_ref


def run(J, resolution, seed=0):
    mu = Uniform()
    y = np.random.default_rng(seed).random((J, 2))
    nu = np.full(J, 1.0 / J)
    ref = semidiscrete.solve(mu, y, nu, cost="euclidean", tol=1e-12)
    w_ref = ref.value
    rows = []
    t = time.perf_counter()
    res = semidiscrete.solve(mu, y, nu, cost="euclidean", tol=1e-9)
    T = time.perf_counter() - t
    e, v = exact_errors(y, res.psi, nu, w_ref, mu)
    rows.append(("Newton (exact cells)", T, f"{res.n_iter} iterations", e, v))
    # ASGD for the same wall time
    t0 = time.perf_counter()

    def stop(k, state):
        return time.perf_counter() - t0 >= T

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = semidiscrete.asgd(mu, y, nu, cost="euclidean", n_iter=10**9, rng=seed,
                              callback=stop, exact=False, n_eval=1000)
    Ta = time.perf_counter() - t0
    e, v = exact_errors(y, a.psi, nu, w_ref, mu)
    rows.append(("ASGD (batch 256)", Ta, f"{a.n_iter} steps", e, v))
    # raster gradient ascent for the same wall time
    D0 = laguerre.diagram(y, np.zeros(J), measure=mu, cost="euclidean")
    gamma = 0.5 / float(D0.jacobian().diagonal().max())
    psi = np.zeros(J)
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < T:
        m = laguerre.raster(y, psi, "euclidean", measure=mu, resolution=resolution).masses
        psi = psi + gamma * (nu - m)
        k += 1
    Tr = time.perf_counter() - t0
    e, v = exact_errors(y, psi, nu, w_ref, mu)
    rows.append((f"raster gradient ascent ({resolution}^2 px)", Tr, f"{k} steps", e, v))
    # mass evaluation: exact diagram vs rasters at the optimum
    t = time.perf_counter()
    D = laguerre.diagram(y, ref.psi, measure=mu, cost="euclidean")
    td = time.perf_counter() - t
    evals = [("exact diagram", td, float(np.max(np.abs(D.masses - nu) / nu)))]
    for r in (256, 512, 1024):
        t = time.perf_counter()
        R = laguerre.raster(y, ref.psi, "euclidean", measure=mu, resolution=r)
        tr = time.perf_counter() - t
        evals.append((f"raster {r}^2", tr, float(np.max(np.abs(R.masses - D.masses) / nu))))
    return w_ref, ref, rows, evals


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None, help="write the tables (markdown) here")
    p.add_argument("--resolution", type=int, default=256)
    args = p.parse_args(argv)
    sizes = (30, 100) if args.quick else (100, 1000)
    cmd = "PYTHONPATH=. python benchmarks/bench_w1.py" + (" --quick" if args.quick else "")
    lines = [
        "# W1 semi-discrete benchmark (exact Newton vs ASGD vs rasterisation)", "",
        f"Command: `{cmd}`  ",
        (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), Python "
        f"{platform.python_version()}, numpy {np.__version__}; "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC."), "",
        ("Source uniform on [0,1]^2, sites `default_rng(0).random((J, 2))`, masses 1/J, cost "
        "||x - y||. Errors of each method's final potential measured with the exact W1 "
        "diagram: max relative mass error, and relative error of the exact semi-dual H(psi) "
        "against W1* (Newton to 1e-12). Equal wall time: ASGD and the raster ascent get the "
        "Newton run's time."), "",
    ]
    for J in sizes:
        w_ref, ref, rows, evals = run(J, args.resolution)
        lines += [f"## J = {J}", "",
                  (f"W1* = {w_ref:.15g} (reference Newton: {ref.n_iter} iterations, max rel. "
                  f"mass error {ref.error:.2e})."), "",
                  "| method | wall time (s) | work | max rel. mass error | rel. value error |",
                  "| --- | ---: | --- | ---: | ---: |"]
        for name, t, work, e, v in rows:
            lines.append(f"| {name} | {t:.2f} | {work} | {e:.2e} | {v:.2e} |")
        lines += ["", ("Mass evaluation at the optimal psi (error of the masses against the "
                  "exact diagram's, relative to nu):"), "",
                  "| evaluation | time (s) | max rel. mass error |", "| --- | ---: | ---: |"]
        for name, t, e in evals:
            shown = f"{e:.2e}" if name != "exact diagram" else f"{e:.2e} (vs nu)"
            lines.append(f"| {name} | {t:.2f} | {shown} |")
        lines.append("")
        print("\n".join(lines[-(len(rows) + len(evals) + 12):]), flush=True)
    text = "\n".join(lines)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return text


if __name__ == "__main__":
    main()
