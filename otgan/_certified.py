r"""Certified fast argmin of the quadratic c-transform: low-precision search, exact rescoring.

For the quadratic cost, ``argmin_j ||x_i - y_j||^2 - psi_j = argmin_j S_ij`` with

.. math:: S_{ij} = b_j - 2\, x_i \cdot y_j, \qquad b_j = \|y_j\|^2 - \psi_j

(points centred on the mean site ``c``). The matrix product ``x . y`` dominates the cost; on a
GPU it runs several times faster in TF32 or bf16 than in float32, but a low-precision product
changes the argmin near ties. This module makes the fast product exact by certification:

1. **Search.** Compute ``S^_ij`` with the product in low precision (inputs rounded to a ``p``-bit
   significand, unit roundoff ``u = 2^-p``; products exact and accumulated in float32).
2. **Bound.** For every pair, ``|S^_ij - S_ij| <= E_i`` with

   .. math:: E_i = 2\,e\,\|x_i\|\max_j\|y_j\| + (\gamma_d + 2u_{32})\max_j|b_j|
             + 2 u_{32} (1 + e) \|x_i\|\max_j\|y_j\|,\qquad
             e = 2u + u^2 + \gamma_d (1+u)^2 \;[+\,u_{out}(1+\dots)],

   from ``|x^_k y^_k - x_k y_k| <= (2u + u^2)|x_k y_k|``, the float32 summation bound
   ``gamma_d = d u_acc / (1 - d u_acc)`` (Higham 2002, Thm 3.1; on GPUs ``u_acc = 2^-21``,
   eight times float32's ``2^-24``: tensor cores truncate in alignment and normalisation,
   Fasi et al. 2021, and this leaves two more bits of slack; a model of the hardware that the
   GPU benchmark checks, not a proof about it)
   and Cauchy-Schwarz ``sum_k |x_k y_k| <= ||x|| ||y||``; ``u_out = 2^-8`` when the product
   is returned in bf16; the last two terms cover the float32 rounding of ``b`` and of
   ``b - 2 G`` (or ``b`` accumulated with the products, as a BLAS ``addmm`` may do).
3. **Candidates.** With ``m^_i = min_j S^_ij``, every minimiser of the exact ``S`` lies in
   ``C_i = {j : S^_ij <= m^_i + 2 E_i + 2 delta_i}``: if ``j*`` is exact-optimal,
   ``S^_ij* <= S_ij* + E_i <= S_ij^ + E_i <= m^_i + 2 E_i``. Conversely a site outside ``C_i``
   has an exact score larger than the best candidate's by more than ``2 delta_i``.
4. **Rescoring.** ``S_ij`` is recomputed in float64 for the candidates only (error at most
   ``delta_i``); the smallest float64 score wins, ties to the smallest index. Since every site
   outside ``C_i`` is worse by more than twice the float64 error, the result is the float64
   brute-force argmin. Queries with more than ``max_candidates`` candidates (massive ties,
   duplicated sites) are not certified cheaply and fall back to exact float64 scoring of all
   the sites.

This is a speed-up, not an approximation: the returned argmin is the exact one (in float64).

References
----------
Higham (2002). Accuracy and Stability of Numerical Algorithms, 2nd ed., Sec. 3.1.
Fasi, Higham, Mikaitis, Pranesh (2021). Numerical behavior of NVIDIA tensor cores. PeerJ CS.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch

__all__ = ["LOW_PRECISIONS", "CertifiedStats", "certified_argmin", "error_bound"]

#: low-precision formats of the candidate search: significand unit roundoff of the inputs
LOW_PRECISIONS = ("auto", "tf32", "bf16", "fp32")
_U_IN = {"tf32": 2.0**-10, "bf16": 2.0**-8, "fp32": 2.0**-24}  # tf32: truncation-safe
_U32 = 2.0**-24
_U64 = 2.0**-53


@dataclass(frozen=True)
class CertifiedStats:
    """What a certified search did.

    Attributes
    ----------
    low : str
        The low-precision format used (``"tf32"``, ``"bf16"`` or ``"fp32"``).
    emulated : bool
        True when the low precision was emulated (inputs rounded, float32 product): on the CPU.
    n_queries : int
    n_candidates : int
        Candidate pairs rescored in float64 (``n_queries`` when every query has one).
    n_fallback : int
        Queries scored exactly against every site (more than ``max_candidates`` candidates).
    """

    low: str
    emulated: bool
    n_queries: int
    n_candidates: int
    n_fallback: int


def _round_tf32(t):
    """Round float32 values to TF32's 10 explicit significand bits (half away from zero on the
    magnitude), as the CPU emulation of a TF32 product's input rounding."""
    bits = t.contiguous().view(torch.int32)
    sign = bits & torch.tensor(-(2**31), dtype=torch.int32)
    mag = (bits & 0x7FFFFFFF) + 0x1000
    return ((mag & ~0x1FFF) | sign).view(torch.float32)


def error_bound(x_norm, y_max, b_max, d, *, low, on_gpu):
    r"""The bound ``E_i >= |S^_ij - S_ij|`` (float64 tensor like ``x_norm``).

    ``x_norm``: ``||x_i - c||``; ``y_max``: ``max_j ||y_j - c||``; ``b_max``: ``max_j |b_j|``;
    ``d``: the dimension; ``low``: the search format; ``on_gpu``: product on a GPU (bf16 output
    and tensor-core accumulation).
    """
    u = _U_IN[low] + 2.0**-23  # the rounding from float64 may round twice
    u_acc = 2.0**-21 if on_gpu else _U32
    gamma = d * u_acc / (1.0 - d * u_acc)
    e = 2 * u + u * u + gamma * (1 + u) ** 2
    if on_gpu and low == "bf16":
        e = e + 2.0**-8 * (1 + e)  # the product is returned in bf16
    p = x_norm * y_max
    # b rounded to float32, then b^ - 2 G^ in float32: one rounding, or (a BLAS that adds the
    # products into C = b, as addmm may) b summed with the products: gamma_{d+1} on |b|
    bound = 2 * e * p + (gamma + 2 * _U32) * b_max * (1 + _U32) ** 2 + 2 * _U32 * (1 + e) * p
    return bound * (1 + 1e-6) + 1e-300


@contextlib.contextmanager
def _cuda_matmul_flags(low):
    """TF32 on for the 'tf32' search; bf16 reduced-precision reductions off for 'bf16' (they
    would round partial sums to bf16 and void the bound). Restored on exit."""
    m = torch.backends.cuda.matmul
    old = (m.allow_tf32, m.allow_bf16_reduced_precision_reduction)
    try:
        m.allow_tf32 = low == "tf32"
        m.allow_bf16_reduced_precision_reduction = False
        yield
    finally:
        m.allow_tf32, m.allow_bf16_reduced_precision_reduction = old


def _low_inputs(t, low, on_gpu):
    if low == "bf16":
        t = t.to(torch.bfloat16)
        return t if on_gpu else t.to(torch.float32)
    t = t.to(torch.float32)
    if low == "tf32" and not on_gpu:
        t = _round_tf32(t)
    return t


def certified_argmin(psi, y, x, *, low="auto", memory=None, max_candidates=64, center=None,
                     return_stats=False):
    r"""Exact argmin of ``||x_i - y_j||^2 - psi_j`` through a certified low-precision search.

    Parameters
    ----------
    psi : Tensor (m,)
    y : Tensor (m, d)
    x : Tensor (n, d)
        On one device (any floating dtype).
    low : {"auto", "tf32", "bf16", "fp32"}
        The search format. ``"auto"``: TF32 on CUDA, float32 on the CPU. On the CPU ``"tf32"``
        and ``"bf16"`` are emulated (inputs rounded, float32 product): no faster, but the same
        certification, which is how the tests check it.
    memory : int, optional
        Byte budget of one block of the low-precision score matrix (default 256 MiB).
    max_candidates : int
        Queries with more candidates fall back to exact float64 scoring of every site.
    center : Tensor (d,), optional
        The centre of the scores (default: the mean site).
    return_stats : bool
        Also return a :class:`CertifiedStats`.

    Returns
    -------
    argmin : Tensor (n,) of int64
        The float64 brute-force argmin (ties to the smallest index), on the device of ``x``.
    stats : CertifiedStats
        Only with ``return_stats=True``.
    """
    where = "c_transform(method='certified')"
    if low not in LOW_PRECISIONS:
        raise ValueError(f"{where}: 'low' must be one of {LOW_PRECISIONS}; got {low!r}")
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or (
            max_candidates < 1):
        raise ValueError(f"{where}: 'max_candidates' must be a positive integer; "
                         f"got {max_candidates!r}")
    on_gpu = x.device.type == "cuda"
    if low == "auto":
        low = "tf32" if on_gpu else "fp32"
    memory = 256 * 2**20 if memory is None else int(memory)
    n, d = x.shape
    m = y.shape[0]
    f64 = torch.float64
    with torch.no_grad():
        # work in the sites' own precision when it is float32/64 (no float64 copy of y):
        # centring on a float32 centre is then a subtraction with relative error 2^-24
        y = y.detach()
        if y.dtype not in (torch.float32, f64):
            y = y.to(torch.float32)
        c = y.to(f64).mean(0) if center is None else center.detach().to(f64)
        c_w = c.to(y.dtype)
        c = c_w.to(f64)  # the exact centre of the scores: the one the search subtracts
        chunk = max(1, memory // (8 * 2 * d))
        b = torch.empty(m, dtype=f64, device=x.device)
        y_max = 0.0
        for j0 in range(0, m, chunk):
            yc = y[j0:j0 + chunk].to(f64) - c
            sq = (yc * yc).sum(1)
            b[j0:j0 + chunk] = sq - psi[j0:j0 + chunk].detach().to(f64)
            y_max = max(y_max, float(sq.max().sqrt()))
        y_max *= 1 + 1e-12
        xc = x.detach().to(f64) - c
        b_max = float(b.abs().max())
        x_norm = xc.norm(dim=1) * (1 + 1e-12)
        thr = 2 * error_bound(x_norm, y_max, b_max, d, low=low, on_gpu=on_gpu)
        # float64 rescoring error (Higham's gamma on a d-term dot product, plus b)
        delta = 2 * (d + 4) * _U64 * (b_max + 2 * x_norm * y_max)
        # plus the float32 rounding of m^_i + threshold in the comparison below
        thr = thr + 2 * delta + 4 * _U32 * (b_max + 3 * x_norm * y_max)
        thr = thr.to(torch.float32) * (1 + 2.0**-20)

        b32 = b.to(torch.float32)
        xl = _low_inputs(xc, low, on_gpu)
        bm = int(min(m, max(1, memory // (4 * 3 * max(n, 1)))))
        bn = n if bm < m else int(min(n, max(1, memory // (4 * 3 * m))))
        out = torch.empty(n, dtype=torch.long, device=x.device)
        n_cand = n_fall = 0
        flags = _cuda_matmul_flags(low) if on_gpu else contextlib.nullcontext()
        for i0 in range(0, n, bn):
            rows = slice(i0, i0 + bn)
            xb, tb = xl[rows], thr[rows]
            run_min = torch.full((xb.shape[0],), math.inf, device=x.device)
            ci, cj, cs = [], [], []
            for j0 in range(0, m, bm):
                yl = _low_inputs(y[j0:j0 + bm] - c_w, low, on_gpu)
                with flags:
                    if xb.dtype == torch.float32:  # b - 2 x.y in one call (GEMM epilogue)
                        s = torch.addmm(b32[j0:j0 + bm], xb, yl.T, alpha=-2.0)
                    else:  # bf16 on a GPU: a bf16 product, then float32
                        s = b32[j0:j0 + bm] - 2 * (xb @ yl.T).to(torch.float32)
                run_min = torch.minimum(run_min, s.min(dim=1).values)
                ii, jj = torch.nonzero(s <= (run_min + tb)[:, None], as_tuple=True)
                ci.append(ii)
                cj.append(jj + j0)
                cs.append(s[ii, jj])
            ii, jj, ss = torch.cat(ci), torch.cat(cj), torch.cat(cs)
            keep = ss <= (run_min + tb)[ii]  # candidates of earlier blocks may be stale
            ii, jj = ii[keep], jj[keep]
            counts = torch.bincount(ii, minlength=xb.shape[0])
            over = counts > max_candidates
            if bool(over.any()):
                ok = ~over[ii]
                ii, jj = ii[ok], jj[ok]
            # exact (float64) rescoring of the candidates, in chunks of bounded memory
            score = torch.empty(ii.shape[0], dtype=f64, device=x.device)
            for k0 in range(0, ii.shape[0], chunk):
                a, z = ii[k0:k0 + chunk], jj[k0:k0 + chunk]
                score[k0:k0 + chunk] = b[z] - 2 * (xc[i0 + a] * (y[z].to(f64) - c)).sum(1)
            nb = xb.shape[0]
            best = torch.full((nb,), math.inf, dtype=f64, device=x.device)
            best = best.scatter_reduce(0, ii, score, reduce="amin")
            big = torch.full_like(jj, 2**62)
            win = torch.full((nb,), 2**62, dtype=torch.long, device=x.device)
            win = win.scatter_reduce(0, ii, torch.where(score == best[ii], jj, big),
                                     reduce="amin")
            if bool(over.any()):
                q = torch.nonzero(over).flatten()
                win[q] = _exact_argmin(b, y, c, xc[i0 + q], memory)
                n_fall += int(q.numel())
            out[rows] = win
            n_cand += int(ii.numel())
    stats = CertifiedStats(low=low, emulated=not on_gpu and low in ("tf32", "bf16"),
                           n_queries=n, n_candidates=n_cand, n_fallback=n_fall)
    return (out, stats) if return_stats else out


def _exact_argmin(b, y, c, xc, memory):
    """Float64 ``argmin_j b_j - 2 (x - c).(y_j - c)`` over every site (first index among
    ties)."""
    m = y.shape[0]
    bm = int(min(m, max(1, memory // (8 * 3 * max(1, xc.shape[0], y.shape[1])))))
    blocks = ((b[j0:j0 + bm] - 2 * xc @ (y[j0:j0 + bm].to(torch.float64) - c).T, j0)
              for j0 in range(0, m, bm))
    return running_min(blocks)[1]


def running_min(blocks):
    """Row-wise minimum and its column over score blocks ``(scores (n, b), first column)``
    given in increasing column order; ties go to the smallest column (a later block wins only
    when strictly smaller)."""
    val = idx = None
    for scores, j0 in blocks:
        v, k = scores.min(dim=1)
        k = k + j0
        if val is None:
            val, idx = v, k
        else:
            better = v < val
            val, idx = torch.where(better, v, val), torch.where(better, k, idx)
    return val, idx
