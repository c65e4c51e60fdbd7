"""One training loop for GAN, NS-GAN, WGAN (clipping), WGAN-GP and the semi-discrete WGAN.

An *iteration* is one generator update (the outer loop). Within it the discriminator / critic
takes ``n_critic`` steps (Arjovsky et al.'s warm-up, ``warmup=True``: 100 critic steps for the
first 25 iterations and every 500th), or, for ``loss="sdwgan"``, the dual weights ``psi`` take
``n_inner`` ASGD steps. ``step="discriminator"`` trains only the discriminator (against a fixed
generator, e.g. :class:`otgan.gan.models.NoisyDataGenerator` for Gulrajani et al.'s critic
surfaces), ``step="generator"`` only the generator (the lectures' "update only the generator";
then ``"discriminator"`` again for "and if we retrain the discriminator?").

Losses (all minimised; see :mod:`otgan.gan.losses`):

- ``"gan"``: discriminator BCE on logits, saturating generator loss ``E log(1 - D(g(z)))``;
- ``"nsgan"``: same discriminator, non-saturating generator loss ``-E log D(g(z))``;
- ``"wgan"``: critic ``-(E D(y) - E D(g(z)))`` with weight clipping ``[-clip, clip]``;
- ``"wgan-gp"``: critic loss ``+ gp_weight * GP`` (two- or one-sided, matched or all pairs);
- ``"sdwgan"``: semi-discrete WGAN (:mod:`otgan.gan.sdwgan`), no discriminator network.

``r1_gamma`` / ``r2_gamma`` add Mescheder et al.'s ``gamma/2 E||grad D||^2`` on data / fakes to
the GAN / NS-GAN discriminator loss.

The history records the losses at each iteration, and every ``eval_every`` iterations the exact
``W2^2`` (POT's ``ot.emd2``, cost ``||x - y||^2``) between ``eval_size`` generated points and the
data (all of it, or ``eval_size`` points drawn from it when larger), and the Lipschitz estimate
of the critic (mean and max of ``||grad D||`` on segments joining generated and data points).
Evaluations draw from their own random streams, so they never change the training run.

Checkpoints (:meth:`Trainer.save` / :meth:`Trainer.load`) hold the models, optimisers, ``psi``
and the ASGD state, every random stream (torch and numpy), the history and the snapshots:
loading into a trainer built with the same arguments resumes to the identical continuation.

Inside an initialised ``torch.distributed`` process group (``torchrun``), ``loss="sdwgan"``
shards ``psi`` and the c-transform over the ranks (:mod:`otgan.distributed`): every rank passes
the whole data set, holds the contiguous shard ``shard_bounds(J)`` of ``psi``, draws its own
noise (``batch_size`` points per rank; the batches are gathered), and trains the generator under
``DistributedDataParallel``. :meth:`Trainer.save` and :meth:`Trainer.load` are then called on
every rank (rank 0 writes one file holding the whole ``psi``), and ``Trainer.psi`` is this
rank's shard (:meth:`Trainer.gathered_psi` the whole of it). See the guide "Training past one
GPU".

References
----------
Arjovsky, Chintala, Bottou (2017). Wasserstein GAN.
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). Improved training of Wasserstein GANs.
Mescheder, Geiger, Nowozin (2018). Which training methods for GANs do actually converge?
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .._utils import (
    as_float_array,
    as_rng,
    check_choice,
    check_int,
    check_real,
    is_torch,
    to_numpy,
)
from ..costs import get_cost
from ..distributed import ShardedAveragedSGD, gather_rows, is_distributed, shard_bounds
from ..distributed import c_transform as sharded_c_transform
from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    check_checkpoint,
    data_fingerprint,
    read_checkpoint,
    write_checkpoint,
)
from .losses import critic_loss, discriminator_loss, generator_loss, wgan_generator_loss
from .models import MLPDiscriminator, MLPGenerator
from .penalties import clip_weights, gradient_penalty, lipschitz_estimate, r1_penalty, r2_penalty
from .sdwgan import SemiDiscreteCritic, sdwgan_generator_loss

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

LOSSES = ("gan", "nsgan", "wgan", "wgan-gp", "sdwgan")
STEPS = ("both", "discriminator", "generator")
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}


def w2_squared(x, y) -> float:
    """Exact ``W2^2`` between the uniform empirical measures on ``x`` (n, d) and ``y`` (m, d).

    POT's network simplex ``ot.emd2`` on the cost ``||x_i - y_j||^2`` (float64).
    """
    import ot

    x = to_numpy(x, dtype=np.float64)
    y = to_numpy(y, dtype=np.float64)
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, ot.dist(x, y, metric="sqeuclidean"), numItermax=10_000_000))


@dataclass(frozen=True)
class Snapshot:
    """State at one iteration, for figures.

    Attributes
    ----------
    iteration : int
    samples : ndarray (snapshot_size, d)
        ``g_theta(z)`` for latents ``z`` drawn once when the trainer is built (the same ``z`` at
        every snapshot).
    grid_values : ndarray (n_grid, n_grid) or None
        For 2D data when ``snapshot_grid`` is set: the critic drawn on the grid,
        ``grid_values[i, j]`` at ``(xs[j], ys[i])`` with ``ys`` increasing (flip rows for the image
        convention). ``sigmoid(D)`` for GAN / NS-GAN, ``D`` for WGANs, ``psi^c`` for sdwgan.
    grid_x, grid_y : ndarray or None
        The grid coordinates.
    psi : ndarray (J,) or None
        The dual weights (sdwgan).
    """

    iteration: int
    samples: np.ndarray
    grid_values: np.ndarray | None = None
    grid_x: np.ndarray | None = None
    grid_y: np.ndarray | None = None
    psi: np.ndarray | None = None


@dataclass(frozen=True)
class History:
    """Training curves.

    Attributes
    ----------
    iteration : ndarray (n,)
        Iteration (1-based generator updates) of each loss record.
    d_loss : ndarray (n,)
        Last discriminator / critic loss of the iteration (sdwgan: minus the last ASGD batch
        semi-dual estimate).
    g_loss : ndarray (n,)
        Generator loss (sdwgan: ``mean psi^c(g(z))``).
    semi_dual : ndarray (n,)
        sdwgan: batch estimate of ``H(psi, theta) = mean psi^c(g(z)) + nu . psi`` at the
        generator step (the training curve; NaN for other losses).
    eval_iteration : ndarray (m,)
        Iterations of the evaluations (0 is before training).
    w2 : ndarray (m,)
        Exact ``W2^2`` between generated points and the data.
    lip_mean, lip_max : ndarray (m,)
        Mean and max ``||grad D||`` on segments (NaN when not computed).
    time : ndarray (m,)
        Training wall time (s) spent before each evaluation (evaluations excluded).
    """

    iteration: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    semi_dual: np.ndarray
    eval_iteration: np.ndarray
    w2: np.ndarray
    lip_mean: np.ndarray
    lip_max: np.ndarray
    time: np.ndarray


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns: the models, ``psi`` (sdwgan), the history, the snapshots."""

    generator: nn.Module
    discriminator: nn.Module | None
    psi: torch.Tensor | None
    history: History
    snapshots: tuple
    trainer: Trainer


_ADVERSARIAL = ("gan", "nsgan", "wgan", "wgan-gp")

#: The options that apply to some losses only, with their defaults: the one place where they are
#: stated. ``None`` in the signature means "this default"; passing anything else with a loss the
#: option does not apply to raises a ``ValueError`` naming it (it would otherwise be ignored).
#: ``lr_d`` and ``n_critic`` default per loss (``_DEFAULTS``), ``discriminator`` to an
#: :class:`MLPDiscriminator`, ``asgd_gamma`` to ``0.1 J s`` and ``memory`` to the c-transform's.
LOSS_OPTIONS = {
    "discriminator": (_ADVERSARIAL, None),
    "lr_d": (_ADVERSARIAL, None),
    "n_critic": (_ADVERSARIAL, None),
    "clip": (("wgan",), 0.01),
    "gp_weight": (("wgan-gp",), 10.0),
    "gp_one_sided": (("wgan-gp",), False),
    "gp_pairs": (("wgan-gp",), "matched"),
    "r1_gamma": (("gan", "nsgan"), 0.0),
    "r2_gamma": (("gan", "nsgan"), 0.0),
    "cost": (("sdwgan",), "sqeuclidean"),
    "n_inner": (("sdwgan",), 10),
    "asgd_gamma": (("sdwgan",), None),
    "psi_init": (("sdwgan",), "warm"),
    "n_gen_steps": (("sdwgan",), 1),
    "memory": (("sdwgan",), None),
}

#: Options that apply to some optimizers only (``betas``: Adam; ``momentum``: SGD, RMSprop).
OPTIMIZER_OPTIONS = {"betas": ("adam",), "momentum": ("sgd", "rmsprop")}



def _foreign_options(loss, optimizer, given, where):
    """ValueError naming every option passed that does not apply to ``loss`` / ``optimizer``."""
    bad = [f"{k!r} (applies to loss {' / '.join(repr(x) for x in LOSS_OPTIONS[k][0])} only)"
           for k, v in given.items() if k in LOSS_OPTIONS and v is not None
           and loss not in LOSS_OPTIONS[k][0]]
    bad += [f"{k!r} (applies to optimizer {' / '.join(repr(x) for x in OPTIMIZER_OPTIONS[k])} "
            f"only)" for k, v in given.items() if k in OPTIMIZER_OPTIONS and v is not None
            and optimizer not in OPTIMIZER_OPTIONS[k]]
    if bad:
        raise ValueError(
            f"{where}: option(s) that do not apply to loss={loss!r} with optimizer={optimizer!r} "
            f"would be ignored: {', '.join(bad)}. Remove them or choose another loss"
        )


def _opt(name, value):
    """``value``, or the default of a loss-specific option."""
    return LOSS_OPTIONS[name][1] if value is None else value


_DEFAULTS = {
    # loss: optimizer, lr_g, lr_d, betas, n_critic  (the papers' / the lectures' settings)
    "gan": ("adam", 2e-3, 2e-3, (0.5, 0.999), 1),
    "nsgan": ("adam", 2e-3, 2e-3, (0.5, 0.999), 1),
    "wgan": ("rmsprop", 5e-5, 5e-5, None, 5),
    "wgan-gp": ("adam", 1e-4, 1e-4, (0.5, 0.9), 5),
    "sdwgan": ("adam", 1e-3, None, (0.5, 0.999), 10),
}


class Trainer:
    """Adversarial (or semi-discrete) training of a generator on a finite data set.

    Options that apply to some losses only (:data:`LOSS_OPTIONS`, which also holds their
    defaults: ``None`` below means that default) or to some optimizers only
    (:data:`OPTIMIZER_OPTIONS`) raise a ``ValueError`` naming them when passed with another
    loss or optimizer, instead of being ignored. The generator (and discriminator) are run once
    on two rows at construction, so that a dimension mismatch with ``data`` is reported naming
    them.

    Parameters
    ----------
    data : array (J, d), numpy or torch
        The data points ``y_j`` (uniform weights). Moved to ``device`` in ``dtype``.
    loss : {"gan", "nsgan", "wgan", "wgan-gp", "sdwgan"}
    generator : nn.Module, optional
        Maps latents ``(n, latent_dim)`` to points ``(n, d)``; needs a ``latent_dim`` attribute.
        Default :class:`MLPGenerator` (10-dim noise, 3 ``Linear + ELU`` blocks; sigmoid output
        when the data lie in ``[0, 1]^d``, linear otherwise).
    discriminator : nn.Module, optional
        Maps ``(n, d)`` to logits / critic values ``(n,)``. Default :class:`MLPDiscriminator`
        (``d-10-10-1``, LeakyReLU(0.2)). Not with ``"sdwgan"``.
    step : {"both", "discriminator", "generator"}
        Which player(s) train.
    optimizer : {"adam", "sgd", "rmsprop"}, optional
        Default per loss: Adam (GAN, NS-GAN, WGAN-GP, sdwgan), RMSprop (WGAN).
    lr_g, lr_d : float, optional
        Learning rates. Defaults: GAN/NS-GAN 2e-3 (the lectures), WGAN 5e-5 (Arjovsky et al.),
        WGAN-GP 1e-4 (Gulrajani et al.), sdwgan ``lr_g = 1e-3``.
    betas : tuple, optional
        Adam's betas (default (0.5, 0.999); (0.5, 0.9) for WGAN-GP).
    momentum : float
        Momentum for SGD / RMSprop.
    batch_size : int
        Generated and data points per step (data drawn with replacement); per process in a
        process group (sdwgan).
    n_critic : int, optional
        Critic steps per generator step (default 1 for GANs, 5 for WGANs).
    warmup : bool or tuple (n_first, every, n_steps)
        Arjovsky et al.'s schedule (``True`` is ``(25, 500, 100)``): ``n_steps`` critic steps
        (ASGD steps for sdwgan) for the first ``n_first`` iterations and whenever the number of
        generator updates already made is a multiple of ``every`` (as in their code).
    clip : float, optional
        Weight-clipping bound (``"wgan"`` only; default 0.01).
    gp_weight : float, optional
        ``lambda`` of the gradient penalty (``"wgan-gp"`` only; default 10 as in the paper).
    gp_one_sided : bool, optional
        ``E[(||grad D|| - 1)_+^2]`` instead of the two-sided penalty (``"wgan-gp"`` only).
    gp_pairs : {"matched", "all"}, optional
        Interpolate matched pairs (Gulrajani et al.; the default) or all generated-data pairs
        (the lecture's ``lipconstant``). ``"wgan-gp"`` only.
    r1_gamma, r2_gamma : float, optional
        Weights of R1 / R2 (``gamma/2 E||grad D||^2``) added to the discriminator loss
        (``"gan"`` / ``"nsgan"`` only; default 0).
    cost : str or Cost, optional
        sdwgan ground cost: ``"sqeuclidean"`` (W2^2, the default) or ``"euclidean"`` (W1).
    n_inner : int, optional
        sdwgan: ASGD steps on ``psi`` per outer iteration (default ``n_critic``'s default, 10).
    asgd_gamma : float, optional
        sdwgan: ASGD step ``gamma`` (default ``0.1 * J * s`` with ``s`` the mean cost between
        data points, measured on up to 256 of them; tuned on the 2D toys, see the benchmark).
    psi_init : {"warm", "persistent", "cold"}
        sdwgan: ``"warm"`` (default) restarts the ASGD averaging at every outer iteration from
        the previous averaged ``psi``; ``"persistent"`` keeps one ASGD run across outer
        iterations (its step ``gamma / sqrt(k)`` keeps decaying); ``"cold"`` restarts from
        ``psi = 0``. See ``benchmarks/results_training.md`` for the measured comparison.
    n_gen_steps : int
        sdwgan: Adam steps on ``theta`` per outer iteration (each on a fresh batch).
    eval_every : int
        Evaluate ``W2^2`` (and the Lipschitz estimate) every so many iterations (0: never).
    eval_size : int
        Generated points (and, when the data are larger, data points) in each evaluation.
    lipschitz : bool
        Record the Lipschitz estimate at evaluations.
    snapshot_at : iterable of int
        Iterations at which to store a :class:`Snapshot` (0: before training).
    snapshot_size : int
        Generated points per snapshot (100 as in the lectures).
    snapshot_grid : tuple (xmin, xmax, ymin, ymax), optional
        2D data: also evaluate the critic on a ``grid_size x grid_size`` grid.
    grid_size : int
        256 as in the lectures' figures.
    device : str or torch.device, optional
        Default: the device of ``data`` if it is a tensor, else the CPU.
    dtype : torch.dtype
        Floating type of models and data (default float32).
    rng : int, numpy.random.Generator or torch.Generator, optional
        Seeds the model initialisation and every random stream (None: fresh entropy), as
        ``rng`` everywhere in otgan. Model weights are initialised from it only when the
        default models are built.
    seed : int, optional
        The older name of ``rng`` (pass one of them).
    progress : bool
        Show a tqdm progress bar.
    memory : int, optional
        sdwgan: byte budget of one block of the c-transform.

    Examples
    --------
    >>> from otgan.datasets import six_points
    >>> Trainer(six_points(), loss="gan", clip=0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: gan.Trainer: option(s) that do not apply to loss='gan' ... 'clip' (applies ...
    """

    def __init__(self, data, *, loss: str = "wgan-gp", generator=None, discriminator=None,
                 step: str = "both", optimizer=None, lr_g=None, lr_d=None, betas=None,
                 momentum=None, batch_size: int = 100, n_critic=None,
                 warmup=False, clip=None, gp_weight=None, gp_one_sided=None, gp_pairs=None,
                 r1_gamma=None, r2_gamma=None, cost=None, n_inner=None, asgd_gamma=None,
                 psi_init=None, n_gen_steps=None, eval_every: int = 0,
                 eval_size: int = 500, lipschitz: bool = True, snapshot_at=(),
                 snapshot_size: int = 100, snapshot_grid=None, grid_size: int = 256,
                 device=None, dtype=torch.float32, rng=None, seed=None, progress: bool = False,
                 memory=None):
        where = "gan.Trainer"
        self.loss = check_choice(loss, "loss", LOSSES, where)
        self.step_mode = check_choice(step, "step", STEPS, where)
        d_opt, d_lr_g, d_lr_d, d_betas, d_ncrit = _DEFAULTS[loss]
        optimizer = d_opt if optimizer is None else optimizer
        self.optimizer_name = check_choice(optimizer, "optimizer", tuple(_OPTIMIZERS), where)
        _foreign_options(loss, optimizer, {
            "discriminator": discriminator, "lr_d": lr_d, "n_critic": n_critic, "clip": clip,
            "gp_weight": gp_weight, "gp_one_sided": gp_one_sided, "gp_pairs": gp_pairs,
            "r1_gamma": r1_gamma, "r2_gamma": r2_gamma, "cost": cost, "n_inner": n_inner,
            "asgd_gamma": asgd_gamma, "psi_init": psi_init, "n_gen_steps": n_gen_steps,
            "memory": memory, "betas": betas, "momentum": momentum}, where)
        if rng is not None and seed is not None:
            raise ValueError(f"{where}: pass 'rng' or its older name 'seed', not both; got "
                             f"rng={rng!r} and seed={seed!r}")
        seed = rng if rng is not None else seed
        self.lr_g = check_real(d_lr_g if lr_g is None else lr_g, "lr_g", where, positive=True)
        self.lr_d = None if (lr_d is None and d_lr_d is None) else check_real(
            d_lr_d if lr_d is None else lr_d, "lr_d", where, positive=True)
        self.betas = tuple(d_betas or (0.5, 0.999)) if betas is None else tuple(
            check_real(b, "betas", where, nonnegative=True) for b in betas)
        self.momentum = check_real(0.0 if momentum is None else momentum, "momentum", where,
                                   nonnegative=True)
        self.batch_size = check_int(batch_size, "batch_size", where)
        self.n_critic = check_int(d_ncrit if n_critic is None else n_critic, "n_critic", where)
        self.n_inner = check_int(_opt("n_inner", n_inner), "n_inner", where)
        if warmup is True:
            warmup = (25, 500, 100)
        if warmup is False or warmup is None:
            self.warmup = None
        else:
            if not (isinstance(warmup, tuple) and len(warmup) == 3):
                raise ValueError(f"{where}: 'warmup' must be a bool or a tuple (n_first, every, "
                                 f"n_steps); got {warmup!r}")
            self.warmup = tuple(check_int(v, "warmup", where) for v in warmup)
        # loss-specific options: the value in use, or None where the loss does not use them
        uses = {k: loss in LOSS_OPTIONS[k][0] for k in LOSS_OPTIONS}
        self.clip = (check_real(_opt("clip", clip), "clip", where, positive=True)
                     if uses["clip"] else None)
        self.gp_weight = (check_real(_opt("gp_weight", gp_weight), "gp_weight", where,
                                     nonnegative=True) if uses["gp_weight"] else None)
        self.gp_one_sided = bool(_opt("gp_one_sided", gp_one_sided)) if uses["gp_weight"] \
            else None
        self.gp_pairs = (check_choice(_opt("gp_pairs", gp_pairs), "gp_pairs",
                                      ("matched", "all"), where) if uses["gp_pairs"] else None)
        self.r1_gamma = (check_real(_opt("r1_gamma", r1_gamma), "r1_gamma", where,
                                    nonnegative=True) if uses["r1_gamma"] else None)
        self.r2_gamma = (check_real(_opt("r2_gamma", r2_gamma), "r2_gamma", where,
                                    nonnegative=True) if uses["r2_gamma"] else None)
        self.cost = get_cost(_opt("cost", cost))
        self.psi_init = check_choice(_opt("psi_init", psi_init), "psi_init",
                                     ("warm", "persistent", "cold"), where)
        self.n_gen_steps = check_int(_opt("n_gen_steps", n_gen_steps), "n_gen_steps", where)
        self.eval_every = check_int(eval_every, "eval_every", where, minimum=0)
        self.eval_size = check_int(eval_size, "eval_size", where)
        self.lipschitz = bool(lipschitz)
        self.snapshot_at = frozenset(check_int(i, "snapshot_at", where, minimum=0)
                                     for i in snapshot_at)
        self.snapshot_size = check_int(snapshot_size, "snapshot_size", where)
        self.grid_size = check_int(grid_size, "grid_size", where, minimum=2)
        self.progress = bool(progress)
        self.memory = None if memory is None else check_int(memory, "memory", where)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"{where}: 'dtype' must be a floating torch.dtype; got {dtype!r}")
        self.dtype = dtype

        # data
        if device is None:
            device = data.device if is_torch(data) else "cpu"
        self.device = torch.device(device)
        y = as_float_array(data.detach() if is_torch(data) else data, "data", where)
        y = y if is_torch(y) else torch.as_tensor(y)
        if y.ndim != 2 or y.shape[0] < 1:
            raise ValueError(f"{where}: 'data' must have shape (J, d); got {tuple(y.shape)}")
        if not torch.isfinite(y).all():
            raise ValueError(f"{where}: 'data' contains NaN or inf")
        # the data as given (dtype, shape, bytes in order) identify them in checkpoints
        self._data_id = (str(y.dtype).replace("torch.", ""), data_fingerprint(y))
        self.data = y.to(device=self.device, dtype=dtype)
        J, d = self.data.shape
        if snapshot_grid is not None:
            if d != 2 or len(snapshot_grid) != 4:
                raise ValueError(f"{where}: 'snapshot_grid' must be (xmin, xmax, ymin, ymax) for "
                                 f"2D data; got {snapshot_grid!r} with data of dimension {d}")
            snapshot_grid = tuple(float(v) for v in snapshot_grid)
        self.snapshot_grid = snapshot_grid

        # sdwgan inside a process group: psi and the c-transform are sharded over the ranks
        self.rank, self.world_size = 0, 1
        if loss == "sdwgan" and is_distributed():
            self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
            if not isinstance(seed, numbers.Integral):  # one seed for all ranks: same models
                box = [int(as_rng(seed).integers(0, 2**62))]
                dist.broadcast_object_list(box, src=0)
                seed = box[0]

        # randomness: one numpy stream spawns the seeds of every stream
        root = as_rng(seed)
        seeds = root.integers(0, 2**62, size=4)
        init_gen = torch.Generator().manual_seed(int(seeds[0]))
        self._gen = torch.Generator(device=self.device).manual_seed(int(seeds[1]))
        self._eval_gen = torch.Generator(device=self.device).manual_seed(int(seeds[2]))
        self._np_rng = np.random.default_rng(int(seeds[3]))
        if self.world_size > 1:  # each rank draws its own noise
            rank_seed = np.random.default_rng([int(seeds[1]), self.rank]).integers(0, 2**62)
            self._gen.manual_seed(int(rank_seed))

        # models
        if generator is None:
            inside = bool(((self.data >= 0) & (self.data <= 1)).all())
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=init_gen)))
                generator = MLPGenerator(10, d, output="sigmoid" if inside else "linear")
        if not isinstance(generator, nn.Module) or not hasattr(generator, "latent_dim"):
            raise TypeError(f"{where}: 'generator' must be an nn.Module with a 'latent_dim' "
                            f"attribute; got {type(generator).__name__}")
        self.generator = generator.to(device=self.device, dtype=dtype)
        self._check_module_shapes(where)
        if loss == "sdwgan":
            self.discriminator = None
        else:
            if discriminator is None:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=init_gen)))
                    discriminator = MLPDiscriminator(d)
            if not isinstance(discriminator, nn.Module):
                raise TypeError(f"{where}: 'discriminator' must be an nn.Module; "
                                f"got {type(discriminator).__name__}")
            self.discriminator = discriminator.to(device=self.device, dtype=dtype)
            self._check_module_shapes(where, discriminator=True)

        # optimisers
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        self.opt_g = (self._make_opt(g_params, self.lr_g)
                      if g_params and self.step_mode != "discriminator" else None)
        if self.discriminator is not None and self.step_mode != "generator":
            self.opt_d = self._make_opt(self.discriminator.parameters(), self.lr_d)
        else:
            self.opt_d = None
        self._train_gen = self.generator  # the module that runs the generator's training step
        if self.world_size > 1 and self.opt_g is not None:
            from torch.nn.parallel import DistributedDataParallel

            cuda = self.device.type == "cuda"
            ids = [self.device.index if self.device.index is not None else
                   torch.cuda.current_device()] if cuda else None
            self._train_gen = DistributedDataParallel(self.generator, device_ids=ids)

        # semi-discrete state
        self.nu = torch.full((J,), 1.0 / J, device=self.device, dtype=dtype)
        if loss == "sdwgan":
            if asgd_gamma is None:
                # gamma = 0.1 J s, s the mean cost between data points: the gradient entries
                # are O(1/J) and the optimal psi varies on the scale of the cost
                sub = self.data[torch.randperm(J, generator=init_gen)[:256].to(self.device)]
                scale = float(self.cost(sub, sub).mean()) or 1.0
                asgd_gamma = 0.1 * J * scale
            self.asgd_gamma = check_real(asgd_gamma, "asgd_gamma", where, positive=True)
            # this rank's contiguous shard of the sites (all of them in one process)
            self._shard = shard_bounds(J, self.rank, self.world_size)
            self._y_local = self.data[self._shard[0]:self._shard[1]]
            self.psi = torch.zeros(self._shard[1] - self._shard[0], device=self.device,
                                   dtype=dtype)
            self._asgd = None
        else:
            self.asgd_gamma = None
            self.psi = None
            self._asgd = None

        self._z_snap = torch.randn(self.snapshot_size, self.generator.latent_dim,
                                   generator=init_gen, dtype=dtype).to(self.device)
        self.iteration = 0
        self._train_time = 0.0
        self._rec = {k: [] for k in ("iteration", "d_loss", "g_loss", "semi_dual")}
        self._ev = {k: [] for k in ("eval_iteration", "w2", "lip_mean", "lip_max", "time")}
        self._snapshots = []

    # ------------------------------------------------------------------ building blocks
    def _check_module_shapes(self, where, *, discriminator=False):
        """Run the generator on two noise rows (the discriminator on two data points) in eval
        mode, without gradients and without touching any random stream, so that a dimension
        mismatch is reported now, naming the user's argument, rather than as a shape error deep
        inside a training step."""
        n, d = min(2, self.data.shape[0]), self.data.shape[1]
        name = "discriminator" if discriminator else "generator"
        module = self.discriminator if discriminator else self.generator
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                if discriminator:
                    out = module(self.data[:n])
                else:
                    z = torch.zeros(n, self.generator.latent_dim, device=self.device,
                                    dtype=self.dtype)
                    out = module(z)
        except (RuntimeError, ValueError, IndexError) as exc:
            what = (f"points of shape (n, {d}) (the dimension of 'data')" if discriminator else
                    f"noise of shape (n, latent_dim={self.generator.latent_dim})")
            raise ValueError(f"{where}: {name!r} fails on {what}: {exc}") from exc
        finally:
            module.train(was_training)
        shape = tuple(out.shape)
        if discriminator:
            if not shape or shape[0] != n or out.numel() != n:
                raise ValueError(
                    f"{where}: 'discriminator' must map points (n, {d}) to values (n,) or "
                    f"(n, 1); it gave shape {shape} for n = {n}")
        elif shape != (n, d):
            raise ValueError(
                f"{where}: 'generator' must map noise (n, {self.generator.latent_dim}) to points "
                f"(n, {d}) in the dimension of 'data' {tuple(self.data.shape)}; it gave shape "
                f"{shape} for n = {n}")

    def _make_opt(self, params, lr):
        cls = _OPTIMIZERS[self.optimizer_name]
        if self.optimizer_name == "adam":
            return cls(params, lr=lr, betas=self.betas)
        return cls(params, lr=lr, momentum=self.momentum)

    def _noise(self, n, gen=None):
        return torch.randn(n, self.generator.latent_dim, generator=gen or self._gen,
                           device=self.device, dtype=self.dtype)

    def _real(self, n):
        idx = torch.randint(0, self.data.shape[0], (n,), generator=self._gen, device=self.device)
        return self.data[idx]

    def _critic_steps(self, it):
        base = self.n_inner if self.loss == "sdwgan" else self.n_critic
        if self.warmup is not None:
            n_first, every, n_steps = self.warmup
            done = it - 1  # generator updates already made (Arjovsky et al.'s gen_iterations)
            if done < n_first or done % every == 0:
                return n_steps
        return base

    def critic(self, x: torch.Tensor) -> torch.Tensor:
        """The raw critic: logits ``D(x)`` (GAN), ``D(x)`` (WGAN) or ``psi^c(x)`` (sdwgan)."""
        if self.loss == "sdwgan" and self.world_size > 1:
            return sharded_c_transform(self.psi, self._y_local, x, self.cost,
                                       memory=self.memory)[0]
        if self.loss == "sdwgan":
            return SemiDiscreteCritic(self.psi, self.data, self.cost, memory=self.memory)(x)
        return self.discriminator(x)

    def gathered_psi(self):
        """The whole ``psi`` (J,): in a process group, the ranks' shards concatenated (a
        collective: call it on every rank); otherwise ``psi`` itself. None without sdwgan."""
        if self.psi is None or self.world_size == 1:
            return self.psi
        return gather_rows(self.psi)[0]

    def landscape(self, x: torch.Tensor) -> torch.Tensor:
        """What the figures draw: ``sigmoid(D)`` for GAN / NS-GAN, the critic otherwise."""
        with torch.no_grad():
            out = self.critic(x)
            return torch.sigmoid(out) if self.loss in ("gan", "nsgan") else out

    # ------------------------------------------------------------------ one iteration
    def _disc_step(self):
        D = self.discriminator
        real = self._real(self.batch_size)
        with torch.no_grad():
            fake = self.generator(self._noise(self.batch_size))
        if self.loss in ("gan", "nsgan"):
            loss = discriminator_loss(D(real), D(fake))
            if self.r1_gamma > 0:
                loss = loss + r1_penalty(D, real, gamma=self.r1_gamma)
            if self.r2_gamma > 0:
                loss = loss + r2_penalty(D, fake, gamma=self.r2_gamma)
        else:
            loss = critic_loss(D(real), D(fake))
            if self.loss == "wgan-gp" and self.gp_weight > 0:
                gp = gradient_penalty(D, real, fake, one_sided=self.gp_one_sided,
                                      pairs=self.gp_pairs, rng=self._gen)
                loss = loss + self.gp_weight * gp
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.loss == "wgan":
            clip_weights(D, self.clip)
        return loss.detach()

    def _gen_step(self):
        fake = self.generator(self._noise(self.batch_size))
        out = self.discriminator(fake)
        if self.loss == "gan":
            loss = generator_loss(out, saturating=True)
        elif self.loss == "nsgan":
            loss = generator_loss(out, saturating=False)
        else:
            loss = wgan_generator_loss(out)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return loss.detach()

    def _asgd_state(self):
        from ..semidiscrete import AveragedSGD

        if self.psi_init == "persistent" and self._asgd is not None:
            return self._asgd
        psi0 = self.psi if self.psi_init != "cold" else torch.zeros_like(self.psi)
        if self.world_size > 1:
            nu = self.nu[self._shard[0]:self._shard[1]]
            self._asgd = ShardedAveragedSGD(psi0, nu, gamma=self.asgd_gamma)
        else:
            self._asgd = AveragedSGD(psi0, self.nu, gamma=self.asgd_gamma)
        return self._asgd

    def _sd_generator_loss(self, x):
        """``(loss, mean psi^c)``: the loss to differentiate and ``mean psi^c(g(z))`` over the
        whole batch. In a process group, every rank's batch is gathered (the sharded
        c-transform needs the same points everywhere) and each rank differentiates the mean over
        its own points; DDP's gradient average is then the gradient of the global mean."""
        if self.world_size == 1:
            loss = sdwgan_generator_loss(self.psi, self.data, x, self.cost, memory=self.memory)
            return loss, loss.detach()
        xs, first = gather_rows(x)
        values, _ = sharded_c_transform(self.psi.detach(), self._y_local, xs, self.cost,
                                        memory=self.memory)
        return values[first:first + x.shape[0]].mean(), values.detach().mean()

    def _nu_dot_psi(self):
        a, b = self._shard
        out = torch.dot(self.nu[a:b], self.psi)
        if self.world_size > 1:
            dist.all_reduce(out)
        return out

    def _sd_step(self, it):
        nan = torch.tensor(float("nan"))
        d_loss = nan
        if self.step_mode != "generator":
            asgd = self._asgd_state()
            with torch.no_grad():
                for _ in range(self._critic_steps(it)):
                    x = self.generator(self._noise(self.batch_size))
                    est = asgd.step(x, self._y_local, self.cost)
                d_loss = -torch.as_tensor(est).detach()
            self.psi = asgd.psi.detach().clone()
        g_loss, semi = nan, nan
        if self.opt_g is not None:
            for s in range(self.n_gen_steps):
                x = self._train_gen(self._noise(self.batch_size))
                loss, mean_value = self._sd_generator_loss(x)
                self.opt_g.zero_grad(set_to_none=True)
                loss.backward()
                self.opt_g.step()
                if s == 0:
                    g_loss = mean_value
                    semi = g_loss + self._nu_dot_psi()
        return d_loss, g_loss, semi

    def _iterate(self):
        it = self.iteration + 1
        nan = torch.tensor(float("nan"))
        if self.loss == "sdwgan":
            d_loss, g_loss, semi = self._sd_step(it)
        else:
            d_loss, g_loss, semi = nan, nan, nan
            if self.opt_d is not None:
                for _ in range(self._critic_steps(it)):
                    d_loss = self._disc_step()
            if self.opt_g is not None:
                g_loss = self._gen_step()
        self.iteration = it
        self._rec["iteration"].append(it)
        self._rec["d_loss"].append(d_loss)
        self._rec["g_loss"].append(g_loss)
        self._rec["semi_dual"].append(semi)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self):
        """Exact W2^2 to the data (and the Lipschitz estimate) now; appended to the history."""
        gen_state = self._eval_gen.get_state()
        with torch.no_grad():
            x = self.generator(self._noise(self.eval_size, self._eval_gen))
        J = self.data.shape[0]
        if J > self.eval_size:
            y = self.data[torch.as_tensor(self._np_rng.choice(J, self.eval_size, replace=False),
                                          device=self.device)]
        else:
            y = self.data
        w2 = w2_squared(x, y)
        lip_mean = lip_max = float("nan")
        if self.lipschitz and (self.discriminator is not None or self.psi is not None):
            m = min(len(x), len(y), 256)
            est = lipschitz_estimate(self.critic, x[:m], y[:m], pairs="matched",
                                     rng=self._eval_gen)
            lip_mean, lip_max = est.mean, est.max
        self._eval_gen.set_state(gen_state)
        # advance the eval stream deterministically (a fixed draw), independent of the work done
        torch.randint(0, 2, (1,), generator=self._eval_gen, device=self.device)
        for k, v in zip(self._ev, (self.iteration, w2, lip_mean, lip_max, self._train_time)):
            self._ev[k].append(v)
        return w2

    def _grid(self):
        xmin, xmax, ymin, ymax = self.snapshot_grid
        xs = np.linspace(xmin, xmax, self.grid_size)
        ys = np.linspace(ymin, ymax, self.grid_size)
        gx, gy = np.meshgrid(xs, ys)
        pts = torch.as_tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=self.dtype,
                              device=self.device)
        vals = torch.cat([self.landscape(pts[i:i + 16384]) for i in range(0, len(pts), 16384)])
        return to_numpy(vals).reshape(self.grid_size, self.grid_size), xs, ys

    def snapshot(self) -> Snapshot:
        """A :class:`Snapshot` of the current state (also stored when at ``snapshot_at``)."""
        with torch.no_grad():
            samples = to_numpy(self.generator(self._z_snap))
        gv = gx = gy = None
        if self.snapshot_grid is not None:
            gv, gx, gy = self._grid()
        psi = None if self.psi is None else to_numpy(self.gathered_psi()).copy()
        return Snapshot(iteration=self.iteration, samples=samples, grid_values=gv, grid_x=gx,
                        grid_y=gy, psi=psi)

    def _after(self):
        if self.eval_every and self.iteration % self.eval_every == 0:
            self.evaluate()
        if self.iteration in self.snapshot_at:
            self._snapshots.append(self.snapshot())

    # ------------------------------------------------------------------ public loop
    def run(self, n_iter: int) -> Trainer:
        """Run ``n_iter`` more iterations (generator updates); returns ``self``."""
        n_iter = check_int(n_iter, "n_iter", "gan.Trainer.run", minimum=0)
        from tqdm.auto import tqdm

        if self.iteration == 0 and not self._ev["eval_iteration"] and not self._snapshots:
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
        def arr(v):
            return np.array([float(t) for t in v], dtype=np.float64)

        return History(iteration=np.array(self._rec["iteration"], dtype=np.int64),
                       d_loss=arr(self._rec["d_loss"]), g_loss=arr(self._rec["g_loss"]),
                       semi_dual=arr(self._rec["semi_dual"]),
                       eval_iteration=np.array(self._ev["eval_iteration"], dtype=np.int64),
                       w2=arr(self._ev["w2"]), lip_mean=arr(self._ev["lip_mean"]),
                       lip_max=arr(self._ev["lip_max"]), time=arr(self._ev["time"]))

    @property
    def snapshots(self) -> tuple:
        """The stored :class:`Snapshot` objects, in order."""
        return tuple(self._snapshots)

    def sample(self, n: int) -> torch.Tensor:
        """``n`` generated points (from the evaluation stream; no graph)."""
        with torch.no_grad():
            return self.generator(self._noise(check_int(n, "n", "gan.Trainer.sample"),
                                              self._eval_gen))

    # ------------------------------------------------------------------ checkpoints
    @property
    def config(self) -> dict:
        """The trainer's configuration, as stored in checkpoints: the loss and its options in
        use, the data's shape, dtype (as given) and fingerprint
        (:func:`otgan.gan.checkpoint.data_fingerprint`: a hash of their bytes in order), the
        noise dimension, the training step mode, the optimizer and its settings."""
        return {
            "loss": self.loss, "data_shape": tuple(self.data.shape),
            "data_dtype": self._data_id[0], "data_fingerprint": self._data_id[1],
            "dtype": str(self.dtype).replace("torch.", ""),
            "latent_dim": int(self.generator.latent_dim), "step": self.step_mode,
            "optimizer": self.optimizer_name, "lr_g": self.lr_g, "lr_d": self.lr_d,
            "betas": self.betas, "momentum": self.momentum, "batch_size": self.batch_size,
            "n_critic": self.n_critic, "n_inner": self.n_inner, "warmup": self.warmup,
            "clip": self.clip, "gp_weight": self.gp_weight, "gp_one_sided": self.gp_one_sided,
            "gp_pairs": self.gp_pairs, "r1_gamma": self.r1_gamma, "r2_gamma": self.r2_gamma,
            "cost": repr(self.cost), "asgd_gamma": self.asgd_gamma, "psi_init": self.psi_init,
            "n_gen_steps": self.n_gen_steps, "world_size": self.world_size,
        }

    def state_dict(self) -> dict:
        """Everything needed to resume: models, optimisers, psi / ASGD, random streams, records.

        In a process group this is a collective (call it on every rank): ``psi`` and the ASGD
        state are gathered whole, and ``gen_states`` holds every rank's noise stream.
        """
        asgd = None
        if self._asgd is not None:
            asgd = {"psi_tilde": gather_rows(self._asgd.psi_tilde)[0].clone(),
                    "psi_bar": gather_rows(self._asgd.psi_bar)[0].clone(), "k": self._asgd.k}
        gen_states = None
        if self.world_size > 1:
            gen_states = [None] * self.world_size
            dist.all_gather_object(gen_states, self._gen.get_state())
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": self.config,
            "iteration": self.iteration,
            "train_time": self._train_time,
            "generator": self.generator.state_dict(),
            "discriminator": None if self.discriminator is None else
            self.discriminator.state_dict(),
            "opt_g": None if self.opt_g is None else self.opt_g.state_dict(),
            "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
            "psi": None if self.psi is None else self.gathered_psi().clone(),
            "asgd": asgd,
            "gen_state": self._gen.get_state(),
            "gen_states": gen_states,
            "eval_gen_state": self._eval_gen.get_state(),
            "np_rng_state": self._np_rng.bit_generator.state,
            "records": {k: [float(t) for t in v] if k != "iteration" else list(v)
                        for k, v in self._rec.items()},
            "evals": {k: list(v) for k, v in self._ev.items()},
            "snapshots": list(self._snapshots),
        }

    def load_state_dict(self, state: dict) -> Trainer:
        """Restore a :meth:`state_dict` into a trainer built with the same arguments (in a
        process group: on every rank, with the same number of processes).

        Raises :class:`otgan.errors.CheckpointError` (a ``ValueError``) when ``state`` is not a
        checkpoint of this format and version, or was written by a trainer of another
        structural configuration (loss, data shape or values, dtype, noise dimension, step
        mode, optimizer), naming every mismatch; other settings that differ (learning rates,
        batch size...) give a warning that names them.
        """
        return self._restore(state, "gan.Trainer.load_state_dict", None)

    def _restore(self, state, where, path):
        check_checkpoint(state, self.config, data=self.data, where=where, path=path,
                         stacklevel=4)
        if self.world_size > 1 and len(state.get("gen_states") or ()) != self.world_size:
            n = len(state.get("gen_states") or ()) or 1
            raise ValueError(f"gan.Trainer.load_state_dict: the checkpoint was written by {n} "
                             f"process(es); resume it with {n}, not {self.world_size}")
        a, b = self._shard if self.psi is not None else (None, None)
        self.iteration = int(state["iteration"])
        self._train_time = float(state["train_time"])
        self.generator.load_state_dict(state["generator"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
        if self.opt_g is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        if state["psi"] is not None:
            self.psi = state["psi"][a:b].to(device=self.device, dtype=self.dtype)
        if state["asgd"] is not None:
            from ..semidiscrete import AveragedSGD

            psi_bar = state["asgd"]["psi_bar"][a:b].to(self.device)
            if self.world_size > 1:
                asgd = ShardedAveragedSGD(psi_bar, self.nu[a:b], gamma=self.asgd_gamma)
            else:
                asgd = AveragedSGD(psi_bar, self.nu, gamma=self.asgd_gamma)
            asgd.psi_tilde = state["asgd"]["psi_tilde"][a:b].to(self.device)
            asgd.k = int(state["asgd"]["k"])
            self._asgd = asgd
        if self.world_size > 1:
            self._gen.set_state(state["gen_states"][self.rank])
        else:
            self._gen.set_state(state["gen_state"])
        self._eval_gen.set_state(state["eval_gen_state"])
        self._np_rng.bit_generator.state = state["np_rng_state"]
        self._rec = {k: list(v) for k, v in state["records"].items()}
        self._ev = {k: list(v) for k, v in state["evals"].items()}
        self._snapshots = list(state["snapshots"])
        return self

    def save(self, path) -> None:
        """Write a checkpoint (``torch.save`` of :meth:`state_dict`).

        In a process group, call it on every rank: rank 0 writes the file, and every rank
        returns once it is written.
        """
        state = self.state_dict()
        if self.rank == 0:
            write_checkpoint(state, path)
        if self.world_size > 1:
            dist.barrier()

    def load(self, path) -> Trainer:
        """Load a checkpoint written by :meth:`save` (a trusted file: it holds numpy states).

        Raises
        ------
        FileNotFoundError
            No such file.
        otgan.errors.CheckpointError
            A truncated or foreign file, or a checkpoint of another format version or of a
            trainer with another configuration (see :meth:`load_state_dict`); the message names
            the file.
        """
        where = "gan.Trainer.load"
        state = read_checkpoint(path, map_location=self.device, where=where)
        return self._restore(state, where, path)


def train(data, n_iter: int, **kwargs) -> TrainResult:
    """Build a :class:`Trainer` on ``data`` with ``kwargs`` and run ``n_iter`` iterations.

    Examples
    --------
    >>> from otgan.datasets import six_points
    >>> res = train(six_points(), 20, loss="sdwgan", seed=0, eval_every=20)
    >>> res.history.w2.shape
    (2,)
    """
    tr = Trainer(data, **kwargs).run(n_iter)
    return TrainResult(generator=tr.generator, discriminator=tr.discriminator,
                       psi=tr.gathered_psi(),
                       history=tr.history, snapshots=tr.snapshots, trainer=tr)
