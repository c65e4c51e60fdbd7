"""Validation of sites and weights for the cell diagrams.

One place, with errors naming the public function the user called.
"""

from __future__ import annotations

import numpy as np

from .._utils import check_points, check_vector, to_numpy

__all__ = ["check_distinct", "check_sites"]


def check_sites(y, psi, where):
    """Return the sites (J, 2) and weights (J,) validated, as float64 numpy arrays.

    Raises
    ------
    ValueError
        Naming ``where``: sites not of shape ``(J, 2)`` with ``J >= 1``, weights not of shape
        ``(J,)``, or non-finite values.
    TypeError
        Naming ``where``: complex, half-precision or non-numeric inputs.
    """
    y = check_points(y, "y", where, dim=None, min_points=1)
    if y.shape[1] != 2:
        raise ValueError(f"{where}: 'y' must have shape (J, 2) (sites in the plane); got "
                         f"{tuple(y.shape)}")
    J = y.shape[0]
    psi = check_vector(psi, J, "psi", where, match=f"'y' {tuple(y.shape)}")
    return to_numpy(y, dtype=np.float64), to_numpy(psi, dtype=np.float64)


def check_distinct(y, where):
    """Raise a ValueError naming ``where`` and a pair of equal sites of ``y``, if any.

    ``y`` is a numpy float64 array (J, d), any ``d >= 1``. Duplicates are found by sorting (no
    pairwise distances): the sites that share their first coordinate with another are sorted
    lexicographically on all ``d`` coordinates, which makes equal sites adjacent, and the pair
    named is the first in lexicographic order.
    """
    order = np.argsort(y[:, 0], kind="stable")
    xs = y[order, 0]
    same_x = np.flatnonzero(xs[1:] == xs[:-1])
    if same_x.size == 0:  # all abscissae distinct (the usual case): no duplicate
        return
    cand = np.unique(np.concatenate([order[same_x], order[same_x + 1]]))
    sub = cand[np.lexsort(y[cand].T[::-1])]  # keys: the last is the primary one
    ys = y[sub]
    dup = np.flatnonzero((ys[1:] == ys[:-1]).all(axis=1))
    if dup.size:
        i, j = sorted((int(sub[dup[0]]), int(sub[dup[0] + 1])))
        raise ValueError(
            f"{where}: 'y' must hold distinct sites; y[{i}] == y[{j}] == {y[i].tolist()} "
            f"({dup.size} duplicate pair(s)). Merge duplicates (adding their masses)"
        )
