"""A 2-process ``torchrun`` semi-discrete WGAN (gloo, CPU) trains, checkpoints and resumes.

"Match" for the trainer: after 2 outer iterations the gathered psi and the generator weights
equal, to 1e-12 in float64, a single-process loop (otgan.semidiscrete.AveragedSGD and
sdwgan_generator_loss) run on the concatenation of the two ranks' noise (rank order): the argmin
is the same, the psi update is the same elementwise operation, and DDP's gradient average differs
from the single-process mean by rounding only. Resuming from rank 0's checkpoint reproduces the
uninterrupted run exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from otgan.ctransform import c_transform
from otgan.gan.sdwgan import sdwgan_generator_loss
from otgan.gan.trainer import Trainer
from otgan.plot import grid
from otgan.semidiscrete import AveragedSGD

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "_torchrun_sdwgan.py"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("torchrun")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", str(SCRIPT), str(out)]
    # a session of its own, so that a hang is killed with every worker
    proc = subprocess.Popen(cmd, env=env, cwd=out, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the 2-process torchrun run did not finish in 180 s")
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return torch.load(out / "result.pt", weights_only=False)


def _load_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_torchrun_sdwgan", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_two_processes_shard_psi_in_rank_order(result):
    assert result["world"] == 2
    assert result["shards"] == [((0, 4), (4,)), ((4, 7), (3,))]


def test_resume_from_checkpoint_reproduces_the_run(result):
    s, r = result["straight"], result["resumed"]
    torch.testing.assert_close(r["psi"], s["psi"], rtol=0, atol=0)
    for a, b in zip(r["params"], s["params"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(r["g_loss"], s["g_loss"])
    np.testing.assert_array_equal(r["w2"], s["w2"])
    assert len(s["w2"]) == 3 and np.isfinite(s["w2"]).all() and np.isfinite(s["lip"]).all()


def test_first_iterations_match_a_single_process_loop(result):
    mod = _load_script()
    data, kw = mod.DATA, dict(mod.KW)
    ref = Trainer(data, **kw)  # single process: the same initial generator and ASGD step
    G, opt = ref.generator, ref.opt_g
    gens = [torch.Generator() for _ in result["gen_states"]]
    for g, st in zip(gens, result["gen_states"]):
        g.set_state(st)

    def noise():
        return torch.cat([torch.randn(kw["batch_size"], G.latent_dim, generator=g,
                                      dtype=torch.float64) for g in gens])

    psi = torch.zeros(len(data), dtype=torch.float64)
    for _ in range(2):
        asgd = AveragedSGD(psi, ref.nu, gamma=ref.asgd_gamma)
        for _ in range(kw["n_inner"]):
            with torch.no_grad():
                asgd.step(G(noise()), data)
        psi = asgd.psi.clone()
        loss = sdwgan_generator_loss(psi, data, G(noise()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    first = result["first"]
    torch.testing.assert_close(first["psi"], psi, rtol=1e-12, atol=1e-12)
    for a, b in zip(first["params"], G.parameters()):
        torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)
    assert psi.abs().max() > 0  # psi moved


def test_snapshots_hold_the_whole_psi_and_the_sharded_critic(result):
    mod = _load_script()
    (it0, psi0, _), (it4, psi4, grid4) = result["snapshots"]
    assert (it0, it4) == (0, 4)
    np.testing.assert_array_equal(psi0, np.zeros(7))
    np.testing.assert_array_equal(psi4, result["straight"]["psi"].numpy())
    pts = torch.as_tensor(grid(8, (0, 1, 0, 1)))  # image order, as otgan.plot draws it
    vals, _ = c_transform(torch.as_tensor(psi4), mod.DATA, pts, method="brute")
    np.testing.assert_allclose(grid4, vals.numpy().reshape(8, 8), rtol=1e-12, atol=1e-12)
