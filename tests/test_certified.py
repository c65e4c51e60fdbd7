"""The certified low-precision c-transform (otgan._certified, c_transform(method="certified")).

The low precision is emulated on the CPU (inputs rounded to bf16 / TF32, float32 product), which
is the arithmetic the bound is proved for. Checks: the bound holds on worst-case data, and the
certified argmin equals the float64 brute force exactly on adversarial near-tie data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otgan._certified import _low_inputs, certified_argmin, error_bound
from otgan.ctransform import c_transform
from tests import tolerances as tol
from tests.reference import brute_c_transform

F64 = torch.float64


def _reference(psi, y, x):
    """float64 brute force two ways (Gram blocks, direct differences); they must agree."""
    idx = c_transform(psi, y, x, method="brute")[1]
    direct = brute_c_transform(psi.numpy(), y.numpy(), x.numpy())[1]  # explicit differences
    assert torch.equal(torch.from_numpy(direct), idx), "ill-posed test data: references differ"
    return idx


def near_ties(n_sites, d, seed, eps=(1e-9, -1e-9, 1e-6, -1e-6, 1e-3, -1e-3)):
    """Sites, psi and queries on (or within eps of) the boundary between a site and its
    nearest competitor, plus duplicated sites (exact ties)."""
    g = torch.Generator().manual_seed(seed)
    y = 3.0 + torch.rand(n_sites, d, generator=g, dtype=F64)  # far from the origin
    psi = 0.05 * torch.randn(n_sites, generator=g, dtype=F64)
    psi[0] = psi[4] = 0.5  # the duplicated sites own the queries next to them
    y[1], psi[1] = y[0], psi[0]  # duplicates: exact ties across the whole search
    y[7], psi[7] = y[4], psi[4]
    xs = []
    for a in range(n_sites):
        x = y[a] + 0.3 * torch.randn(d, generator=g, dtype=F64) / d**0.5
        for _ in range(6):  # move x onto the boundary of its two best sites
            top = torch.topk(((x - y) ** 2).sum(1) - psi, 2, largest=False).indices
            i, j = int(top[0]), int(top[1])
            nrm = y[j] - y[i]
            if not nrm.any():  # a duplicated site: its ties are checked below
                break
            rhs = (y[j] ** 2).sum() - (y[i] ** 2).sum() - psi[j] + psi[i]
            x = x + (rhs - 2 * x @ nrm) / (2 * nrm @ nrm) * nrm
        else:
            xs.extend(x + e * nrm / nrm.norm() for e in eps)
    xs.append(y[0] + 1e-4)
    xs.append(y[4] - 1e-4)
    return psi, y, torch.stack(xs)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("low", ["bf16", "tf32", "fp32"])
@pytest.mark.parametrize("d", [2, 30, 784])
def test_certified_argmin_equals_float64_brute_force_on_near_ties(low, d, dtype):
    psi, y, x = (t.to(dtype) for t in near_ties(40 if d == 784 else 120, d, seed=d))
    psi64, y64, x64 = psi.double(), y.double(), x.double()  # the exact values given
    ref = _reference(psi64, y64, x64)
    idx, stats = certified_argmin(psi, y, x, low=low, return_stats=True)
    torch.testing.assert_close(idx, ref, rtol=0, atol=0)
    assert idx[-2] == 0 and idx[-1] == 4  # duplicated sites: the smallest index
    # the data are adversarial: many queries sit within 1e-5 of a tie
    s = torch.sort(((x64[:, None] - y64[None]) ** 2).sum(-1) - psi64, dim=1).values
    assert ((s[:, 1] - s[:, 0]) < 1e-5).float().mean() > 0.3
    # and the certificate works: most queries need no exact fallback
    assert stats.n_fallback <= 0.05 * len(x)
    assert stats.n_candidates >= len(x) - stats.n_fallback


def test_duplicated_sites_beyond_the_candidate_cap_fall_back_to_exact_scoring():
    g = torch.Generator().manual_seed(1)
    y = torch.rand(200, 5, generator=g, dtype=F64)
    y[100:180] = y[50]  # 81 copies of one site
    psi = torch.zeros(200, dtype=F64)
    x = torch.cat([y[50:51] + 1e-3, torch.rand(20, 5, generator=g, dtype=F64)])
    idx, stats = certified_argmin(psi, y, x, low="bf16", max_candidates=16, return_stats=True)
    assert stats.n_fallback >= 1
    assert idx[0] == 50
    torch.testing.assert_close(idx, _reference(psi, y, x), rtol=0, atol=0)


@settings(max_examples=25)
@given(d=st.integers(1, 300), scale=st.floats(1e-3, 1e3), shift=st.floats(-1e3, 1e3),
       low=st.sampled_from(["bf16", "tf32"]), seed=st.integers(0, 2**31 - 1),
       aligned=st.booleans())
def test_error_bound_holds(d, scale, shift, low, seed, aligned):
    """|S^ - S| <= E for the emulated product, including aligned data (Cauchy-Schwarz tight)."""
    g = torch.Generator().manual_seed(seed)
    if aligned:  # every coordinate of the same sign: sum |x_k y_k| = ||x|| ||y|| nearly
        y = scale * (1 + torch.rand(64, d, generator=g, dtype=F64))
        x = scale * (1 + torch.rand(16, d, generator=g, dtype=F64))
    else:
        y = scale * torch.randn(64, d, generator=g, dtype=F64) + shift
        x = scale * torch.randn(16, d, generator=g, dtype=F64) + shift
    psi = scale**2 * torch.randn(64, generator=g, dtype=F64)
    c = y.mean(0) if not aligned else torch.zeros(d, dtype=F64)  # uncentred: worst case
    yc, xc = y - c, x - c
    b = (yc * yc).sum(1) - psi
    xl, yl = _low_inputs(xc, low, False), _low_inputs(yc, low, False)
    s = b - 2 * xc @ yc.T
    bound = error_bound(xc.norm(dim=1), float(yc.norm(dim=1).max()), float(b.abs().max()), d,
                        low=low, on_gpu=False)
    # the two ways the search may form b - 2 x.y: a product then a subtraction, or addmm
    for s_low in (b.to(torch.float32) - 2 * (xl @ yl.T),
                  torch.addmm(b.to(torch.float32), xl, yl.T, alpha=-2.0)):
        err = (s_low.to(F64) - s).abs()
        assert (err <= bound[:, None]).all(), float((err / bound[:, None]).max())


def test_public_method_certified_numpy_and_torch():
    g = np.random.default_rng(0)
    y, x, psi = g.random((300, 3)), g.random((100, 3)), 0.1 * g.standard_normal(300)
    v_ref, i_ref = c_transform(psi, y, x, method="brute")
    v, i = c_transform(psi, y, x, method="certified")
    assert isinstance(i, np.ndarray) and i.dtype == np.int64
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(v, v_ref, rtol=tol.F64, atol=tol.F64)
    xt = torch.tensor(x, requires_grad=True)
    vt, it = c_transform(torch.tensor(psi), torch.tensor(y), xt, method="certified")
    vt.sum().backward()
    np.testing.assert_array_equal(it.numpy(), i_ref)
    np.testing.assert_allclose(xt.grad.numpy(), 2 * (x - y[i_ref]), rtol=tol.F64)
    with pytest.raises(ValueError, match="certified"):
        c_transform(psi, y, x, "euclidean", method="certified")
    with pytest.raises(ValueError, match="low"):
        certified_argmin(torch.tensor(psi), torch.tensor(y), torch.tensor(x), low="fp8")
