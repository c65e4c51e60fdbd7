"""The training loop of otgan.gan: losses, step modes, n_critic / warm-up, evaluation,
snapshots, seeds and checkpoints."""

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from otgan import gan
from otgan.datasets import six_points

pytestmark = pytest.mark.usefixtures("one_torch_thread")

Y = six_points()
ADVERSARIAL = ("gan", "nsgan", "wgan", "wgan-gp")


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_w2_squared_against_assignment():
    # equal sizes and uniform weights: W2^2 is an optimal assignment (Birkhoff)
    rng = np.random.default_rng(0)
    x, y = rng.random((9, 2)), rng.random((9, 2))
    C = ((x[:, None] - y[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    np.testing.assert_allclose(gan.w2_squared(x, y), C[r, c].mean(), rtol=1e-12)
    # one Dirac: mean squared distance to it
    np.testing.assert_allclose(gan.w2_squared(x, y[:1]), ((x - y[0]) ** 2).sum(1).mean(),
                               rtol=1e-12)


@pytest.mark.parametrize("loss", ADVERSARIAL)
def test_each_loss_trains_and_records(loss):
    tr = gan.Trainer(Y, loss=loss, seed=0, batch_size=32, n_critic=2, eval_every=5,
                     eval_size=50, snapshot_at=(0, 10), snapshot_grid=(0, 1, 0, 1), grid_size=8)
    g0 = _params(tr.generator)
    d0 = _params(tr.discriminator)
    tr.run(10)
    h = tr.history
    np.testing.assert_array_equal(h.iteration, np.arange(1, 11))
    np.testing.assert_array_equal(h.eval_iteration, [0, 5, 10])
    assert np.isfinite(h.d_loss).all() and np.isfinite(h.g_loss).all()
    assert np.isnan(h.semi_dual).all()
    assert (h.w2 > 0).all() and np.isfinite(h.lip_mean).all()
    assert (h.lip_max >= h.lip_mean).all()
    assert not _same(g0, _params(tr.generator)) and not _same(d0, _params(tr.discriminator))
    snaps = tr.snapshots
    assert [s.iteration for s in snaps] == [0, 10]
    assert snaps[0].samples.shape == (100, 2) and snaps[1].grid_values.shape == (8, 8)
    # the grid holds what the figures draw, evaluated on (xs[j], ys[i])
    pts = torch.tensor([[snaps[1].grid_x[3], snaps[1].grid_y[5]]], dtype=torch.float32)
    np.testing.assert_allclose(snaps[1].grid_values[5, 3], float(tr.landscape(pts)[0]),
                               rtol=1e-6)
    if loss == "wgan":
        for p in tr.discriminator.parameters():
            assert float(p.detach().abs().max()) <= 0.01 + 1e-12


def test_evaluation_w2_is_the_exact_ot_cost_of_the_evaluated_sample():
    tr = gan.Trainer(Y, loss="gan", seed=3, eval_size=40)
    gen_state = tr.streams.eval.get_state()
    w2 = tr.evaluate()
    tr.streams.eval.set_state(gen_state)
    x = tr.sample(40).double().numpy()  # the same draw from the evaluation stream
    # independent: 40 generated points vs 6 data points, replicate to a square assignment
    C = ((np.repeat(x, 6, axis=0)[:, None] - np.tile(Y, (40, 1))[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    np.testing.assert_allclose(w2, C[r, c].mean(), rtol=1e-5)


def test_step_modes_freeze_the_other_player():
    tr = gan.Trainer(Y, loss="nsgan", step="generator", seed=1, batch_size=16)
    d0, g0 = _params(tr.discriminator), _params(tr.generator)
    tr.run(3)
    assert _same(d0, _params(tr.discriminator)) and not _same(g0, _params(tr.generator))
    assert np.isnan(tr.history.d_loss).all()
    tr = gan.Trainer(Y, loss="nsgan", step="discriminator", seed=1, batch_size=16)
    d0, g0 = _params(tr.discriminator), _params(tr.generator)
    tr.run(3)
    assert not _same(d0, _params(tr.discriminator)) and _same(g0, _params(tr.generator))
    assert np.isnan(tr.history.g_loss).all()


def test_retrain_discriminator_sequence_shares_models():
    """The lectures' sequence: train both, update only the generator, retrain the discriminator."""
    both = gan.Trainer(Y, loss="gan", seed=2, batch_size=16).run(3)
    gen_only = gan.Trainer(Y, loss="gan", step="generator", generator=both.generator,
                           discriminator=both.discriminator, seed=3, batch_size=16).run(3)
    d_before = _params(both.discriminator)
    gan.Trainer(Y, loss="gan", step="discriminator", generator=gen_only.generator,
                discriminator=both.discriminator, seed=4, batch_size=16).run(3)
    assert not _same(d_before, _params(both.discriminator))


def test_fixed_generator_critic_only():
    fixed = gan.NoisyDataGenerator(Y, std=0.1)
    tr = gan.Trainer(Y, loss="wgan-gp", generator=fixed, step="discriminator", seed=0,
                     batch_size=32, n_critic=3, snapshot_at=(4,), snapshot_grid=(0, 1, 0, 1),
                     grid_size=4)
    assert tr.opt_g is None
    tr.run(4)
    assert tr.snapshots[0].grid_values.shape == (4, 4)


def _count_steps(opt):
    return max(int(s["step"]) for s in opt.state.values())


def test_n_critic_and_warmup_schedule():
    tr = gan.Trainer(Y, loss="wgan-gp", seed=0, batch_size=8, n_critic=3)
    tr.run(4)
    assert _count_steps(tr.opt_d) == 12 and _count_steps(tr.opt_g) == 4
    assert [tr.critic_steps(i) for i in (1, 25, 26, 500, 501)] == [3] * 5
    tr = gan.Trainer(Y, loss="wgan", seed=0, warmup=True, optimizer="adam")
    # Arjovsky et al.: 100 critic steps for the first 25 generator steps and every 500th
    # (their code: Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0, where
    # gen_iterations counts the generator updates already made = our iteration - 1)
    assert [tr.critic_steps(i) for i in (1, 24, 25, 26, 500, 501, 502, 1001)] == [
        100, 100, 100, 5, 5, 100, 5, 100]
    # a short schedule actually run: 7 steps for iterations 1, 2 and 5; 2 otherwise
    tr = gan.Trainer(Y, loss="wgan", seed=0, warmup=(2, 4, 7), batch_size=4, n_critic=2)
    tr.run(5)
    assert _count_steps(tr.opt_d) == 7 + 7 + 2 + 2 + 7  # RMSprop keeps a step counter too
    with pytest.raises(ValueError, match="'warmup' must be a bool or a tuple"):
        gan.Trainer(Y, warmup=(1, 2))


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("sgd", torch.optim.SGD),
                                       ("rmsprop", torch.optim.RMSprop)])
def test_optimizer_choice(name, cls):
    tr = gan.Trainer(Y, loss="gan", optimizer=name, lr_g=1e-2, lr_d=1e-2, seed=0)
    assert type(tr.opt_g) is cls and type(tr.opt_d) is cls
    assert tr.opt_g.param_groups[0]["lr"] == 1e-2
    tr.run(2)


def test_default_settings_follow_the_papers():
    tr = gan.Trainer(Y, loss="wgan", seed=0)
    assert isinstance(tr.opt_d, torch.optim.RMSprop) and tr.lr_d == 5e-5 and tr.n_critic == 5
    assert tr.clip == 0.01
    tr = gan.Trainer(Y, loss="wgan-gp", seed=0)
    assert tr.opt_d.param_groups[0]["betas"] == (0.5, 0.9) and tr.gp_weight == 10.0
    tr = gan.Trainer(Y, loss="gan", seed=0)
    assert tr.opt_d.param_groups[0]["lr"] == 2e-3
    assert tr.opt_d.param_groups[0]["betas"] == (0.5, 0.999)


def test_seeds_reproduce_and_differ():
    a = gan.Trainer(Y, loss="wgan-gp", seed=5, batch_size=16, n_critic=2).run(5)
    b = gan.Trainer(Y, loss="wgan-gp", seed=5, batch_size=16, n_critic=2).run(5)
    c = gan.Trainer(Y, loss="wgan-gp", seed=6, batch_size=16, n_critic=2).run(5)
    np.testing.assert_array_equal(a.history.g_loss, b.history.g_loss)
    assert _same(_params(a.generator), _params(b.generator))
    assert not _same(_params(a.generator), _params(c.generator))


@pytest.mark.parametrize("loss, kw", [
    ("gan", {"r1_gamma": 1.0}),
    ("wgan-gp", {"gp_pairs": "all", "gp_one_sided": True}),
    ("wgan", {}),
    ("sdwgan", {"psi_init": "warm"}),
    ("sdwgan", {"psi_init": "persistent"}),
])
def test_checkpoint_resume_is_identical(tmp_path, loss, kw):
    steps = {"n_inner": 3} if loss == "sdwgan" else {"n_critic": 2}
    opts = dict(loss=loss, seed=11, batch_size=16, eval_every=2, eval_size=30,
                snapshot_at=(1, 4), **steps, **kw)
    straight = gan.Trainer(Y, **opts).run(4)
    first = gan.Trainer(Y, **opts).run(2)
    first.save(tmp_path / "ck.pt")
    resumed = gan.Trainer(Y, **opts).load(tmp_path / "ck.pt").run(2)
    for a, b in zip(_params(straight.generator), _params(resumed.generator)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    if loss != "sdwgan":
        for a, b in zip(_params(straight.discriminator), _params(resumed.discriminator)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    else:
        torch.testing.assert_close(straight.psi, resumed.psi, rtol=0, atol=0)
    hs, hr = straight.history, resumed.history
    for field in ("iteration", "d_loss", "g_loss", "semi_dual", "eval_iteration", "w2",
                  "lip_mean"):
        np.testing.assert_array_equal(getattr(hs, field), getattr(hr, field))
    for s, r in itertools.zip_longest(straight.snapshots, resumed.snapshots):
        assert s.iteration == r.iteration
        np.testing.assert_array_equal(s.samples, r.samples)


def test_train_function_and_progress_flag():
    res = gan.train(Y, 3, loss="nsgan", seed=0, progress=True, eval_every=3, eval_size=20)
    assert isinstance(res, gan.TrainResult)
    assert res.history.iteration.tolist() == [1, 2, 3] and res.psi is None
    assert res.trainer.iteration == 3


def test_trainer_validation():
    with pytest.raises(ValueError, match="Trainer: 'loss' must be one of"):
        gan.Trainer(Y, loss="lsgan")
    with pytest.raises(ValueError, match="Trainer: 'step' must be one of"):
        gan.Trainer(Y, step="critic")
    with pytest.raises(ValueError, match="Trainer: 'optimizer' must be one of"):
        gan.Trainer(Y, optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"Trainer: 'data' must have shape \(J, d\); got \(6,\)"):
        gan.Trainer(np.zeros(6))
    with pytest.raises(ValueError, match="Trainer: 'data' contains NaN or inf"):
        gan.Trainer(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="Trainer: 'n_critic' must be a positive integer; got 0"):
        gan.Trainer(Y, n_critic=0)
    with pytest.raises(ValueError, match="Trainer: 'lr_g' must be a finite positive number"):
        gan.Trainer(Y, lr_g=-1.0)
    with pytest.raises(ValueError, match="'snapshot_grid' must be \\(xmin, xmax, ymin, ymax\\)"):
        gan.Trainer(Y, snapshot_grid=(0, 1))
    with pytest.raises(TypeError, match="Trainer: 'generator' must be an nn.Module"):
        gan.Trainer(Y, generator=lambda z: z)
    with pytest.raises(ValueError, match="Trainer.run: 'n_iter' must be a non-negative integer"):
        gan.Trainer(Y).run(-1)


# --- hostile inputs ---------------------------------------------------------------------------


@pytest.mark.hostile
def test_hostile_data_and_counts_are_refused_naming_them():
    from otgan.errors import ArgumentTypeError

    with pytest.raises(TypeError, match="'data' must be real"):
        gan.Trainer(Y.astype(complex), loss="gan")
    with pytest.raises(ArgumentTypeError, match="'batch_size' must be a positive integer"):
        gan.Trainer(Y, loss="gan", batch_size=True)


@pytest.mark.hostile
def test_trainer_accepts_rng_like_the_rest_of_otgan():
    a = gan.Trainer(Y, loss="gan", rng=4)
    b = gan.Trainer(Y, loss="gan", seed=4)
    c = gan.Trainer(Y, loss="gan", rng=np.random.default_rng(4))
    for p, q, r in zip(a.generator.parameters(), b.generator.parameters(),
                       c.generator.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
        torch.testing.assert_close(p, r, rtol=0, atol=0)
    with pytest.raises(ValueError, match="'rng' or its older name 'seed'"):
        gan.Trainer(Y, rng=1, seed=1)


@pytest.mark.hostile
def test_trainer_dimension_mismatch_names_the_generator():
    g = gan.models.MLPGenerator(4, 3)  # 3-D points for 2-D data
    with pytest.raises(ValueError, match="'generator' must map noise .* to points \\(n, 2\\)"):
        gan.Trainer(Y, loss="sdwgan", generator=g, seed=0)
    d = gan.models.MLPDiscriminator(3)
    with pytest.raises(ValueError, match="'discriminator' fails on points of shape \\(n, 2\\)"):
        gan.Trainer(Y, loss="wgan", discriminator=d, seed=0)
