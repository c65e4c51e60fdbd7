"""The 128 x 128 test images of the image section of ``bench_semidiscrete.py``: numpy only, so
the competitors' interpreters (pysdot, sdot) import it too.

Built exactly as ``/work/shared/repro/image_newton.py`` builds them. Row 0 of every image is the
top, as in :class:`otgan.measures.ImageDensity` (pysdot's ``ScaledImage`` wants ``img[::-1]``).

- ``positive``: two Gaussian blobs and a ring, + 0.05 (strictly positive);
- ``black``: the same without the + 0.05, values below 1e-3 set to 0 (37 % black pixels);
- ``binary``: a disk and a square, 1 inside, 0 elsewhere;
- ``blobs``: two separate Gaussian blobs, values below 1e-3 set to 0 (two components).
"""

import numpy as np

N = 128
NAMES = ("positive", "black", "binary", "blobs")


def images():
    """``{name: (128, 128) float64 array}`` for the four names of :data:`NAMES`, plus ``ones``
    (the uniform density, for the convention check)."""
    n = N
    u = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(u, u[::-1])
    smooth = (np.exp(-((X - 0.3) ** 2 + (Y - 0.7) ** 2) / 0.01)
              + 0.6 * np.exp(-((X - 0.7) ** 2 + (Y - 0.3) ** 2) / 0.02)
              + 0.4 * (np.abs(np.hypot(X - 0.5, Y - 0.5) - 0.35) < 0.03))
    black = np.where(smooth < 1e-3, 0.0, smooth)
    binary = (((X - .35) ** 2 + (Y - .62) ** 2 < .2 ** 2)
              | ((np.abs(X - .72) < .13) & (np.abs(Y - .28) < .17))).astype(float)
    blobs = (np.exp(-((X - .2) ** 2 + (Y - .8) ** 2) / .004)
             + np.exp(-((X - .8) ** 2 + (Y - .2) ** 2) / .004))
    blobs[blobs < 1e-3] = 0.0
    return {"positive": smooth + 0.05, "black": black, "binary": binary, "blobs": blobs,
            "ones": np.ones((n, n))}


def image(name):
    """One image of :func:`images` by name."""
    return images()[name]
