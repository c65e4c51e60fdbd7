"""Hypothesis strategies for tests/test_closed_forms.py.

Each strategy draws a seed and builds the arrays with numpy (fast shrinking, reproducible).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def histogram_pairs(draw, n_min=1, n_max=30, zeros=True):
    """Two probability vectors of the same length; with ``zeros``, some entries may vanish
    (disjoint or nested supports happen)."""
    n = draw(st.integers(n_min, n_max))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for _ in range(2):
        w = rng.exponential(size=n)
        if zeros and draw(st.booleans()):
            w[rng.random(n) < 0.4] = 0.0
        if w.sum() == 0.0:
            w[rng.integers(n)] = 1.0
        out.append(w / w.sum())
    return out[0], out[1]


@st.composite
def gaussians(draw, d_min=1, d_max=5, rank_deficient=False):
    """``(m1, S1, m2, S2, A, B)``: random means and covariances ``S1 = A A^T``, ``S2 = B B^T``
    in dimension ``d`` (factors of shape ``(d, k)``, ``k < d`` when ``rank_deficient``)."""
    d = draw(st.integers(d_min, d_max))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out, factors = [], []
    for _ in range(2):
        k = max(1, d - 1) if rank_deficient else d + 1
        a = rng.normal(size=(d, k)) * rng.uniform(0.2, 2.0)
        out.append(rng.normal(size=d) * 2.0)
        out.append(a @ a.T)
        factors.append(a)
    return (*out, *factors)


@st.composite
def line_histograms(draw, n_min=1, n_max=25):
    """``(p, q, positions)``: two probability vectors on ``n`` distinct random positions
    (unsorted)."""
    p, q = draw(histogram_pairs(n_min=n_min, n_max=n_max))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.permutation(np.sort(rng.uniform(-5, 5, size=len(p))))
    return p, q, x
