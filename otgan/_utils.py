"""Small shared helpers: numpy/torch dispatch, input validation, randomness, tolerances.

Everything public in otgan accepts numpy arrays or torch tensors and returns results in the
caller's library, dtype and device. This module is the one place that knows how.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = [
    "GeometryError",
    "OtganError",
    "as_float_array",
    "as_rng",
    "check_points",
    "check_vector",
    "check_weights",
    "default_rtol",
    "is_torch",
    "like",
    "to_numpy",
    "torch_generator",
]


class OtganError(Exception):
    """Base class of otgan's own (non input-validation) failures."""


class GeometryError(OtganError):
    """A geometric computation failed (degenerate sites, qhull error, ...).

    Attributes
    ----------
    indices : tuple of int
        The offending site indices, when known.
    """

    def __init__(self, message, indices=()):
        super().__init__(message)
        self.indices = tuple(int(i) for i in indices)


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


def as_float_array(x, name, where):
    """A floating array of any shape in the caller's library (numpy: float64 unless already
    floating; torch: the default dtype unless already floating). TypeError for non-numbers."""
    if is_torch(x):
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{where}: {name!r} must be an array; got {type(x).__name__}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{where}: {name!r} must be a numeric array; got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


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
    if w is None:
        out = np.full(n, 1.0 / n)
        return like(out, ref) if ref is not None else out
    w = check_vector(w, n, name, where, match=match)
    wn = to_numpy(w, dtype=np.float64)
    if (wn < 0).any():
        i = int(np.argmin(wn))
        raise ValueError(f"{where}: {name!r} must be non-negative; got {name}[{i}] = {wn[i]:.6g}")
    total = float(wn.sum())
    single = (is_torch(w) and w.dtype in (torch.float32, torch.float16, torch.bfloat16)) or (
        not is_torch(w) and w.dtype in (np.float32, np.float16)
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
