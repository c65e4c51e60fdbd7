"""Every demo runs in --quick mode (Agg backend) into a temporary folder, writes non-blank
images and a JSON sidecar whose numbers agree with independent computations (closed forms
derived by hand, brute-force rasters, POT, Monte Carlo)."""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import math
import os
import pathlib
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demos.run_all import DEMOS  # noqa: E402 (after the sys.path entry)
from tests.reference import w2_squared_by_assignment  # noqa: E402

NAMES = [d[0] for d in DEMOS]
_CACHE: dict = {}


def run_quick(name, tmp_path_factory):
    """Run ``name`` once per session in --quick mode; returns (out_dir, sidecar)."""
    if name not in _CACHE:
        out = tmp_path_factory.mktemp(name)
        mod = importlib.import_module(f"demos.{name}")
        side = mod.main(["--quick", "--out", str(out), "--seed", "0"])
        _CACHE[name] = (out, side)
    return _CACHE[name]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return lambda name: run_quick(name, tmp_path_factory)


def test_registry_lists_every_demo_file():
    files = sorted(p.stem for p in (ROOT / "demos").glob("fig*.py"))
    assert sorted(NAMES) == files
    assert len(NAMES) == 12


@pytest.mark.parametrize("name", NAMES)
def test_demo_writes_images_and_sidecar(name, quick):
    out, side = quick(name)
    sidecar = json.loads((out / f"{name}.json").read_text())
    assert sidecar == json.loads(json.dumps(side))
    for key in ("demo", "command", "seed", "params", "numbers", "files", "versions",
                "wall_time_s"):
        assert key in sidecar, key
    assert sidecar["demo"] == name and sidecar["quick"] is True and sidecar["seed"] == 0
    for lib in ("python", "numpy", "torch", "matplotlib", "otgan"):
        assert sidecar["versions"][lib], lib
    assert sidecar["wall_time_s"] > 0
    assert sidecar["files"], "a demo must write at least one image"
    written = sorted(p.name for p in out.iterdir())
    for f in sidecar["files"]:
        assert f in written
        assert f.startswith(name)
        img = Image.open(out / f)
        assert img.format in ("PNG", "GIF")
        frames = getattr(img, "n_frames", 1)
        img.seek(0)
        arr = np.asarray(img.convert("L"), dtype=float)
        assert arr.shape[0] > 50 and arr.shape[1] > 50
        assert arr.std() > 5.0, f"{f} looks blank (pixel std {arr.std():.2f})"
        if img.format == "GIF":
            assert frames >= 2
        else:  # every figure is saved at 150-200 dpi
            assert 150 <= round(img.info["dpi"][0]) <= 200, (f, img.info.get("dpi"))
    # nothing outside its own prefix is written
    assert all(p.startswith(name) for p in written)


def _numbers(quick, name):
    return quick(name)[1]["numbers"]


def test_fig03_parallel_lines_numbers(quick):
    n = _numbers(quick, "fig03_parallel_lines")
    theta = np.asarray(n["theta"])
    # W1 between (0, Z) and (theta, Z): every point moves by |theta| (Arjovsky et al., Ex. 1)
    np.testing.assert_allclose(n["w1"], np.abs(theta), rtol=0, atol=1e-12)
    js = np.asarray(n["js"])
    np.testing.assert_allclose(js[theta != 0], math.log(2), rtol=1e-12)
    np.testing.assert_allclose(js[theta == 0], 0.0, atol=1e-12)
    # the Monte-Carlo markers (POT on samples) agree with |theta| up to the sampling error
    np.testing.assert_allclose(n["mc_w1"], np.abs(n["mc_theta"]), atol=0.08)


def test_fig10_exercises_numbers(quick):
    n = _numbers(quick, "fig10_exercises")
    # the lecture's hand computation: delta = 2, 2, -1, 0 and W = 5
    np.testing.assert_allclose(n["piles_delta"], [2, 2, -1, 0])
    np.testing.assert_allclose(n["piles_w"], 5.0, rtol=1e-12)
    # Exercise 1: JS of mutually singular measures is log 2; the cells of the optimal psi,
    # rasterised, carry the target masses (raster error ~ 1 / grid)
    np.testing.assert_allclose(n["ex1_js"], math.log(2), rtol=1e-12)
    np.testing.assert_allclose(n["ex1_raster_cell_masses"], [0.5, 0.25, 0.25], atol=0.02)
    # Exercise 2 along [(-t, 0), (t, 0)]: each half goes to its atom,
    # W = Var + bias^2 = t^2 / 12 + (1 - t / 2)^2 = 1 - t + t^2 / 3, minimal at t = 3/2
    t = np.asarray(n["ex2_t"])
    np.testing.assert_allclose(n["ex2_cost"], 1 - t + t**2 / 3, rtol=1e-10)
    np.testing.assert_allclose(n["ex2_min_cost"], 0.25, rtol=1e-12)
    np.testing.assert_allclose(np.abs(n["ex2_argmin_a"]), [1.5, 0.0], atol=1e-12)


def _raster_areas(y, psi, n=500):
    """Cell areas of argmin_j ||x - y_j||^2 - psi_j on [0,1]^2 by brute force on a grid."""
    u = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(u, u)
    x = np.column_stack([X.ravel(), Y.ravel()])
    scores = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) - psi[None, :]
    return np.bincount(scores.argmin(1), minlength=len(y)) / len(x)


def test_fig05_c_transforms_masses(quick):
    _out, side = quick("fig05_c_transforms")
    n = side["numbers"]
    y = np.asarray(side["params"]["y"])
    psi = np.asarray(n["psi_opt"])
    nu = np.asarray(n["nu"])
    J = len(y)
    np.testing.assert_allclose(nu, np.full(J, 1 / J))
    # exact areas (shapely) of the optimal diagram = nu within the solver tolerance
    np.testing.assert_allclose(n["laguerre_areas"], nu, atol=1e-8)
    assert n["converged"] is True
    # independent check: a brute-force raster of both diagrams
    np.testing.assert_allclose(_raster_areas(y, psi), nu, atol=0.01)
    np.testing.assert_allclose(_raster_areas(y, np.zeros(J)), n["voronoi_areas"], atol=0.01)


def test_fig06_semidiscrete_masses(quick):
    from demos.fig06_semidiscrete import face_image

    _out, side = quick("fig06_semidiscrete")
    n = side["numbers"]
    y, psi, nu = (np.asarray(n[k]) for k in ("y", "psi", "nu"))
    np.testing.assert_allclose(n["laguerre_masses"], nu, atol=1e-8)
    assert n["newton_converged"] is True
    # independent Monte Carlo: sample the image density ourselves (pixel by weight, uniform in
    # the pixel; row 0 is the top) and assign by brute force
    img = face_image(int(side["params"]["image"].split()[-1].split("x")[0]))
    rng = np.random.default_rng(123)
    m = 60_000
    h, w = img.shape
    k = rng.choice(h * w, size=m, p=(img / img.sum()).ravel())
    r, c = np.divmod(k, w)
    x = np.column_stack([(c + rng.random(m)) / w, 1 - (r + rng.random(m)) / h])
    scores = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) - psi[None, :]
    freq = np.bincount(scores.argmin(1), minlength=len(y)) / m
    sigma = np.sqrt(nu * (1 - nu) / m)
    np.testing.assert_array_less(np.abs(freq - nu), 5 * sigma)
    # ASGD gaps are suboptimalities: non-negative up to rounding (weak duality)
    assert min(n["asgd_gap"]) > -1e-10


def test_fig02_vanishing_gradients_numbers(quick):
    n = _numbers(quick, "fig02_vanishing_gradients")
    # the identity sup_D L = L(D*) = 2 JS - log 4 (Goodfellow et al. 2014)
    for s, js in n["js"].items():
        np.testing.assert_allclose(n["gan_value_at_d_star"][s], 2 * np.asarray(js) - math.log(4),
                                   atol=1e-9)
    # narrow Gaussians far apart: JS is log 2 and its slope in theta vanishes
    np.testing.assert_allclose(n["js_at_max_theta"]["0.02"], math.log(2), rtol=1e-9)
    np.testing.assert_allclose(n["js_slope_at_max_theta"]["0.02"], 0.0, atol=1e-9)
    assert n["d_star_at_data_min"] > 0.9 and n["d_star_at_samples_max"] < 0.1


def test_fig08_dirac_gan_numbers(quick):
    _out, side = quick("fig08_dirac_gan")
    n = side["numbers"]
    for loss, err in n["autograd_vs_closed_form_max_abs"].items():
        assert err < 1e-10, loss
    # simultaneous gradient steps on the WGAN Dirac-GAN: (theta, psi) <- [[1, -h], [h, 1]] (.)
    # multiplies the norm by sqrt(1 + h^2) at each step (Mescheder et al. 2018)
    h, k = side["params"]["step"], side["params"]["n_steps"]
    dist = n["final_distance_to_equilibrium"]
    np.testing.assert_allclose(dist["wgan/simultaneous"],
                               math.sqrt(2) * (1 + h * h) ** (k / 2), rtol=1e-9)
    # alternating steps and n_d critic steps per generator step on the bilinear WGAN game are
    # linear maps of (theta, psi). Alternating: theta <- theta - h psi, then psi <- psi + h theta;
    # n_d: psi <- psi + n_d h theta (n_d critic steps), then theta <- theta - h psi
    n_d = side["params"]["n_d"]
    assert n_d == 5  # the lecture's "WGAN (n_d = 5)"
    alternating = np.array([[1.0, -h], [h, 1 - h * h]])
    critic_first = np.array([[1 - n_d * h * h, -h], [n_d * h, 1.0]])
    for key, step in (("wgan/alternating", alternating), ("wgan/n_d", critic_first)):
        expected = np.linalg.norm(np.linalg.matrix_power(step, k) @ [1.0, 1.0])
        np.testing.assert_allclose(dist[key], expected, rtol=1e-9, err_msg=key)
        assert dist[key] > 0.5, key  # WGAN circles: it does not converge
    # WGAN-GP (lam = 1) stops at (-2 lam, 0), not at the equilibrium; R1 converges
    for mode in ("simultaneous", "alternating", "n_d"):
        np.testing.assert_allclose(dist[f"wgan-gp/{mode}"], 2 * side["params"]["lam"], atol=1e-3)
        assert dist[f"r1/{mode}"] < 1e-2, mode
    # every panel's window holds its trajectory: the far-away WGAN spiral gets a wide window
    for key, half in n["window_half_width"].items():
        assert half >= dist[key], key


def test_fig04_clipped_critic_lipschitz_bound(quick):
    n = _numbers(quick, "fig04_wgan_critics")
    widths = n["layer_widths"]
    # with |w| <= c entrywise, ||W||_2 <= c sqrt(in * out); LeakyReLU is 1-Lipschitz
    bound = np.prod([0.01 * math.sqrt(a * b) for a, b in itertools.pairwise(widths)])
    for key, st in n["critics"].items():
        assert np.isfinite(st["grad_norm_mean"])
        if key.endswith("/clip"):
            assert st["grad_norm_max"] <= bound * (1 + 1e-5), key
            assert st["grad_norm_max"] < 0.05, key  # far below 1
        else:
            # the gradient penalty drives the norms on interpolates to 1 (Gulrajani et al.)
            assert abs(st["grad_norm_mean"] - 1) < 0.15, (key, st)
            assert abs(st["grad_norm_median"] - 1) < 0.15, (key, st)


def test_fig11_wgan_training_numbers(quick):
    from otgan.datasets import six_points

    m = _numbers(quick, "fig11_wgan_training")["methods"]
    wc, gp = m["WGAN-WC"], m["WGAN-GP"]
    # the penalised critic has gradient norms near 1 on segments; the clipped one far below
    assert abs(gp["grad_norm_mean"][-1] - 1) < 0.3, gp["grad_norm_mean"]
    assert wc["grad_norm_max"][-1] < 1e-2, wc["grad_norm_max"]
    assert wc["final_critic_range"] < 1e-3 * gp["final_critic_range"]
    for name, st in m.items():  # POT's W2^2 against an optimal assignment (scipy)
        np.testing.assert_allclose(st["final_snapshot_w2_squared"],
                                   w2_squared_by_assignment(st["final_samples"], six_points()),
                                   rtol=1e-9,
                                   err_msg=name)


def test_fig01_and_fig07_w2_against_an_assignment(quick):
    """The demos' W2^2 (POT's network simplex) against an optimal assignment (scipy)."""
    from otgan.datasets import six_points

    for name in ("fig01_discriminators", "fig07_sdwgan_2d"):
        n = _numbers(quick, name)
        samples = np.asarray(n["final_samples"])
        assert samples.shape == (100, 2)
        np.testing.assert_allclose(n["final_snapshot_w2_squared"],
                                   w2_squared_by_assignment(samples, six_points()), rtol=1e-9)
    n = _numbers(quick, "fig07_sdwgan_2d")
    for it, areas in n["cell_areas_at_snapshots"].items():
        np.testing.assert_allclose(np.sum(areas), 1.0, atol=1e-9, err_msg=it)
    assert np.all(np.isfinite(n["w2_squared"]))


def test_fig09_digits_numbers(quick):
    side = quick("fig09_digits")[1]
    n = side["numbers"]
    assert side["params"]["data"] == "1797 images 8x8"  # --quick: scikit-learn's digits
    for name, w2 in n["w2_squared"].items():
        assert np.all(np.isfinite(w2)) and np.all(np.asarray(w2) >= 0), name
    # the diversity probe is a real classifier, and real digits cover the ten classes evenly
    assert n["classifier_held_out_accuracy"] > 0.9
    assert n["data_modes"]["effective_modes"] > 9
    modes = {k: v["effective_modes"] for k, v in n["modes"].items()}
    for name, m in n["modes"].items():  # exp(entropy) of the histogram, recomputed here
        h = np.asarray(m["histogram"])
        np.testing.assert_allclose(h.sum(), 1.0, atol=1e-12)
        nz = h[h > 0]
        np.testing.assert_allclose(m["effective_modes"], np.exp(-(nz * np.log(nz)).sum()),
                                   rtol=1e-12)
        assert m["distinct_digits"] == int((h > 0).sum())
    # the lecture's lesson: SGD collapses, Adam does not; the WGANs cover the digits
    assert modes["GAN with SGD"] < 2 < modes["GAN"], modes
    assert modes["WGAN-GP"] > 6 and modes["semi-discrete WGAN"] > 6, modes


def test_fig09_balanced_subset():
    from demos.fig09_digits import balanced_subset

    labels = np.repeat(np.arange(10), 7)
    idx = balanced_subset(labels, 3, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[idx]), np.full(10, 3))
    assert len(np.unique(idx)) == 30
    np.testing.assert_array_equal(balanced_subset(labels, None, seed=0), np.arange(70))


def test_run_all_progress_lines(tmp_path, capsys):
    from demos import run_all

    rc = run_all.main(["--quick", "--out", str(tmp_path), "--only", "fig03"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # a header at once, a start line before the demo runs, an end line with its wall time
    assert lines[0].startswith("Regenerating 1 lecture figure family into")
    assert lines[1].startswith("[ 1/1] fig03_parallel_lines: Parallel lines")
    end = next(i for i, line in enumerate(lines) if line.startswith("[ 1/1] fig03_parallel_lines "))
    assert " s  ok" in lines[end]
    assert lines[-1].startswith("1/1 demos in")
    assert (tmp_path / "fig03_parallel_lines.json").exists()
    # then the list slide -> file, also written as figures/index.html
    listing = lines[end + 1:-1]
    assert "Slide -> file:" in listing
    assert any("Why Wasserstein is better than JS or KL" in line for line in listing)
    assert any(line.strip() == f"-> {tmp_path}/fig03_parallel_lines.png" for line in listing)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'href="fig03_parallel_lines.png"' in index and "Why Wasserstein is better" in index
    # the runner's start line replaced the demo's own (announce=False, a parameter)
    assert not any(line.startswith("fig03_parallel_lines:") for line in lines)


def test_a_demo_announces_itself_when_it_starts(tmp_path, capsys):
    from demos import fig03_parallel_lines

    fig03_parallel_lines.main(["--quick", "--out", str(tmp_path)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("fig03_parallel_lines --quick: Parallel lines: W1 and JS")
    fig03_parallel_lines.main(["--quick", "--out", str(tmp_path)], announce=False)
    assert "fig03_parallel_lines --quick:" not in capsys.readouterr().out


def _demo_imports():
    """``{module: set of demos modules it imports}`` for every module of ``demos/`` (ast)."""
    names = {p.stem for p in (ROOT / "demos").glob("*.py")}
    graph = {}
    for name in names:
        tree = ast.parse((ROOT / "demos" / f"{name}.py").read_text(encoding="utf-8"))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                if mod == "demos":
                    found |= {a.name for a in node.names if a.name in names}
                elif mod.startswith("demos."):
                    found.add(mod.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("demos.")}
        graph[name] = found - {name}
    return graph


def test_no_two_demo_modules_import_each_other():
    graph = _demo_imports()
    # the registry is pure data: it imports nothing at all
    tree = ast.parse((ROOT / "demos" / "registry.py").read_text(encoding="utf-8"))
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert graph["_common"] == {"registry"} and "registry" in graph["run_all"]
    # no cycle of any length (depth-first search)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != "open", f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # negative control: the old layout (_common importing run_all, which imports _common)
    # is a cycle the search finds
    graph["_common"] = graph["_common"] | {"run_all"}
    graph["run_all"] = graph["run_all"] | {"_common"}
    state.clear()
    with pytest.raises(AssertionError, match="import cycle"):
        for node in sorted(graph):
            if node not in state:
                visit(node, [node])


def test_demos_keep_no_dead_code():
    from demos import _common

    assert not hasattr(_common, "bootstrap") and not hasattr(_common, "ANNOUNCE")
    assert not hasattr(_common, "fit_critic")
    for name in NAMES:
        assert not hasattr(importlib.import_module(f"demos.{name}"), "TITLE"), name


def test_train_critic_is_the_library_trainer_seeded_by_rng():
    import torch

    from demos._common import train_critic
    from otgan.gan import NoisyDataGenerator

    y = torch.as_tensor(np.random.default_rng(0).random((32, 2)), dtype=torch.float32)
    fake = NoisyDataGenerator(y, std=0.3)
    pts = torch.rand(50, 2, generator=torch.Generator().manual_seed(1))
    outs = []
    for rng in (5, 5, 6):
        torch.manual_seed(123 + len(outs))  # the global stream does not matter
        net = train_critic(y, fake, "gp", steps=5, batch=16, width=8, rng=rng)
        with torch.no_grad():
            outs.append(net(pts))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    assert not torch.equal(outs[0], outs[2])
    clipped = train_critic(y, fake, "clip", steps=3, batch=16, width=8, rng=0)
    assert max(float(p.detach().abs().max()) for p in clipped.parameters()) <= 0.01 + 1e-9


def test_every_figure_names_its_slide(quick):
    from demos.registry import FIGURES

    for name in NAMES:
        side = quick(name)[1]
        for f in side["files"]:
            assert f in FIGURES, f"{f} has no slide in demos/registry.py FIGURES"
            assert side["captions"].get(f), f"{f} has no caption"
    # and nothing in FIGURES is stale: every entry names a demo's file prefix
    assert all(any(f.startswith(n) for n in NAMES) for f in FIGURES)


def test_registry_order_and_expected_times():
    from demos.run_all import DEMOS, SECONDS

    assert set(SECONDS) == {d[0] for d in DEMOS}
    # lecture order: the GAN part (2D toy, JS, MNIST) before the WGAN and semi-discrete parts
    order = [d[0] for d in DEMOS]
    assert order.index("fig01_discriminators") < order.index("fig09_digits")
    assert order.index("fig09_digits") < order.index("fig04_wgan_critics")
    assert order.index("fig05_c_transforms") < order.index("fig07_sdwgan_2d")


def test_demo_runs_as_a_script(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    res = subprocess.run(
        [sys.executable, str(ROOT / "demos" / "fig10_exercises.py"), "--quick", "--out",
         str(tmp_path)], check=False, capture_output=True, text=True, env=env, cwd=str(tmp_path),
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    side = json.loads((tmp_path / "fig10_exercises.json").read_text())
    assert side["numbers"]["piles_w"] == pytest.approx(5.0)


def test_bad_option_is_rejected():
    from demos import fig03_parallel_lines

    with pytest.raises(SystemExit):
        fig03_parallel_lines.main(["--seed", "not-an-int"])
