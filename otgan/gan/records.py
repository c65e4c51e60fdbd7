"""What a :class:`otgan.gan.trainer.Trainer` records: losses, evaluations and snapshots.

:class:`Records` accumulates them during training (and into checkpoints); :class:`History` and
:class:`Snapshot` are what users read; :func:`w2_squared` is the exact evaluation metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._utils import to_numpy
from ..plot import grid
from .penalties import lipschitz_estimate

__all__ = ["History", "Records", "Snapshot", "TrainResult", "evaluate", "grid_values", "w2_squared"]


def w2_squared(x, y) -> float:
    """Exact ``W2^2`` between the uniform empirical measures on ``x`` and ``y``.

    POT's network simplex ``ot.emd2`` on the cost ``||x_i - y_j||^2`` (float64).

    Parameters
    ----------
    x : array_like, shape (n, d)
        Points (numpy or torch).
    y : array_like, shape (m, d)
        Points.

    Returns
    -------
    float
        ``min over couplings of sum_ij pi_ij ||x_i - y_j||^2``.
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

    Parameters
    ----------
    iteration : int
        The iteration (0: before training).
    samples : numpy.ndarray, shape (snapshot_size, d)
        ``g_theta(z)`` for latents ``z`` drawn once when the trainer is built (the same ``z`` at
        every snapshot).
    grid_values : numpy.ndarray, shape (n_grid, n_grid), optional
        For 2D data when ``snapshot_grid`` is set: the critic drawn on the pixel-centre grid of
        :func:`otgan.plot.grid`, in image order: ``grid_values[i, j]`` at
        ``(grid_x[j], grid_y[i])``, row 0 at the top (``grid_y`` decreasing), ready for
        :func:`otgan.plot.landscape`. ``sigmoid(D)`` for GAN / NS-GAN, ``D`` for WGANs,
        ``psi^c`` for sdwgan.
    grid_x, grid_y : numpy.ndarray, optional
        The pixel centres along ``x`` (increasing) and ``y`` (decreasing).
    psi : numpy.ndarray, shape (J,), optional
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

    Parameters
    ----------
    iteration : numpy.ndarray, shape (n,)
        Iteration (1-based generator updates) of each loss record.
    d_loss : numpy.ndarray, shape (n,)
        Last discriminator / critic loss of the iteration (sdwgan: minus the last ASGD batch
        semi-dual estimate).
    g_loss : numpy.ndarray, shape (n,)
        Generator loss (sdwgan: ``mean psi^c(g(z))``).
    semi_dual : numpy.ndarray, shape (n,)
        sdwgan: batch estimate of ``H(psi, theta) = mean psi^c(g(z)) + nu . psi`` at the
        generator step (the training curve; NaN for other losses).
    eval_iteration : numpy.ndarray, shape (m,)
        Iterations of the evaluations (0 is before training).
    w2 : numpy.ndarray, shape (m,)
        Exact ``W2^2`` between generated points and the data.
    lip_mean, lip_max : numpy.ndarray, shape (m,)
        Mean and max ``||grad D||`` on segments (NaN when not computed).
    time : numpy.ndarray, shape (m,)
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
    """What :func:`otgan.gan.trainer.train` returns.

    Parameters
    ----------
    generator : torch.nn.Module
        The trained generator.
    discriminator : torch.nn.Module or None
        The trained discriminator (None for sdwgan).
    psi : torch.Tensor or None
        The dual weights (sdwgan).
    history : History
        The training curves.
    snapshots : tuple of Snapshot
        The stored snapshots.
    trainer : otgan.gan.trainer.Trainer
        The trainer (to continue training).
    """

    generator: nn.Module
    discriminator: nn.Module | None
    psi: torch.Tensor | None
    history: History
    snapshots: tuple
    trainer: object


_LOSSES = ("iteration", "d_loss", "g_loss", "semi_dual")
_EVALS = ("eval_iteration", "w2", "lip_mean", "lip_max", "time")


class Records:
    """The records of a run: one row of losses per iteration, one per evaluation, snapshots."""

    def __init__(self):
        self.losses = {k: [] for k in _LOSSES}
        self.evals = {k: [] for k in _EVALS}
        self.snapshots = []

    def add_losses(self, iteration: int, d_loss, g_loss, semi_dual) -> None:
        """Append the losses of ``iteration``.

        Parameters
        ----------
        iteration : int
            The iteration.
        d_loss, g_loss, semi_dual : torch.Tensor or float
            Its losses (tensors are read when the history is built).
        """
        for k, v in zip(_LOSSES, (iteration, d_loss, g_loss, semi_dual), strict=True):
            self.losses[k].append(v)

    def add_evaluation(self, iteration: int, w2: float, lip_mean: float, lip_max: float,
                       time: float) -> None:
        """Append an evaluation.

        Parameters
        ----------
        iteration : int
            The iteration.
        w2 : float
            ``W2^2`` to the data.
        lip_mean, lip_max : float
            The Lipschitz estimate (NaN when not computed).
        time : float
            Training time so far (s).
        """
        for k, v in zip(_EVALS, (iteration, w2, lip_mean, lip_max, time), strict=True):
            self.evals[k].append(v)

    def empty(self) -> bool:
        """Nothing evaluated or stored yet.

        Returns
        -------
        bool
            True before the first evaluation and snapshot.
        """
        return not self.evals["eval_iteration"] and not self.snapshots

    def history(self) -> History:
        """Return the records as arrays.

        Returns
        -------
        History
            float64 arrays (int64 iterations).
        """
        def arr(v):
            return np.array([float(t) for t in v], dtype=np.float64)

        r, e = self.losses, self.evals
        return History(iteration=np.array(r["iteration"], dtype=np.int64),
                       d_loss=arr(r["d_loss"]), g_loss=arr(r["g_loss"]),
                       semi_dual=arr(r["semi_dual"]),
                       eval_iteration=np.array(e["eval_iteration"], dtype=np.int64),
                       w2=arr(e["w2"]), lip_mean=arr(e["lip_mean"]), lip_max=arr(e["lip_max"]),
                       time=arr(e["time"]))

    def state_dict(self) -> dict:
        """Return the records, for checkpoints (losses as floats).

        Returns
        -------
        dict
            ``records``, ``evals`` and ``snapshots``.
        """
        return {"records": {k: [float(t) for t in v] if k != "iteration" else list(v)
                            for k, v in self.losses.items()},
                "evals": {k: list(v) for k, v in self.evals.items()},
                "snapshots": list(self.snapshots)}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`.

        Parameters
        ----------
        state : dict
            A checkpoint.
        """
        self.losses = {k: list(v) for k, v in state["records"].items()}
        self.evals = {k: list(v) for k, v in state["evals"].items()}
        self.snapshots = list(state["snapshots"])


def evaluate(generator, critic, batches, streams, size: int, lipschitz: bool) -> tuple:
    """Exact ``W2^2`` between ``size`` generated points and the data, and the critic's slope.

    The generated points and the interpolation come from the evaluation stream, which is then
    put back and advanced by one fixed draw, so that evaluating never changes the training
    run; the data subset (when the data hold more than ``size`` points) from the numpy stream.

    Parameters
    ----------
    generator : torch.nn.Module
        The generator.
    critic : callable
        The raw critic (for the Lipschitz estimate).
    batches : otgan.gan.games.Batches
        The noise and the data.
    streams : otgan.gan.games.RandomStreams
        The random streams.
    size : int
        Points evaluated.
    lipschitz : bool
        Also estimate the Lipschitz constant of the critic.

    Returns
    -------
    tuple of float
        ``(W2^2, mean, max)`` of ``||grad critic||`` on segments joining up to 256 generated and
        data points (NaN without ``lipschitz``).
    """
    gen, data = streams.eval, batches.data
    gen_state = gen.get_state()
    with torch.no_grad():
        x = generator(batches.noise(size, gen))
    J = data.shape[0]
    y = data
    if J > size:
        y = y[torch.as_tensor(streams.numpy.choice(J, size, replace=False), device=data.device)]
    w2 = w2_squared(x, y)
    lip_mean = lip_max = float("nan")
    if lipschitz:
        m = min(len(x), len(y), 256)
        est = lipschitz_estimate(critic, x[:m], y[:m], pairs="matched", rng=gen)
        lip_mean, lip_max = est.mean, est.max
    gen.set_state(gen_state)
    # advance the eval stream deterministically (a fixed draw), independent of the work done
    torch.randint(0, 2, (1,), generator=gen, device=data.device)
    return w2, lip_mean, lip_max


def grid_values(landscape, extent, n: int, dtype, device) -> tuple:
    """``landscape`` on the ``n x n`` pixel-centre grid of :func:`otgan.plot.grid`.

    Parameters
    ----------
    landscape : callable
        Points ``(k, 2)`` to values ``(k,)``.
    extent : tuple (xmin, xmax, ymin, ymax)
        The window.
    n : int
        Pixels per side.
    dtype : torch.dtype
        Of the points.
    device : torch.device
        Of the points.

    Returns
    -------
    tuple of numpy.ndarray
        The values ``(n, n)`` in image order (row 0 at the top), the pixel centres along ``x``
        (increasing) and along ``y`` (decreasing).
    """
    pts = torch.as_tensor(grid(n, extent), dtype=dtype, device=device)
    vals = torch.cat([landscape(pts[i:i + 16384]) for i in range(0, len(pts), 16384)])
    return to_numpy(vals).reshape(n, n), to_numpy(pts[:n, 0]), to_numpy(pts[::n, 1])
