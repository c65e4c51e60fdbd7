"""Results of the semi-discrete solvers: :class:`SemiDiscreteResult` and its typed histories."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["ASGDHistory", "NewtonHistory", "SemiDiscreteResult"]


class _MappingView(Mapping):
    """A read-only mapping over the dataclass fields that are set (``history["step"]``).

    So ``res.history`` reads like the dict it used to be; fields that are ``None`` are absent.
    """

    def _present(self):
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, key):
        if key not in self._present():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._present())

    def __len__(self):
        return len(self._present())


@dataclass(frozen=True, repr=False, eq=False)
class NewtonHistory(_MappingView):
    """Per-iteration record of :func:`otgan.semidiscrete.newton`, the same for every cost.

    Arrays of length ``n_iter + 1``; index 0 is the starting potential.

    Attributes
    ----------
    max_rel_error, mean_rel_error : numpy arrays
        ``max_j`` and ``mean_j`` of ``|mu(L_j) - nu_j| / nu_j``.
    semi_dual : numpy array
        The exact semi-dual ``H(psi)``.
    step : numpy array
        The accepted damping ``alpha`` (NaN at index 0).
    eps : numpy array
        The regularisation of the continuation stage (0: mu itself).
    blur : numpy array
        The blur (Gaussian, in pixels) of the image of the stage (0: the image itself); at
        those records ``max_rel_error`` and ``mean_rel_error`` are the stage's (the blurred
        image's), not mu's.
    n_diagrams : numpy array
        Diagrams computed so far.
    time, time_diagram, time_solve : numpy arrays
        Seconds since the start, and cumulative seconds in the diagrams and in the linear
        solves.
    """

    max_rel_error: np.ndarray
    mean_rel_error: np.ndarray
    semi_dual: np.ndarray
    step: np.ndarray
    eps: np.ndarray
    blur: np.ndarray
    n_diagrams: np.ndarray
    time: np.ndarray
    time_diagram: np.ndarray
    time_solve: np.ndarray

    def __repr__(self):
        return (f"NewtonHistory({len(self.step)} records, max_rel_error "
                f"{self.max_rel_error[0]:.3g} -> {self.max_rel_error[-1]:.3g})")


@dataclass(frozen=True, repr=False, eq=False)
class ASGDHistory(_MappingView):
    """Record of :func:`otgan.semidiscrete.asgd`.

    Attributes
    ----------
    semi_dual_batch : numpy array (n_iter,)
        Batch estimates of ``H(psi~_{k-1})``.
    grad_norm : numpy array (n_iter,)
        Euclidean norm of the batch gradient.
    step_size : numpy array (n_iter,)
        ``gamma / sqrt(k)``.
    gamma : float
        The step size.
    record_iter, max_rel_error, mean_rel_error, semi_dual, time : numpy arrays or None
        The exact records (every ``record_every`` steps, when the exact diagram applies):
        the step, the max and mean relative mass errors, the exact ``H(psi_k)``, and the seconds
        of ASGD work (records excluded). ``None`` (and absent from the mapping) otherwise.
    """

    semi_dual_batch: np.ndarray
    grad_norm: np.ndarray
    step_size: np.ndarray
    gamma: float
    record_iter: np.ndarray | None = None
    max_rel_error: np.ndarray | None = None
    mean_rel_error: np.ndarray | None = None
    semi_dual: np.ndarray | None = None
    time: np.ndarray | None = None

    def __repr__(self):
        return f"ASGDHistory({len(self.grad_norm)} steps, gamma={self.gamma:.3g})"


@dataclass(frozen=True, repr=False)
class SemiDiscreteResult:
    """Result of a semi-discrete OT solver.

    Attributes
    ----------
    psi : array (J,)
        The dual potential on the sites (defined up to an additive constant), in the library,
        device and dtype of ``y``.
    value : float
        The transport cost. Newton: ``sum_j int_{L_j} c(x, y_j) dmu(x)`` at the final ``psi``
        (W2 squared for the quadratic cost, W1 for the Euclidean one), equal to the semi-dual
        ``H(psi)`` at the optimum. ASGD: the semi-dual ``H(psi)`` (a lower bound of the cost by
        weak duality), computed exactly when the exact diagram applies, else a Monte-Carlo
        estimate.
    masses : numpy array (J,)
        ``mu(L_psi(y_j))`` (exact, or Monte-Carlo frequencies for ASGD without an exact
        diagram).
    error : float
        ``max_j |masses_j - nu_j| / nu_j`` (over the sites with ``nu_j > 0``).
    n_iter : int
        Iterations performed (Newton iterations, or ASGD steps).
    converged : bool
        ``error <= tol``.
    history : NewtonHistory or ASGDHistory
        Per-iteration diagnostics; also a read-only mapping (``history["max_rel_error"]``).
    method : str
        ``"newton"`` or ``"asgd"`` (what actually ran; ``solve(method="auto")`` reports its
        choice).
    """

    psi: object
    value: float
    masses: np.ndarray
    error: float
    n_iter: int
    converged: bool
    history: Mapping = field(repr=False)
    method: str

    def __repr__(self):
        return (f"SemiDiscreteResult(method={self.method!r}, J={len(self.masses)}, "
                f"value={self.value:.10g}, error={self.error:.3g}, n_iter={self.n_iter}, "
                f"converged={self.converged})")
