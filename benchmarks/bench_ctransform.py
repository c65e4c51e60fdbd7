"""Time and peak memory of ``otgan.ctransform.c_transform`` against brute force.

Baselines, measured in the same run:

- ``torch.cdist + min``: the hand-written notebook way (the full n x m matrix when it fits in
  ``--baseline-memory``, otherwise row chunks of that size);
- ``matmul``: a plain matrix product ``x @ y.T`` of the same shape (chunked the same way), the
  floor for any dense method in high dimension.

Each measurement runs in a fresh subprocess; "peak MB" is the growth of the process's peak
resident memory (``ru_maxrss``) during the call, over the inputs already allocated.

Usage::

    python benchmarks/bench_ctransform.py            # the issue's three shapes
    python benchmarks/bench_ctransform.py --quick    # small shapes, seconds
    python benchmarks/bench_ctransform.py --device cuda
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

SHAPES = [(10_000, 10_000, 2), (100_000, 100_000, 2), (4096, 60_000, 784)]
QUICK_SHAPES = [(2000, 2000, 2), (10_000, 5000, 2), (512, 4000, 784)]


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(impl, n, m, d, device, dtype_name, baseline_memory):
    """Run one implementation once (after a small warm-up) and return (seconds, peak MB)."""
    import numpy as np
    import torch

    from otgan.ctransform import c_transform

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    y = rng.random((m, d))
    x = rng.random((n, d))
    psi = 0.01 * rng.random(m)
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    np_dtype = np.float32 if dtype_name == "float32" else np.float64
    x, y, psi = x.astype(np_dtype), y.astype(np_dtype), psi.astype(np_dtype)
    if impl.startswith("torch") or impl in ("cdist+min", "matmul"):
        x, y, psi = (torch.as_tensor(a, dtype=dtype, device=device) for a in (x, y, psi))
    itemsize = 4 if dtype_name == "float32" else 8
    rows = max(1, min(n, baseline_memory // (itemsize * m)))

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def run(xq):
        nq = len(xq)
        if impl in ("numpy kdtree", "torch kdtree"):
            return c_transform(psi, y, xq, method="kdtree")
        if impl in ("numpy brute", "torch brute"):
            return c_transform(psi, y, xq, method="brute")
        if impl == "cdist+min":
            out = []
            for i in range(0, nq, rows):
                out.append((torch.cdist(xq[i : i + rows], y).square_() - psi).min(dim=1))
            return out
        if impl == "matmul":
            for i in range(0, nq, rows):
                xq[i : i + rows] @ y.T
            return None
        raise ValueError(impl)

    # warm-up on a slice, for every implementation alike (kernels, thread pools, CUDA context)
    run(x[: min(n, 64)])
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    before = _rss_mb()
    t0 = time.perf_counter()
    run(x)
    sync()
    elapsed = time.perf_counter() - t0
    if device == "cuda":
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = max(0.0, _rss_mb() - before)
    return elapsed, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--baseline-memory", type=int, default=2**30,
                        help="bytes a baseline may use for its distance matrix (default 1 GiB)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per measurement")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:
        impl, n, m, d = json.loads(args.case)
        secs, peak = _measure(impl, n, m, d, args.device, args.dtype, args.baseline_memory)
        print(json.dumps({"seconds": secs, "peak_mb": peak}))
        return

    import torch

    shapes = QUICK_SHAPES if args.quick else SHAPES
    print(f"# c_transform benchmark ({datetime.date.today()})\n")
    print(f"command: `python {' '.join(sys.argv)}`  ")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
          f"device {args.device}, dtype {args.dtype}  ")
    print("cost: squared Euclidean; psi = 0.01 * uniform; points uniform in [0, 1]^d\n")
    print("| n | m | d | implementation | seconds | peak MB | vs cdist+min |")
    print("|---|---|---|---|---|---|---|")
    for n, m, d in shapes:
        impls = ["cdist+min", "matmul", "torch brute"]
        if args.device == "cpu":
            impls += ["numpy brute"]
            if d <= 3:
                impls += ["numpy kdtree", "torch kdtree"]
        results = {}
        for impl in impls:
            case = json.dumps([impl, n, m, d])
            cmd = [sys.executable, __file__, "--case", case, "--device", args.device,
                   "--dtype", args.dtype, "--baseline-memory", str(args.baseline_memory)]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                     check=True)
                results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                results[impl] = {"seconds": float("inf"), "peak_mb": float("nan"),
                                 "note": f"> {args.timeout:.0f} s"}
            except subprocess.CalledProcessError as exc:
                results[impl] = {"seconds": float("nan"), "peak_mb": float("nan"),
                                 "note": exc.stderr.strip().splitlines()[-1][:60]}
        ref = results["cdist+min"]["seconds"]
        for impl, r in results.items():
            secs = r.get("note") or f"{r['seconds']:.3f}"
            ratio = ref / r["seconds"] if r["seconds"] and r["seconds"] == r["seconds"] else 0
            print(f"| {n} | {m} | {d} | {impl} | {secs} | {r['peak_mb']:.0f} | "
                  f"{ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
