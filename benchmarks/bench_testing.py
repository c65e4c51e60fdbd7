"""Time to draw the examples of ``otgan.testing``'s strategies (the cost a property test pays
before running its own code), per 200 examples, the CI budget of one property.

Each strategy is drawn by a hypothesis test whose body does nothing, with the CI profile's
settings (derandomized, no deadline); the time includes POT's exact solve (discrete problems),
the closed forms or the shapely clipping (semi-discrete problems) and hypothesis' own work.

Usage::

    python benchmarks/bench_testing.py             # 200 examples per strategy
    python benchmarks/bench_testing.py --examples 50
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from hypothesis import HealthCheck, given, settings

from otgan import testing as t


def _time(strategy, n):
    @settings(max_examples=n, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(_):
        pass

    t0 = time.perf_counter()
    body()
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=200)
    args = ap.parse_args(argv)
    rows = [
        ("discrete_problems()", t.discrete_problems()),
        ("discrete_problems(max_size=40)", t.discrete_problems(max_size=40)),
        ("semidiscrete_problems()", t.semidiscrete_problems()),
        ("semidiscrete_problems(sources=('cells',))", t.semidiscrete_problems(sources=("cells",))),
        ("site_sets()", t.site_sets()),
        ("domains()", t.domains()),
    ]
    print(f"command: python benchmarks/bench_testing.py --examples {args.examples}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}")
    print()
    print(f"| strategy | seconds per {args.examples} examples |")
    print("| --- | --- |")
    for name, strat in rows:
        print(f"| `{name}` | {_time(strat, args.examples):.2f} |")


if __name__ == "__main__":
    main()
