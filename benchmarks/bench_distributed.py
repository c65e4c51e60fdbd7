"""Scaling of the sharded c-transform and of one SD-WGAN outer step over processes, and (on a
GPU) the certified low-precision c-transform against plain matrix products.

CPU rows (always): ``W`` gloo processes on this machine (torch.multiprocessing), one torch
thread each (so ``W`` processes use ``W`` cores); times are the best of a few runs, since the
machine may be shared.

- strong scaling: a fixed problem, ``m`` sites split over ``W`` ranks;
- weak scaling: ``m / W`` sites per rank fixed at the one-process size, so ``m`` grows with ``W``;
- SD-WGAN: one outer iteration of ``Trainer(loss="sdwgan")`` (``n_inner`` sharded ASGD steps and
  one Adam step of a DDP generator), batch per rank = global batch / W (strong) or fixed (weak).

GPU rows (when CUDA is available): at ``(n, m, d) = (4096, 60000, 784)`` float32 uniform data,
the times of ``x @ y.T`` in float32, TF32 and bf16, of ``c_transform`` (exact, default) and of
``c_transform(method="certified")`` (TF32 and bf16 searches), with the certified argmin checked
against float32 and float64 brute force. With two or more GPUs, NCCL rows of the sharded
c-transform as well.

Usage::

    python benchmarks/bench_distributed.py --quick     # seconds; what results_distributed.md has
    python benchmarks/bench_distributed.py             # larger CPU shapes, plus GPU rows if any
    python benchmarks/bench_distributed.py --gpu-only  # only the GPU rows
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _median_time(fn, reps, sync=lambda: None):
    fn()  # warm-up
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)  # best of reps: the machine may be shared


def _worker(rank, world, init, spec, out, backend):
    from otgan.distributed import c_transform, shard_bounds
    from otgan.gan.trainer import Trainer

    torch.set_num_threads(1)  # one core per process: W processes use W cores
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    if backend == "nccl":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"file://{init}", rank=rank, world_size=world)

    def sync():
        dist.barrier()
        if backend == "nccl":
            torch.cuda.synchronize(device)

    try:
        results = {}
        g = torch.Generator().manual_seed(0)
        n, m, d = spec["ct"]
        y = torch.rand(m, d, generator=g)
        x = torch.rand(n, d, generator=g).to(device)
        psi = 0.01 * torch.rand(m, generator=g)
        a, b = shard_bounds(m, rank, world)
        yl, pl = y[a:b].to(device), psi[a:b].to(device)
        results["ct"] = _median_time(lambda: c_transform(pl, yl, x), spec["reps"], sync)
        if spec.get("sd"):
            J, d2, batch, n_inner = spec["sd"]
            data = torch.rand(J, d2, generator=torch.Generator().manual_seed(1))
            tr = Trainer(data.to(device), loss="sdwgan", seed=0, batch_size=batch,
                         n_inner=n_inner, lipschitz=False)
            results["sd"] = _median_time(lambda: tr.run(1), spec["reps"], sync)
            del tr
        if rank == 0:
            torch.save(results, out)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def run_world(world, spec, backend="gloo"):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.pt")
        mp.start_processes(_worker, args=(world, os.path.join(tmp, "init"), spec, out, backend),
                           nprocs=world, join=True, start_method="spawn")
        return torch.load(out, weights_only=False)


def cpu_rows(quick, worlds):
    n, m, d = (1024, 16384, 32) if quick else (4096, 65536, 64)
    J, d2, batch, n_inner = (8192, 32, 256, 10) if quick else (60000, 784, 128, 10)
    reps = 3 if quick else 5
    rows = []
    for world in worlds:
        strong = run_world(world, {"ct": (n, m, d), "sd": (J, d2, batch // world, n_inner),
                                   "reps": reps})
        weak = run_world(world, {"ct": (n, m * world, d), "sd": (J * world, d2, batch, n_inner),
                                 "reps": reps})
        rows.append((world, strong, weak))
    lines = [(f"c-transform: n = {n} queries, m = {m} sites (x W for weak scaling), d = {d}; "
             f"SD-WGAN outer step: J = {J} (x W weak), d = {d2}, global batch {batch} (strong) "
             f"or {batch} per rank (weak), {n_inner} ASGD + 1 Adam step"), "",
             ("| processes | c-transform strong (ms) | speed-up | c-transform weak (ms) | "
             "efficiency | SD-WGAN step strong (ms) | speed-up | SD-WGAN step weak (ms) | "
             "efficiency |"), "|---|---|---|---|---|---|---|---|---|"]
    base = rows[0]
    for world, s, w in rows:
        lines.append(
            f"| {world} | {1e3 * s['ct']:.1f} | {base[1]['ct'] / s['ct']:.2f}x | "
            f"{1e3 * w['ct']:.1f} | {base[2]['ct'] / w['ct']:.2f} | {1e3 * s['sd']:.1f} | "
            f"{base[1]['sd'] / s['sd']:.2f}x | {1e3 * w['sd']:.1f} | "
            f"{base[2]['sd'] / w['sd']:.2f} |")
    return lines


def gpu_rows(n=4096, m=60000, d=784, reps=20, device="cuda"):
    """The certified c-transform against plain products (``device="cpu"``: a dry run of this
    code with emulated low precision, for checking it without a GPU)."""
    from otgan._certified import certified_argmin
    from otgan.ctransform import c_transform

    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(0)
    y = torch.rand(m, d, device=dev, generator=g)
    x = torch.rand(n, d, device=dev, generator=g)
    psi = 0.01 * torch.rand(m, device=dev, generator=g)
    mm = torch.backends.cuda.matmul

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def matmul(low):
        def f():
            old = mm.allow_tf32
            mm.allow_tf32 = low == "tf32"
            try:
                if low == "bf16":
                    xb, yb = x.bfloat16(), y.bfloat16()
                    return xb @ yb.T
                return x @ y.T
            finally:
                mm.allow_tf32 = old
        return f

    xb, yb = x.bfloat16(), y.bfloat16()
    times = {
        "fp32 matmul": _median_time(matmul("fp32"), reps, sync),
        "TF32 matmul": _median_time(matmul("tf32"), reps, sync),
        "bf16 matmul (inputs already bf16)": _median_time(lambda: xb @ yb.T, reps, sync),
        "bf16 matmul (with the conversion)": _median_time(matmul("bf16"), reps, sync),
        "c_transform (exact, default)": _median_time(lambda: c_transform(psi, y, x), reps, sync),
        "c_transform (exact, memory 4 GiB)": _median_time(
            lambda: c_transform(psi, y, x, memory=4 * 2**30), reps, sync),
    }
    stats = {}
    for low in ("tf32", "bf16"):
        for mem in (None, 4 * 2**30):
            name = f"certified, {low} search" + (", memory 4 GiB" if mem else "")
            times[name] = _median_time(
                lambda low=low, mem=mem: certified_argmin(psi, y, x, low=low, memory=mem),
                reps, sync)
            stats[name] = certified_argmin(psi, y, x, low=low, memory=mem, return_stats=True)
    old = mm.allow_tf32
    mm.allow_tf32 = False
    try:
        ref32 = c_transform(psi, y, x, method="brute")[1]
    finally:
        mm.allow_tf32 = old
    ref64 = c_transform(psi.double(), y.double(), x.double(), method="brute")[1]
    tf32 = times["TF32 matmul"]
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU dry run"
    lines = [(f"GPU: {name}; (n, m, d) = ({n}, {m}, {d}), float32 "
             "uniform data, psi = 0.01 * uniform; best of "
             f"{reps} runs"), "",
             ("| work | ms | vs TF32 matmul | argmin = fp32 brute | argmin = fp64 brute | "
             "candidates / query | fallbacks |"), "|---|---|---|---|---|---|---|"]
    for name, t in times.items():
        eq32 = eq64 = cand = fall = ""
        if name in stats:
            idx, st = stats[name]
            eq32 = f"{int((idx == ref32).sum())}/{n}"
            eq64 = f"{int((idx == ref64).sum())}/{n}"
            cand, fall = f"{st.n_candidates / n:.2f}", str(st.n_fallback)
        lines.append(f"| {name} | {1e3 * t:.2f} | {t / tf32:.2f}x | {eq32} | {eq64} | {cand} "
                     f"| {fall} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small CPU shapes (seconds)")
    ap.add_argument("--gpu-only", action="store_true", help="only the GPU rows")
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    cuda = f"yes: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no"
    head = [f"# Distributed benchmark ({datetime.date.today()})", "",
            (f"command: `python benchmarks/{os.path.basename(__file__)} "
            f"{' '.join(sys.argv[1:])}`  "),
            (f"machine: {platform.platform()}, {cores} CPU cores, torch {torch.__version__}, "
            f"CUDA {cuda}, "
            f"load average at start {os.getloadavg()[0]:.1f}"),
            ""]
    body = []
    if not args.gpu_only:
        body += ["## CPU, gloo", ""] + cpu_rows(args.quick, [1, 2]) + [""]
    if torch.cuda.is_available():
        body += ["## GPU: certified c-transform", ""] + gpu_rows() + [""]
        if torch.cuda.device_count() >= 2:
            worlds = [w for w in (1, 2, 4, 8) if w <= torch.cuda.device_count()]
            spec = {"ct": (4096, 60000 * 4, 784), "reps": 10}
            res = {w: run_world(w, spec, backend="nccl") for w in worlds}
            body += ["## GPUs, NCCL: sharded c-transform strong scaling, (4096, 240000, 784)", "",
                     "| GPUs | ms | speed-up |", "|---|---|---|"]
            body += [f"| {w} | {1e3 * r['ct']:.1f} | {res[1]['ct'] / r['ct']:.2f}x |"
                     for w, r in res.items()] + [""]
    else:
        body += [("No CUDA device on this machine: the GPU rows (certified c-transform against "
                 "TF32 / bf16 / fp32 products at (4096, 60000, 784)) were not run."), ""]
    text = "\n".join(head + body)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
