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
# ... except where the numbers depend on the processor: the W1 (Apollonius) geometry integrates
# with numpy's vectorised cos/arccos/hypot and BLAS dot products, whose last bits differ between
# SIMD widths (numpy and OpenBLAS pick AVX2 or AVX-512 kernels at run time); Newton's linear
# solves amplify them. Measured on an AVX2 machine against the file made on an AVX-512 one:
# psi 2.8e-12, the masses 1.2e-10 of their largest value; the power-cell problems (numba, no
# fast-math) 8e-15. The counts (n_iter, steps, n_diagrams) stay exact everywhere.
RTOL_CPU = {"newton_w1_square": 1e-9}


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
        rtol = RTOL_CPU.get(name, RTOL)
        np.testing.assert_allclose(got[k], want, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"{name}/{k}")
