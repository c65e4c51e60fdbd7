"""Run every demo and regenerate all the lectures' figures (``python -m demos``).

The demos run in lecture order (the order of :data:`DEMOS`, which the docs gallery follows). A
header line first, then for each demo a start line (what it draws, its usual wall time), the
demo's own stage lines, and an end line with its wall time; a final summary. Options: those of every demo
(``--out``, ``--quick``, ``--seed``, ``--device``) plus ``--only NAME [NAME ...]`` to run a subset
(substring match on the demo names). The exit status is the number of failed demos.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import importlib
import sys
import time
import traceback

#: (module, figure family of DESIGN.md, lecture slides it reproduces), in lecture order
#: ("GAN and WGAN training": 2D illustration, optimal discriminator and JS, MNIST, Wasserstein,
#: WGAN-GP vs clipping, example of WGAN training, stability, c-transforms, ASGD, exercises,
#: semi-discrete WGAN)
DEMOS = (
    ("fig01_discriminators", "GAN discriminator landscapes on the 6-point toy",
     ("GAN and WGAN training: 'Illustration with a 2D example', 'And now a tougher example', "
     "'Final configuration', 'What happens if we update only the generator?', "
     "'And if we retrain the discriminator?'")),
    ("fig02_vanishing_gradients", "Vanishing gradients, JS stuck at log 2",
     "'Optimal Discriminator', 'Insufficiency of the Jensen-Shannon divergence'"),
    ("fig09_digits", "Digits: GAN / WGAN-GP / semi-discrete WGAN samples, SGD mode collapse",
     "'GAN Training for MNIST digits', 'Training GANs is quite unstable! (SGD instead of Adam)'"),
    ("fig03_parallel_lines", "Parallel lines: W1 and JS against theta",
     "Arjovsky et al. (2017) Example 1 / Figure 1; 'Why Wasserstein is better than JS or KL'"),
    ("fig04_wgan_critics", "WGAN critics: weight clipping vs gradient penalty",
     "'WGAN: Gradient Penalty v.s. Weight clipping' (Gulrajani et al. 2017, Figure 1)"),
    ("fig11_wgan_training", "Example of WGAN training: WGAN-WC vs WGAN-GP",
     "'Example of WGAN training' (WGAN-WC, WGAN-GP) on the 6-point toy"),
    ("fig08_dirac_gan", "Dirac-GAN vector fields and trajectories",
     "Mescheder et al. (2018), Figures 1-3 (GAN, NS-GAN, WGAN, WGAN-GP, R1)"),
    ("fig05_c_transforms", "c-transforms on U([0,1]^2): Voronoi and Laguerre",
     "'Let's look at c-transforms for the quadratic cost' (psi = 0 and optimal psi)"),
    ("fig06_semidiscrete", ("Semi-discrete OT: Laguerre diagram of a grayscale density, "
     "ASGD and Newton convergence"),
     "'WGAN in the semi-discrete case' (graylevel density), 'ASGD Algorithm for Semi-Discrete OT'"),
    ("fig10_exercises", "Piles of dirt (W = 5), Exercises 1 and 2",
     "'Wasserstein distance: A Discrete Example'; 'Exercise 1'; 'Exercise 2'"),
    ("fig07_sdwgan_2d", "Semi-discrete WGAN training in 2D",
     "'Alternate algorithm for semi-discrete WGAN learning', 'Example of semi-discrete WGAN'"),
    ("fig12_w1_critic", "Exact optimal W1 critic vs WGAN-GP and weight clipping",
     "'WGAN: Gradient Penalty v.s. Weight clipping'; the optimal critic psi^c of the 2D toy"),
)


#: usual wall time (seconds) of each demo's default run on a 2-core CPU, announced at its start
SECONDS = {
    "fig01_discriminators": 10, "fig02_vanishing_gradients": 2, "fig09_digits": 50,
    "fig03_parallel_lines": 1, "fig04_wgan_critics": 30, "fig11_wgan_training": 25,
    "fig08_dirac_gan": 5, "fig05_c_transforms": 5, "fig06_semidiscrete": 5,
    "fig10_exercises": 2, "fig07_sdwgan_2d": 8, "fig12_w1_critic": 20,
}


def parse(argv=None):
    p = argparse.ArgumentParser(description="Run every otgan demo.")
    p.add_argument("--out", default="figures", help="output folder (default: figures/)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--only", nargs="*", default=None, help="run the demos whose name contains one "
                   "of these strings")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    todo = [d for d in DEMOS if not args.only or any(s in d[0] for s in args.only)]
    common = ["--out", args.out, "--seed", str(args.seed), "--device", args.device]
    if args.quick:
        common.append("--quick")
    failed = []
    t_all = time.perf_counter()
    expected = "" if args.quick else (
        f" (about {sum(SECONDS.get(d[0], 10) for d in todo) / 60:.0f} min on a 2-core CPU)")
    print(f"Regenerating {len(todo)} lecture figure famil{'y' if len(todo) == 1 else 'ies'} "
          f"into {args.out}/{expected}", flush=True)
    from demos import _common

    _common.ANNOUNCE = False  # the start line below replaces each demo's own
    try:
        for k, (name, title, _) in enumerate(todo, 1):
            t0 = time.perf_counter()
            about = "" if args.quick else f" (about {SECONDS.get(name, 10)} s)"
            print(f"[{k:2d}/{len(todo)}] {name}: {title}{about} ...", flush=True)
            try:
                mod = importlib.import_module(f"demos.{name}")
                side = mod.main(common)
                status = f"ok  {len(side['files'])} file(s)"
            except Exception:  # noqa: BLE001 - report and go on with the other demos
                failed.append(name)
                status = "FAILED\n" + traceback.format_exc()
            dt = time.perf_counter() - t0
            print(f"[{k:2d}/{len(todo)}] {name:28s} {dt:7.1f} s  {status}", flush=True)
    finally:
        _common.ANNOUNCE = True
    total = time.perf_counter() - t_all
    print(f"{len(todo) - len(failed)}/{len(todo)} demos in {total:.1f} s -> {args.out}/"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
