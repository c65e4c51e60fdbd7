"""Frame rate of the live playground (``python -m demos.playground``).

A frame while playing is one iteration of the alternating algorithm (``k = 5`` critic or ASGD
steps, one generator step) and the update of the window: the landscape, the cells of
``T_psi`` (SD-WGAN), the samples and their gradient arrows, the W curve (blitted over the
saved background), the readouts every third frame, and the frame kept for the GIF. The window
is an Agg canvas (no display): the drawing is the same as on screen, less the copy to the
screen.

Each row prints the wall-clock frame rate and the CPU time per frame (``time.process_time``):
on a busy machine the wall rate falls with the load, ``1000 / CPU ms`` is the rate one idle
core gives. Usage::

    python benchmarks/bench_playground.py            # 6 points, every loss (~1 min)
    python benchmarks/bench_playground.py --quick    # 6 points, SD-WGAN W2 only, few frames
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from demos.playground import LOSSES, Playground, Session  # noqa: E402


def measure(toy, loss, frames, warmup=5):
    """``(wall frames per second, CPU ms per frame)`` of ``frames`` played frames."""
    pg = Playground(Session(toy, loss, seed=0))
    pg.on_play()
    for _ in range(warmup):
        pg.on_timer()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(frames):
        pg.on_timer()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    pg.on_play()
    plt.close(pg.fig)
    return frames / wall, 1000 * cpu / frames


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--frames", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    frames = args.frames or (10 if args.quick else 60)
    losses = ["SD-WGAN W2"] if args.quick else list(LOSSES)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {frames} frames "
          "per row, k = 5 critic steps per frame")
    print("| toy | loss | frames/s (wall) | CPU ms / frame | frames/s on an idle core |")
    print("| --- | --- | ---: | ---: | ---: |")
    for loss in losses:
        fps, ms = measure("6 points", loss, frames)
        print(f"| 6 points | {loss} | {fps:.1f} | {ms:.0f} | {1000 / ms:.1f} |", flush=True)


if __name__ == "__main__":
    main()
