"""Timing of ``otgan.laguerre.diagram`` (exact 2D power diagrams, box domain, uniform measure).

Prints a table of the best of ``--repeat`` warm runs (the numba kernels compiled or loaded from
their cache by a first call, timed separately) for J uniform random sites in the unit square, with
``psi = 0`` (Voronoi) and small random weights ``psi = 0.1 / J * N(0, 1)``. With ``--ref FILE``, a
second column times another implementation of ``diagram`` (e.g. the previous version saved by
``git show HEAD~1:otgan/laguerre.py > /tmp/laguerre_ref.py``) and checks that the areas agree.

Usage: ``python benchmarks/bench_laguerre_kernel.py [--sizes 10000 100000] [--repeat 5]
[--ref /tmp/laguerre_ref.py]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import numpy as np


def _best(fn, repeat, *args):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ref", default=None, help="path of a reference laguerre.py to time too")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from otgan.laguerre import diagram

    ref = None
    if args.ref:
        spec = importlib.util.spec_from_file_location("otgan._laguerre_ref", args.ref)
        ref = importlib.util.module_from_spec(spec)
        sys.modules["otgan._laguerre_ref"] = ref
        spec.loader.exec_module(ref)

    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    diagram(rng.random((10, 2)), np.zeros(10))
    print(f"first call (numba compile or cache load): {time.perf_counter() - t:.3f} s")
    head = f"{'J':>8} {'psi':>14} {'diagram [s]':>12}"
    if ref is not None:
        head += f" {'reference [s]':>14} {'speed-up':>9} {'max |d area|':>13}"
    print(head)
    for J in args.sizes:
        y = rng.random((J, 2))
        for name, psi in (("0", np.zeros(J)), ("0.1/J N(0,1)", 0.1 / J * rng.standard_normal(J))):
            tn, D = _best(diagram, args.repeat, y, psi)
            row = f"{J:>8} {name:>14} {tn:>12.4f}"
            if ref is not None:
                tr, R = _best(ref.diagram, max(1, args.repeat // 2), y, psi)
                err = float(np.abs(R.areas - D.areas).max())
                row += f" {tr:>14.4f} {tr / tn:>9.1f} {err:>13.1e}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
