"""One training loop for GAN, NS-GAN, WGAN (clipping), WGAN-GP and the semi-discrete WGAN.

An *iteration* is one generator update (the outer loop). Within it the discriminator / critic
takes ``n_critic`` steps (Arjovsky et al.'s warm-up, ``warmup=True``: 100 critic steps for the
first 25 iterations and every 500th), or, for ``loss="sdwgan"``, the dual weights ``psi`` take
``n_inner`` ASGD steps. ``step="discriminator"`` trains only the discriminator (against a fixed
generator, e.g. :class:`otgan.gan.models.NoisyDataGenerator` for Gulrajani et al.'s critic
surfaces), ``step="generator"`` only the generator (the lectures' "update only the generator";
then ``"discriminator"`` again for "and if we retrain the discriminator?").

A :class:`Trainer` is three parts: its configuration (:mod:`otgan.gan.config`: frozen option
objects, validated once), the game of its loss (:mod:`otgan.gan.games`: the critic, its state,
its steps and the generator's; the losses are described there, the sharded semi-discrete game
too), and the loop below: iterations, evaluations (exact ``W2^2`` by POT's ``ot.emd2`` and the
critic's Lipschitz estimate, drawn from their own random streams so that they never change the
run), snapshots (:mod:`otgan.gan.records`) and checkpoints (:mod:`otgan.gan.checkpoint`: the
models, optimisers, ``psi`` and ASGD state, every random stream and the records; a trainer built
with the same arguments and data resumes to the identical continuation).

Inside an initialised ``torch.distributed`` process group (``torchrun``), ``loss="sdwgan"``
shards ``psi`` and the c-transform over the ranks; :meth:`Trainer.save` and :meth:`Trainer.load`
are then called on every rank, and ``Trainer.psi`` is this rank's shard
(:meth:`Trainer.gathered_psi` the whole of it). See the guide "Training past one GPU".

References
----------
Arjovsky, Chintala, Bottou (2017). Wasserstein GAN.
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). Improved training of Wasserstein GANs.
Mescheder, Geiger, Nowozin (2018). Which training methods for GANs do actually converge?
"""

from __future__ import annotations

import time

import torch
from torch import nn

from .._utils import as_float_array, check_int, is_torch, to_numpy
from .checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, Checkpointing, data_fingerprint
from .config import LOSS_OPTIONS, LOSSES, OPTIMIZER_OPTIONS, STEPS, parse_options
from .games import GAMES, Batches, RandomStreams, check_module, default_generator, make_game
from .records import History, Records, Snapshot, TrainResult, evaluate, grid_values, w2_squared

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "LOSSES",
    "LOSS_OPTIONS",
    "OPTIMIZER_OPTIONS",
    "STEPS",
    "History",
    "Snapshot",
    "TrainResult",
    "Trainer",
    "train",
    "w2_squared",
]

class Trainer(Checkpointing):
    """Adversarial (or semi-discrete) training of a generator on a finite data set.

    The options are validated into :attr:`options` (:func:`otgan.gan.config.parse_options`)
    and readable under their keywords (``trainer.clip``, ``trainer.n_critic``; None where the
    loss does not use them). An option that applies to other losses or optimizers only
    (:data:`~otgan.gan.config.LOSS_OPTIONS`, :data:`~otgan.gan.config.OPTIMIZER_OPTIONS`) is
    refused with a ``ValueError`` naming it. The models are run once on two rows when the
    trainer is built, so that a dimension mismatch with ``data`` is reported naming them.

    Parameters
    ----------
    data : array_like, shape (J, d)
        The data points ``y_j`` (uniform weights), numpy or torch; moved to ``device`` in
        ``dtype``.
    loss : {"gan", "nsgan", "wgan", "wgan-gp", "sdwgan"}
        The loss (:mod:`otgan.gan.games`).
    generator : torch.nn.Module, optional
        Maps latents ``(n, latent_dim)`` to points ``(n, d)``; needs a ``latent_dim`` attribute.
        Default :class:`~otgan.gan.models.MLPGenerator` (10-dim noise; sigmoid output when the
        data lie in ``[0, 1]^d``).
    discriminator : torch.nn.Module, optional
        Maps ``(n, d)`` to logits / critic values ``(n,)``. Default
        :class:`~otgan.gan.models.MLPDiscriminator` (``d-10-10-1``). Not with ``"sdwgan"``.
    rng : int, numpy.random.Generator or torch.Generator, optional
        Seeds the default models and every random stream (None: fresh entropy).
    seed : int, optional
        The older name of ``rng``.
    device : str or torch.device, optional
        Default: the device of ``data`` if it is a tensor, else the CPU.
    dtype : torch.dtype
        Floating type of models and data.
    **options
        ``step`` ("both", "discriminator" or "generator"), ``batch_size`` (100 points per step,
        per process in a process group), ``progress`` (a tqdm bar), and the options of
        :mod:`otgan.gan.config` by their field names, with the papers' defaults per loss:
        :class:`~otgan.gan.config.OptimizerOptions` (``optimizer``, ``lr_g``, ``lr_d``,
        ``betas``, ``momentum``), :class:`~otgan.gan.config.ScheduleOptions` (``n_critic``, or
        ``n_inner`` for sdwgan, and ``warmup``), :class:`~otgan.gan.config.R1R2Options`,
        :class:`~otgan.gan.config.ClippingOptions`,
        :class:`~otgan.gan.config.GradientPenaltyOptions`,
        :class:`~otgan.gan.config.SemiDiscreteOptions`,
        :class:`~otgan.gan.config.EvaluationOptions` and
        :class:`~otgan.gan.config.SnapshotOptions`.

    Examples
    --------
    >>> from otgan.datasets import six_points
    >>> Trainer(six_points(), loss="gan", clip=0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: gan.Trainer: option(s) that do not apply to loss='gan' ... 'clip' (applies ...
    """

    def __init__(self, data, *, loss: str = "wgan-gp", generator=None, discriminator=None,
                 rng=None, seed=None, device=None, dtype=torch.float32, **options):
        where = "gan.Trainer"
        self.options = parse_options(loss, dict(options, discriminator=discriminator), where)
        if rng is not None and seed is not None:
            raise ValueError(f"{where}: pass 'rng' or its older name 'seed', not both; got "
                             f"rng={rng!r} and seed={seed!r}")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"{where}: 'dtype' must be a floating torch.dtype; got {dtype!r}")
        self.device = torch.device(_device_of(data) if device is None else device)
        self.dtype = dtype
        y = _as_data(data, where)
        self.options.snapshots.check_dimension(y.shape[1], where)
        # the data as given (dtype, shape, bytes in order) identify them in checkpoints
        self._data_id = (str(y.dtype).replace("torch.", ""), data_fingerprint(y))
        self.data = y.to(device=self.device, dtype=dtype)
        self.rank, self.world_size = GAMES[self.options.loss].process_group()
        self.streams = RandomStreams(seed if rng is None else rng, self.device, self.rank,
                                     self.world_size)
        if generator is None:
            generator = default_generator(self.data, self.streams.init)
        if not isinstance(generator, nn.Module) or not hasattr(generator, "latent_dim"):
            raise TypeError(f"{where}: 'generator' must be an nn.Module with a 'latent_dim' "
                            f"attribute; got {type(generator).__name__}")
        self.generator = generator.to(device=self.device, dtype=dtype)
        check_module(self.generator, self.data, where)
        params, opt = [p for p in self.generator.parameters() if p.requires_grad], \
            self.options.optimizer
        self.opt_g = (opt.build(params, opt.lr_g)
                      if params and self.options.step != "discriminator" else None)
        self.batches = Batches(self.data, self.generator.latent_dim, self.streams.train)
        self.game = make_game(self.options, data=self.data, generator=self.generator,
                              discriminator=discriminator, opt_g=self.opt_g,
                              batches=self.batches, init=self.streams.init, rank=self.rank,
                              world_size=self.world_size, where=where)
        self._settings = {**self.options.settings(), **self.game.options.__dict__}
        self._z_snap = torch.randn(self.snapshot_size, self.generator.latent_dim,
                                   generator=self.streams.init, dtype=dtype).to(self.device)
        self.iteration, self._train_time, self.records = 0, 0.0, Records()

    def __getattr__(self, name):
        """Read an option by its keyword (``trainer.clip``, ``trainer.n_critic``, ...)."""
        settings = self.__dict__.get("_settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # the game's state, under the names of earlier versions
    discriminator = property(lambda self: self.game.discriminator, doc="The discriminator.")
    opt_d = property(lambda self: self.game.opt_d, doc="The discriminator's optimiser.")
    def _set_psi(self, value):
        cur = self.game.psi
        if cur is None:
            raise AttributeError("gan.Trainer: 'psi' exists only for loss='sdwgan'")
        value = torch.as_tensor(value, dtype=cur.dtype, device=cur.device)
        if value.shape != cur.shape:
            raise ValueError(f"gan.Trainer: 'psi' must have shape {tuple(cur.shape)}; got "
                             f"{tuple(value.shape)}")
        self.game.psi = value.clone()

    psi = property(lambda self: self.game.psi, _set_psi,
                   doc="This rank's dual weights (sdwgan); assignable (same shape).")
    nu = property(lambda self: self.game.nu, doc="The data's masses (sdwgan).")

    # the game's functions, and the schedule
    critic = property(lambda self: self.game.critic, doc="The raw critic ``x -> D(x)`` or "
                      "``psi^c(x)`` (:meth:`otgan.gan.games.AdversarialGame.critic`).")
    landscape = property(lambda self: self.game.landscape, doc="What the figures draw: "
                         "``sigmoid(D)`` for GAN / NS-GAN, the critic otherwise (no graph).")
    gathered_psi = property(lambda self: self.game.gathered_psi, doc="The whole ``psi`` "
                            "(a collective in a process group); None without sdwgan.")
    critic_steps = property(lambda self: self.options.schedule.steps, doc="Critic (or ASGD) "
                            "steps at an iteration (:meth:`~otgan.gan.config.ScheduleOptions."
                            "steps`).")

    # ------------------------------------------------------------------ the loop
    def _iterate(self):
        it = self.iteration + 1
        d_loss = g_loss = semi = torch.tensor(float("nan"))
        if self.options.step != "generator":
            d_loss = self.game.critic_step(self.critic_steps(it))
        if self.opt_g is not None:
            g_loss, semi = self.game.generator_step()
        self.iteration = it
        self.records.add_losses(it, d_loss, g_loss, semi)

    def evaluate(self) -> float:
        """Exact ``W2^2`` to the data and the Lipschitz estimate now, added to the history.

        Returns
        -------
        float
            ``W2^2`` (:func:`otgan.gan.records.evaluate`).
        """
        w2, lip_mean, lip_max = evaluate(self.generator, self.critic, self.batches,
                                         self.streams, self.eval_size, self.lipschitz)
        self.records.add_evaluation(self.iteration, w2, lip_mean, lip_max, self._train_time)
        return w2

    def snapshot(self) -> Snapshot:
        """Take a :class:`Snapshot` of the current state (also stored when at ``snapshot_at``).

        Returns
        -------
        Snapshot
        """
        with torch.no_grad():
            samples = to_numpy(self.generator(self._z_snap))
        gv = gx = gy = None
        if self.snapshot_grid is not None:
            gv, gx, gy = grid_values(self.landscape, self.snapshot_grid, self.grid_size,
                                     self.dtype, self.device)
        psi = self.gathered_psi()
        return Snapshot(iteration=self.iteration, samples=samples, grid_values=gv, grid_x=gx,
                        grid_y=gy, psi=None if psi is None else to_numpy(psi).copy())

    def _after(self):
        if self.eval_every and self.iteration % self.eval_every == 0:
            self.evaluate()
        if self.iteration in self.snapshot_at:
            self.records.snapshots.append(self.snapshot())

    def run(self, n_iter: int) -> Trainer:
        """Run ``n_iter`` more iterations (generator updates).

        Parameters
        ----------
        n_iter : int
            How many (iteration 0 is evaluated and snapshotted first, once).

        Returns
        -------
        Trainer
            ``self``.
        """
        n_iter = check_int(n_iter, "n_iter", "gan.Trainer.run", minimum=0)
        from tqdm.auto import tqdm

        if self.iteration == 0 and self.records.empty():
            self._after()
        for _ in tqdm(range(n_iter), disable=not self.progress or self.rank > 0,
                      desc=f"train {self.loss}"):
            t0 = time.perf_counter()
            self._iterate()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self._train_time += time.perf_counter() - t0
            self._after()
        return self

    @property
    def history(self) -> History:
        """The :class:`History` so far (arrays)."""
        return self.records.history()

    @property
    def snapshots(self) -> tuple:
        """The stored :class:`Snapshot` objects, in order."""
        return tuple(self.records.snapshots)

    def sample(self, n: int) -> torch.Tensor:
        """``n`` generated points, from the evaluation stream (no graph).

        Parameters
        ----------
        n : int
            How many.

        Returns
        -------
        torch.Tensor, shape (n, d)
        """
        with torch.no_grad():
            return self.generator(self.batches.noise(check_int(n, "n", "gan.Trainer.sample"),
                                                     self.streams.eval))


def _device_of(data):
    return data.device if is_torch(data) else "cpu"


def _as_data(data, where):
    """Validate ``data`` as a finite (J, d) tensor in the dtype it was given."""
    y = as_float_array(data.detach() if is_torch(data) else data, "data", where)
    y = y if is_torch(y) else torch.as_tensor(y)
    if y.ndim != 2 or y.shape[0] < 1:
        raise ValueError(f"{where}: 'data' must have shape (J, d); got {tuple(y.shape)}")
    if not torch.isfinite(y).all():
        raise ValueError(f"{where}: 'data' contains NaN or inf")
    return y


def train(data, n_iter: int, **kwargs) -> TrainResult:
    """Build a :class:`Trainer` on ``data`` with ``kwargs`` and run ``n_iter`` iterations.

    Parameters
    ----------
    data : array_like, shape (J, d)
        The data.
    n_iter : int
        Iterations.
    **kwargs
        The :class:`Trainer`'s arguments.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from otgan.datasets import six_points
    >>> res = train(six_points(), 20, loss="sdwgan", seed=0, eval_every=20)
    >>> res.history.w2.shape
    (2,)
    """
    tr = Trainer(data, **kwargs).run(n_iter)
    return TrainResult(generator=tr.generator, discriminator=tr.discriminator,
                       psi=tr.gathered_psi(), history=tr.history, snapshots=tr.snapshots,
                       trainer=tr)
