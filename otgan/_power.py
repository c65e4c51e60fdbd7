r"""numba kernels for :mod:`otgan.laguerre`: exact power cells by half-plane clipping.

Private module. :func:`power_cells` computes every power cell

.. math::

    L_i = \{x \in B : \|x - y_i\|^2 - \psi_i \le \|x - y_k\|^2 - \psi_k \ \forall k\}

of sites ``y`` with weights ``psi`` (``max psi = 0``), clipped to a rectangle ``B``, together with
its area and its first and second moments about :math:`y_i`.

Neighbour search: the sites are bucketed in a rectilinear grid whose column and row edges are
quantiles of the coordinates (balanced buckets for clustered sites and outliers; the first and
last columns and rows extend to infinity). Every cell starts as ``B`` and is clipped by the sites
of the rings of buckets around the bucket of :math:`y_i`, ring after ring, each ring's sites in
increasing order of the lifted distance :math:`D_k^2 = \|y_i - y_k\|^2 - \psi_k` (the squared
distance from :math:`(y_i, 0)` to the lifted site :math:`(y_k, \sqrt{-\psi_k})`). If :math:`r` is
the largest distance from :math:`y_i` to the current cell, a site with :math:`D_k \ge r + \sqrt{r^2
- \psi_i}` cannot cut it (Lévy 2015's security radius: :math:`\sqrt{\|x - y_k\|^2 - \psi_k} \ge
D_k - \|x - y_i\|` in the lifted space), and :math:`D_k \ge \|y_i - y_k\|`. The sites of the rings
:math:`\ge q` lie outside the block of columns and rows of the rings :math:`< q`, so the search
stops at the first ring whose block's distance from :math:`y_i` reaches the security radius; a
whole bucket is skipped when the squared distance to its rectangle plus its smallest
:math:`-\psi_k` reaches it. Only the visiting order depends on the grid: the cells are exact
whatever the distribution of the sites. The cost grows with the security radius: weights that
vary by much more than the squared spacing of the sites across the domain (cells far from their
sites) make every cell visit many buckets.

Clipping of a convex polygon by :math:`s(x) = \langle x, y_k - y_i \rangle - (w_k - w_i)/2 \le 0`,
:math:`w = \|y\|^2 - \psi`: vertices with :math:`s \le 0` are kept, a new vertex is created only
where an edge goes strictly from one side to the other (a half-plane through a vertex creates no
vertex: ties are exact), and every edge remembers the site that created it (-1: the box). The
working polygon and the output buffers grow as needed (no fixed vertex limit).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["build_grid", "cells_range", "power_cells", "scatter_padded"]

_OCCUPANCY = 2.0  # mean number of sites per grid bucket


@numba.njit(cache=True, nogil=True)
def _clip(px, py, pl, n, qx, qy, ql, a0, a1, b, lab, s):
    """Clip the polygon (px, py, pl)[:n] by a0 x + a1 y - b <= 0 into (qx, qy, ql); returns the
    new vertex count (qx... must hold n + 1 entries)."""
    for c in range(n):
        s[c] = px[c] * a0 + py[c] * a1 - b
    m = 0
    for c in range(n):
        cn = c + 1 if c + 1 < n else 0
        sc = s[c]
        sn = s[cn]
        if sc <= 0.0:
            qx[m] = px[c]
            qy[m] = py[c]
            ql[m] = lab if (sc == 0.0 and sn > 0.0) else pl[c]
            m += 1
        if (sc < 0.0 and sn > 0.0) or (sc > 0.0 and sn < 0.0):
            t = sc / (sc - sn)
            x0 = px[c]
            y0 = py[c]
            qx[m] = x0 + t * (px[cn] - x0)
            qy[m] = y0 + t * (py[cn] - y0)
            ql[m] = lab if sc < 0.0 else pl[c]
            m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _sort_by_key(idx, key, m):
    """Sort idx[:m], key[:m] by key (insertion sort; m is small in practice)."""
    if m > 48:
        o = np.argsort(key[:m], kind="mergesort")
        ti = idx[:m][o]
        tk = key[:m][o]
        idx[:m] = ti
        key[:m] = tk
        return
    for a in range(1, m):
        kv = key[a]
        iv = idx[a]
        c = a - 1
        while c >= 0 and key[c] > kv:
            key[c + 1] = key[c]
            idx[c + 1] = idx[c]
            c -= 1
        key[c + 1] = kv
        idx[c + 1] = iv


@numba.njit(cache=True, nogil=True)
def _security(px, py, n, cx, cy, gap_i):
    r2 = 0.0
    for c in range(n):
        dx = px[c] - cx
        dy = py[c] - cy
        d = dx * dx + dy * dy
        r2 = max(r2, d)
    if n == 0:
        r2 = 0.0
    thr = np.sqrt(r2) + np.sqrt(r2 + gap_i)
    return thr * thr


@numba.njit(cache=True, nogil=True)
def build_grid(yx, yy, psi, ex, ey):
    """Bucket the sites (weights psi, max psi = 0) in the rectilinear grid of column edges
    ``ex`` and row edges ``ey`` (non-decreasing; column ``c`` holds ``ex[c] <= x < ex[c + 1]``,
    the first and last columns extend to infinity, rows likewise). Returns the sites sorted by
    bucket (``items``: original indices) with their coordinates, ``-psi`` and ``|y|^2 - psi``,
    the bucket of each, the bucket offsets ``start`` and the smallest ``-psi`` of each bucket."""
    J = yx.size
    nx = ex.size - 1
    ny = ey.size - 1
    nb = nx * ny
    bid = np.empty(J, np.int64)
    cnt = np.zeros(nb + 1, np.int64)
    inner_x = ex[1:nx]
    inner_y = ey[1:ny]
    for k in range(J):
        b = (np.searchsorted(inner_y, yy[k], side="right") * nx
             + np.searchsorted(inner_x, yx[k], side="right"))
        bid[k] = b
        cnt[b + 1] += 1
    for b in range(nb):
        cnt[b + 1] += cnt[b]
    items = np.empty(J, np.int64)
    fillp = cnt[:-1].copy()
    for k in range(J):
        b = bid[k]
        items[fillp[b]] = k
        fillp[b] += 1
    gx = np.empty(J)
    gy = np.empty(J)
    gap = np.empty(J)
    w = np.empty(J)
    gb = np.empty(J, np.int64)
    gmin = np.full(nb, np.inf)
    for t in range(J):
        k = items[t]
        gx[t] = yx[k]
        gy[t] = yy[k]
        gap[t] = -psi[k]
        w[t] = yx[k] * yx[k] + yy[k] * yy[k] - psi[k]
        b = bid[k]
        gb[t] = b
        gmin[b] = min(gmin[b], gap[t])
    return items, gx, gy, gap, w, gb, cnt, gmin


@numba.njit(cache=True, nogil=True)
def cells_range(p0, p1, items, gx, gy, gap, w, gb, start, gmin, ex, ey, xlo, ylo, xhi, yhi):
    """Power cells of the bucket-sorted sites ``p0 <= t < p1`` (see :func:`build_grid`), clipped
    to the box. Returns, for each of these sites in that order, the offset ``ptr`` into the flat
    arrays ``vx, vy`` (vertices, counter-clockwise) and ``lab`` (original index of the site that
    created the edge from each vertex to the next; -1 the box), the vertex count, and the area,
    first moment and second moment about ``y_i`` (polar: :math:`\\int \\|x - y_i\\|^2 dx`).
    An empty cell has 0 vertices (a degenerate one may keep 1 or 2 vertices of zero area, as the
    half-planes leave them)."""
    J = gx.size
    nx = ex.size - 1
    ny = ey.size - 1
    M = p1 - p0
    cap_out = 8 * M + 64
    ox = np.empty(cap_out)
    oy = np.empty(cap_out)
    ol = np.empty(cap_out, np.int64)
    ptr = np.zeros(M, np.int64)
    nvert = np.zeros(M, np.int64)
    area = np.zeros(M)
    sx = np.zeros(M)
    sy = np.zeros(M)
    i2 = np.zeros(M)
    # ---- working buffers (grown when a cell needs more vertices)
    cap = 64
    px = np.empty(cap)
    py = np.empty(cap)
    pl = np.empty(cap, np.int64)
    qx = np.empty(cap)
    qy = np.empty(cap)
    ql = np.empty(cap, np.int64)
    s = np.empty(cap)
    cidx = np.empty(J, np.int64)
    ckey = np.empty(J)
    fill = 0
    for i in range(p0, p1):
        cx = gx[i]
        cy = gy[i]
        px[0] = xlo
        py[0] = ylo
        px[1] = xhi
        py[1] = ylo
        px[2] = xhi
        py[2] = yhi
        px[3] = xlo
        py[3] = yhi
        for c in range(4):
            pl[c] = -1
        n = 4
        thr2 = _security(px, py, n, cx, cy, gap[i])
        bi = gb[i]
        by = bi // nx
        bx = bi - by * nx
        q = 0
        while True:
            if q >= 1:
                if bx - q < 0 and by - q < 0 and bx + q >= nx and by + q >= ny:
                    break  # every bucket visited
                # sites in rings >= q lie outside the columns bx - q < c < bx + q and the rows
                # by - q < r < by + q (the border columns and rows extend to infinity)
                lim = np.inf
                if bx - q >= 0:
                    lim = min(lim, cx - ex[bx - q + 1])
                if bx + q < nx:
                    lim = min(lim, ex[bx + q] - cx)
                if by - q >= 0:
                    lim = min(lim, cy - ey[by - q + 1])
                if by + q < ny:
                    lim = min(lim, ey[by + q] - cy)
                if lim > 0.0 and lim * lim >= thr2:
                    break
            # gather the candidates of ring q
            m = 0
            for ry in range(max(by - q, 0), min(by + q, ny - 1) + 1):
                if q == 0 or ry == by - q or ry == by + q:  # a full row of the ring
                    rx = max(bx - q, 0)
                    rx_end = min(bx + q, nx - 1)
                    step = 1
                else:  # its two ends
                    rx = bx - q
                    rx_end = bx + q
                    step = 2 * q
                while rx <= rx_end:
                    if rx >= 0 and rx < nx:
                        b = ry * nx + rx
                        if start[b + 1] > start[b]:
                            # distance to the bucket's rectangle (border buckets unbounded)
                            dx = 0.0
                            if rx > 0 and cx < ex[rx]:
                                dx = ex[rx] - cx
                            elif rx < nx - 1 and cx > ex[rx + 1]:
                                dx = cx - ex[rx + 1]
                            dy = 0.0
                            if ry > 0 and cy < ey[ry]:
                                dy = ey[ry] - cy
                            elif ry < ny - 1 and cy > ey[ry + 1]:
                                dy = cy - ey[ry + 1]
                            if dx * dx + dy * dy + gmin[b] < thr2:
                                for k in range(start[b], start[b + 1]):
                                    if k == i:
                                        continue
                                    ux = gx[k] - cx
                                    uy = gy[k] - cy
                                    d2 = ux * ux + uy * uy + gap[k]
                                    if d2 < thr2:
                                        cidx[m] = k
                                        ckey[m] = d2
                                        m += 1
                    rx += step
            _sort_by_key(cidx, ckey, m)
            for t in range(m):
                if ckey[t] >= thr2:
                    break
                k = cidx[t]
                a0 = gx[k] - cx
                a1 = gy[k] - cy
                bb = 0.5 * (w[k] - w[i])
                out = False
                for c in range(n):
                    if px[c] * a0 + py[c] * a1 - bb > 0.0:
                        out = True
                        break
                if not out:
                    continue
                if n + 1 > cap:
                    cap *= 2
                    nx_ = np.empty(cap)
                    ny_ = np.empty(cap)
                    nl_ = np.empty(cap, np.int64)
                    nx_[:n] = px[:n]
                    ny_[:n] = py[:n]
                    nl_[:n] = pl[:n]
                    px, py, pl = nx_, ny_, nl_
                    qx = np.empty(cap)
                    qy = np.empty(cap)
                    ql = np.empty(cap, np.int64)
                    s = np.empty(cap)
                n = _clip(px, py, pl, n, qx, qy, ql, a0, a1, bb, items[k], s)
                px, qx = qx, px
                py, qy = qy, py
                pl, ql = ql, pl
                if n == 0:
                    break
                thr2 = _security(px, py, n, cx, cy, gap[i])
            if n == 0:
                break
            q += 1
        # ---- write the cell and its moments
        if fill + n > cap_out:
            cap_out = 2 * cap_out + n
            tx = np.empty(cap_out)
            ty = np.empty(cap_out)
            tl = np.empty(cap_out, np.int64)
            tx[:fill] = ox[:fill]
            ty[:fill] = oy[:fill]
            tl[:fill] = ol[:fill]
            ox, oy, ol = tx, ty, tl
        j = i - p0
        ptr[j] = fill
        nvert[j] = n
        a = 0.0
        fx = 0.0
        fy = 0.0
        f2 = 0.0
        for c in range(n):
            ox[fill + c] = px[c]
            oy[fill + c] = py[c]
            ol[fill + c] = pl[c]
            cn = c + 1 if c + 1 < n else 0
            x0 = px[c] - cx
            y0 = py[c] - cy
            x1 = px[cn] - cx
            y1 = py[cn] - cy
            cr = x0 * y1 - x1 * y0
            a += cr
            fx += (x0 + x1) * cr
            fy += (y0 + y1) * cr
            f2 += (x0 * x0 + x0 * x1 + x1 * x1 + y0 * y0 + y0 * y1 + y1 * y1) * cr
        area[j] = a / 2.0
        sx[j] = fx / 6.0
        sy[j] = fy / 6.0
        i2[j] = f2 / 12.0
        fill += n
    return ptr, nvert, ox[:fill], oy[:fill], ol[:fill], area, sx, sy, i2


def _edges(yx, yy, occupancy):
    """Column and row edges of the bucket grid: about ``J / occupancy`` buckets, as many columns
    per unit length as rows (from the sites' bounding box), placed at quantiles of a strided
    sample of the coordinates so that clustered sites or outliers still give balanced buckets."""
    J = yx.size
    W = float(yx.max() - yx.min())
    H = float(yy.max() - yy.min())
    nbk = max(J / occupancy, 1.0)
    if W > 0 and H > 0:
        nx = np.sqrt(nbk * W / H)
        ny = nbk / nx
    else:
        nx, ny = (nbk, 1.0) if W >= H else (1.0, nbk)
    nx = int(min(max(round(nx), 1), J))
    ny = int(min(max(round(ny), 1), J))
    out = []
    for v, m in ((yx, nx), (yy, ny)):
        step = max(J // (32 * m), 1)
        smp = np.sort(v[::step])
        e = smp[(np.arange(m + 1) * (smp.size - 1)) // m]
        out.append(np.ascontiguousarray(e, dtype=np.float64))
    return out


def power_cells(yx, yy, psi, box, *, occupancy=_OCCUPANCY, threads=None):
    """Power cells of the sites (yx, yy) with weights ``psi`` (``max psi = 0``) clipped to
    ``box = (xlo, ylo, xhi, yhi)``.

    The cells are computed in bucket order by :func:`cells_range` on ``threads`` contiguous
    ranges of sites in parallel (the kernels release the GIL; default: the number of CPUs, at
    most 8, one for small problems).

    Returns ``X, Y, L`` (J, V) padded vertex arrays (counter-clockwise, padded with copies of
    vertex 0; L the site that created each edge, -1 the box), ``n`` (J,) vertex counts and
    ``area, sx, sy, i2`` (J,) the area and the moments about each site.
    """
    yx = np.ascontiguousarray(yx, dtype=np.float64)
    yy = np.ascontiguousarray(yy, dtype=np.float64)
    psi = np.ascontiguousarray(psi, dtype=np.float64)
    J = yx.size
    xlo, ylo, xhi, yhi = (float(v) for v in box)
    ex, ey = _edges(yx, yy, occupancy)
    grid = build_grid(yx, yy, psi, ex, ey)
    items = grid[0]
    if threads is None:
        try:
            ncpu = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            ncpu = os.cpu_count() or 1
        threads = min(ncpu, 8) if J >= 4096 else 1
    bounds = np.linspace(0, J, max(int(threads), 1) + 1).astype(np.int64)

    def run(c):
        return cells_range(int(bounds[c]), int(bounds[c + 1]), *grid, ex, ey, xlo, ylo, xhi,
                           yhi)

    if len(bounds) > 2:
        with ThreadPoolExecutor(len(bounds) - 1) as pool:
            parts = list(pool.map(run, range(len(bounds) - 1)))
    else:
        parts = [run(0)]
    shift = np.cumsum([0] + [p[2].size for p in parts[:-1]])
    ptr = np.concatenate([p[0] + sh for p, sh in zip(parts, shift)])
    n = np.concatenate([p[1] for p in parts])
    ox, oy, ol = (np.concatenate([p[k] for p in parts]) for k in (2, 3, 4))
    a, sx, sy, i2 = (np.empty(J) for _ in range(4))
    for arr, k in zip((a, sx, sy, i2), (5, 6, 7, 8)):
        arr[items] = np.concatenate([p[k] for p in parts])
    nv = np.empty(J, dtype=np.int64)
    nv[items] = n
    X, Y, L = scatter_padded(items, ptr, n, ox, oy, ol, max(int(n.max()), 1))
    return X, Y, L, nv, a, sx, sy, i2


@numba.njit(cache=True, nogil=True)
def scatter_padded(rows, ptr, nvert, ox, oy, ol, V):
    """Padded (J, V) arrays from the flat cells (cell t goes to row ``rows[t]``): rows padded
    with copies of vertex 0 (labels -1), as :mod:`otgan.laguerre` stores them."""
    J = nvert.size
    X = np.empty((J, V))
    Y = np.empty((J, V))
    L = np.empty((J, V), np.int64)
    for t in range(J):
        i = rows[t]
        n = nvert[t]
        p = ptr[t]
        for c in range(n):
            X[i, c] = ox[p + c]
            Y[i, c] = oy[p + c]
            L[i, c] = ol[p + c]
        x0 = ox[p] if n > 0 else 0.0
        y0 = oy[p] if n > 0 else 0.0
        for c in range(n, V):
            X[i, c] = x0
            Y[i, c] = y0
            L[i, c] = -1
    return X, Y, L
