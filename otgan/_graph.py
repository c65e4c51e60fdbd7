r"""Weighted graph Laplacians of cell diagrams: assembly, connected components, linear solves.

Private module (layer L2). The Jacobian of the cell masses of a semi-discrete problem in the
potential, :math:`\partial \mu(L_i) / \partial \psi_j`, is the weighted graph Laplacian
:math:`L = \mathrm{diag}(W \mathbf 1) - W` of the cells' adjacency graph (Kitagawa, Mérigot &
Thibert 2019): symmetric, positive semi-definite, with the constants on each connected component
of the graph as its kernel. Every cell geometry (:mod:`otgan.laguerre`) gives its weights ``W``;
this module turns them into Laplacians and solves the Newton systems ``L d = r``.

- :func:`laplacian`: ``L`` (csr), or the grounded ``L + diag(g)`` that is positive definite.
- :func:`components`: the connected components of the graph (union-find).
- :class:`LaplacianSolver`: the inexact solves of one Newton run (a sparse LU, then conjugate
  gradients preconditioned by the last LU).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["LaplacianSolver", "components", "grounded_laplacian", "laplacian", "pcg"]


@numba.njit(cache=True, nogil=True)
def _laplacian_csr(indptr, indices, w, ground):
    """CSR arrays of ``A = diag(W 1 + g) - W`` from the data ``w`` of the symmetric csr matrix
    ``W`` (sorted columns, no diagonal), with ``g_i = (W 1)_i`` (or 1 where that is 0) at the
    nodes with ``ground[i]`` and 0 elsewhere. ``A`` is symmetric: these are also its CSC
    arrays."""
    J = indptr.size - 1
    ip = np.empty(J + 1, np.int64)
    ix = np.empty(indices.size + J, np.int64)
    dv = np.empty(indices.size + J)
    f = 0
    for i in range(J):
        ip[i] = f
        deg = 0.0
        for c in range(indptr[i], indptr[i + 1]):
            deg += w[c]
        d = deg
        if ground[i]:
            d += deg if deg > 0.0 else 1.0
        placed = False
        for c in range(indptr[i], indptr[i + 1]):
            j = indices[c]
            if not placed and j > i:
                ix[f] = i
                dv[f] = d
                f += 1
                placed = True
            ix[f] = j
            dv[f] = -w[c]
            f += 1
        if not placed:
            ix[f] = i
            dv[f] = d
            f += 1
    ip[J] = f
    return ip, ix[:f], dv[:f]


def _csr_parts(W):
    W = W.tocsr()
    W.sort_indices()
    return (W.indptr.astype(np.int64), W.indices.astype(np.int64),
            np.ascontiguousarray(W.data, dtype=np.float64))


def grounded_laplacian(W, ground=None):
    """``L + diag(g)`` (csc) with ``L = diag(W 1) - W`` and ``g_k = L_kk`` (1 for an isolated
    node) at the nodes ``ground`` (indices), 0 elsewhere.

    Grounding one node of each connected component makes the matrix positive definite: for a
    right-hand side summing to zero on each component, the solution is the solution of
    ``L d = r`` with ``d_k = 0`` at the grounded nodes (the gauge)."""
    J = W.shape[0]
    g = np.zeros(J, dtype=np.bool_)
    if ground is not None:
        g[np.asarray(ground, dtype=np.int64)] = True
    ip, ix, dv = _laplacian_csr(*_csr_parts(W), g)
    return sp.csc_matrix((dv, ix, ip), shape=(J, J))


def laplacian(W):
    """The weighted graph Laplacian ``diag(W 1) - W`` (csr) of symmetric weights ``W``."""
    return grounded_laplacian(W).tocsr()


@numba.njit(cache=True, nogil=True)
def _components(indptr, indices):
    J = indptr.size - 1
    root = np.arange(J)
    for i in range(J):
        for c in range(indptr[i], indptr[i + 1]):
            a = i
            while root[a] != a:
                root[a] = root[root[a]]
                a = root[a]
            b = indices[c]
            while root[b] != b:
                root[b] = root[root[b]]
                b = root[b]
            if a != b:
                if a < b:
                    root[b] = a
                else:
                    root[a] = b
    firsts = np.empty(J, np.int64)
    nc = 0
    for i in range(J):
        a = i
        while root[a] != a:
            a = root[a]
        if a == i:
            firsts[nc] = i
            nc += 1
    return nc, firsts[:nc]


def components(W):
    """Connected components of the graph of the symmetric sparse pattern ``W``: ``(number of
    components, the smallest node of each in increasing order)``."""
    W = W.tocsr()
    return _components(W.indptr.astype(np.int64), W.indices.astype(np.int64))


def pcg(A, b, precond, rtol, maxiter, scale):
    """Preconditioned conjugate gradients for the symmetric positive definite ``A``; stops when
    ``max |scale * r| <= rtol * max |scale * b|``; ``None`` if that takes more than
    ``maxiter`` iterations. (Written out rather than scipy's ``cg`` for this criterion, and to
    keep the vector operations off the BLAS threads: they are too small to gain from them.)"""
    x = np.zeros_like(b)
    r = b.copy()
    target = rtol * float(np.max(np.abs(scale * b)))
    if target == 0.0:
        return x
    z = precond(r)
    p = z.copy()
    rz = float(np.einsum("i,i->", r, z))
    for _ in range(maxiter):
        Ap = A @ p
        alpha = rz / float(np.einsum("i,i->", p, Ap))
        x += alpha * p
        r -= alpha * Ap
        if float(np.max(np.abs(scale * r))) <= target:
            return x
        z = precond(r)
        rz, rz_old = float(np.einsum("i,i->", r, z)), rz
        p *= rz / rz_old
        p += z
    return None


class LaplacianSolver:
    """Solves ``L d = rhs`` for the successive Laplacians of one Newton run (inexact Newton).

    The gauge is fixed by grounding one node per connected component of the graph (see
    :func:`grounded_laplacian`); ``d`` is then shifted to zero mean. The first system is
    factorised (sparse LU; symmetric positive definite, so no pivoting and a minimum-degree
    ordering on ``A + A^T``). Later systems differ little (the cells move a little), so they are
    solved by conjugate gradients preconditioned with the last factorisation, to the relative
    residual ``rtol`` that Newton asks for (loose far from the solution, tight near it); when that
    does not converge within ``max_cg`` iterations, or the grounded nodes change, the new matrix
    is factorised. ``exact=True`` forces a factorisation.

    Attributes
    ----------
    n_factor, n_cg : int
        Factorisations and preconditioned CG solves so far.
    """

    def __init__(self, max_cg=30):
        self.max_cg = max_cg
        self.lu, self.ground = None, None
        self.n_factor = self.n_cg = 0

    def _grounded(self, W):
        ncomp, first = components(W)
        if ncomp == 1 and self.ground is not None and self.ground.size == 1:
            return self.ground, ncomp  # any node grounds a connected graph: keep the last one
        return first, ncomp

    def solve(self, W, rhs, rtol, *, scale=None, exact=False):
        """``d`` (zero mean) with ``(diag(W 1) - W) d = rhs``; the CG stops when
        ``max |scale * r| <= rtol max |scale * rhs|`` (``scale = 1 / nu``: every cell's mass to
        the same relative accuracy, whatever its target). Returns ``(d, number of
        components)``."""
        ground, ncomp = self._grounded(W)
        A = grounded_laplacian(W, ground)
        x = None
        if not exact and self.lu is not None and np.array_equal(ground, self.ground):
            x = pcg(A, rhs, self.lu.solve, max(rtol, 1e-14), self.max_cg,
                    np.ones_like(rhs) if scale is None else scale)
            self.n_cg += x is not None
        if x is None:
            self.lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
            self.ground = ground
            self.n_factor += 1
            x = self.lu.solve(rhs)
        return x - x.mean(), ncomp
