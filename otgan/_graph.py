r"""Weighted graph Laplacians of cell diagrams: assembly, connected components, linear solves.

Private module (layer L2). The Jacobian of the cell masses of a semi-discrete problem in the
potential, :math:`\partial \mu(L_i) / \partial \psi_j`, is the weighted graph Laplacian
:math:`L = \mathrm{diag}(W \mathbf 1) - W` of the cells' adjacency graph (Kitagawa, Mérigot &
Thibert 2019): symmetric, positive semi-definite, with the constants on each connected component
of the graph as its kernel. Every cell geometry (:mod:`otgan.laguerre`) gives its weights ``W``;
this module turns them into Laplacians and solves the Newton systems ``L d = r``.

- :func:`laplacian`: ``L`` (csr), or the grounded ``L + diag(g)`` that is positive definite.
- :func:`components`: the connected components of the graph (union-find).
- :class:`Cholesky`: a sparse Cholesky factorisation (CHOLMOD, through cvxopt).
- :class:`LaplacianSolver`: the inexact solves of one Newton run (a sparse Cholesky factor,
  then conjugate gradients preconditioned by the last factor).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from cvxopt import cholmod, matrix, spmatrix

__all__ = ["Cholesky", "LaplacianSolver", "components", "grounded_laplacian", "laplacian", "pcg"]


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
    ``max |scale * r| <= rtol * max |scale * b|``. Returns ``(x, iterations)``, with ``x =
    None`` if that takes more than ``maxiter`` iterations. (Written out rather than scipy's
    ``cg`` for this criterion, and to keep the vector operations off the BLAS threads: they are
    too small to gain from them.)"""
    x = np.zeros_like(b)
    r = b.copy()
    target = rtol * float(np.max(np.abs(scale * b)))
    if target == 0.0:
        return x, 0
    z = precond(r)
    p = z.copy()
    rz = float(np.einsum("i,i->", r, z))
    for it in range(1, maxiter + 1):
        Ap = A @ p
        alpha = rz / float(np.einsum("i,i->", p, Ap))
        x += alpha * p
        r -= alpha * Ap
        if float(np.max(np.abs(scale * r))) <= target:
            return x, it
        z = precond(r)
        rz, rz_old = float(np.einsum("i,i->", r, z)), rz
        p *= rz / rz_old
        p += z
    return None, maxiter


class Cholesky:
    """The sparse Cholesky factor ``A = P^T L L^T P`` of a symmetric positive definite matrix.

    CHOLMOD (SuiteSparse, through cvxopt's ``cholmod`` module): a fill-reducing ordering (AMD)
    and a supernodal factorisation, about 2.5 times faster than scipy's ``splu`` with its
    minimum-degree ordering on the Laplacians of planar cell graphs (45 ms against 110 ms for
    20 000 cells, on 2 cores). ``A``: a scipy sparse matrix, of which the lower triangle is read.
    """

    def __init__(self, A):
        L = sp.tril(A, format="csc")
        n = L.shape[0]
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(L.indptr))
        M = spmatrix(matrix(np.ascontiguousarray(L.data, dtype=np.float64)),
                     matrix(L.indices.astype(np.int64)), matrix(cols), (n, n))
        self._factor = cholmod.symbolic(M, uplo="L")
        cholmod.numeric(M, self._factor)

    def solve(self, b):
        """Return ``x`` with ``A x = b`` (``b``: a float64 vector)."""
        x = matrix(np.array(b, dtype=np.float64))
        cholmod.solve(self._factor, x)
        return np.array(x).ravel()


class LaplacianSolver:
    """Solves ``L d = rhs`` for the successive Laplacians of one Newton run (inexact Newton).

    The gauge is fixed by grounding one node per connected component of the graph (see
    :func:`grounded_laplacian`); ``d`` is then shifted to zero mean. The first system is
    factorised (:class:`Cholesky`: the grounded Laplacian is symmetric positive definite).
    Later systems differ little (the cells move a little), so they are solved by conjugate
    gradients preconditioned with the last factor, to the relative residual ``rtol`` that
    Newton asks for (loose far from the solution, tight near it). The new matrix is factorised
    instead when the grounded nodes change, when the CG does not converge within ``max_cg``
    iterations, and for the system after a CG that needed more than ``slow_cg`` (the matrices
    then change fast, as on an image's black pixels; a factorisation costs about 15 CG
    iterations at 20 000 cells). ``exact=True`` forces a factorisation.

    Attributes
    ----------
    n_factor, n_cg : int
        Factorisations and preconditioned CG solves so far.
    """

    def __init__(self, max_cg=15, slow_cg=8):
        self.max_cg, self.slow_cg = max_cg, slow_cg
        self.factor, self.ground = None, None
        self.n_factor = self.n_cg = 0
        self._refactor = False  # the last CG was slow: factorise the next matrix

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
        if (not exact and not self._refactor and self.factor is not None
                and np.array_equal(ground, self.ground)):
            x, its = pcg(A, rhs, self.factor.solve, max(rtol, 1e-14), self.max_cg,
                         np.ones_like(rhs) if scale is None else scale)
            self.n_cg += x is not None
            self._refactor = x is None or its > self.slow_cg
        if x is None:
            self.factor = Cholesky(A)
            self.ground = ground
            self.n_factor += 1
            self._refactor = False
            x = self.factor.solve(rhs)
        return x - x.mean(), ncomp
