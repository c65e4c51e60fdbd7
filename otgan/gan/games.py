"""The two games a :class:`otgan.gan.trainer.Trainer` can play: where every loss is handled.

A *game* owns the critic and its state, and makes one critic step (``n`` discriminator or ASGD
steps) and one generator step per iteration:

- :class:`AdversarialGame` -- ``"gan"``, ``"nsgan"``, ``"wgan"``, ``"wgan-gp"``: a discriminator
  network; the losses differ only by the entry of :data:`ADVERSARIAL_LOSSES` (discriminator and
  generator losses, the regularisation after each loss, the map to what figures draw);
- :class:`SemiDiscreteGame` -- ``"sdwgan"``: the dual weights ``psi`` on the data, updated by
  ASGD, and the generator trained through the c-transform. Inside a ``torch.distributed``
  process group it shards ``psi`` and the c-transform over the ranks
  (:mod:`otgan.distributed`) and trains the generator under ``DistributedDataParallel``.

:func:`make_game` builds the game of a loss (:data:`GAMES`); nothing outside this module looks at
the loss. Both games draw their batches from :class:`Batches` (the trainer's random streams,
:class:`RandomStreams`).
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .._utils import as_rng
from ..distributed import ShardedAveragedSGD, gather_rows, is_distributed, shard_bounds
from ..distributed import c_transform as sharded_c_transform
from ..semidiscrete import AveragedSGD
from .losses import critic_loss, discriminator_loss, generator_loss, wgan_generator_loss
from .models import MLPDiscriminator, MLPGenerator
from .penalties import clip_weights, gradient_penalty, r1_penalty, r2_penalty
from .sdwgan import SemiDiscreteCritic, sdwgan_generator_loss

__all__ = [
    "ADVERSARIAL_LOSSES",
    "GAMES",
    "AdversarialGame",
    "AdversarialLoss",
    "Batches",
    "Game",
    "RandomStreams",
    "SemiDiscreteGame",
    "check_module",
    "default_generator",
    "make_game",
]


# ------------------------------------------------------------------ randomness and batches


class RandomStreams:
    """The trainer's random streams, all seeded from one ``rng``.

    Parameters
    ----------
    rng : None, int, numpy.random.Generator or torch.Generator
        The root seed (as ``rng`` everywhere in otgan).
    device : torch.device
        Device of the training and evaluation streams.
    rank, world_size : int
        This process and the size of its process group: each rank draws its own training
        noise.

    Attributes
    ----------
    init : torch.Generator
        CPU stream of the default models' initialisation and of the snapshot latents.
    train : torch.Generator
        Noise and data batches of training.
    eval : torch.Generator
        Noise of evaluations and :meth:`otgan.gan.trainer.Trainer.sample` (never changes the
        training run).
    numpy : numpy.random.Generator
        Data subsets of evaluations.
    """

    def __init__(self, rng, device, rank: int = 0, world_size: int = 1):
        if world_size > 1 and not isinstance(rng, numbers.Integral):  # one seed for all ranks
            box = [int(as_rng(rng).integers(0, 2**62))]
            dist.broadcast_object_list(box, src=0)
            rng = box[0]
        seeds = as_rng(rng).integers(0, 2**62, size=4)
        self.init = torch.Generator().manual_seed(int(seeds[0]))
        self.train = torch.Generator(device=device).manual_seed(int(seeds[1]))
        self.eval = torch.Generator(device=device).manual_seed(int(seeds[2]))
        self.numpy = np.random.default_rng(int(seeds[3]))
        self.world_size = world_size
        if world_size > 1:
            self.train.manual_seed(int(np.random.default_rng([int(seeds[1]), rank])
                                       .integers(0, 2**62)))

    def state_dict(self) -> dict:
        """Return the streams' states (a collective in a process group: every rank's stream).

        Returns
        -------
        dict
            ``gen_state``, ``gen_states`` (every rank's, or None), ``eval_gen_state``,
            ``np_rng_state``.
        """
        states = None
        if self.world_size > 1:
            states = [None] * self.world_size
            dist.all_gather_object(states, self.train.get_state())
        return {"gen_state": self.train.get_state(), "gen_states": states,
                "eval_gen_state": self.eval.get_state(),
                "np_rng_state": self.numpy.bit_generator.state}

    def load_state_dict(self, state: dict, rank: int = 0) -> None:
        """Restore :meth:`state_dict` (this rank's training stream in a process group).

        Parameters
        ----------
        state : dict
            A checkpoint.
        rank : int
            This process's rank.
        """
        n = len(state.get("gen_states") or ()) or 1
        if n != self.world_size:
            raise ValueError(f"gan.Trainer.load_state_dict: the checkpoint was written by {n} "
                             f"process(es); resume it with {n}, not {self.world_size}")
        self.train.set_state(state["gen_states"][rank] if n > 1 else state["gen_state"])
        self.eval.set_state(state["eval_gen_state"])
        self.numpy.bit_generator.state = state["np_rng_state"]


class Batches:
    """Noise and data batches drawn from the training stream.

    Parameters
    ----------
    data : torch.Tensor, shape (J, d)
        The data (on the training device, in the training dtype).
    latent_dim : int
        Dimension of the generator's noise.
    gen : torch.Generator
        The training stream.
    """

    def __init__(self, data: torch.Tensor, latent_dim: int, gen: torch.Generator):
        self.data, self.latent_dim, self.gen = data, int(latent_dim), gen

    def noise(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        """``n`` standard normal latents.

        Parameters
        ----------
        n : int
            How many.
        gen : torch.Generator, optional
            Another stream (default: the training stream).

        Returns
        -------
        torch.Tensor, shape (n, latent_dim)
            On the data's device, in its dtype.
        """
        return torch.randn(n, self.latent_dim, generator=gen or self.gen,
                           device=self.data.device, dtype=self.data.dtype)

    def real(self, n: int) -> torch.Tensor:
        """``n`` data points drawn uniformly with replacement.

        Parameters
        ----------
        n : int
            How many.

        Returns
        -------
        torch.Tensor, shape (n, d)
            Rows of the data.
        """
        idx = torch.randint(0, self.data.shape[0], (n,), generator=self.gen,
                            device=self.data.device)
        return self.data[idx]


# ------------------------------------------------------------------ models


def _seeded(init: torch.Generator, make):
    """``make()`` under torch's global seed drawn from ``init`` (the global stream restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=init)))
        return make()


def default_generator(data: torch.Tensor, init: torch.Generator) -> nn.Module:
    """:class:`MLPGenerator` from 10-dim noise, with a sigmoid output for data in ``[0, 1]^d``.

    Parameters
    ----------
    data : torch.Tensor, shape (J, d)
        The data.
    init : torch.Generator
        The initialisation stream.

    Returns
    -------
    torch.nn.Module
        The generator (initialised from ``init``).
    """
    inside = bool(((data >= 0) & (data <= 1)).all())
    return _seeded(init, lambda: MLPGenerator(10, data.shape[1],
                                              output="sigmoid" if inside else "linear"))


def check_module(module: nn.Module, data: torch.Tensor, where: str, *,
                 discriminator: bool = False) -> None:
    """Run a generator on two noise rows (a discriminator on two data points) to check shapes.

    In eval mode, without gradients and without touching any random stream, so that a dimension
    mismatch is reported now, naming the user's argument, rather than as a shape error deep
    inside a training step.

    Parameters
    ----------
    module : torch.nn.Module
        The generator (with a ``latent_dim``) or the discriminator.
    data : torch.Tensor, shape (J, d)
        The data.
    where : str
        The caller named in the messages.
    discriminator : bool
        ``module`` is the discriminator.

    Raises
    ------
    ValueError
        ``module`` fails on, or returns the wrong shape for, inputs of the data's dimension.
    """
    n, d = min(2, data.shape[0]), data.shape[1]
    name = "discriminator" if discriminator else "generator"
    latent = None if discriminator else module.latent_dim
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(data[:n] if discriminator else
                         torch.zeros(n, latent, device=data.device, dtype=data.dtype))
    except (RuntimeError, ValueError, IndexError) as exc:
        what = (f"points of shape (n, {d}) (the dimension of 'data')" if discriminator else
                f"noise of shape (n, latent_dim={latent})")
        raise ValueError(f"{where}: {name!r} fails on {what}: {exc}") from exc
    finally:
        module.train(was_training)
    shape = tuple(out.shape)
    if discriminator and (not shape or shape[0] != n or out.numel() != n):
        raise ValueError(f"{where}: 'discriminator' must map points (n, {d}) to values (n,) or "
                         f"(n, 1); it gave shape {shape} for n = {n}")
    if not discriminator and shape != (n, d):
        raise ValueError(f"{where}: 'generator' must map noise (n, {latent}) to points (n, {d}) "
                         f"in the dimension of 'data' {tuple(data.shape)}; it gave shape "
                         f"{shape} for n = {n}")


# ------------------------------------------------------------------ the adversarial game


def _r1_r2(o, D, real, fake, gen, loss):
    if o.r1_gamma > 0:
        loss = loss + r1_penalty(D, real, gamma=o.r1_gamma)
    if o.r2_gamma > 0:
        loss = loss + r2_penalty(D, fake, gamma=o.r2_gamma)
    return loss


def _gp(o, D, real, fake, gen, loss):
    if o.gp_weight > 0:
        gp = gradient_penalty(D, real, fake, one_sided=o.gp_one_sided, pairs=o.gp_pairs, rng=gen)
        loss = loss + o.gp_weight * gp
    return loss


def _no_penalty(o, D, real, fake, gen, loss):
    return loss


def _nothing(o, D):
    return None


def _clip(o, D):
    clip_weights(D, o.clip)


def _identity(v):
    return v


@dataclass(frozen=True)
class AdversarialLoss:
    """What tells the adversarial losses apart.

    Parameters
    ----------
    d_loss : callable
        ``(D(real), D(fake)) -> loss`` of the discriminator / critic.
    g_loss : callable
        ``D(fake) -> loss`` of the generator.
    landscape : callable
        Critic values to what the figures draw (``sigmoid`` of logits, or the values).
    penalty : callable
        ``(options, D, real, fake, gen, loss) -> loss`` with the regularisers added.
    after_step : callable
        ``(options, D)`` run after each discriminator step (weight clipping).
    """

    d_loss: Callable
    g_loss: Callable
    landscape: Callable
    penalty: Callable = _no_penalty
    after_step: Callable = _nothing


#: The adversarial losses (:mod:`otgan.gan.losses`): BCE on logits with the saturating /
#: non-saturating generator loss (R1 / R2 optional), and the WGAN critic loss with weight
#: clipping or the gradient penalty.
ADVERSARIAL_LOSSES = {
    "gan": AdversarialLoss(discriminator_loss, functools.partial(generator_loss, saturating=True),
                           torch.sigmoid, _r1_r2),
    "nsgan": AdversarialLoss(discriminator_loss,
                             functools.partial(generator_loss, saturating=False), torch.sigmoid,
                             _r1_r2),
    "wgan": AdversarialLoss(critic_loss, wgan_generator_loss, _identity, after_step=_clip),
    "wgan-gp": AdversarialLoss(critic_loss, wgan_generator_loss, _identity, _gp),
}


class Game:
    """What both games share: default state, the landscape drawn from the critic.

    Subclasses define ``critic``, ``critic_step``, ``generator_step``, ``gathered_psi``,
    ``state_dict`` and ``load_state_dict``; :meth:`drawn` maps critic values to what figures
    draw.
    """

    discriminator = None
    opt_d = None
    psi = None
    nu = None
    asgd = None

    @staticmethod
    def process_group() -> tuple:
        """``(rank, world_size)`` this game runs on.

        Returns
        -------
        tuple of int
            ``(0, 1)``: one process, unless the game shards itself.
        """
        return 0, 1

    def drawn(self, values: torch.Tensor) -> torch.Tensor:
        """Critic values to what figures draw (the values themselves).

        Parameters
        ----------
        values : torch.Tensor
            Critic values.

        Returns
        -------
        torch.Tensor
        """
        return values

    def landscape(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate what the figures draw: ``sigmoid(D)`` for GAN / NS-GAN, the critic otherwise.

        Parameters
        ----------
        x : torch.Tensor, shape (n, d)
            Points.

        Returns
        -------
        torch.Tensor, shape (n,)
            The values (no graph).
        """
        with torch.no_grad():
            return self.drawn(self.critic(x))


class AdversarialGame(Game):
    """A discriminator network against the generator (GAN, NS-GAN, WGAN, WGAN-GP).

    Parameters
    ----------
    loss : AdversarialLoss
        The entry of :data:`ADVERSARIAL_LOSSES`.
    options : R1R2Options, ClippingOptions or GradientPenaltyOptions
        The loss's options (:mod:`otgan.gan.config`).
    generator, discriminator : torch.nn.Module
        The players.
    opt_g, opt_d : torch.optim.Optimizer or None
        Their optimisers (None: that player does not train).
    batches : Batches
        Where the batches come from.
    batch_size : int
        Points per step.
    """

    def __init__(self, loss, options, generator, discriminator, opt_g, opt_d, batches,
                 batch_size):
        self.loss, self.options = loss, options
        self.generator, self.discriminator = generator, discriminator
        self.opt_g, self.opt_d = opt_g, opt_d
        self.batches, self.batch_size = batches, batch_size

    @classmethod
    def build(cls, options, *, data, generator, discriminator, opt_g, batches, init, rank,
              world_size, where):
        """Build the game of ``options.loss``, with the default discriminator when none is given.

        Parameters
        ----------
        options : otgan.gan.config.TrainerOptions
            The trainer's options.
        data : torch.Tensor, shape (J, d)
            The data.
        generator : torch.nn.Module
            The generator.
        discriminator : torch.nn.Module or None
            The discriminator (None: an :class:`MLPDiscriminator` initialised from ``init``).
        opt_g : torch.optim.Optimizer or None
            The generator's optimiser.
        batches : Batches
            The batches.
        init : torch.Generator
            The initialisation stream.
        rank, world_size : int
            The process group (one process).
        where : str
            The caller named in error messages.

        Returns
        -------
        AdversarialGame
            The game.
        """
        if discriminator is None:
            discriminator = _seeded(init, lambda: MLPDiscriminator(data.shape[1]))
        if not isinstance(discriminator, nn.Module):
            raise TypeError(f"{where}: 'discriminator' must be an nn.Module; "
                            f"got {type(discriminator).__name__}")
        discriminator = discriminator.to(device=data.device, dtype=data.dtype)
        check_module(discriminator, data, where, discriminator=True)
        opt_d = (options.optimizer.build(discriminator.parameters(), options.optimizer.lr_d)
                 if options.step != "generator" else None)
        return cls(ADVERSARIAL_LOSSES[options.loss], options.loss_options, generator,
                   discriminator, opt_g, opt_d, batches, options.batch_size)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the raw critic: logits ``D(x)`` (GAN, NS-GAN) or values ``D(x)`` (WGANs).

        Parameters
        ----------
        x : torch.Tensor, shape (n, d)
            Points.

        Returns
        -------
        torch.Tensor
            ``D(x)``.
        """
        return self.discriminator(x)

    def drawn(self, values: torch.Tensor) -> torch.Tensor:
        """``sigmoid`` of the logits (GAN, NS-GAN), the critic values (WGANs).

        Parameters
        ----------
        values : torch.Tensor
            Critic values.

        Returns
        -------
        torch.Tensor
        """
        return self.loss.landscape(values)

    def critic_step(self, n_steps: int) -> torch.Tensor:
        """``n_steps`` discriminator steps, each on fresh data and generated batches.

        Parameters
        ----------
        n_steps : int
            How many.

        Returns
        -------
        torch.Tensor
            The last loss (detached).
        """
        D, o, b = self.discriminator, self.options, self.batches
        for _ in range(n_steps):
            real = b.real(self.batch_size)
            with torch.no_grad():
                fake = self.generator(b.noise(self.batch_size))
            loss = self.loss.penalty(o, D, real, fake, b.gen, self.loss.d_loss(D(real), D(fake)))
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_d.step()
            self.loss.after_step(o, D)
        return loss.detach()

    def generator_step(self) -> tuple:
        """One generator step on a fresh batch.

        Returns
        -------
        tuple of torch.Tensor
            The generator loss and NaN (no semi-dual estimate).
        """
        loss = self.loss.g_loss(self.discriminator(self.generator(
            self.batches.noise(self.batch_size))))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return loss.detach(), torch.tensor(float("nan"))

    def gathered_psi(self):
        """None: no dual weights.

        Returns
        -------
        None
            Always.
        """
        return None

    def state_dict(self) -> dict:
        """Return the discriminator's and its optimiser's states, for checkpoints.

        Returns
        -------
        dict
            ``discriminator``, ``opt_d``, ``psi`` (None), ``asgd`` (None).
        """
        return {"discriminator": self.discriminator.state_dict(),
                "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
                "psi": None, "asgd": None}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`.

        Parameters
        ----------
        state : dict
            A checkpoint.
        """
        self.discriminator.load_state_dict(state["discriminator"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])


# ------------------------------------------------------------------ the semi-discrete game


class SemiDiscreteGame(Game):
    """The semi-discrete WGAN: dual weights ``psi`` by ASGD, the generator through ``psi^c``.

    In a process group of ``world_size > 1`` ranks, this rank holds the contiguous shard
    ``shard`` of ``psi`` and of the sites, the ASGD batches and the generator's batches are
    gathered over the ranks, and the generator trains under ``DistributedDataParallel``.

    Parameters
    ----------
    options : otgan.gan.config.SemiDiscreteOptions
        With ``asgd_gamma`` resolved.
    data : torch.Tensor, shape (J, d)
        The whole data set (on every rank).
    generator : torch.nn.Module
        The generator.
    opt_g : torch.optim.Optimizer or None
        Its optimiser.
    batches : Batches
        The batches.
    batch_size : int
        Points per step (per rank).
    rank, world_size : int
        The process group.

    Attributes
    ----------
    psi : torch.Tensor, shape (m,)
        This rank's shard of the dual weights (all of them in one process).
    nu : torch.Tensor, shape (J,)
        The uniform masses of the data.
    shard : tuple of int
        ``(start, stop)`` of this rank's sites.
    asgd : otgan.semidiscrete.AveragedSGD, otgan.distributed.ShardedAveragedSGD or None
        The current ASGD run.
    """

    def __init__(self, options, data, generator, opt_g, batches, batch_size, rank=0,
                 world_size=1):
        J = data.shape[0]
        self.options, self.data, self.generator, self.opt_g = options, data, generator, opt_g
        self.batches, self.batch_size = batches, batch_size
        self.rank, self.world_size = rank, world_size
        self.nu = torch.full((J,), 1.0 / J, device=data.device, dtype=data.dtype)
        self.shard = shard_bounds(J, rank, world_size)
        self.y_local = data[self.shard[0]:self.shard[1]]
        self.psi = torch.zeros(self.shard[1] - self.shard[0], device=data.device,
                               dtype=data.dtype)
        self.asgd = None
        self.train_generator = generator  # the module that runs the generator's step
        if world_size > 1 and opt_g is not None:
            from torch.nn.parallel import DistributedDataParallel

            cuda = data.device.type == "cuda"
            ids = [data.device.index if data.device.index is not None else
                   torch.cuda.current_device()] if cuda else None
            self.train_generator = DistributedDataParallel(generator, device_ids=ids)

    @staticmethod
    def process_group() -> tuple:
        """``(rank, world_size)`` of the initialised process group, or ``(0, 1)``.

        Returns
        -------
        tuple of int
            This process's rank and the number of processes.
        """
        return (dist.get_rank(), dist.get_world_size()) if is_distributed() else (0, 1)

    @classmethod
    def build(cls, options, *, data, generator, discriminator, opt_g, batches, init, rank,
              world_size, where):
        """Build the semi-discrete game, with the default ASGD step when none is given.

        Parameters
        ----------
        options : otgan.gan.config.TrainerOptions
            The trainer's options.
        data : torch.Tensor, shape (J, d)
            The data.
        generator : torch.nn.Module
            The generator.
        discriminator : None
            Refused before (sdwgan has no discriminator).
        opt_g : torch.optim.Optimizer or None
            The generator's optimiser.
        batches : Batches
            The batches.
        init : torch.Generator
            The initialisation stream (draws the data subset of the default step).
        rank, world_size : int
            The process group.
        where : str
            The caller named in error messages.

        Returns
        -------
        SemiDiscreteGame
            The game; ``options.asgd_gamma`` is resolved.
        """
        o = options.loss_options
        if o.asgd_gamma is None:
            # gamma = 0.1 J s, s the mean cost between data points: the gradient entries
            # are O(1/J) and the optimal psi varies on the scale of the cost
            J = data.shape[0]
            sub = data[torch.randperm(J, generator=init)[:256].to(data.device)]
            scale = float(o.cost(sub, sub).mean()) or 1.0
            o = type(o)(o.cost, 0.1 * J * scale, o.psi_init, o.n_gen_steps, o.memory,
                        where=where)
        return cls(o, data, generator, opt_g, batches, options.batch_size, rank, world_size)

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the c-transform ``psi^c(x) = min_j c(x, y_j) - psi_j`` (sharded if grouped).

        Parameters
        ----------
        x : torch.Tensor, shape (n, d)
            Points (the same on every rank).

        Returns
        -------
        torch.Tensor, shape (n,)
            ``psi^c(x)``.
        """
        o = self.options
        if self.world_size > 1:
            return sharded_c_transform(self.psi, self.y_local, x, o.cost, memory=o.memory)[0]
        return SemiDiscreteCritic(self.psi, self.data, o.cost, memory=o.memory)(x)

    def _asgd_run(self):
        o = self.options
        if o.psi_init == "persistent" and self.asgd is not None:
            return self.asgd
        psi0 = self.psi if o.psi_init != "cold" else torch.zeros_like(self.psi)
        if self.world_size > 1:
            nu = self.nu[self.shard[0]:self.shard[1]]
            self.asgd = ShardedAveragedSGD(psi0, nu, gamma=o.asgd_gamma)
        else:
            self.asgd = AveragedSGD(psi0, self.nu, gamma=o.asgd_gamma)
        return self.asgd

    def critic_step(self, n_steps: int) -> torch.Tensor:
        """``n_steps`` ASGD steps on ``psi``, each on a fresh generated batch.

        Parameters
        ----------
        n_steps : int
            How many.

        Returns
        -------
        torch.Tensor
            Minus the last batch semi-dual estimate.
        """
        asgd = self._asgd_run()
        with torch.no_grad():
            for _ in range(n_steps):
                x = self.generator(self.batches.noise(self.batch_size))
                est = asgd.step(x, self.y_local, self.options.cost)
        self.psi = asgd.psi.detach().clone()
        return -torch.as_tensor(est).detach()

    def _generator_loss(self, x):
        """``(loss, mean psi^c)``: the loss to differentiate and ``mean psi^c(g(z))``.

        The mean is over the whole batch. In a process group, every rank's batch is gathered (the
        sharded c-transform needs the same points everywhere) and each rank differentiates the
        mean over its own points; DDP's gradient average is then the gradient of the global mean.
        """
        o = self.options
        if self.world_size == 1:
            loss = sdwgan_generator_loss(self.psi, self.data, x, o.cost, memory=o.memory)
            return loss, loss.detach()
        xs, first = gather_rows(x)
        values, _ = sharded_c_transform(self.psi.detach(), self.y_local, xs, o.cost,
                                        memory=o.memory)
        return values[first:first + x.shape[0]].mean(), values.detach().mean()

    def _nu_dot_psi(self):
        out = torch.dot(self.nu[self.shard[0]:self.shard[1]], self.psi)
        if self.world_size > 1:
            dist.all_reduce(out)
        return out

    def generator_step(self) -> tuple:
        """``n_gen_steps`` generator steps, each on a fresh batch.

        Returns
        -------
        tuple of torch.Tensor
            ``mean psi^c(g(z))`` of the first step and the semi-dual estimate
            ``mean psi^c(g(z)) + nu . psi``.
        """
        for s in range(self.options.n_gen_steps):
            x = self.train_generator(self.batches.noise(self.batch_size))
            loss, mean_value = self._generator_loss(x)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
            if s == 0:
                g_loss, semi = mean_value, mean_value + self._nu_dot_psi()
        return g_loss, semi

    def gathered_psi(self) -> torch.Tensor:
        """Gather the whole ``psi`` (J,): the ranks' shards concatenated (a collective).

        Returns
        -------
        torch.Tensor, shape (J,)
            ``psi`` itself in one process.
        """
        return self.psi if self.world_size == 1 else gather_rows(self.psi)[0]

    def state_dict(self) -> dict:
        """``psi`` and the ASGD state, gathered whole (a collective in a process group).

        Returns
        -------
        dict
            ``discriminator`` and ``opt_d`` (None), ``psi``, ``asgd``.
        """
        asgd = None
        if self.asgd is not None:
            asgd = {"psi_tilde": gather_rows(self.asgd.psi_tilde)[0].clone(),
                    "psi_bar": gather_rows(self.asgd.psi_bar)[0].clone(), "k": self.asgd.k}
        return {"discriminator": None, "opt_d": None, "psi": self.gathered_psi().clone(),
                "asgd": asgd}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (this rank's shard).

        Parameters
        ----------
        state : dict
            A checkpoint.
        """
        a, b = self.shard
        self.psi = state["psi"][a:b].to(device=self.data.device, dtype=self.data.dtype)
        if state["asgd"] is not None:
            psi_bar = state["asgd"]["psi_bar"][a:b].to(self.data.device)
            gamma = self.options.asgd_gamma
            asgd = (ShardedAveragedSGD(psi_bar, self.nu[a:b], gamma=gamma) if self.world_size > 1
                    else AveragedSGD(psi_bar, self.nu, gamma=gamma))
            asgd.psi_tilde = state["asgd"]["psi_tilde"][a:b].to(self.data.device)
            asgd.k = int(state["asgd"]["k"])
            self.asgd = asgd


#: The game of each loss.
GAMES = {"gan": AdversarialGame, "nsgan": AdversarialGame, "wgan": AdversarialGame,
         "wgan-gp": AdversarialGame, "sdwgan": SemiDiscreteGame}


def make_game(options, **kwargs):
    """Build the game of ``options.loss`` (:data:`GAMES`).

    Parameters
    ----------
    options : otgan.gan.config.TrainerOptions
        The trainer's options.
    **kwargs
        Passed to the game's ``build`` (data, generator, discriminator, opt_g, batches, init,
        rank, world_size, where).

    Returns
    -------
    AdversarialGame or SemiDiscreteGame
        The game.
    """
    return GAMES[options.loss].build(options, **kwargs)
