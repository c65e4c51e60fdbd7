"""Benchmark of the training loops of otgan.gan.

Part 1: {GAN, NS-GAN, WGAN-WC, WGAN-GP, semi-discrete WGAN} x {6-point toy, 8 Gaussians,
25 Gaussians, Swiss roll} x seeds, at a fixed budget of generator updates: final exact W2^2
(POT's ``ot.emd2``) between 1000 generated points and the data, mean and spread over seeds, and
the wall time of a run.

Part 2: wall time of one semi-discrete WGAN outer step (``n_inner`` ASGD steps on psi plus one
Adam step on theta) against the number J of data points, d = 784, synthetic data, on
``--device`` (cpu or cuda).

Usage (one command produces both tables, in markdown)::

    python benchmarks/bench_training.py                 # full run (~10-15 min on 2 CPU cores)
    python benchmarks/bench_training.py --quick         # a smoke run (seconds)
    python benchmarks/bench_training.py --device cuda --part scaling

Settings (same generator for all methods: 10-dim noise, 3 blocks Linear(64)+ELU, sigmoid
output on the 6-point toy, linear otherwise; batch 128; the data are a fixed sample of
``--n-data`` = 512 points, or the 6 points; one torch thread for the toys):

- GAN / NS-GAN: Adam 2e-3, betas (0.5, 0.999), 1 discriminator step (the lectures);
- WGAN-WC: RMSprop 5e-4 (Arjovsky et al. use 5e-5; raised to fit the budget), clip 0.01,
  5 critic steps;
- WGAN-GP: Adam 1e-3, betas (0.5, 0.9), 5 critic steps, lambda = 0.1 (Gulrajani et al.'s toy
  script uses lambda = 0.1 and lr 1e-4; the lr is raised to fit the budget);
- semi-discrete WGAN: Adam 2e-3 on theta, betas (0.5, 0.999), 20 ASGD steps on psi per outer
  iteration (warm start, averaging restarted each outer iteration, gamma = 0.1 J s), Euclidean
  cost (W1, as the WGANs); the variants table compares the psi schedules and the quadratic cost.

Discriminators: the lectures' 2-10-10-1 LeakyReLU(0.2) net on the 6-point toy, 2-64-64-1 on
the other toys.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from otgan.datasets import toy_data
from otgan.gan import MLPDiscriminator, MLPGenerator, Trainer

METHODS = {
    "GAN": {"loss": "gan"},
    "NS-GAN": {"loss": "nsgan"},
    "WGAN-WC": {"loss": "wgan", "lr_g": 5e-4, "lr_d": 5e-4, "clip": 0.01, "n_critic": 5},
    "WGAN-GP": {"loss": "wgan-gp", "lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.5, 0.9),
                "gp_weight": 0.1, "n_critic": 5},
    "SD-WGAN": {"loss": "sdwgan", "lr_g": 2e-3, "n_inner": 20, "psi_init": "warm",
                "cost": "euclidean"},
}
TOYS = ("six_points", "8gaussians", "25gaussians", "swissroll")


def run_one(toy, method, seed, *, budget, n_data, batch, eval_size=1000, extra=None):
    y = toy_data(toy, n_data, rng=1234)
    torch.manual_seed(10_000 + seed)  # model initialisation
    six = toy == "six_points"
    gen = MLPGenerator(10, 2, output="sigmoid" if six else "linear")
    kw = dict(METHODS[method])
    kw.update(extra or {})
    disc = None
    if kw["loss"] != "sdwgan":
        disc = MLPDiscriminator(2, hidden=(10, 10) if six else (64, 64))
    tr = Trainer(y, generator=gen, discriminator=disc, seed=seed, batch_size=batch,
                 eval_size=eval_size, lipschitz=False, **kw)
    t0 = time.perf_counter()
    tr.run(budget)
    wall = time.perf_counter() - t0
    w2 = tr.evaluate()
    return w2, wall


def part_toys(args):
    rows = []
    print(f"\n### Final W2^2 to the data after {args.budget} generator updates "
          f"(mean ± std over {args.seeds} seeds; wall time of one run)\n")
    print("| toy | " + " | ".join(args.methods) + " |")
    print("|---" * (len(args.methods) + 1) + "|")
    for toy in args.toys:
        cells = []
        for method in args.methods:
            res = [run_one(toy, method, s, budget=args.budget, n_data=args.n_data,
                           batch=args.batch) for s in range(args.seeds)]
            w2 = np.array([r[0] for r in res])
            wall = np.array([r[1] for r in res])
            rows.append((toy, method, w2, wall))
            cells.append(f"{w2.mean():.4f} ± {w2.std():.4f} ({wall.mean():.1f} s)")
        print(f"| {toy} | " + " | ".join(cells) + " |", flush=True)
    return rows


VARIANTS = {
    "W1, warm (default)": {},
    "W1, persistent": {"psi_init": "persistent"},
    "W1, cold": {"psi_init": "cold"},
    "W2^2, warm": {"cost": "sqeuclidean"},
}


def part_psi_init(args):
    print(f"\n### Semi-discrete WGAN variants: psi warm start vs persistent / cold ASGD, and the "
          f"quadratic cost (W2^2 after {args.budget} updates, seed(s) 0..{args.psi_seeds - 1})\n")
    print("| toy | " + " | ".join(VARIANTS) + " |")
    print("|---" * (len(VARIANTS) + 1) + "|")
    for toy in args.toys:
        cells = []
        for extra in VARIANTS.values():
            res = [run_one(toy, "SD-WGAN", s, budget=args.budget, n_data=args.n_data,
                           batch=args.batch, extra=extra) for s in range(args.psi_seeds)]
            w2 = np.array([r[0] for r in res])
            wall = np.mean([r[1] for r in res])
            cells.append(f"{w2.mean():.4f} ({wall:.0f} s)")
        print(f"| {toy} | " + " | ".join(cells) + " |", flush=True)


def part_scaling(args):
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.scaling_threads or os.cpu_count() or 1)
    print(f"\n### One semi-discrete WGAN outer step vs J (d = 784, batch {args.batch}, "
          f"n_inner = {args.n_inner}, device {device}, float32, "
          f"{torch.get_num_threads()} CPU thread(s))\n")
    print("| J | time per outer step (s) | per ASGD step (s) |")
    print("|---|---|---|")
    g = torch.Generator(device=device).manual_seed(0)
    for J in args.sizes:
        y = torch.rand(J, 784, device=device, generator=g)
        torch.manual_seed(0)
        gen = MLPGenerator(32, 784, hidden=(256, 256, 256))
        tr = Trainer(y, loss="sdwgan", generator=gen, seed=0, batch_size=args.batch,
                     n_inner=args.n_inner, lipschitz=False, asgd_gamma=1.0)
        tr.run(1)  # warm-up (allocations, kernels)
        reps = args.reps
        t0 = time.perf_counter()
        tr.run(reps)
        dt = (time.perf_counter() - t0) / reps
        print(f"| {J} | {dt:.4f} | {dt / (args.n_inner + 1):.4f} |", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("all", "toys", "psi-init", "scaling"), default="all")
    p.add_argument("--budget", type=int, default=500, help="generator updates per run")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--n-data", type=int, default=512, help="data points of the sampled toys")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--toys", nargs="+", default=list(TOYS))
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 3000, 10000, 30000, 60000])
    p.add_argument("--n-inner", type=int, default=10)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: tiny nets)")
    p.add_argument("--scaling-threads", type=int, default=0, help="CPU threads for the scaling "
                   "part (0: all cores)")
    p.add_argument("--psi-seeds", type=int, default=1, help="seeds of the variants table")
    p.add_argument("--quick", action="store_true", help="tiny budgets, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.sizes, args.reps, args.n_inner = 20, 1, [1000], 1, 2
        args.toys = args.toys[:2]
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    t0 = time.perf_counter()
    if args.part in ("all", "toys"):
        part_toys(args)
    if args.part in ("all", "psi-init"):
        part_psi_init(args)
    if args.part in ("all", "scaling"):
        part_scaling(args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
