"""Checkpoints of :class:`otgan.gan.trainer.Trainer`: the format, the data fingerprint, the checks.

A checkpoint is a dict written by ``torch.save``: ``"format"`` (:data:`CHECKPOINT_FORMAT`),
``"version"`` (:data:`CHECKPOINT_VERSION`), ``"config"`` (the trainer's configuration,
:attr:`otgan.gan.trainer.Trainer.config`) and the training state (models, optimisers, ``psi``,
random streams, records). Loading compares the saved configuration with the loading trainer's:

- the *structural* entries (:data:`STRUCTURAL`: the loss, the data, the dtype, the noise
  dimension, the step mode, the optimiser) must match, else :class:`otgan.errors.CheckpointError`
  names every mismatch and the file;
- the other entries (learning rates, batch size...) may differ, with a warning naming them.

The data are identified by :func:`data_fingerprint`: a SHA-256 of their dtype, shape and bytes in
order. A permutation of the points (every ``psi_j`` of a semi-discrete run would then sit on
another point), swapped coordinates, one changed value or another dtype all change it.

Checkpoints of format version 1 recorded only the float64 sum and sum of squares of the data
(:func:`legacy_data_checksum`), which no permutation changes. They still load when that checksum
matches, with a warning saying that the order of the data could not be checked; save them again
to record the fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import warnings

import numpy as np
import torch
import torch.distributed as dist

from .._utils import to_numpy
from ..errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "STRUCTURAL",
    "Checkpointing",
    "check_checkpoint",
    "data_fingerprint",
    "legacy_data_checksum",
    "read_checkpoint",
    "write_checkpoint",
]

#: Format written by :meth:`Trainer.save <otgan.gan.trainer.Trainer.save>` (``state["format"]``).
CHECKPOINT_FORMAT = "otgan.gan.Trainer checkpoint"
#: Version written (``state["version"]``); version 1 (a checksum of the data) is still read.
CHECKPOINT_VERSION = 2
_READABLE = (1, 2)
#: Configuration entries a checkpoint must share with the trainer loading it.
STRUCTURAL = ("loss", "data_shape", "data_dtype", "data_fingerprint", "data_checksum", "dtype",
              "latent_dim", "step", "optimizer")
_DATA_HINT = {
    "data_fingerprint": " (the same shape and dtype, but other values or the same values in "
                        "another order: permuted points, swapped coordinates, a changed value)",
    "data_checksum": " (the data's float64 sum and sum of squares differ: other values)",
}


def data_fingerprint(data) -> str:
    """SHA-256 of an array's dtype, shape and bytes in C order (little-endian).

    Parameters
    ----------
    data : array_like or torch.Tensor
        Any array (a tensor is read on the CPU).

    Returns
    -------
    str
        64 hexadecimal digits. Equal arrays of the same dtype and shape give the same string;
        permuting rows or columns, changing one bit of one value or the dtype changes it.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> data_fingerprint(y) == data_fingerprint(y.copy())
    True
    >>> data_fingerprint(y) == data_fingerprint(y[::-1])
    False
    """
    arr = np.ascontiguousarray(to_numpy(data))
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    h = hashlib.sha256(f"{arr.dtype.name}{arr.shape}".encode())
    h.update(arr.tobytes(order="C"))
    return h.hexdigest()


def legacy_data_checksum(data) -> tuple:
    """Compute the data check of checkpoint version 1: the float64 sum and sum of squares.

    Parameters
    ----------
    data : torch.Tensor
        The trainer's data (in its dtype, as version 1 computed it).

    Returns
    -------
    tuple of float
        ``(sum, sum of squares)``; blind to the order of the values.
    """
    y = torch.as_tensor(data).detach().to(torch.float64)
    return (float(y.sum()), float((y * y).sum()))


def _plain(v):
    """Convert configuration values to plain Python for comparisons (tuples for lists)."""
    if isinstance(v, (list, tuple)):
        return tuple(_plain(u) for u in v)
    return v


def _same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def _source(path):
    return "the state" if path is None else repr(os.fspath(path))


def check_checkpoint(state, config: dict, *, data, where: str, path=None, stacklevel: int = 3):
    """Check that ``state`` is a checkpoint the trainer of configuration ``config`` can resume.

    Parameters
    ----------
    state : object
        What was read (a checkpoint is a dict of format :data:`CHECKPOINT_FORMAT`).
    config : dict
        The loading trainer's configuration (:attr:`otgan.gan.trainer.Trainer.config`).
    data : torch.Tensor
        The loading trainer's data (for the checksum of version-1 checkpoints).
    where : str
        The caller's name, for messages.
    path : str or os.PathLike, optional
        The file ``state`` came from (named in messages).
    stacklevel : int
        Of the warnings, counted from the caller of this function.

    Returns
    -------
    int
        The checkpoint's format version.

    Raises
    ------
    otgan.errors.CheckpointError
        Not a checkpoint of this format, an unknown version, or a structural entry
        (:data:`STRUCTURAL`) that differs; the message names the file and each mismatch.
    """
    src = _source(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        got = (f"a dict with keys {sorted(map(str, state))[:8]}" if isinstance(state, dict)
               else f"a {type(state).__name__}")
        raise CheckpointError(
            f"{where}: {src} is not a Trainer checkpoint (no format {CHECKPOINT_FORMAT!r}); got "
            f"{got}. Write checkpoints with Trainer.save", path=path)
    version = state.get("version")
    if version not in _READABLE:
        raise CheckpointError(
            f"{where}: {src} has checkpoint format version {version!r}; this otgan reads "
            f"versions {', '.join(map(str, _READABLE))}", path=path)
    saved, now = dict(state.get("config") or {}), dict(config)
    if version == 1:  # a checksum instead of the fingerprint, and defaults of unused options
        now = {k: v for k, v in now.items()
               if v is not None and k not in ("data_dtype", "data_fingerprint")}
        now["data_checksum"] = legacy_data_checksum(data)
    diff = [k for k in now if not _same(_plain(saved.get(k)), _plain(now[k]))]
    hard = [k for k in diff if k in STRUCTURAL]
    if hard:
        detail = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, this trainer {now[k]!r}"
                           f"{_DATA_HINT.get(k, '')}" for k in hard)
        raise CheckpointError(
            f"{where}: {src} was written by a trainer with another configuration ({detail}). "
            "Build the trainer with the same loss, data and models to resume", path=path,
            mismatches=hard)
    if version == 1:
        warnings.warn(
            f"{where}: {src} is a checkpoint of format version 1, which records only the sum and "
            "the sum of squares of the data: they match, but the order of the points and of "
            "their coordinates cannot be checked. Save it again to record the data's "
            "fingerprint", UserWarning, stacklevel=stacklevel)
    if diff:
        detail = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {now[k]!r}" for k in diff)
        warnings.warn(f"{where}: resuming {src} with other settings ({detail}); the run will "
                      "not continue as the original would have", UserWarning,
                      stacklevel=stacklevel)
    return version


def read_checkpoint(path, *, map_location, where: str):
    """Read a file written by :func:`write_checkpoint` (a trusted file: it holds numpy states).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    map_location : torch.device or str
        Where the tensors are loaded.
    where : str
        The caller's name, for messages.

    Returns
    -------
    object
        What the file holds (check it with :func:`check_checkpoint`).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As ``open`` does.
    otgan.errors.CheckpointError
        A truncated file, or one that ``torch.load`` cannot read; the message names the file.
    """
    try:
        return torch.load(os.fspath(path), map_location=map_location, weights_only=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # truncated zip, pickle of something else, ...
        raise CheckpointError(
            f"{where}: {os.fspath(path)!r} is not a readable checkpoint ({type(exc).__name__}:"
            f" {exc}). Was it written completely by Trainer.save?", path=path) from exc


def write_checkpoint(state: dict, path) -> None:
    """Write ``state`` to ``path`` with ``torch.save``.

    Parameters
    ----------
    state : dict
        A checkpoint (:meth:`otgan.gan.trainer.Trainer.state_dict`).
    path : str or os.PathLike
        The file (overwritten).
    """
    torch.save(state, os.fspath(path))


# the settings a checkpoint records besides the data, the dtype and the noise dimension
_CONFIG = ("lr_g", "lr_d", "betas", "momentum", "batch_size", "n_critic", "n_inner", "warmup",
           "clip", "gp_weight", "gp_one_sided", "gp_pairs", "r1_gamma", "r2_gamma", "cost",
           "asgd_gamma", "psi_init", "n_gen_steps")


class Checkpointing:
    """Checkpoints of :class:`otgan.gan.trainer.Trainer` (its base class).

    The trainer provides ``options``, ``data``, ``generator``, ``opt_g``, ``game``,
    ``streams``, ``records``, ``iteration``, ``rank`` and ``world_size``; a checkpoint holds
    the configuration, the generator and its optimiser, the game's state (discriminator or
    ``psi`` and ASGD), the random streams and the records.
    """

    @property
    def config(self) -> dict:
        """The configuration stored in checkpoints.

        The loss and the options in use, the data's shape, dtype (as given) and fingerprint
        (:func:`otgan.gan.checkpoint.data_fingerprint`), the noise dimension, the step mode and
        the optimizer.
        """
        s = self._settings
        return {"loss": self.loss, "data_shape": tuple(self.data.shape),
                "data_dtype": self._data_id[0], "data_fingerprint": self._data_id[1],
                "dtype": str(self.dtype).replace("torch.", ""),
                "latent_dim": int(self.generator.latent_dim), "step": self.options.step,
                "optimizer": self.options.optimizer.optimizer,
                **{k: repr(s[k]) if k == "cost" and s[k] is not None else s[k] for k in _CONFIG},
                "world_size": self.world_size}

    def state_dict(self) -> dict:
        """Everything needed to resume: models, optimisers, psi / ASGD, random streams, records.

        In a process group this is a collective (call it on every rank): ``psi`` and the ASGD
        state are gathered whole, and ``gen_states`` holds every rank's noise stream.

        Returns
        -------
        dict
            A checkpoint of format :data:`~otgan.gan.checkpoint.CHECKPOINT_FORMAT`.
        """
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "config": self.config, "iteration": self.iteration,
                "train_time": self._train_time, "generator": self.generator.state_dict(),
                "opt_g": None if self.opt_g is None else self.opt_g.state_dict(),
                **self.game.state_dict(), **self.streams.state_dict(),
                **self.records.state_dict()}

    def load_state_dict(self, state: dict) -> Checkpointing:
        """Restore a :meth:`state_dict` into a trainer built with the same arguments and data.

        In a process group: on every rank, with the same number of processes.

        Parameters
        ----------
        state : dict
            A checkpoint.

        Returns
        -------
        Trainer
            ``self``.

        Raises
        ------
        otgan.errors.CheckpointError
            Not a checkpoint of a readable version, or one of another structural configuration
            (loss, data shape, dtype or fingerprint, noise dimension, step mode, optimizer),
            naming every mismatch; other settings that differ give a warning naming them.
        """
        return self._restore(state, "gan.Trainer.load_state_dict", None)

    def _restore(self, state, where, path):
        check_checkpoint(state, self.config, data=self.data, where=where, path=path,
                         stacklevel=4)
        self.streams.load_state_dict(state, self.rank)
        self.iteration, self._train_time = int(state["iteration"]), float(state["train_time"])
        self.generator.load_state_dict(state["generator"])
        if self.opt_g is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        self.game.load_state_dict(state)
        self.records.load_state_dict(state)
        return self

    def save(self, path) -> None:
        """Write a checkpoint (``torch.save`` of :meth:`state_dict`).

        In a process group, call it on every rank: rank 0 writes the file, and every rank
        returns once it is written.

        Parameters
        ----------
        path : str or os.PathLike
            The file.
        """
        state = self.state_dict()
        if self.rank == 0:
            write_checkpoint(state, path)
        if self.world_size > 1:
            dist.barrier()

    def load(self, path) -> Checkpointing:
        """Load a checkpoint written by :meth:`save` (a trusted file: it holds numpy states).

        Parameters
        ----------
        path : str or os.PathLike
            The file.

        Returns
        -------
        Trainer
            ``self``.

        Raises
        ------
        FileNotFoundError
            No such file.
        otgan.errors.CheckpointError
            A truncated or foreign file, or a checkpoint the trainer cannot resume (see
            :meth:`load_state_dict`); the message names the file.
        """
        where = "gan.Trainer.load"
        return self._restore(read_checkpoint(path, map_location=self.device, where=where),
                             where, path)
