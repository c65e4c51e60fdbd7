"""Semi-discrete OT benchmark: otgan vs pysdot and sdot (exact diagrams, damped Newton) and vs
POT / OTT-JAX (stochastic solvers).

Problem (as in ``/work/shared/ANCHORS.md``): source uniform on the unit square, sites
``y = np.random.default_rng(0).random((J, 2))``, equal masses ``1/J``, cost ``||x - y||^2``.

Sections (``--only``):

- ``diagram``: exact power-cell areas for ``psi = 0`` and for a random small ``psi``
  (``psi_j = 0.5 / J * U(0, 1)``), J = 10^4, 10^5 (quick: 10^3, 10^4); the areas of every library
  are compared with otgan's (column ``max |dA|``).
- ``newton``: damped Newton to a maximal relative mass error ``1e-9`` for J = 10^3, 10^4, 10^5
  (quick: 10^2, 10^3): wall time, iterations, final error, W2^2.
- ``asgd``: time-to-accuracy of the stochastic solvers for J = 100 and 1000: each runs for the
  same wall time (``--asgd-seconds``), then the exact max / mean relative mass error of its
  potential is measured with otgan's exact diagram.
- ``robust``: Newton on degenerate inputs (close sites, tiny masses, disconnected supports).
- ``images`` ("the inputs researchers bring"): Newton to ``1e-9`` from four 128 x 128 image
  densities (``benchmarks/_images.py``: smooth positive, with black pixels, binary, two separate
  blobs) to J = 10^3, 5 10^3, 2 10^4, 10^5 sites (quick: 10^3, 5 10^3; ``--images-J``) drawn
  uniformly on the square or from the image; otgan, sdot and pysdot in the same run, each solve
  under ``--image-timeout``; pysdot's exact integrator checks the masses at otgan's psi and at
  sdot's weights.

The competitors live in their own interpreters (they are not otgan dependencies): pysdot 0.2.16
in a Python 3.11 venv (``--pysdot-python``, default ``/work/benchvenv/bin/python``), sdot (+ jax,
+ ott-jax for OTT) in a Python 3.12 venv (``--sdot-python``, default
``/work/sdotvenv/bin/python``). This same file is run there in ``--worker`` mode (it imports
only numpy and the competitor at the top level). A missing interpreter or package is reported as
"n/a" in the table.

Usage::

    /work/main/.venv/bin/python benchmarks/bench_semidiscrete.py [--quick]
        [--only newton|diagram|asgd|robust|images] [--out benchmarks/results_semidiscrete.md]

Timings are wall-clock seconds, best of ``--repeat`` for the diagrams, one run for the solvers.
On a shared 2-core machine they are noisy: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:  # _images (numpy only) is imported by the workers too
    sys.path.insert(0, HERE)

import _images  # noqa: E402


def sites(J):
    return np.random.default_rng(0).random((J, 2))


def small_psi(J):
    return 0.5 / J * np.random.default_rng(1).random(J)


def task_psi(task):
    """The weights of a diagram task: zero, small random, or read from a file (the OT
    potential, computed by the driver)."""
    J = task["J"]
    if task["psi"] == "zero":
        return np.zeros(J)
    if task["psi"] == "random":
        return small_psi(J)
    return np.load(task["psi_path"])


# =============================================================================================
# workers (run inside the competitors' interpreters; numpy + the competitor only)
# =============================================================================================


def _pysdot_domain():
    from pysdot.domain_types import ConvexPolyhedraAssembly

    dom = ConvexPolyhedraAssembly()
    dom.add_box([0.0, 0.0], [1.0, 1.0], 1.0, 2**64 - 1)  # numpy 2: np.uint64(-1) fails
    return dom


def worker_pysdot(task):
    from pysdot import OptimalTransport, PowerDiagram

    J = task["J"]
    y = sites(J)
    if task["kind"] == "diagram":
        psi = task_psi(task)
        best = np.inf
        for _ in range(task["repeat"]):
            t = time.perf_counter()
            pd = PowerDiagram(positions=y, weights=psi, domain=_pysdot_domain())
            areas = np.asarray(pd.integrals())
            best = min(best, time.perf_counter() - t)
        np.save(task["areas_path"], areas)
        return {"time": best}
    nu = np.full(J, 1.0 / J)
    t = time.perf_counter()
    ot = OptimalTransport(positions=y, masses=nu, domain=_pysdot_domain(), linear_solver="Scipy")
    ot.set_stopping_criterion(task["tol"] / J, "max delta masses")
    ot.adjust_weights()
    dt = time.perf_counter() - t
    m = np.asarray(ot.pd.integrals())
    return {
        "time": dt,
        "n_iter": len(ot.delta_m) - 1,
        "error": float(np.max(np.abs(m - nu) / nu)),
        "value": float(np.sum(ot.pd.second_order_moments())),
    }


def worker_sdot(task):
    import sdot

    J = task["J"]
    y = sites(J)
    box = sdot.box_half_spaces([0.0, 0.0], [1.0, 1.0])
    # the first call of a process loads precompiled kernels: warm up on a small problem
    y0 = np.random.default_rng(9).random((50, 2))
    sdot.ot_solve(sdot.SumOfDiracs(y0), sdot.Box(), tol=1e-6 / 50, max_iter=50)
    np.asarray(sdot.PowerDiagram(y0, np.zeros(50), boundaries=box).measures)
    if task["kind"] == "diagram":
        psi = task_psi(task)
        best = np.inf
        for _ in range(task["repeat"]):
            t = time.perf_counter()
            areas = np.asarray(sdot.PowerDiagram(y, psi, boundaries=box).measures)
            best = min(best, time.perf_counter() - t)
        np.save(task["areas_path"], areas.astype(np.float64))
        return {"time": best}
    nu = np.full(J, 1.0 / J)
    t = time.perf_counter()
    sol = sdot.ot_solve(sdot.SumOfDiracs(y), sdot.Box(), tol=task["tol"] / J, max_iter=200)
    dt = time.perf_counter() - t
    m = np.asarray(sol.cell_masses, dtype=np.float64)
    hist = sol.history
    return {
        "time": dt,
        "n_iter": int(hist[-1]["step"]) if hist else -1,
        "error": float(np.max(np.abs(m - nu) / nu)),
        "value": float(sol.cost),
    }


def worker_ott(task):
    """OTT-JAX's stochastic semi-discrete solver, run for a wall-time budget."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax
    from ott.geometry import semidiscrete_pointcloud as sdpc
    from ott.problems.linear import semidiscrete_linear_problem as sdlp
    from ott.solvers.linear import semidiscrete

    J = task["J"]
    y = jnp.asarray(sites(J))

    def sampler(rng, shape, dtype=None):
        return jax.random.uniform(rng, shape, dtype=jnp.float64)

    prob = sdlp.SemidiscreteLinearProblem(sdpc.SemidiscretePointCloud(sampler, y, epsilon=0.0))

    def lr(k):
        return task["lr"] / jnp.sqrt(k + 1.0)

    def make(n):
        return semidiscrete.SemidiscreteSolver(
            num_iterations=n, batch_size=task["batch_size"], optimizer=optax.sgd(lr),
            error_eval_every=10**9,
        )

    # calibrate the number of iterations (compilation included in a first call), then run
    n0 = 500
    make(n0)(jax.random.key(0), prob).g.block_until_ready()
    t = time.perf_counter()
    make(n0)(jax.random.key(0), prob).g.block_until_ready()
    per = (time.perf_counter() - t) / n0
    n_iter = max(n0, int(task["seconds"] / per))
    solver = make(n_iter)
    t = time.perf_counter()
    out = solver(jax.random.key(1), prob)
    out.g.block_until_ready()
    dt = time.perf_counter() - t
    return {"time": dt, "n_iter": n_iter, "psi": np.asarray(out.g, dtype=np.float64).tolist()}


def worker_otgan(task):
    """otgan's Newton in a process of its own, for its peak memory (resident set size)."""
    import resource

    sys.path.insert(0, ROOT)
    from otgan import semidiscrete as sd
    from otgan.measures import Uniform

    sd.solve(Uniform(), sites(50), method="newton")  # load the compiled kernels
    J = task["J"]
    y = sites(J)
    t = time.perf_counter()
    res = sd.solve(Uniform(), y, tol=task["tol"], method="newton")
    dt = time.perf_counter() - t
    h = res.history
    return {"time": dt, "n_iter": res.n_iter, "error": res.error, "value": res.value,
            "n_diag": int(h["n_diagrams"][-1]), "t_diag": float(h["time_diagram"][-1]),
            "t_solve": float(h["time_solve"][-1]),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ---------------------------------------------------------------------------------------------
# image workers (section ``images``): one solve per process, each under its own time limit
# ---------------------------------------------------------------------------------------------


class _SolveTimeout(BaseException):
    """Raised by :func:`_time_limit` (a BaseException: no solver's ``except Exception`` eats it)."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt the block after ``seconds`` of wall time (SIGALRM; the solvers' Python loops
    give the handler a chance between their compiled calls). The driver also kills the process
    a while later, should a compiled call never return. Yields a list that is not empty once
    the alarm fired: raised inside a compiled call, :class:`_SolveTimeout` can come out as
    another exception (numba: ``SystemError``, wrapped by otgan in a ``GeometryError``)."""
    import signal

    fired = []

    def handler(signum, frame):
        fired.append(True)
        raise _SolveTimeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 1e-3))
    try:
        yield fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _clip(msg, n=400):
    """A message cut to ``n`` characters, marked when cut."""
    return msg if len(msg) <= n else msg[:n] + " [...]"


def _image_and_sites(task):
    return _images.image(task["image"]), np.load(task["y_path"])


def worker_pysdot_image(task):
    """pysdot on an image: the masses of given weights (``checks``: otgan's psi, sdot's weights,
    the convention check), then (``solve``) its damped Newton from zero weights."""
    from pysdot import OptimalTransport, PowerDiagram
    from pysdot.domain_types import ScaledImage

    img, y = _image_and_sites(task)
    J = len(y)
    nu = np.full(J, 1.0 / J)

    def domain():  # pysdot's ScaledImage: row 0 at the bottom
        return ScaledImage([0.0, 0.0], [1.0, 1.0], np.ascontiguousarray(img[::-1] / img.mean()))

    out = {"checks": {}}
    for key, path in task.get("checks", {}).items():
        w = np.load(path)
        m = np.asarray(PowerDiagram(positions=y, weights=w, domain=domain()).integrals())
        np.save(path + ".masses.npy", m)
        out["checks"][key] = float(np.max(np.abs(m - nu) / nu))
    if not task.get("solve"):
        return out
    t = time.perf_counter()
    ot = None
    fired = []
    try:
        with _time_limit(task["limit"]) as fired:
            ot = OptimalTransport(positions=y, masses=nu, domain=domain(), linear_solver="Scipy")
            ot.set_stopping_criterion(task["tol"] / J, "max delta masses")
            ot.adjust_weights()
        status = "returned"
    except _SolveTimeout:
        status = "timeout"
    except Exception as e:  # noqa: BLE001 - its failures are a status (BadInitialGuess...)
        status = "timeout" if fired else type(e).__name__
    dt = time.perf_counter() - t
    out.update(status=status, time=dt, n_iter=len(ot.delta_m) - 1 if ot is not None else None)
    if status == "returned":
        m = np.asarray(ot.pd.integrals())
        out["error"] = float(np.max(np.abs(m - nu) / nu))
        out["worst_ratio"] = float(np.max(m / nu))
    return out


_SDOT_SIZES = set()  # the J this sdot process has already solved (compiled for)


def worker_sdot_image(task):
    """sdot on an image, after a tiny warm-up solve. The first call of a size J in a process
    compiles for it: that call is made once more, and the second one is timed.

    ``sdot.Image(A)`` reads ``A[i, k]`` as the pixel at x = i, y = k (y upwards): it is pysdot's
    ``ScaledImage(A.T)`` (measured on the binary image: the masses of sdot's weights under
    ``ScaledImage(A.T)`` match its ``cell_masses`` to 2e-15, under ``ScaledImage(A)`` or
    ``ScaledImage(A[::-1])`` they are off by 6x and 46x). otgan's ``ImageDensity(img)`` (row 0 at
    the top) is therefore ``sdot.Image(img[::-1].T)``."""
    import sdot

    img, y = _image_and_sites(task)
    J = len(y)
    nu = np.full(J, 1.0 / J)
    if not _SDOT_SIZES:
        y0 = np.random.default_rng(9).random((50, 2))
        sdot.ot_solve(sdot.SumOfDiracs(y0), sdot.Image(np.ones((8, 8))), tol=1e-6 / 50,
                      max_iter=50)
    im = np.ascontiguousarray(img[::-1].T / img.mean())
    out = {"times": []}
    for _ in range(1 if J in _SDOT_SIZES else 2):
        t = time.perf_counter()
        fired = []
        try:
            with _time_limit(task["limit"]) as fired:
                plan = sdot.ot_solve(sdot.SumOfDiracs(y), sdot.Image(im), tol=task["tol"] / J,
                                     max_iter=300)
            status = str(plan.stats.get("status", "returned"))
        except _SolveTimeout:
            status, plan = "timeout", None
        except Exception as e:  # noqa: BLE001 - its failures are a status (OtNotConverged...)
            status, plan = ("timeout" if fired else type(e).__name__), None
            out["message"] = _clip(str(e))
        out["times"].append(time.perf_counter() - t)
        if plan is None:  # failed or timed out: the second call would too
            break
        _SDOT_SIZES.add(J)
    out.update(status=status, time=out["times"][-1])
    if plan is not None:
        m = np.asarray(plan.cell_masses, dtype=np.float64)
        out["error"] = float(np.max(np.abs(m - nu) / nu))
        out["mass_sum"] = float(m.sum())
        out["converged"] = bool(plan.converged)
        hist = plan.history
        out["n_iter"] = int(hist[-1]["step"]) if hist else None
        np.save(task["w_out"], np.asarray(plan.weights, dtype=np.float64))
    return out


_OTGAN_WARM = []


def worker_otgan_image(task):
    """otgan's ``semidiscrete.solve(ImageDensity(img), y, method="newton")`` (public API only)."""
    import warnings

    sys.path.insert(0, ROOT)
    from otgan import semidiscrete as sd
    from otgan.measures import ImageDensity

    img, y = _image_and_sites(task)
    if not _OTGAN_WARM:
        with warnings.catch_warnings():  # load the compiled kernels
            warnings.simplefilter("ignore")
            sd.solve(ImageDensity(_images.image("positive")), sites(50), method="newton")
        _OTGAN_WARM.append(True)
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        fired = []
        try:
            with _time_limit(task["limit"]) as fired:
                res = sd.solve(ImageDensity(img), y, method="newton", tol=task["tol"])
            status = "converged" if res.converged else "not converged"
            if fired:  # the alarm went off, and the solver swallowed it
                status, res = "timeout", None
        except _SolveTimeout:
            status, res = "timeout", None
        except Exception as e:  # noqa: BLE001 - reported as the row's status
            status, res = ("timeout" if fired else type(e).__name__), None
            out["message"] = _clip(str(e))
        dt = time.perf_counter() - t
    out.update(status=status, time=dt)
    msgs = [str(w.message) for w in caught]
    if msgs:
        out["warning"] = _clip(msgs[-1])
    if res is not None:
        out.update(n_iter=int(res.n_iter), error=float(res.error))
        h = res.history
        if "n_diagrams" in h:
            out["n_diagrams"] = int(np.ravel(np.asarray(h["n_diagrams"]))[-1])
        np.save(task["psi_out"], np.asarray(res.psi, dtype=np.float64))
    return out


def worker_main(name, task):
    fn = {"pysdot": worker_pysdot, "sdot": worker_sdot, "ott": worker_ott,
          "otgan": worker_otgan, "pysdot_image": worker_pysdot_image,
          "sdot_image": worker_sdot_image, "otgan_image": worker_otgan_image}[name]
    if task != "serve":
        print("@@RESULT@@" + json.dumps(fn(task)))
        return
    # a server: one JSON task a line on stdin, one result line each on stdout (the interpreter
    # start, the imports and the warm-up are paid once per process, not once per solve)
    for line in sys.stdin:
        try:
            res = fn(json.loads(line))
        except Exception as e:  # noqa: BLE001 - reported to the driver, the server goes on
            res = {"status": f"failed: {type(e).__name__}: {str(e)[:150]}"}
        print("@@RESULT@@" + json.dumps(res), flush=True)


# =============================================================================================
# driver (runs in otgan's environment)
# =============================================================================================


class _Server:
    """A worker process kept for many tasks (``--worker NAME serve``): tasks go as JSON lines on
    its stdin, results come back as ``@@RESULT@@`` lines on its stdout (read by a thread, so a
    solver's own prints cannot block us). A task that does not answer in time kills the process;
    the next task starts a fresh one."""

    def __init__(self, python, name):
        self.python, self.name, self.proc = python, name, None

    def _start(self):
        import queue
        import threading

        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "--worker", self.name, "serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = queue.Queue()

        def read(out, q):
            for line in out:
                q.put(line)
            q.put(None)

        threading.Thread(target=read, args=(self.proc.stdout, self.lines), daemon=True).start()

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, task, timeout):
        """The worker's result for ``task``, or ``(None, note)`` after ``timeout`` seconds or a
        crash (the process is then killed)."""
        import queue

        if not self.python or not os.path.exists(self.python):
            return None, f"n/a ({self.name}: interpreter {self.python} not found)"
        if self.proc is None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps(task) + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died: reported below
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                self.close()
                return None, f"timeout > {timeout:g} s"
            if line is None:
                self.err.seek(0)
                err = (self.err.read().strip().splitlines() or ["no output"])[-1]
                self.close()
                return None, f"failed: {err[:120]}"
            if line.startswith("@@RESULT@@"):
                return json.loads(line[len("@@RESULT@@"):]), ""


def run_worker(python, name, task, timeout):
    """Run a worker in another interpreter; returns (result dict | None, note)."""
    if not python or not os.path.exists(python):
        return None, f"n/a ({name}: interpreter {python} not found)"
    cmd = [python, os.path.abspath(__file__), "--worker", name, json.dumps(task)]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout > {timeout} s"
    for line in proc.stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@"):]), ""
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"failed: {err[:120]}"


def fmt(v, spec=".3g"):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return format(v, spec)


def bench_diagram(args, sizes):
    from otgan import laguerre
    from otgan import semidiscrete as sd
    from otgan.measures import Uniform

    mu = Uniform()
    laguerre.diagram(sites(50), np.zeros(50), measure=mu)  # load the compiled kernel
    rows = []
    tmpdir = tempfile.mkdtemp()
    for J in sizes:
        y = sites(J)
        psi_ot = sd.newton(mu, y, tol=1e-9).psi
        ot_path = os.path.join(tmpdir, f"psi_ot_{J}.npy")
        np.save(ot_path, psi_ot)
        for kind in ("zero", "random", "ot"):
            psi = task_psi({"J": J, "psi": kind, "psi_path": ot_path})
            best = np.inf
            for _ in range(args.repeat):
                t = time.perf_counter()
                D = laguerre.diagram(y, psi, measure=mu)
                best = min(best, time.perf_counter() - t)
            ref = np.asarray(D.areas)
            row = {"J": J, "psi": kind, "otgan": best}
            for name, py in (("pysdot", args.pysdot_python), ("sdot", args.sdot_python)):
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "areas.npy")
                    task = {"kind": "diagram", "J": J, "psi": kind, "repeat": args.repeat,
                            "areas_path": path, "psi_path": ot_path}
                    res, note = run_worker(py, name, task, args.timeout)
                    if res is None:
                        row[name], row[name + "_dA"] = note, None
                    else:
                        row[name] = res["time"]
                        row[name + "_dA"] = float(np.max(np.abs(np.load(path) - ref)))
            rows.append(row)
            print(f"  diagram J={J} psi={kind}: {row}", flush=True)
    lines = [
        ("otgan: `otgan.laguerre.diagram` (numba kernel: kd-tree walk pruned with each node's "
         "largest weight and least-squares plane of psi, exact clipping in the frame of each "
         "site; any polygon and density), "
         "the routine inside `semidiscrete.newton`. psi: zero, small random "
         "(0.5 / J * U(0, 1)), or the OT potential (otgan's Newton to 1e-9). Ratios: otgan time / other time (below 1 = otgan faster). "
         "max abs dA: largest area difference with otgan (sdot computes in float32 by default)."),
        "",
        ("| J | psi | otgan (s) | pysdot (s) | sdot (s) | otgan / pysdot | otgan / sdot "
         "| max abs dA pysdot | max abs dA sdot |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pys = r["pysdot"] if isinstance(r["pysdot"], float) else None
        sdt = r["sdot"] if isinstance(r["sdot"], float) else None
        lines.append(
            f"| {r['J']} | {r['psi']} | {fmt(r['otgan'])} | "
            f"{fmt(r['pysdot'])} | {fmt(r['sdot'])} | "
            f"{fmt(r['otgan'] / pys if pys else None, '.2f')} | "
            f"{fmt(r['otgan'] / sdt if sdt else None, '.2f')} | "
            f"{fmt(r['pysdot_dA'], '.1e')} | {fmt(r['sdot_dA'], '.1e')} |"
        )
    return lines


def bench_newton(args, sizes):
    from otgan import semidiscrete as sd
    from otgan.measures import Uniform

    mu = Uniform()
    sd.solve(mu, sites(50), tol=args.tol, method="newton")  # load the compiled diagram kernel
    rows = []
    for J in sizes:
        res_o, note = run_worker(sys.executable, "otgan", {"J": J, "tol": args.tol},
                                 args.timeout * 4)
        row = {"J": J, "otgan": res_o if res_o is not None else note}
        for name, py in (("pysdot", args.pysdot_python), ("sdot", args.sdot_python)):
            if J > args.max_competitor:
                row[name] = f"not run (J > --max-competitor {args.max_competitor})"
                continue
            task = {"kind": "newton", "J": J, "tol": args.tol}
            res_c, note = run_worker(py, name, task, args.timeout)
            row[name] = res_c if res_c is not None else note
        rows.append(row)
        print(f"  newton J={J}: {row}", flush=True)
    lines = [
        (f"Stopping rule: max_j |mass_j - nu_j| / nu_j <= {args.tol:g} (pysdot: 'max delta masses' "
        f"<= {args.tol:g} / J; sdot: tol = {args.tol:g} / J, absolute on the masses)."),
        "",
        ("| J | library | time (s) | iterations | final max rel. error | W2^2 | "
         "otgan time / this |"),
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        to = r["otgan"]["time"] if isinstance(r["otgan"], dict) else None
        for name in ("otgan", "pysdot", "sdot"):
            v = r[name]
            if isinstance(v, str):
                lines.append(f"| {r['J']} | {name} | {v} | | | | |")
                continue
            lines.append(
                f"| {r['J']} | {name} | {v['time']:.3g} | {v['n_iter']} | {v['error']:.2e} | "
                f"{v['value']:.9g} | {fmt(to / v['time'] if to else None, '.2f')} |"
            )
    lines += ["", ("otgan's Newton time split (diagrams computed, seconds in the diagrams, in the "
              "sparse solves) and peak memory (resident set size of its process):"), "",
              "| J | diagrams | diagram time (s) | solve time (s) | peak memory (MB) |",
              "|---|---|---|---|---|"]
    for r in rows:
        o = r["otgan"]
        if isinstance(o, dict):
            lines.append(f"| {r['J']} | {o['n_diag']} | {o['t_diag']:.3g} | {o['t_solve']:.3g} "
                         f"| {o['peak_mb']:.0f} |")
    return lines


def bench_asgd(args, sizes):
    from otgan import laguerre
    from otgan import semidiscrete as sd
    from otgan.measures import Uniform

    try:
        from ot.semidiscrete import solve_semidiscrete
    except ImportError:  # pragma: no cover - older POT
        solve_semidiscrete = None
    mu = Uniform()
    secs = args.asgd_seconds
    rows = []

    def errors(psi, J):
        m = np.asarray(laguerre.diagram(sites(J), np.asarray(psi, dtype=np.float64),
                                        measure=mu).masses)
        rel = np.abs(m * J - 1.0)
        return float(rel.max()), float(rel.mean())

    for J in sizes:
        y = sites(J)
        def stop(k, state, t0=[None]):  # noqa: B006 - one clock per call of bench_asgd's loop
            if t0[0] is None:
                t0[0] = time.perf_counter()
            return time.perf_counter() - t0[0] >= secs

        t = time.perf_counter()
        res = sd.asgd(mu, y, n_iter=10**9, rng=12345, callback=stop)
        dt = time.perf_counter() - t
        rows.append((J, "otgan asgd (gamma = 2 J E min c, batch 256)", dt, res.n_iter,
                     *errors(res.psi, J)))
        print(f"  asgd J={J} otgan: {rows[-1]}", flush=True)
        if solve_semidiscrete is not None:
            def sampler(b, rng=np.random.default_rng(12345)):  # noqa: B008 - seeded stream
                return rng.random((b, 2))

            t = time.perf_counter()
            solve_semidiscrete(y, sampler, max_iter=200)
            per = (time.perf_counter() - t) / 200
            n = max(200, int(secs / per))
            t = time.perf_counter()
            g = solve_semidiscrete(y, sampler, max_iter=n)
            dt = time.perf_counter() - t
            rows.append((J, "POT solve_semidiscrete (defaults: DRAG, batch 32)", dt, n,
                         *errors(g, J)))
        else:
            rows.append((J, "POT solve_semidiscrete", "n/a (not in this POT)", "", None, None))
        print(f"  asgd J={J} POT: {rows[-1]}", flush=True)
        # OTT has no default step: the same gamma / sqrt(k) as otgan (its own EMA averaging)
        task = {"J": J, "seconds": secs, "batch_size": 256, "lr": res.history["gamma"]}
        if args.ott:
            res_o, note = run_worker(args.sdot_python, "ott", task, args.timeout + 3 * secs)
        else:
            res_o, note = None, "not run (pass --ott; it timed out at 300 s in our runs)"
        if res_o is None:
            rows.append((J, "OTT-JAX SemidiscreteSolver", note, "", None, None))
        else:
            rows.append((J, "OTT-JAX SemidiscreteSolver (optax.sgd gamma/sqrt(k), batch 256)", res_o["time"],
                         res_o["n_iter"], *errors(res_o["psi"], J)))
        print(f"  asgd J={J} OTT: {rows[-1]}", flush=True)
    lines = [
        (f"Each solver runs for about {secs:g} s of wall time; errors are exact (otgan's diagram) "
        "relative mass errors |mu(L_j) - 1/J| * J of the returned potential."),
        "",
        "| J | solver | time (s) | iterations | max rel. error | mean rel. error |",
        "|---|---|---|---|---|---|",
    ]
    for J, name, dt, n, emax, emean in rows:
        lines.append(f"| {J} | {name} | {fmt(dt)} | {n} | {fmt(emax)} | {fmt(emean)} |")
    return lines


def bench_robust(args, sizes):
    """Newton on the inputs where it used to stop short: converged or not, iterations,
    continuation stages, time."""
    import warnings

    import shapely

    from otgan import semidiscrete as sd
    from otgan.measures import ImageDensity, Uniform

    rng = np.random.default_rng(0)
    y200 = rng.random((200, 2))
    nu32 = (rng.random(200) + 0.5).astype(np.float32)
    nu32 /= nu32.sum()
    img = np.ones((64, 64))
    img[20:40] = 0
    img128 = rng.random((128, 128))
    img128[img128 < 0.5] = 0
    img128[:, :40] = 0
    islands = shapely.MultiPolygon([shapely.box(0, 0, 0.4, 1), shapely.box(0.6, 0, 1, 1)])
    cases = [
        ("sites 1e-7 apart (cluster of 10)", Uniform(),
         np.vstack([y200, 0.5 + 1e-7 * rng.random((10, 2))]), None),
        ("sites 1e-12 apart (a pair)", Uniform(), np.vstack([y200, y200[:1] + [1e-12, 0]]), None),
        ("a target mass of 1e-10 beside 1/4", Uniform(),
         np.array([[0.528, 0.227], [0.778, 0.170], [0.577, 0.536], [0.672, 0.760]]),
         np.array([0.25, 0.25, 0.5 - 1e-10, 1e-10])),
        ("float32 nu", Uniform(), y200, nu32),
        ("nu summing to 1 + 5e-7", Uniform(), y200, np.full(200, (1 + 5e-7) / 200)),
        ("two islands (disconnected domain)", Uniform(islands), y200, None),
        ("image with 20 zero rows between sites", ImageDensity(img), y200, None),
        ("128 x 128 image, 60 % zero pixels, J = 500", ImageDensity(img128),
         rng.random((500, 2)), None),
    ]
    lines = [
        "| input | converged | max rel. error | iterations | continuation stages (eps) | "
        "time (s) | warning |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, mu, y, nu in cases:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            t = time.perf_counter()
            res = sd.solve(mu, y, nu, method="newton", tol=args.tol)
            dt = time.perf_counter() - t
        eps = sorted({float(e) for e in res.history["eps"]}, reverse=True)
        msg = next((str(x.message) for x in w if issubclass(x.category, sd.NotConvergedWarning)),
                   "")
        if "resolution of float64" in msg:
            msg = "float64 resolution of psi (see the text)"
        lines.append(f"| {name} | {res.converged} | {res.error:.2e} | {res.n_iter} | "
                     f"{', '.join(f'{e:g}' for e in eps)} | {dt:.2f} | {msg} |")
        print("  robust", lines[-1], flush=True)
    return [
        ("Damped Newton to max relative mass error 1e-9 on the inputs that used to make it stop "
         "short. A disconnected or gapped support, or starved cells, run first on the regularised "
         "source (1 - eps) mu + eps U(box), eps from 1/2 down to 0 (the stages listed). Two sites "
         "1e-12 apart cannot be balanced beyond ~1e-6 in float64: one unit in the last place of "
         "psi moves their cells' masses by ~1e-4 of their targets; Newton stops there and warns."),
        "",
        *lines,
    ]


def image_sites(img, kind, J):
    """``uniform``: ``default_rng(0)`` on the unit square; ``mu``: ``ImageDensity(img).sample(J,
    rng=0)``, made distinct (a repeated point is replaced by a fresh draw)."""
    from otgan.measures import ImageDensity

    if kind == "uniform":
        return sites(J)
    mu = ImageDensity(img)
    y = mu.sample(J, rng=0)
    seed = 1
    while True:
        _, first = np.unique(y, axis=0, return_index=True)
        if first.size == J:
            return y
        y = np.vstack([y[np.sort(first)], mu.sample(J - first.size, rng=seed)])
        seed += 1


def _skip_reason(prev, J, limit, skip):
    """Why a solver is not run at this J, from its last run on the same image and sites:
    a timeout (always), and with ``skip``: a failure, or a time that predicts one (time grows
    at least linearly in J)."""
    if prev is None:
        return None
    pJ, pt, pstatus = prev
    if pstatus == "timeout":
        return f"not run (timeout at J={pJ})"
    if not skip:
        return None
    if pstatus != "converged":
        return f"not run ({pstatus} at J={pJ})"
    if pt is not None and pt * J / pJ > limit:
        return f"not run ({pt:.0f} s at J={pJ} predicts > {limit:g} s)"
    return None


def _run_limited(server, task, limit, calls=1):
    """A solve on a server under ``limit`` seconds a call: its own alarm, and a kill 120 s
    later (the interpreter start, the imports, the warm-up, or a compiled call that does not
    return). A server whose solve timed out is restarted for the next task (its state may be
    left half-way)."""
    res, note = server.run(dict(task, limit=limit), calls * limit + 120)
    if res is None:
        res = {"status": "timeout" if note.startswith("timeout") else note}
    elif res.get("status") == "timeout":
        server.close()
    return res


def bench_images(args, sizes):
    """Newton on 128 x 128 images x two site clouds x J: otgan, pysdot and sdot in the same run."""
    from otgan import laguerre
    from otgan.measures import ImageDensity, Uniform

    imgs = _images.images()
    tmp = tempfile.mkdtemp(prefix="bench_images_")
    limit, accept = args.image_timeout, args.images_accept

    # -- pysdot's weights are otgan's psi: check on a small case before relying on it
    rng = np.random.default_rng(5)
    yc, psic = rng.random((30, 2)), 0.02 * rng.random(30)
    conv = {}
    for name, mu in (("ones", Uniform()), ("binary", ImageDensity(imgs["binary"]))):
        m_o = np.asarray(laguerre.diagram(yc, psic, measure=mu).masses)
        yp = os.path.join(tmp, f"conv_{name}_y.npy")
        np.save(yp, yc)
        checks = {}
        for sign in (1, -1):
            pp = os.path.join(tmp, f"conv_{name}_{sign}.npy")
            np.save(pp, sign * psic)
            checks[str(sign)] = pp
        res, note = run_worker(args.pysdot_python, "pysdot_image",
                               {"image": name, "y_path": yp, "checks": checks}, args.timeout)
        if res is None:
            conv[name] = note
        else:
            conv[name] = tuple(float(np.max(np.abs(np.load(checks[k] + ".masses.npy") - m_o)))
                               for k in ("1", "-1"))
    print(f"  images: convention check {conv}", flush=True)
    check_ok = all(isinstance(v, tuple) and v[0] < 1e-9 for v in conv.values())

    servers = {"otgan": _Server(sys.executable, "otgan_image"),
               "sdot": _Server(args.sdot_python, "sdot_image"),
               "pysdot": _Server(args.pysdot_python, "pysdot_image")}
    calls = {"otgan": 1, "sdot": 2, "pysdot": 1}
    rows, last = [], {}
    t0 = time.perf_counter()
    try:
        for J in sizes:
            for name in _images.NAMES:
                for kind in ("uniform", "mu"):
                    if time.perf_counter() - t0 > args.images_budget:
                        why = {"status": f"not run (--images-budget {args.images_budget:g} s spent)"}
                        rows.append({"J": J, "image": name, "sites": kind, "otgan": dict(why),
                                     "sdot": dict(why), "pysdot": dict(why)})
                        continue
                    rows.append(_images_row(args, servers, calls, last, tmp, imgs, name, kind, J))
                    print(f"  images {json.dumps(rows[-1], default=str)}", flush=True)
    finally:
        for srv in servers.values():
            srv.close()
    return _images_table(args, rows, conv, check_ok, limit, accept)


def _images_row(args, servers, calls, last, tmp, imgs, name, kind, J):
    """One row of the image section: otgan, then sdot, then pysdot (its solve, and its exact
    masses at otgan's psi and sdot's weights)."""
    limit, accept = args.image_timeout, args.images_accept
    key = f"{name}_{kind}_{J}"
    y_path = os.path.join(tmp, key + "_y.npy")
    np.save(y_path, image_sites(imgs[name], kind, J))
    base = {"image": name, "y_path": y_path, "tol": args.tol}
    row = {"J": J, "image": name, "sites": kind}
    extras = {"otgan": {"psi_out": os.path.join(tmp, key + "_psi.npy")},
              "sdot": {"w_out": os.path.join(tmp, key + "_sdot_w.npy")},
              "pysdot": {"solve": True}}
    for lib in ("otgan", "sdot", "pysdot"):
        skip = lib == "otgan" and not args.images_no_skip
        reason = _skip_reason(last.get((lib, name, kind)), J, limit, skip)
        task = dict(base, **extras[lib])
        if lib == "pysdot":  # the independent check of otgan's and sdot's masses
            task["checks"] = {k: row[k]["w_path"] for k in ("otgan", "sdot")
                              if "w_path" in row[k]}
            if reason is not None and task["checks"]:
                res, _ = servers[lib].run(dict(task, solve=False), limit + 120)
                row[lib] = dict(res or {}, status=reason)
                continue
        if reason is not None:
            row[lib] = {"status": reason}
            continue
        res = _run_limited(servers[lib], task, limit, calls[lib])
        if "error" in res:
            if lib != "pysdot":
                res["w_path"] = extras[lib].get("psi_out") or extras[lib]["w_out"]
            ok = res["error"] <= accept
            if lib == "sdot":
                ok = ok and res.get("converged", False)
                res["own_status"] = res["status"]
            if lib != "otgan":
                res["status"] = "converged" if ok else "returned unconverged"
        row[lib] = res
        last[(lib, name, kind)] = (J, res.get("time"), res.get("status", ""))
    checks = row["pysdot"].get("checks", {})
    row["otgan"]["check"] = checks.get("otgan")
    row["sdot"]["check"] = checks.get("sdot")
    return row


def _images_table(args, rows, conv, check_ok, limit, accept):
    def conv_txt(v):
        if isinstance(v, str):
            return v
        return f"max abs mass difference {v[0]:.1e} (with w = -psi instead: {v[1]:.1e})"

    cmd = "python benchmarks/bench_semidiscrete.py " + " ".join(sys.argv[1:])
    lines = [
        f"- command: `{cmd.strip()}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        (f"- machine: `{platform.platform()}`, os.cpu_count() = {os.cpu_count()}, Python "
         f"{platform.python_version()}. The machine may be shared and loaded: absolute times "
         "are noisy, **the ratios (measured in the same run) are what counts**."),
        ("- images: 128 x 128 (row 0 = top, as `otgan.measures.ImageDensity`), built by "
         "`benchmarks/_images.py` as `/work/shared/repro/image_newton.py` does: `positive` (two "
         "Gaussian blobs and a ring, + 0.05), `black` (the same, values < 1e-3 set to 0: 37 % "
         "black pixels), `binary` (a disk and a square), `blobs` (two separate blobs)."),
        ("- sites: `uniform` = `default_rng(0).random((J, 2))`; `mu` = "
         "`ImageDensity(img).sample(J, rng=0)` (distinct). nu = 1/J."),
        (f"- otgan: `otgan.semidiscrete.solve(ImageDensity(img), y, method=\"newton\", "
         f"tol={args.tol:g})`, default settings; status from `res.converged`; error = "
         "`res.error` (max_j |m_j - nu_j| / nu_j); diagrams = `history[\"n_diagrams\"]`."),
        (f"- pysdot 0.2.16: `OptimalTransport(y, domain=ScaledImage([0,0], [1,1], img[::-1] / "
         f"img.mean()), masses=nu, linear_solver=\"Scipy\")`, stopping at {args.tol:g} / J "
         "\"max delta masses\"; an exception is the status; when it returns, its max rel. error "
         "is measured from `ot.pd.integrals()`."),
        (f"- sdot: `sdot.ot_solve(sdot.SumOfDiracs(y), sdot.Image(img[::-1].T / img.mean()), "
         f"tol={args.tol:g} / J, max_iter=300)` after a tiny warm-up solve; the first call at "
         "each J in its process compiles and is repeated, the second call is timed; error from "
         "`cell_masses`. `sdot.Image(A)` reads `A[i, k]` as the pixel at x = i, y = k (y "
         "upwards), i.e. pysdot's `ScaledImage(A.T)` (the masses of sdot's weights under it match "
         "its `cell_masses` to 2e-15): `sdot.Image(img)`, as in the core issue's table and "
         "`repro/image_newton.py`, solves the image turned by a quarter turn and mirrored, "
         "another problem than otgan's and pysdot's (same for the four images only in law)."),
        (f"- an anchor counts as converged when it returns with max rel. error <= {accept:g} "
         "(its own status for sdot too); the ratio column is otgan's time over the faster "
         "converged anchor's (below 1: otgan faster)."),
        ("- independent check: pysdot's exact integrator, `PowerDiagram(y, w, domain=ScaledImage"
         "(...)).integrals()`, at otgan's returned psi (w = psi: pysdot's cells are "
         "argmin |x - y_j|^2 - w_j, otgan's argmin ||x - y_j||^2 - psi_j) and at sdot's weights; "
         "the columns give max_j |m_j - nu_j| / nu_j. Convention checked on 30 sites with random "
         f"psi against otgan's own masses: uniform square: {conv_txt(conv.get('ones'))}; "
         f"binary image (not symmetric): {conv_txt(conv.get('binary'))}."
         + ("" if check_ok else " **The check failed: the pysdot columns are not reliable.**")),
        (f"- each library runs in a process of its own (kept from solve to solve, restarted "
         f"after a timeout); each solve has a time limit of {limit:g} s "
         "(`--image-timeout`); after a timeout the larger J of the same image and sites are not "
         "run" + ("" if args.images_no_skip else
                  "; otgan is not run either after it fails on a smaller J, nor when its time on "
                  "a smaller J times the ratio of the J predicts a timeout (`--images-no-skip` "
                  "runs them)") + f"; rows are run J by J, and none is started after "
         f"{args.images_budget:g} s (`--images-budget`)."),
        "",
        ("| J | image | sites | otgan | iterations | diagrams | time (s) | max rel. error | "
         "checked by pysdot | sdot | time (s) | max rel. error | checked by pysdot | pysdot | "
         "time (s) | max rel. error | otgan / faster converged anchor |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def e(v):
        return fmt(v, ".1e")

    for r in rows:
        o, sd_, ps = r["otgan"], r["sdot"], r["pysdot"]
        anchors = [a["time"] for a in (sd_, ps) if a.get("status") == "converged"]
        ratio = ""
        if anchors and isinstance(o.get("time"), float):
            q = o["time"] / min(anchors)
            ratio = {"converged": f"{q:.2f}", "timeout": f"> {q:.1f}"}.get(
                o["status"], f"{q:.2f} ({o['status']})")
        elif not anchors and not o["status"].startswith("not run"):
            ratio = "no anchor converged"
        ts = "" if "time" not in o or o["status"].startswith("not run") else fmt(o["time"])
        lines.append(
            f"| {r['J']} | {r['image']} | {r['sites']} | {o['status']} | {o.get('n_iter', '')} "
            f"| {o.get('n_diagrams', '')} | {ts} | {e(o.get('error')) if 'error' in o else ''} "
            f"| {e(o.get('check')) if o.get('check') is not None else ''} "
            f"| {sd_['status']} | {fmt(sd_['time']) if 'time' in sd_ else ''} "
            f"| {e(sd_.get('error')) if 'error' in sd_ else ''} "
            f"| {e(sd_.get('check')) if sd_.get('check') is not None else ''} "
            f"| {ps['status']} | {fmt(ps['time']) if 'time' in ps else ''} "
            f"| {e(ps.get('error')) if 'error' in ps else ''} | {ratio} |"
        )
    notes = []
    for r in rows:
        for lib in ("otgan", "sdot", "pysdot"):
            v = r[lib]
            msg = v.get("warning") or (v.get("message") if v.get("status") != "timeout" else None)
            if lib == "pysdot" and v.get("status") == "returned unconverged":
                msg = f"returned without an error; its largest cell holds {v['worst_ratio']:.3g}x its target"
            if msg:
                notes.append(f"- J = {r['J']}, {r['image']}, {r['sites']} sites, {lib}: "
                             + " ".join(msg.split()))
    if notes:
        lines += ["", "Messages (otgan's last warning, the anchors' exceptions):", "", *notes]
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument("--only", default=None,
                   help="comma-separated sections: diagram, newton, asgd, robust, images "
                        "(default: all); with "
                        "--out, the other sections of an existing file are kept")
    p.add_argument("--big", action="store_true", help="add J = 10^6 to the Newton section")
    p.add_argument("--max-competitor", type=int, default=100_000,
                   help="largest J for which pysdot and sdot run Newton")
    p.add_argument("--tol", type=float, default=1e-9)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--asgd-seconds", type=float, default=None)
    p.add_argument("--timeout", type=int, default=300, help="per competitor run (s)")
    p.add_argument("--pysdot-python", default="/work/benchvenv/bin/python")
    p.add_argument("--sdot-python", default="/work/sdotvenv/bin/python")
    p.add_argument("--ott", action="store_true", help="also run OTT-JAX (slow to set up)")
    p.add_argument("--images-J", default=None,
                   help="section images: comma-separated J (default 1e3,5e3,2e4,1e5; quick: "
                        "1e3,5e3)")
    p.add_argument("--image-timeout", type=float, default=300.0,
                   help="section images: time limit of each solve (s)")
    p.add_argument("--images-budget", type=float, default=1800.0,
                   help="section images: wall time (s) after which the remaining rows (the "
                        "largest J: they come last) are not run")
    p.add_argument("--images-accept", type=float, default=1e-6,
                   help="section images: an anchor counts as converged at this max rel. error")
    p.add_argument("--images-no-skip", action="store_true",
                   help="section images: run otgan at a larger J even after it failed or "
                        "predicted a timeout at a smaller J")
    p.add_argument("--out", default=None, help="also write the markdown table to this file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("task", nargs="?", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.task if args.task == "serve" else json.loads(args.task))
        return
    sys.path.insert(0, ROOT)
    if args.asgd_seconds is None:
        args.asgd_seconds = 2.0 if args.quick else 15.0
    sizes = {
        "diagram": (1000, 10_000) if args.quick else (10_000, 100_000),
        "newton": ((100, 1000) if args.quick else (1000, 10_000, 100_000))
        + ((1_000_000,) if args.big else ()),
        "asgd": (100, 1000),
        "robust": (),
        "images": (tuple(int(float(v)) for v in args.images_J.split(",")) if args.images_J
                   else (1000, 5000) if args.quick else (1000, 5000, 20_000, 100_000)),
    }
    cmd = "python benchmarks/bench_semidiscrete.py " + " ".join(sys.argv[1:])
    out = [
        "# Semi-discrete OT benchmark",
        "",
        f"- command: `{cmd.strip()}`",
        (f"- machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}"),
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        ("- problem: mu uniform on [0,1]^2, y = default_rng(0).random((J, 2)), nu = 1/J, "
        "cost ||x-y||^2"),
        ("- competitors: pysdot 0.2.16 (Python 3.11 venv), sdot (Python 3.12 venv, + jax), "
        "POT 0.9.7 `ot.semidiscrete.solve_semidiscrete`, OTT-JAX `SemidiscreteSolver`"),
        "",
    ]
    sections = [("diagram", "Exact power-cell areas", bench_diagram),
                ("newton", "Damped Newton to max relative mass error tol", bench_newton),
                ("asgd", "Stochastic solvers: exact error after equal wall time", bench_asgd),
                ("robust", "Newton on degenerate inputs", bench_robust),
                ("images", "Images: the inputs researchers bring", bench_images)]
    only = set(args.only.split(",")) if args.only else None
    kept = {}
    if only and args.out and os.path.exists(args.out):
        # keep the sections of an earlier run that are not run again
        with open(args.out) as f:
            old = f.read()
        date = next((ln[len("- date: "):] for ln in old.splitlines() if ln.startswith("- date: ")),
                    "an earlier date")
        prev = next((ln[len("- command: "):] for ln in old.splitlines()
                     if ln.startswith("- command: ")), "an earlier command")
        for block in old.split("\n## ")[1:]:
            body = block.rstrip("\n")
            if "not run again" not in body:
                body = body.replace("; this run)", ")")
                body += f"\n\n(this section is from the run of {date}, {prev}; not run again)"
            kept[block.split("\n", 1)[0].strip()] = "## " + body
    for key, title, fn in sections:
        if only and key not in only:
            if title in kept:
                out += [kept[title], ""]
            continue
        print(f"## {title}", flush=True)
        t = time.perf_counter()
        lines = fn(args, sizes[key])
        out += [f"## {title}", "", *lines, "",
                f"(section wall time {time.perf_counter() - t:.0f} s; this run)", ""]
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
