"""Small shared helpers: numpy/torch dispatch, input validation, randomness, tolerances.

Everything public in otgan accepts numpy arrays or torch tensors and returns results in the
caller's library, dtype and device. This module is the one place that knows how.
"""

from __future__ import annotations

import numbers
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

# the public exceptions live in otgan.errors; re-exported here for older imports
from .errors import ArgumentTypeError, GeometryError, OtganError

__all__ = [
    "ArgumentTypeError",
    "GeometryError",
    "OtganError",
    "as_float_array",
    "as_rng",
    "check_choice",
    "check_int",
    "check_points",
    "check_real",
    "check_tensor",
    "check_tol",
    "check_vector",
    "check_weights",
    "default_rtol",
    "finite_total",
    "common_library",
    "is_torch",
    "like",
    "to_numpy",
    "torch_generator",
]


def is_torch(x) -> bool:
    """True when ``x`` is a torch tensor."""
    return isinstance(x, torch.Tensor)


def to_numpy(x, dtype=None) -> np.ndarray:
    """A numpy view/copy of ``x`` (detached from autograd, moved to the CPU)."""
    if is_torch(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def like(value, ref, *, dtype=None):
    """Return ``value`` in the library, device and (unless ``dtype`` says otherwise) dtype of ``ref``.

    Integer-valued arrays keep an integer dtype (``int64``).
    """
    if is_torch(ref):
        if is_torch(value):
            out = value.to(ref.device)
        else:
            out = torch.as_tensor(np.asarray(value), device=ref.device)
        if dtype is not None:
            return out.to(dtype)
        if out.is_floating_point():
            return out.to(ref.dtype if ref.is_floating_point() else torch.get_default_dtype())
        return out
    out = to_numpy(value)
    if dtype is not None:
        return out.astype(dtype, copy=False)
    if np.issubdtype(out.dtype, np.floating):
        ref_dtype = np.asarray(ref).dtype if not np.isscalar(ref) else np.float64
        if np.issubdtype(ref_dtype, np.floating):
            return out.astype(ref_dtype, copy=False)
    return out


def _shape(x):
    return tuple(x.shape)


def _finite(x) -> bool:
    """All entries finite (numpy: two reductions, since max/min propagate NaN, and no mask)."""
    if is_torch(x):
        return bool(torch.isfinite(x.detach()).all())
    if x.size == 0:
        return True
    return bool(np.isfinite(x.min()) and np.isfinite(x.max()))


_HALF = (torch.float16, torch.bfloat16)


def as_float_array(x, name, where):
    """A real floating array of any shape in the caller's library.

    numpy: float64 unless already float32/float64; torch: the default dtype unless already
    float32/float64. Integers and booleans are converted. Rejected with a ``TypeError`` naming
    ``name``: non-numeric data, complex numbers (never silently cut to their real part) and half
    precision (float16, bfloat16: too coarse for the sums and squared distances otgan forms;
    convert with ``.float()`` or ``.astype(np.float32)``).
    """
    if is_torch(x):
        if x.is_complex():
            raise TypeError(
                f"{where}: {name!r} must be real; got a complex tensor ({x.dtype}). "
                f"Pass its real part explicitly if that is what you mean"
            )
        if x.dtype in _HALF:
            raise TypeError(
                f"{where}: {name!r} has dtype {x.dtype}, too coarse for otgan's sums and "
                f"squared distances; convert it, e.g. {name}.float()"
            )
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{where}: {name!r} must be an array; got {type(x).__name__}") from exc
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"{where}: {name!r} must be real; got a complex array ({arr.dtype}). "
            f"Pass its real part explicitly if that is what you mean"
        )
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{where}: {name!r} must be a numeric array; got dtype {arr.dtype}")
    if arr.dtype == np.float16:
        raise TypeError(
            f"{where}: {name!r} has dtype float16, too coarse for otgan's sums and squared "
            f"distances; convert it, e.g. {name}.astype(np.float32)"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def common_library(where, **arrays):
    """Bring named arrays to one library: the one helper for numpy/torch dispatch.

    Every array is first checked by :func:`as_float_array` under its name (complex, half
    precision and non-numeric data are rejected naming it). When any input is a torch tensor,
    all become tensors on its device, in the dtype of the first *floating* tensor in argument
    order (the default dtype when no tensor is floating); tensors on another device are
    rejected naming them. Otherwise numpy arrays are returned. ``None`` entries stay ``None``.

    Returns
    -------
    (dict, ref)
        The arrays under their names, and the reference tensor (``None`` for numpy).

    Examples
    --------
    >>> import torch
    >>> out, ref = common_library("f", x=[1.0, 2.0], y=torch.zeros(2, dtype=torch.float64))
    >>> out["x"].dtype, ref.dtype
    (torch.float64, torch.float64)
    """
    tensors = [v for v in arrays.values() if is_torch(v)]
    ref = next((v for v in tensors if v.is_floating_point()), None)
    if ref is None and tensors:
        ref = tensors[0]
    out = {k: None if v is None else as_float_array(v, k, where) for k, v in arrays.items()}
    if ref is None:
        return out, None
    dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
    for k, v in out.items():
        if v is None:
            continue
        if is_torch(v):
            if v.device != ref.device:
                raise ValueError(
                    f"{where}: {k!r} is on {v.device} but other inputs are on {ref.device}; "
                    "move them to one device"
                )
            out[k] = v.to(dtype) if v.dtype != dtype else v
        else:
            out[k] = torch.as_tensor(v, dtype=dtype, device=ref.device)
    return out, ref


# ------------------------------------------------------------------------------ scalar options


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_int(v, name, where, *, minimum=1, allow_none=False):
    """An integer option ``>= minimum`` (``None`` passes when ``allow_none``).

    ``ArgumentTypeError`` (a ``TypeError`` and a ``ValueError``) for a non-integer (``2.5``,
    ``True``, ``"3"``), ``ValueError`` below ``minimum``; both name ``name``.
    """
    if v is None and allow_none:
        return None
    kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}")
    if not _is_int(v):
        raise ArgumentTypeError(
            f"{where}: {name!r} must be {kind}; got {v!r} ({type(v).__name__})"
        )
    if v < minimum:
        raise ValueError(f"{where}: {name!r} must be {kind}; got {v!r}")
    return int(v)


def check_real(v, name, where, *, positive=False, nonnegative=False, allow_none=False,
               allow_inf=False):
    """A finite real option (``positive``: ``> 0``; ``nonnegative``: ``>= 0``).

    ``ArgumentTypeError`` for a non-number (a string, a bool, a complex, an array),
    ``ValueError`` for NaN, infinities (unless ``allow_inf``) and values out of range; the
    message names ``name`` and says "must be a finite positive number" (or non-negative, or
    real). Returns a Python float.
    """
    if v is None and allow_none:
        return None
    given = v
    if is_torch(v) and v.ndim == 0 and not v.is_complex():
        v = float(v.item())
    elif isinstance(v, np.ndarray) and v.ndim == 0 and np.issubdtype(v.dtype, np.number) \
            and not np.issubdtype(v.dtype, np.complexfloating):
        v = float(v)
    kind = "positive" if positive else ("non-negative" if nonnegative else "real")
    kind = kind if allow_inf else f"finite {kind}"
    if not _is_real(v):
        raise ArgumentTypeError(
            f"{where}: {name!r} must be a {kind} number; got {given!r} ({type(given).__name__})"
        )
    v = float(v)
    bad = np.isnan(v) or (np.isinf(v) and not allow_inf)
    if bad or (positive and not v > 0) or (nonnegative and not v >= 0):
        raise ValueError(f"{where}: {name!r} must be a {kind} number; got {given!r}")
    return v


def check_tol(v, name, where, *, positive=False):
    """A tolerance: a finite number ``>= 0`` (``> 0`` when ``positive``); NaN is rejected, so a
    tolerance can never switch a check off."""
    return check_real(v, name, where, positive=positive, nonnegative=True)


def check_tensor(t, name, where, *, floating=True, nonempty=False, rows=False):
    """A torch tensor (``TypeError`` otherwise); ``floating``: of a real floating dtype;
    ``nonempty``: with at least one entry; ``rows``: of shape ``(n, ...)`` with ``n >= 1``."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{where}: {name!r} must be a torch tensor; got {type(t).__name__}")
    if floating and not t.is_floating_point():
        raise TypeError(f"{where}: {name!r} must be a floating tensor; got dtype {t.dtype}")
    if nonempty and t.numel() == 0:
        raise ValueError(f"{where}: {name!r} must not be empty; got shape {tuple(t.shape)}")
    if rows and (t.ndim < 1 or t.shape[0] == 0):
        raise ValueError(f"{where}: {name!r} must have shape (n, ...) with n >= 1; "
                         f"got {tuple(t.shape)}")
    return t


def check_choice(v, name, choices, where):
    """``v`` must be one of ``choices`` (a tuple); ``ValueError`` listing them otherwise."""
    try:
        ok = v in choices
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise ValueError(f"{where}: {name!r} must be one of {tuple(choices)}; got {v!r}")
    return v


def finite_total(total, name, where):
    """Check that the total of ``name`` is finite (it overflows for entries near 1e308)."""
    if not np.isfinite(total):
        raise ValueError(
            f"{where}: the sum of {name!r} is {total} (it overflows float64); rescale it"
        )
    return total


def check_points(x, name: str, where: str, *, dim: int | None = None, min_points: int = 1):
    """Validate a point cloud: 2D ``(n, d)``, finite, at least ``min_points`` rows.

    A 1D input of length n is read as n points in dimension 1. Returns a floating array in the
    caller's library.
    """
    x = as_float_array(x, name, where)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{where}: {name!r} must have shape (n, d); got {_shape(x)}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(
            f"{where}: {name!r} must have shape (n, {dim}) to match the other points; "
            f"got {_shape(x)}"
        )
    if x.shape[0] < min_points:
        raise ValueError(
            f"{where}: {name!r} must hold at least {min_points} point(s); got {_shape(x)}"
        )
    if not _finite(x):
        raise ValueError(f"{where}: {name!r} contains NaN or inf")
    return x


def check_vector(v, n: int, name: str, where: str, *, match: str = ""):
    """Validate a finite vector of length ``n`` (a potential, say)."""
    v = as_float_array(v, name, where)
    if v.ndim == 0:
        v = v.reshape(1)
    if v.ndim != 1 or v.shape[0] != n:
        extra = f" to match {match}" if match else ""
        raise ValueError(f"{where}: {name!r} must have shape ({n},){extra}; got {_shape(v)}")
    if not _finite(v):
        raise ValueError(f"{where}: {name!r} contains NaN or inf")
    return v


def check_weights(w, n: int, name: str, where: str, *, ref=None, match: str = "", atol=1e-6):
    """Validate probability weights of length ``n``; ``None`` gives uniform ``1/n``.

    Weights must be finite, non-negative and sum to one within ``atol`` (scaled by n when the
    dtype is single precision). Returned in the library/device/dtype of ``ref`` when given.
    """
    atol = check_tol(atol, "atol", where)
    if w is None:
        out = np.full(n, 1.0 / n)
        return like(out, ref) if ref is not None else out
    w = check_vector(w, n, name, where, match=match)
    wn = to_numpy(w, dtype=np.float64)
    if (wn < 0).any():
        i = int(np.argmin(wn))
        raise ValueError(f"{where}: {name!r} must be non-negative; got {name}[{i}] = {wn[i]:.6g}")
    with np.errstate(over="ignore"):
        total = finite_total(float(wn.sum()), name, where)
    single = (is_torch(w) and w.dtype == torch.float32) or (
        not is_torch(w) and w.dtype == np.float32
    )
    tol = max(atol, 1e-5 * np.sqrt(n)) if single else atol
    if abs(total - 1.0) > tol:
        raise ValueError(
            f"{where}: {name!r} must sum to 1 (a probability vector); got sum {total:.10g}. "
            f"Normalise it, e.g. {name} / {name}.sum()"
        )
    return like(w, ref) if ref is not None else w


def as_rng(rng) -> np.random.Generator:
    """Normalise ``rng`` (None, int, numpy Generator, torch Generator) to a numpy Generator.

    A torch Generator is used to draw a seed, so that the two streams stay reproducible.
    """
    if rng is None or isinstance(rng, (numbers.Integral, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1,), generator=rng, device=rng.device).item())
        return np.random.default_rng(seed)
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(rng.randint(0, 2**31 - 1))
    raise TypeError(
        "rng must be None, an int seed, a numpy.random.Generator or a torch.Generator; "
        f"got {type(rng).__name__}"
    )


def torch_generator(rng, device="cpu") -> torch.Generator:
    """Normalise ``rng`` to a torch Generator on ``device`` (seeded from ``rng``)."""
    device = torch.device(device)
    if isinstance(rng, torch.Generator) and rng.device.type == device.type:
        return rng
    seed = int(as_rng(rng).integers(0, 2**62))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def default_rtol(dtype) -> float:
    """A relative tolerance fitting the floating dtype: ~1e-5 single, ~1e-12 double."""
    if isinstance(dtype, torch.dtype):
        eps = torch.finfo(dtype).eps
    else:
        eps = np.finfo(np.dtype(dtype)).eps
    return float(100 * eps) if eps < 1e-10 else float(50 * eps)


# --------------------------------------------------------------------------------------------
# threads for the numba kernels (they release the GIL)
# --------------------------------------------------------------------------------------------

_POOL = [None, 0]  # one thread pool for every kernel, kept between calls, and its size


def kernel_threads(m, threads=None, *, min_size=4096):
    """How many threads a kernel over ``m`` items uses: ``threads`` if given, else the CPUs
    available (at most 8) when ``m >= min_size``, else one (threads cost more than they save
    on small inputs)."""
    if threads is not None:
        return max(int(threads), 1)
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        ncpu = os.cpu_count() or 1
    return min(ncpu, 8) if m >= min_size else 1


def kernel_map(fn, nthreads):
    """``[fn(0), ..., fn(nthreads - 1)]``, on a pool of threads kept for the next calls
    (starting threads costs about as much as the cells of a small diagram)."""
    if nthreads <= 1:
        return [fn(c) for c in range(nthreads)]
    if _POOL[0] is None or _POOL[1] < nthreads:
        if _POOL[0] is not None:
            _POOL[0].shutdown(wait=False)
        _POOL[0], _POOL[1] = ThreadPoolExecutor(nthreads, thread_name_prefix="otgan"), nthreads
    return list(_POOL[0].map(fn, range(nthreads)))

