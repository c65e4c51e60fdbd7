"""Golden values: the semi-discrete solvers reproduce the numbers recorded in
``tests/golden/semidiscrete.npz`` (made by ``tests/golden/make_golden.py``) to 1e-12.

A restructuring of the solvers must not move a number. A deliberate change of an algorithm
regenerates the file in the same commit, and the commit message says which numbers moved and why.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "golden"))
import make_golden  # noqa: E402

GOLDEN = np.load(os.path.join(HERE, "golden", "semidiscrete.npz"))
# 1e-12 relative: rounding of a reordered sum may differ, nothing more
RTOL = 1e-12


@pytest.mark.parametrize("name", sorted(make_golden.problems()))
def test_golden(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = make_golden.record(make_golden.problems()[name]())
    keys = [k.split("/", 1)[1] for k in GOLDEN.files if k.startswith(name + "/")]
    assert keys, name
    for k in keys:
        want = GOLDEN[f"{name}/{k}"]
        assert k in got, f"{name}: '{k}' is no longer recorded"
        scale = float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0))
        np.testing.assert_allclose(got[k], want, rtol=RTOL, atol=RTOL * scale,
                                   err_msg=f"{name}/{k}")
