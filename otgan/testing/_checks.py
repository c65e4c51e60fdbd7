"""Input checks shared by the references and the assertions of :mod:`otgan.testing`.

Every array an assertion reads -- the user's potential, coupling, map values or diagram, and the
problem's own fields -- goes through :func:`finite_float64` first: a NaN or an infinity fails
loudly, naming the field, instead of slipping through comparisons that are all ``False``.
"""

from __future__ import annotations

import numpy as np

from .._utils import as_float_array, default_rtol, to_numpy
from .problems import DiscreteProblem, SemiDiscreteProblem


def finite_float64(v, name, where, shape=None):
    """``v`` in float64 on the CPU and the relative tolerance of its dtype.

    ``TypeError`` for complex, half-precision or non-numeric input; ``AssertionError`` naming
    ``name`` for a wrong ``shape`` or a NaN or infinite entry.
    """
    v = as_float_array(v, name, where)  # complex, half precision, non-numeric: TypeError
    dtype = v.dtype
    out = to_numpy(v, dtype=np.float64)
    if shape is not None and out.shape != shape:
        raise AssertionError(f"{where}: '{name}' must have shape {shape}; got {out.shape}")
    assert_finite(out, name, where)
    return out, default_rtol(dtype)


def assert_finite(arr, name, where):
    """``AssertionError`` naming ``name`` and the first bad entries unless ``arr`` is finite."""
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.inexact):  # integers and booleans are finite
        return
    flat = arr.ravel()
    ok = np.isfinite(flat)
    if ok.all():
        return
    if arr.ndim == 0:
        raise AssertionError(f"{where}: '{name}' is not finite ({flat[0]!r})")
    bad = np.flatnonzero(~ok)
    raise AssertionError(f"{where}: '{name}' is not finite at index {bad[:5].tolist()} "
                         f"(values {flat[bad[:5]].tolist()}; {bad.size} of {flat.size} entries)")


def is_discrete(problem):
    """Tell whether ``problem`` is a :class:`DiscreteProblem`."""
    return isinstance(problem, DiscreteProblem)


def check_problem(problem, where):
    """Check that ``problem`` is one of :mod:`otgan.testing.problems` with finite fields."""
    if not isinstance(problem, (DiscreteProblem, SemiDiscreteProblem)):
        raise TypeError(f"{where}: 'problem' must be a DiscreteProblem or SemiDiscreteProblem "
                        f"(from otgan.testing strategies); got {type(problem).__name__}")
    for field in problem.ARRAYS:
        value = getattr(problem, field)
        try:
            arr = to_numpy(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: 'problem.{field}' must be numeric; got "
                            f"{type(value).__name__}") from exc
        assert_finite(arr, f"problem.{field}", where)
    domain = getattr(problem, "mu", None)
    domain = getattr(domain, "domain", None)
    if domain is not None:
        assert_finite(np.asarray(domain.bounds, dtype=np.float64), "problem.mu.domain", where)
