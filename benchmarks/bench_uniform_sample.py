"""Time of ``measures.Uniform.sample`` against how little of its bounding box the domain fills.

Domains: the unit square (fill 1: rejection from the box), an L-shape (fill 0.14), a square
frame around a hole (fill 0.25), two unit-size islands 1e6 apart (fill 3e-12), a strip of width
1e-9 rotated by 45 degrees (fill 2e-9). Before the triangulation route (rejection from the
bounding box for every domain), far-apart islands took ~0.6 s per 256 points at a distance of
1e2 and raised MemoryError ("1.46 PiB") at 1e6, as did the strip; now every domain costs about
the same per point.

Usage::

    PYTHONPATH=. python benchmarks/bench_uniform_sample.py [--n 100000] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import shapely
import shapely.affinity

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from otgan.measures import Uniform  # noqa: E402


def domains():
    return {
        "unit square": shapely.box(0, 0, 1, 1),
        "L-shape": shapely.Polygon([(0, 0), (4, 0), (4, 0.3), (0.3, 0.3), (0.3, 4), (0, 4)]),
        "frame (hole)": shapely.Polygon([(0, 0), (3, 0), (3, 3), (0, 3)],
                                        [[(0.2, 0.2), (2.8, 0.2), (2.8, 2.8), (0.2, 2.8)]]),
        "two islands 1e6 apart": shapely.MultiPolygon(
            [shapely.box(0, 0, 1, 1), shapely.box(1e6, 1e6, 1e6 + 2, 1e6 + 1)]),
        "strip 1 x 1e-9 at 45 deg": shapely.affinity.rotate(shapely.box(0, 0, 1, 1e-9), 45,
                                                            origin=(0, 0)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"command: python benchmarks/bench_uniform_sample.py --n {args.n} --reps {args.reps}")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, shapely {shapely.__version__}")
    print()
    print("| domain | fills of its box | first call (incl. triangulation) s | "
          f"median of {args.reps} s | ns / point |")
    print("| --- | --- | --- | --- | --- |")
    for name, dom in domains().items():
        x0, y0, x1, y1 = dom.bounds
        fill = dom.area / ((x1 - x0) * (y1 - y0))
        mu = Uniform(dom)
        t0 = time.perf_counter()
        mu.sample(args.n, rng=0)
        first = time.perf_counter() - t0
        times = []
        for r in range(args.reps):
            t0 = time.perf_counter()
            mu.sample(args.n, rng=r + 1)
            times.append(time.perf_counter() - t0)
        med = float(np.median(times))
        print(f"| {name} | {fill:.2g} | {first:.4f} | {med:.4f} | {1e9 * med / args.n:.0f} |")


if __name__ == "__main__":
    main()
