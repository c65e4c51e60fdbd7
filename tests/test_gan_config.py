"""The Trainer's configuration (otgan.gan.config) and games (otgan.gan.games): frozen, validated
options with the papers' defaults, one game per loss family."""

import dataclasses

import pytest
import torch

from otgan import gan
from otgan.datasets import six_points
from otgan.gan import config, games

pytestmark = pytest.mark.usefixtures("one_torch_thread")

Y = six_points()


def test_every_loss_has_options_defaults_and_a_game():
    for loss in config.LOSSES:
        assert loss in config.DEFAULTS and loss in config.LOSS_CLASSES and loss in games.GAMES
    assert set(games.ADVERSARIAL_LOSSES) == {"gan", "nsgan", "wgan", "wgan-gp"}
    # every loss option is a field of the options class of exactly the losses it applies to
    for cls in set(config.LOSS_CLASSES.values()):
        for f in dataclasses.fields(cls):
            losses, default = config.LOSS_OPTIONS[f.name]
            assert set(losses) == {k for k, c in config.LOSS_CLASSES.items() if c is cls}
            assert default == f.default


def test_options_are_frozen_and_validated_under_the_callers_name():
    opts = config.parse_options("wgan-gp", {"gp_weight": 3.0})
    assert opts.loss_options == config.GradientPenaltyOptions(gp_weight=3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.loss_options.gp_weight = 1.0
    with pytest.raises(ValueError, match="gan.ClippingOptions: 'clip' must be a finite positive"):
        config.ClippingOptions(clip=-1.0)
    with pytest.raises(ValueError, match="gan.Trainer: 'clip' must be a finite positive"):
        gan.Trainer(Y, loss="wgan", clip=0.0)


def test_unknown_keyword_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_critics'"):
        gan.Trainer(Y, loss="wgan", n_critics=3)


@pytest.mark.parametrize("loss, used, unused", [
    ("gan", {"r1_gamma": 0.0, "n_critic": 1, "betas": (0.5, 0.999)},
     ("clip", "gp_weight", "n_inner", "cost", "psi_init", "momentum")),
    ("wgan", {"clip": 0.01, "n_critic": 5, "momentum": 0.0}, ("r1_gamma", "n_inner", "betas")),
    ("sdwgan", {"n_inner": 10, "psi_init": "warm", "n_gen_steps": 1},
     ("n_critic", "lr_d", "clip")),
])
def test_settings_read_by_keyword_none_where_unused(loss, used, unused):
    tr = gan.Trainer(Y, loss=loss, seed=0)
    for k, v in used.items():
        assert getattr(tr, k) == v, k
    for k in unused:
        assert getattr(tr, k) is None, k
    assert tr.optimizer_name == tr.options.optimizer.optimizer and tr.step_mode == "both"
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        tr.nonsense  # noqa: B018


def test_sdwgan_default_step_is_resolved_from_the_data():
    tr = gan.Trainer(Y, loss="sdwgan", seed=0)
    d = torch.as_tensor(Y, dtype=torch.float32)
    mean_cost = float(((d[:, None] - d[None]) ** 2).sum(-1).mean())  # all 6 points (< 256)
    assert tr.asgd_gamma == pytest.approx(0.1 * 6 * mean_cost, rel=1e-6)
    assert tr.game.options.asgd_gamma == tr.asgd_gamma


def test_schedule_warmup_as_in_arjovsky_et_al():
    s = config.ScheduleOptions(5, warmup=True)
    assert [s.steps(i) for i in (1, 25, 26, 500, 501, 502)] == [100, 100, 5, 5, 100, 5]
    with pytest.raises(ValueError, match="'warmup' must be a bool or a tuple"):
        config.ScheduleOptions(5, warmup=(1, 2))


def test_games_by_family():
    assert isinstance(gan.Trainer(Y, loss="nsgan", seed=0).game, games.AdversarialGame)
    sd = gan.Trainer(Y, loss="sdwgan", seed=0).game
    assert isinstance(sd, games.SemiDiscreteGame) and sd.discriminator is None
    assert sd.shard == (0, 6) and sd.process_group() == (0, 1)  # no process group


@pytest.mark.hostile
@pytest.mark.parametrize("loss, kw, named", [
    ("gan", {"clip": 0.1}, "clip"),
    ("wgan-gp", {"r1_gamma": 1.0}, "r1_gamma"),
    ("wgan", {"gp_weight": 5.0}, "gp_weight"),
    ("nsgan", {"n_inner": 3}, "n_inner"),
    ("sdwgan", {"n_critic": 3}, "n_critic"),
    ("sdwgan", {"discriminator": torch.nn.Linear(2, 1)}, "discriminator"),
    ("gan", {"psi_init": "cold"}, "psi_init"),
    ("gan", {"momentum": 0.9}, "momentum"),
    ("wgan", {"betas": (0.5, 0.9)}, "betas"),
])
def test_trainer_refuses_options_foreign_to_its_loss(loss, kw, named):
    with pytest.raises(ValueError, match=rf"'{named}' \(applies to"):
        gan.Trainer(Y, loss=loss, seed=0, **kw)
