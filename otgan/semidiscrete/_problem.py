"""The semi-discrete problem, validated and converted once at the public boundary.

Every public entry (:func:`~otgan.semidiscrete.solve`, :func:`~otgan.semidiscrete.newton`,
:func:`~otgan.semidiscrete.asgd`, :func:`otgan.w1.optimal_critic`) builds a :class:`Problem`
here, with messages that name the function the user called and the argument at fault; the
solvers behind it work on float64 numpy arrays and never validate again.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .. import laguerre
from .._utils import check_points, check_vector, check_weights, like, to_numpy
from ..costs import Cost, get_cost
from ..measures import DensityMeasure

__all__ = ["Problem", "check_psi0", "exact_problem", "rel_errors", "sampled_problem", "warn_caller"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Problem:
    """A validated semi-discrete problem ``mu -> nu = sum_j nu_j delta_{y_j}``.

    Attributes
    ----------
    where : str
        The public function the user called (``"semidiscrete.solve"``), for messages.
    mu : measure or callable
        The source.
    y : numpy float64 array (J, d)
        Distinct sites.
    nu : numpy float64 array (J,)
        Target masses (summing to one; exactly, for the exact solvers).
    cost : otgan.costs.Cost
    y_in : array
        The caller's ``y``: the potential is given back in its library, device and dtype.
    """

    where: str
    mu: object
    y: np.ndarray
    nu: np.ndarray
    cost: Cost
    y_in: object

    @property
    def J(self) -> int:
        """The number of sites."""
        return self.y.shape[0]

    def give_back(self, psi):
        """``psi`` (numpy float64) in the library/device/dtype of the caller's ``y``."""
        return like(psi, self.y_in)


def _sites(y, where, dim=None):
    y = check_points(y, "y", where, dim=dim)
    yn = to_numpy(y, dtype=np.float64)
    laguerre.check_distinct(yn, where)
    return y, yn


def exact_problem(where, mu, y, nu, cost) -> Problem:
    """Return the validated problem of the exact solvers (damped Newton on exact cells).

    It needs a cost with exact cells (quadratic or Euclidean), ``mu`` a 2D measure with a
    density, 2D distinct sites, and strictly positive masses (normalised to sum exactly to
    one); anything else is a ValueError or TypeError naming ``where`` and the argument.
    """
    c = get_cost(cost)
    laguerre.geometry(c, where)  # a cost without exact cells: one message, naming 'cost'
    if not isinstance(mu, DensityMeasure):
        raise ValueError(
            f"{where}: the exact Newton solver needs 'mu' to be a 2D measure with a density "
            f"(otgan.measures.Uniform or ImageDensity): a density is what the exact cells "
            f"integrate; got {type(mu).__name__}. Use method='asgd' for samplers and discrete "
            "measures"
        )
    shape = tuple(y.shape) if hasattr(y, "shape") else np.shape(y)
    if len(shape) != 2 or shape[1] != 2:
        raise ValueError(f"{where}: the exact Newton solver needs 'y' of shape (J, 2) (sites "
                         f"in the plane); got {shape}")
    y_t, yn = _sites(y, where, dim=2)
    J = len(yn)
    nun = to_numpy(check_weights(nu, J, "nu", where, match=f"'y' ({J} sites)"),
                   dtype=np.float64)
    nun = nun / nun.sum()  # exactly a probability vector (float32 or nearly normalised input)
    if (nun <= 0).any():
        j = int(np.argmin(nun))
        raise ValueError(
            f"{where}: 'nu' must be strictly positive for Newton (a zero target mass leaves a "
            f"cell degenerate); got nu[{j}] = {nun[j]:.3g}. Drop the zero-mass sites, or use "
            "method='asgd'"
        )
    return Problem(where, mu, yn, nun, c, y)


def _check_sampler(mu, where):
    if isinstance(mu, torch.nn.Module):
        raise TypeError(
            f"{where}: 'mu' is a torch module ({type(mu).__name__}); wrap a generator network "
            "as a measure: otgan.measures.Sampler(generator, latent_dim=...) draws "
            "generator(noise)"
        )
    if not (hasattr(mu, "sample") or callable(mu)):
        raise TypeError(
            f"{where}: 'mu' must be an otgan measure (with a .sample(n, rng=...) method) or a "
            f"callable (n, rng) -> points; got {type(mu).__name__}"
        )


def sampled_problem(where, mu, y, nu, cost) -> Problem:
    """Return the validated problem of the stochastic solver.

    It takes ``mu`` a measure or sampler, any cost, distinct sites of any dimension, and
    non-negative masses summing to one; anything else is a ValueError or TypeError naming
    ``where`` and the argument.
    """
    _check_sampler(mu, where)
    c = get_cost(cost)
    y_t, yn = _sites(y, where)
    J = len(yn)
    nu = check_weights(nu, J, "nu", where, match=f"'y' ({J} sites)")
    return Problem(where, mu, yn, to_numpy(nu, dtype=np.float64), c, y)


def check_psi0(psi0, J, where):
    """Return a starting potential (J,) validated, as a float64 numpy copy (None stays None)."""
    if psi0 is None:
        return None
    return to_numpy(check_vector(psi0, J, "psi0", where, match=f"'y' ({J} sites)"),
                    dtype=np.float64).copy()


def rel_errors(masses, nu):
    """``(max_j, mean_j)`` of ``|masses_j - nu_j| / nu_j`` over the sites with ``nu_j > 0``."""
    pos = nu > 0
    rel = np.abs(masses[pos] - nu[pos]) / nu[pos]
    return float(rel.max()), float(rel.mean())


def warn_caller(message, category):
    """``warnings.warn`` pointing at the first frame outside otgan: the user's line."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PKG):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
