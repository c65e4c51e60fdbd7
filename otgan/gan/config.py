"""The Trainer's configuration: frozen, validated option objects, one per concern.

:func:`parse_options` turns the keywords of ``Trainer(data, loss=..., **options)`` into a
:class:`TrainerOptions`, which holds

- :class:`OptimizerOptions` (optimiser, learning rates, betas / momentum),
- :class:`ScheduleOptions` (critic or ASGD steps per generator step, Arjovsky et al.'s warm-up),
- the options of the loss: :class:`R1R2Options` (``"gan"``, ``"nsgan"``),
  :class:`ClippingOptions` (``"wgan"``), :class:`GradientPenaltyOptions` (``"wgan-gp"``),
  :class:`SemiDiscreteOptions` (``"sdwgan"``),
- :class:`EvaluationOptions` and :class:`SnapshotOptions`.

Defaults follow the papers and the lectures (:data:`DEFAULTS`). An option that applies to other
losses (:data:`LOSS_OPTIONS`) or other optimisers (:data:`OPTIMIZER_OPTIONS`) only is refused
with a ``ValueError`` naming it, instead of being ignored; an unknown keyword is a ``TypeError``.
Each option object checks its own values (``where`` names the caller in the messages).
"""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass

import torch

from .._utils import check_choice, check_int, check_real
from ..costs import Cost, get_cost

__all__ = [
    "DEFAULTS",
    "LOOP_KEYWORDS",
    "LOSSES",
    "LOSS_CLASSES",
    "LOSS_OPTIONS",
    "OPTIMIZER_OPTIONS",
    "STEPS",
    "ClippingOptions",
    "EvaluationOptions",
    "GradientPenaltyOptions",
    "LossDefaults",
    "OptimizerOptions",
    "R1R2Options",
    "ScheduleOptions",
    "SemiDiscreteOptions",
    "SnapshotOptions",
    "TrainerOptions",
    "parse_options",
]

LOSSES = ("gan", "nsgan", "wgan", "wgan-gp", "sdwgan")
STEPS = ("both", "discriminator", "generator")
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}
#: Options that apply to some optimizers only (``betas``: Adam; ``momentum``: SGD, RMSprop).
OPTIMIZER_OPTIONS = {"betas": ("adam",), "momentum": ("sgd", "rmsprop")}
_WHERE = "gan.Trainer"


@dataclass(frozen=True)
class LossDefaults:
    """The defaults of one loss (the papers' and the lectures' settings).

    Parameters
    ----------
    optimizer : str
        Optimiser name.
    lr_g : float
        Generator learning rate.
    lr_d : float or None
        Discriminator learning rate (None: no discriminator).
    betas : tuple of float or None
        Adam's betas (None: the optimiser has none).
    steps : str
        The keyword counting the inner steps: ``"n_critic"`` or ``"n_inner"``.
    n_steps : int
        Its default.
    """

    optimizer: str
    lr_g: float
    lr_d: float | None
    betas: tuple | None
    steps: str
    n_steps: int


#: Per-loss defaults: Adam for GAN, NS-GAN (the lectures' 2e-3), WGAN-GP (Gulrajani et al.'s 1e-4,
#: betas (0.5, 0.9)) and sdwgan; RMSprop 5e-5 for WGAN (Arjovsky et al.).
DEFAULTS = {
    "gan": LossDefaults("adam", 2e-3, 2e-3, (0.5, 0.999), "n_critic", 1),
    "nsgan": LossDefaults("adam", 2e-3, 2e-3, (0.5, 0.999), "n_critic", 1),
    "wgan": LossDefaults("rmsprop", 5e-5, 5e-5, None, "n_critic", 5),
    "wgan-gp": LossDefaults("adam", 1e-4, 1e-4, (0.5, 0.9), "n_critic", 5),
    "sdwgan": LossDefaults("adam", 1e-3, None, (0.5, 0.999), "n_inner", 10),
}


def _set(obj, **values):
    for k, v in values.items():
        object.__setattr__(obj, k, v)


# ------------------------------------------------------------------ options of the losses


@dataclass(frozen=True)
class R1R2Options:
    """Options of ``"gan"`` and ``"nsgan"``: Mescheder et al.'s R1 / R2 penalties.

    Parameters
    ----------
    r1_gamma, r2_gamma : float
        Weights of ``gamma/2 E||grad D||^2`` on data (R1) and on generated points (R2) added
        to the discriminator loss (0: none).
    where : str
        The caller named in error messages.
    """

    r1_gamma: float = 0.0
    r2_gamma: float = 0.0
    where: InitVar[str] = "gan.R1R2Options"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        _set(self, r1_gamma=check_real(self.r1_gamma, "r1_gamma", where, nonnegative=True),
             r2_gamma=check_real(self.r2_gamma, "r2_gamma", where, nonnegative=True))


@dataclass(frozen=True)
class ClippingOptions:
    """Options of ``"wgan"``: Arjovsky et al.'s weight clipping.

    Parameters
    ----------
    clip : float
        Every critic weight is clamped to ``[-clip, clip]`` after each step.
    where : str
        The caller named in error messages.
    """

    clip: float = 0.01
    where: InitVar[str] = "gan.ClippingOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        _set(self, clip=check_real(self.clip, "clip", where, positive=True))


@dataclass(frozen=True)
class GradientPenaltyOptions:
    """Options of ``"wgan-gp"``: Gulrajani et al.'s gradient penalty.

    Parameters
    ----------
    gp_weight : float
        ``lambda`` (10 in the paper; 0: no penalty).
    gp_one_sided : bool
        ``E[(||grad D|| - 1)_+^2]`` instead of the two-sided penalty.
    gp_pairs : {"matched", "all"}
        Interpolate matched pairs (the paper) or all generated-data pairs (the lecture's
        ``lipconstant``).
    where : str
        The caller named in error messages.
    """

    gp_weight: float = 10.0
    gp_one_sided: bool = False
    gp_pairs: str = "matched"
    where: InitVar[str] = "gan.GradientPenaltyOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        _set(self, gp_weight=check_real(self.gp_weight, "gp_weight", where, nonnegative=True),
             gp_one_sided=bool(self.gp_one_sided),
             gp_pairs=check_choice(self.gp_pairs, "gp_pairs", ("matched", "all"), where))


@dataclass(frozen=True)
class SemiDiscreteOptions:
    """Options of ``"sdwgan"``: the semi-discrete WGAN (no discriminator network).

    Parameters
    ----------
    cost : str or otgan.costs.Cost
        Ground cost: ``"sqeuclidean"`` (W2^2) or ``"euclidean"`` (W1).
    asgd_gamma : float, optional
        ASGD step ``gamma``; None: ``0.1 J s`` with ``s`` the mean cost between data points
        (resolved when the trainer is built).
    psi_init : {"warm", "persistent", "cold"}
        ``"warm"`` restarts the ASGD averaging at every outer iteration from the previous
        ``psi``; ``"persistent"`` keeps one ASGD run; ``"cold"`` restarts from ``psi = 0``.
    n_gen_steps : int
        Generator steps per outer iteration (each on a fresh batch).
    memory : int, optional
        Byte budget of one block of the c-transform.
    where : str
        The caller named in error messages.
    """

    cost: Cost | str = "sqeuclidean"
    asgd_gamma: float | None = None
    psi_init: str = "warm"
    n_gen_steps: int = 1
    memory: int | None = None
    where: InitVar[str] = "gan.SemiDiscreteOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        gamma = self.asgd_gamma
        _set(self, cost=get_cost(self.cost),
             asgd_gamma=None if gamma is None else check_real(gamma, "asgd_gamma", where,
                                                              positive=True),
             psi_init=check_choice(self.psi_init, "psi_init", ("warm", "persistent", "cold"),
                                   where),
             n_gen_steps=check_int(self.n_gen_steps, "n_gen_steps", where),
             memory=check_int(self.memory, "memory", where, allow_none=True))


#: The options class of each loss.
LOSS_CLASSES = {"gan": R1R2Options, "nsgan": R1R2Options, "wgan": ClippingOptions,
                "wgan-gp": GradientPenaltyOptions, "sdwgan": SemiDiscreteOptions}
_ADVERSARIAL = ("gan", "nsgan", "wgan", "wgan-gp")

#: The options that apply to some losses only, with their defaults: ``name: (losses, default)``.
#: ``None`` in a call means "this default"; passing anything else with a loss the option does not
#: apply to raises a ``ValueError`` naming it (it would otherwise be ignored). ``lr_d`` and
#: ``n_critic`` default per loss (:data:`DEFAULTS`), ``discriminator`` to an
#: :class:`otgan.gan.models.MLPDiscriminator`, ``asgd_gamma`` to ``0.1 J s`` and ``memory`` to
#: the c-transform's.
LOSS_OPTIONS = {
    "discriminator": (_ADVERSARIAL, None),
    "lr_d": (_ADVERSARIAL, None),
    "n_critic": (_ADVERSARIAL, None),
    "n_inner": (("sdwgan",), DEFAULTS["sdwgan"].n_steps),
    **{f.name: (tuple(k for k, c in LOSS_CLASSES.items() if c is cls), f.default)
       for cls in dict.fromkeys(LOSS_CLASSES.values()) for f in dataclasses.fields(cls)},
}


# ------------------------------------------------------------------ options of the loop


@dataclass(frozen=True)
class OptimizerOptions:
    """The optimiser of both players.

    Parameters
    ----------
    optimizer : {"adam", "sgd", "rmsprop"}
        Optimiser name.
    lr_g : float
        Generator learning rate.
    lr_d : float or None
        Discriminator learning rate (None without a discriminator).
    betas : tuple of float or None
        Adam's betas (None for the other optimisers).
    momentum : float or None
        SGD's / RMSprop's momentum (None for Adam).
    where : str
        The caller named in error messages.
    """

    optimizer: str
    lr_g: float
    lr_d: float | None = None
    betas: tuple | None = None
    momentum: float | None = None
    where: InitVar[str] = "gan.OptimizerOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        check_choice(self.optimizer, "optimizer", tuple(_OPTIMIZERS), where)
        uses = {k: self.optimizer in v for k, v in OPTIMIZER_OPTIONS.items()}
        _set(self, lr_g=check_real(self.lr_g, "lr_g", where, positive=True),
             lr_d=check_real(self.lr_d, "lr_d", where, positive=True, allow_none=True),
             betas=tuple(check_real(b, "betas", where, nonnegative=True)
                         for b in self.betas or (0.5, 0.999)) if uses["betas"] else None,
             momentum=check_real(0.0 if self.momentum is None else self.momentum, "momentum",
                                 where, nonnegative=True) if uses["momentum"] else None)

    def build(self, params, lr: float) -> torch.optim.Optimizer:
        """Build the optimiser of ``params`` with learning rate ``lr``.

        Parameters
        ----------
        params : iterable of torch.nn.Parameter
            What it updates.
        lr : float
            Learning rate (``lr_g`` or ``lr_d``).

        Returns
        -------
        torch.optim.Optimizer
            Adam with ``betas``, or SGD / RMSprop with ``momentum``.
        """
        extra = {k: getattr(self, k) for k, opts in OPTIMIZER_OPTIONS.items()
                 if self.optimizer in opts}
        return _OPTIMIZERS[self.optimizer](params, lr=lr, **extra)


@dataclass(frozen=True)
class ScheduleOptions:
    """How many critic (or ASGD) steps each generator step gets.

    Parameters
    ----------
    n_steps : int
        Steps per iteration (``n_critic``, or ``n_inner`` for sdwgan).
    warmup : bool, tuple (n_first, every, n_steps) or None
        Arjovsky et al.'s schedule (``True`` is ``(25, 500, 100)``): ``n_steps`` steps for the
        first ``n_first`` iterations and whenever the number of generator updates already made
        is a multiple of ``every``.
    name : str
        The keyword of ``n_steps``, for messages.
    where : str
        The caller named in error messages.
    """

    n_steps: int
    warmup: tuple | bool | None = None
    name: str = "n_critic"
    where: InitVar[str] = "gan.ScheduleOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        warmup = (25, 500, 100) if self.warmup is True else self.warmup
        if warmup is False:
            warmup = None
        if warmup is not None:
            if not (isinstance(warmup, tuple) and len(warmup) == 3):
                raise ValueError(f"{where}: 'warmup' must be a bool or a tuple (n_first, every, "
                                 f"n_steps); got {warmup!r}")
            warmup = tuple(check_int(v, "warmup", where) for v in warmup)
        _set(self, n_steps=check_int(self.n_steps, self.name, where), warmup=warmup)

    def steps(self, iteration: int) -> int:
        """Critic (or ASGD) steps at ``iteration`` (1-based).

        Parameters
        ----------
        iteration : int
            The generator update about to be made (1 for the first).

        Returns
        -------
        int
            ``n_steps``, or the warm-up's count (as in Arjovsky et al.'s code, where
            ``gen_iterations = iteration - 1``).
        """
        if self.warmup is not None:
            n_first, every, n_steps = self.warmup
            done = iteration - 1
            if done < n_first or done % every == 0:
                return n_steps
        return self.n_steps


@dataclass(frozen=True)
class EvaluationOptions:
    """When and how the trainer measures ``W2^2`` (and the critic's Lipschitz estimate).

    Parameters
    ----------
    eval_every : int
        Evaluate every so many iterations (0: never).
    eval_size : int
        Generated points (and, when the data are larger, data points) per evaluation.
    lipschitz : bool
        Record the Lipschitz estimate.
    where : str
        The caller named in error messages.
    """

    eval_every: int = 0
    eval_size: int = 500
    lipschitz: bool = True
    where: InitVar[str] = "gan.EvaluationOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        _set(self, eval_every=check_int(self.eval_every, "eval_every", where, minimum=0),
             eval_size=check_int(self.eval_size, "eval_size", where),
             lipschitz=bool(self.lipschitz))


@dataclass(frozen=True)
class SnapshotOptions:
    """Which iterations the trainer stores for figures.

    Parameters
    ----------
    snapshot_at : iterable of int
        Iterations at which to store a snapshot (0: before training).
    snapshot_size : int
        Generated points per snapshot.
    snapshot_grid : tuple (xmin, xmax, ymin, ymax), optional
        2D data: also draw the critic on a ``grid_size x grid_size`` grid.
    grid_size : int
        Pixels per side of the grid (at least 2).
    where : str
        The caller named in error messages.
    """

    snapshot_at: frozenset = frozenset()
    snapshot_size: int = 100
    snapshot_grid: tuple | None = None
    grid_size: int = 256
    where: InitVar[str] = "gan.SnapshotOptions"

    def __post_init__(self, where):
        """Validate and normalise the fields."""
        grid = self.snapshot_grid
        if grid is not None:
            if len(grid) != 4:
                raise ValueError(f"{where}: 'snapshot_grid' must be (xmin, xmax, ymin, ymax) for "
                                 f"2D data; got {grid!r}")
            grid = tuple(float(v) for v in grid)
        _set(self, snapshot_at=frozenset(check_int(i, "snapshot_at", where, minimum=0)
                                         for i in self.snapshot_at),
             snapshot_size=check_int(self.snapshot_size, "snapshot_size", where),
             snapshot_grid=grid, grid_size=check_int(self.grid_size, "grid_size", where,
                                                     minimum=2))

    def check_dimension(self, d: int, where: str) -> None:
        """``ValueError`` when a grid is asked for data that are not 2D.

        Parameters
        ----------
        d : int
            The data's dimension.
        where : str
            The caller named in the message.
        """
        if self.snapshot_grid is not None and d != 2:
            raise ValueError(f"{where}: 'snapshot_grid' must be (xmin, xmax, ymin, ymax) for 2D "
                             f"data; got {self.snapshot_grid!r} with data of dimension {d}")


@dataclass(frozen=True)
class TrainerOptions:
    """Everything a :class:`otgan.gan.trainer.Trainer` was asked for, validated.

    Parameters
    ----------
    loss : str
        One of :data:`LOSSES`.
    step : {"both", "discriminator", "generator"}
        Which player(s) train.
    batch_size : int
        Points per step.
    progress : bool
        Show a progress bar.
    optimizer : OptimizerOptions
        The optimiser.
    schedule : ScheduleOptions
        Inner steps per iteration.
    loss_options : R1R2Options, ClippingOptions, GradientPenaltyOptions or SemiDiscreteOptions
        The options of ``loss``.
    evaluation : EvaluationOptions
        Evaluations.
    snapshots : SnapshotOptions
        Snapshots.
    """

    loss: str
    step: str
    batch_size: int
    progress: bool
    optimizer: OptimizerOptions
    schedule: ScheduleOptions
    loss_options: object
    evaluation: EvaluationOptions
    snapshots: SnapshotOptions

    def settings(self) -> dict:
        """Every option by its keyword, with the value in use (None where it does not apply).

        Returns
        -------
        dict
            ``{"loss": ..., "step": ..., "lr_g": ..., "clip": ..., ...}``; ``n_critic`` and
            ``n_inner`` hold the schedule's count for the loss that uses it.
        """
        out = {k: None for k in LOSS_OPTIONS if k != "discriminator"}
        out.update(loss=self.loss, step=self.step, batch_size=self.batch_size,
                   progress=self.progress, warmup=self.schedule.warmup)
        out[self.schedule.name] = self.schedule.n_steps
        for part in (self.optimizer, self.loss_options, self.evaluation, self.snapshots):
            out.update({f.name: getattr(part, f.name) for f in dataclasses.fields(part)})
        out.update(step_mode=self.step, optimizer_name=self.optimizer.optimizer)  # older names
        return out


def _foreign(loss, optimizer, given, where):
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


#: The keywords of ``Trainer(data, loss=..., **options)`` besides those of the loss options.
LOOP_KEYWORDS = ("discriminator", "step", "optimizer", "lr_g", "lr_d", "betas", "momentum",
                 "batch_size", "n_critic", "n_inner", "warmup", "eval_every", "eval_size",
                 "lipschitz", "snapshot_at", "snapshot_size", "snapshot_grid", "grid_size",
                 "progress")


def parse_options(loss: str, options: dict, where: str = _WHERE) -> TrainerOptions:
    """Validate the keywords of ``Trainer(data, loss=loss, **options)``.

    Parameters
    ----------
    loss : str
        One of :data:`LOSSES`.
    options : dict
        The other keywords (see :class:`otgan.gan.trainer.Trainer`); ``None`` means the
        default.
    where : str
        The caller named in error messages.

    Returns
    -------
    TrainerOptions
        The options in use.

    Raises
    ------
    TypeError
        An unknown keyword.
    ValueError
        A bad value, or an option that does not apply to ``loss`` or to the optimiser (named).
    """
    known = set(LOOP_KEYWORDS) | set(LOSS_OPTIONS)
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"{where}: got an unexpected keyword argument {unknown[0]!r}; the options "
                        f"are {', '.join(sorted(known))}")
    check_choice(loss, "loss", LOSSES, where)
    get = options.get
    step = check_choice(get("step", "both"), "step", STEPS, where)
    d = DEFAULTS[loss]
    name = d.optimizer if get("optimizer") is None else get("optimizer")
    check_choice(name, "optimizer", tuple(_OPTIMIZERS), where)
    _foreign(loss, name, options, where)
    optimizer = OptimizerOptions(
        name, d.lr_g if get("lr_g") is None else get("lr_g"),
        d.lr_d if get("lr_d") is None else get("lr_d"),
        d.betas if get("betas") is None else get("betas"), get("momentum"), where=where)
    batch_size = check_int(get("batch_size", 100), "batch_size", where)
    n_steps = get(d.steps)
    schedule = ScheduleOptions(d.n_steps if n_steps is None else n_steps, get("warmup", False),
                               d.steps, where=where)
    cls = LOSS_CLASSES[loss]
    loss_options = cls(**{f.name: options[f.name] for f in dataclasses.fields(cls)
                          if options.get(f.name) is not None}, where=where)
    evaluation = EvaluationOptions(get("eval_every", 0), get("eval_size", 500),
                                   get("lipschitz", True), where=where)
    snapshots = SnapshotOptions(get("snapshot_at", ()), get("snapshot_size", 100),
                                get("snapshot_grid"), get("grid_size", 256), where=where)
    return TrainerOptions(loss, step, batch_size, bool(get("progress", False)), optimizer,
                          schedule, loss_options, evaluation, snapshots)
