r"""numba kernels for :class:`otgan.measures.ImageDensity`: exact integrals of a piecewise-constant
density on a pixel grid over polygons and along segments.

Private module (layer L1, below :mod:`otgan.measures`; it imports no otgan module).

**Grid.** ``xs`` (``nc + 1``, increasing) are the column edges, ``ys`` (``nr + 1``, decreasing) the
row edges from the top: pixel ``(r, k)`` is ``[xs[k], xs[k+1]] x [ys[r+1], ys[r]]`` and carries the
density ``rho[r, k]`` (row 0 is the top, as in an image); outside the grid the density is 0.
:func:`grid_tables` builds the three arrays.

**Polygons** (:func:`ring_integrals`). For a closed ring :math:`\partial P` (vertices
``vx[ptr[i]:ptr[i] + n[i]]``, ``vy[...]``, the edge from the last vertex back to the first
implied), Green's formula gives, with :math:`o` a reference point and
:math:`R_q(X, Y) = \int_0^X t^q \rho(o + (t, Y)) \, dt` (local coordinates
:math:`(X, Y) = x - o`),

.. math::

    \int_P X^q \rho = \oint_{\partial P} R_q \, dY \ (q = 0, 1, 2), \qquad
    \int_P Y^p \rho = \oint_{\partial P} Y^p R_0 \, dY \ (p = 1, 2),

signed by the orientation (counter-clockwise positive: a clockwise ring, a hole, counts
negatively). Each edge is cut at the grid lines into pieces lying in one pixel ``(r, k)``, where
:math:`R_q(X) = B_q(r, k) + \rho_{rk} (X^{q+1} - a_k^{q+1}) / (q + 1)` with :math:`a_k` the point
of the pixel's column nearest to :math:`X = 0` and :math:`B_q(r, k) = R_q(a_k)` the integral over
the pixels of row ``r`` between :math:`o` and :math:`a_k`. On a piece the integrands are
polynomials of degree at most 3 in the piece's parameter: Simpson's rule is exact. :math:`B_q` is
carried from piece to piece along the boundary (one pixel added or removed when the boundary
crosses a vertical grid line) and summed afresh over the pixels between :math:`o` and the piece
when the boundary enters a new row. The reference :math:`o` is the mean of the ring's vertices
(clamped to the grid), so every :math:`R_q` is of the size of the polygon: nothing cancels for
tiny cells far from the origin. The moments about the caller's centre :math:`c` follow by the
parallel-axis identities
:math:`\int (x - c) \rho = F_o + (o - c) M`,
:math:`\int \|x - c\|^2 \rho = S_o + 2 (o - c) \cdot F_o + \|o - c\|^2 M`.

Cost per ring: the (edge piece, pixel) crossings, plus one sum over the pixels between
:math:`o` and the boundary each time the boundary enters a pixel row, i.e. about the number of
pixels the polygon covers. Over a diagram whose cells tile the grid this is the number of pixels
plus the crossings, each pixel visited about once.

**Segments** (:func:`segment_integrals`): :math:`\int_S \rho \, ds`, the segment cut at the grid
lines and each piece weighted by the density of its pixel; a piece lying on a grid line (within
``1e-9`` pixel) takes the mean of the densities on both sides (0 outside the grid).

Both handle the rings (segments) sorted by the 16 x 16-pixel tile of their first vertex (so that
neighbouring polygons, which read the same pixels, follow each other: the image stays in cache
whatever the input order), in contiguous ranges on a few threads (the kernels release the GIL).
Each result depends only on its own ring, so the output depends neither on the order nor on the
number of threads.
"""

from __future__ import annotations

import numba
import numpy as np

from ._utils import kernel_map, kernel_threads

__all__ = ["grid_tables", "ring_integrals", "segment_integrals"]

_ON_LINE = 1e-9  # a segment within this many pixel sizes of a grid line lies on it


def grid_tables(extent, shape, density):
    """The grid arrays ``(xs, ys, rho)`` of a pixel image.

    Parameters
    ----------
    extent : (xmin, xmax, ymin, ymax)
    shape : (nr, nc)
    density : array (nr, nc)
        Row 0 is the top.

    Returns
    -------
    xs : numpy array (nc + 1,)
        ``xmin + k w`` (``w = (xmax - xmin) / nc``), the last one ``xmax`` exactly.
    ys : numpy array (nr + 1,)
        ``ymax - r h``, the last one ``ymin`` exactly.
    rho : numpy array (nr, nc), C-contiguous float64
    """
    xmin, xmax, ymin, ymax = (float(e) for e in extent)
    nr, nc = (int(s) for s in shape)
    w = (xmax - xmin) / nc
    h = (ymax - ymin) / nr
    xs = xmin + w * np.arange(nc + 1, dtype=np.float64)
    xs[-1] = xmax
    ys = ymax - h * np.arange(nr + 1, dtype=np.float64)
    ys[-1] = ymin
    rho = np.ascontiguousarray(density, dtype=np.float64).reshape(nr, nc)
    return xs, ys, rho


@numba.njit(cache=True, nogil=True)
def _col(x, xs, nc, iw):
    """Column k in [-1, nc] with xs[k] <= x < xs[k+1] (xs[-1] = -inf, xs[nc+1] = inf);
    ``iw = nc / (xs[nc] - xs[0])`` gives the first guess, the comparisons the answer."""
    u = (x - xs[0]) * iw
    if not (u > -1.0):
        k = -1
    elif u >= nc:
        k = nc
    else:
        k = int(np.floor(u))
    while k >= 0 and x < xs[k]:
        k -= 1
    while k < nc and x >= xs[k + 1]:
        k += 1
    return k


@numba.njit(cache=True, nogil=True)
def _row(y, ys, nr, ih):
    """Row r in [-1, nr] with ys[r+1] <= y < ys[r] (ys[-1] = inf, ys[nr+1] = -inf);
    ``ih = nr / (ys[0] - ys[nr])``."""
    u = (ys[0] - y) * ih
    if not (u > -1.0):
        r = -1
    elif u >= nr:
        r = nr
    else:
        r = int(np.floor(u))
    while r >= 0 and y >= ys[r]:
        r -= 1
    while r < nr and y < ys[r + 1]:
        r += 1
    return r


@numba.njit(cache=True, nogil=True)
def _pix(rv, lo, hi):
    """rv * int_lo^hi t^q dt for q = 0, 1, 2 (factored: no cancellation)."""
    if rv == 0.0:
        return 0.0, 0.0, 0.0
    d = rv * (hi - lo)
    return d, d * (hi + lo) * 0.5, d * (hi * hi + hi * lo + lo * lo) * (1.0 / 3.0)


@numba.njit(cache=True, nogil=True)
def _step(rho, r, k, kc, xs, ox, nc):
    """B_q(r, k + 1) - B_q(r, k): the part of row r between the anchors a_k and a_{k+1}."""
    if k >= kc:
        lo = 0.0 if k == kc else xs[k] - ox
        return _pix(rho[r, k], lo, xs[k + 1] - ox)
    hi = 0.0 if k + 1 == kc else xs[k + 2] - ox
    return _pix(rho[r, k + 1], xs[k + 1] - ox, hi)


@numba.njit(cache=True, nogil=True)
def _xlines(x0, x1, xs, nc, iw):
    """The vertical grid lines k strictly between x0 and x1: (first, last), empty if first >
    last."""
    lo = min(x0, x1)
    hi = max(x0, x1)
    if lo == hi:
        return 1, 0
    k0 = max(_col(lo, xs, nc, iw) + 1, 0)  # xs[k0] > lo
    k1 = min(_col(hi, xs, nc, iw), nc)  # xs[k1] <= hi
    if k1 >= 0 and xs[k1] == hi:
        k1 -= 1
    return k0, k1


@numba.njit(cache=True, nogil=True)
def _ylines(y0, y1, ys, nr, ih):
    """The horizontal grid lines r strictly between y0 and y1: (first, last) from the top."""
    lo = min(y0, y1)
    hi = max(y0, y1)
    if lo == hi:
        return 1, 0
    r0 = max(_row(hi, ys, nr, ih) + 1, 0)  # ys[r0] <= hi
    if r0 <= nr and ys[r0] == hi:
        r0 += 1
    r1 = min(_row(lo, ys, nr, ih), nr)  # ys[r1] > lo
    return r0, r1


@numba.njit(cache=True, nogil=True)
def _ring(p, m, vx, vy, xs, ys, rho, nr, nc):
    """(M, F_x, F_y, S, ox, oy) of one ring about its reference point o."""
    iw = nc / (xs[nc] - xs[0])
    ih = nr / (ys[0] - ys[nr])
    ox = 0.0
    oy = 0.0
    for t in range(p, p + m):
        ox += vx[t]
        oy += vy[t]
    ox = min(max(ox / m, xs[0]), xs[nc])
    oy = min(max(oy / m, ys[nr]), ys[0])
    kc = min(max(_col(ox, xs, nc, iw), 0), nc - 1)  # xs[kc] <= ox <= xs[kc + 1]
    ytop = ys[0]
    ybot = ys[nr]
    mass = 0.0
    fx = 0.0
    fy = 0.0
    sxx = 0.0
    syy = 0.0
    cur_r = -2  # row and column of B_q below (-2: none)
    cur_k = 0
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    for e in range(m):
        i0 = p + e
        i1 = p + e + 1 if e + 1 < m else p
        x0 = vx[i0]
        y0 = vy[i0]
        x1 = vx[i1]
        y1 = vy[i1]
        if y0 == y1:
            continue  # horizontal: dY = 0
        if (y0 >= ytop and y1 >= ytop) or (y0 <= ybot and y1 <= ybot):
            continue  # outside the rows: no density
        X0 = x0 - ox
        Y0 = y0 - oy
        dX = x1 - x0
        dY = y1 - y0
        # grid lines strictly inside the edge, visited in the order of travel
        kx0, kx1 = _xlines(x0, x1, xs, nc, iw)
        ry0, ry1 = _ylines(y0, y1, ys, nr, ih)
        nx = max(kx1 - kx0 + 1, 0)
        ny = max(ry1 - ry0 + 1, 0)
        sk = 1 if dX > 0 else -1
        sr = 1 if dY < 0 else -1  # rows are counted downwards
        kk = kx0 if dX > 0 else kx1
        rr = ry0 if dY < 0 else ry1
        idX = 1.0 / dX if dX != 0.0 else 0.0
        idY = 1.0 / dY
        tx = (xs[kk] - x0) * idX if nx > 0 else 2.0
        ty = (ys[rr] - y0) * idY if ny > 0 else 2.0
        ix = 0
        iy = 0
        ta = 0.0
        Xa = X0
        Ya = Y0
        # pixel (r, k) of the current piece: the one the edge enters from its start (exact
        # comparisons), then tracked across the crossings
        r = _row(y0, ys, nr, ih)
        if dY < 0 and r < nr and y0 == ys[r + 1]:
            r += 1
        k = _col(x0, xs, nc, iw)
        if dX < 0 and k >= 0 and x0 == xs[k]:
            k -= 1
        while True:
            step_x = False
            if tx >= 2.0 and ty >= 2.0:
                tb = 1.0
                Xb = x1 - ox
                Yb = y1 - oy
            elif tx <= ty:
                # a vertical line between two pixels of equal density (or outside the rows)
                # does not change R_q: the piece goes on across it
                k2 = k + sk
                if not (0 <= r < nr):
                    same = True
                else:
                    ra = rho[r, k] if 0 <= k < nc else 0.0
                    rb = rho[r, k2] if 0 <= k2 < nc else 0.0
                    same = ra == rb
                if same:
                    ix += 1
                    kk += sk
                    k = k2
                    tx = (xs[kk] - x0) * idX if ix < nx else 2.0
                    continue
                tb = min(max(tx, ta), 1.0)
                Xb = xs[kk] - ox
                Yb = Y0 + tb * dY
                step_x = True
            else:
                tb = min(max(ty, ta), 1.0)
                Xb = X0 + tb * dX
                Yb = ys[rr] - oy
            dy = Yb - Ya
            if tb > ta and dy != 0.0 and 0 <= r < nr:
                Xm = 0.5 * (Xa + Xb)
                Ym = 0.5 * (Ya + Yb)
                # B_q(r, k): carried along the row, summed afresh in a new row
                if r != cur_r:
                    cur_r = r
                    cur_k = kc
                    b0 = 0.0
                    b1 = 0.0
                    b2 = 0.0
                while cur_k < k:
                    s0, s1, s2 = _step(rho, r, cur_k, kc, xs, ox, nc)
                    b0 += s0
                    b1 += s1
                    b2 += s2
                    cur_k += 1
                while cur_k > k:
                    s0, s1, s2 = _step(rho, r, cur_k - 1, kc, xs, ox, nc)
                    b0 -= s0
                    b1 -= s1
                    b2 -= s2
                    cur_k -= 1
                if 0 <= k < nc:
                    rv = rho[r, k]
                else:
                    rv = 0.0
                if k == kc:
                    a = 0.0
                elif k > kc:
                    a = xs[k] - ox
                else:
                    a = xs[k + 1] - ox
                # Simpson's rule (exact for these cubics)
                c0 = b0 - rv * a
                my2 = (Ya * Ya + 4.0 * Ym * Ym + Yb * Yb) * (1.0 / 6.0)
                mass_p = c0
                fx_p = b1
                sxx_p = b2
                fy_p = c0 * Ym
                syy_p = c0 * my2
                if rv != 0.0:
                    x2a = Xa * Xa
                    x2m = Xm * Xm
                    x2b = Xb * Xb
                    mx = (Xa + 4.0 * Xm + Xb) * (1.0 / 6.0)
                    mx2 = (x2a + 4.0 * x2m + x2b) * (1.0 / 6.0)
                    mx3 = (x2a * Xa + 4.0 * x2m * Xm + x2b * Xb) * (1.0 / 6.0)
                    mxy = (Xa * Ya + 4.0 * Xm * Ym + Xb * Yb) * (1.0 / 6.0)
                    mxy2 = (Xa * Ya * Ya + 4.0 * Xm * Ym * Ym + Xb * Yb * Yb) * (1.0 / 6.0)
                    mass_p += rv * mx
                    fx_p += rv * 0.5 * (mx2 - a * a)
                    sxx_p += rv * (1.0 / 3.0) * (mx3 - a * a * a)
                    fy_p += rv * mxy
                    syy_p += rv * mxy2
                mass += dy * mass_p
                fx += dy * fx_p
                fy += dy * fy_p
                sxx += dy * sxx_p
                syy += dy * syy_p
            if tb >= 1.0 and ix >= nx and iy >= ny:
                break
            if tx < 2.0 or ty < 2.0:  # advance past the crossing just used
                if step_x:
                    ix += 1
                    kk += sk
                    tx = (xs[kk] - x0) * idX if ix < nx else 2.0
                    k += sk
                else:
                    iy += 1
                    rr += sr
                    ty = (ys[rr] - y0) * idY if iy < ny else 2.0
                    r += sr
            ta = tb
            Xa = Xb
            Ya = Yb
    return mass, fx, fy, sxx + syy, ox, oy


@numba.njit(cache=True, nogil=True)
def _rings_range(i0, i1, seq, ptr, n, vx, vy, cx, cy, xs, ys, rho, mass, fx, fy, second):
    nr, nc = rho.shape
    for t in range(i0, i1):
        i = seq[t]
        if n[i] < 3:
            mass[i] = 0.0
            fx[i] = 0.0
            fy[i] = 0.0
            second[i] = 0.0
            continue
        M, Fx, Fy, S, ox, oy = _ring(ptr[i], n[i], vx, vy, xs, ys, rho, nr, nc)
        dx = ox - cx[i]
        dy = oy - cy[i]
        mass[i] = M
        fx[i] = Fx + ox * M
        fy[i] = Fy + oy * M
        second[i] = S + 2.0 * (dx * Fx + dy * Fy) + (dx * dx + dy * dy) * M


@numba.njit(cache=True, nogil=True)
def _segments_range(i0, i1, seq, x0s, y0s, x1s, y1s, xs, ys, rho, out):
    nr, nc = rho.shape
    w = (xs[nc] - xs[0]) / nc
    h = (ys[0] - ys[nr]) / nr
    iw = nc / (xs[nc] - xs[0])
    ih = nr / (ys[0] - ys[nr])
    for t in range(i0, i1):
        i = seq[t]
        x0 = x0s[i]
        y0 = y0s[i]
        x1 = x1s[i]
        y1 = y1s[i]
        dX = x1 - x0
        dY = y1 - y0
        length = np.hypot(dX, dY)
        total = 0.0
        if length == 0.0:
            out[i] = 0.0
            continue
        # a segment on a vertical (horizontal) grid line: the mean of both sides
        on_v = -2
        on_h = -2
        if dX == 0.0:
            u = (x0 - xs[0]) / w
            ku = int(np.round(u))
            if abs(u - ku) < _ON_LINE and -1 <= ku <= nc + 1:
                on_v = ku
        if dY == 0.0:
            v = (ys[0] - y0) / h
            kv = int(np.round(v))
            if abs(v - kv) < _ON_LINE and -1 <= kv <= nr + 1:
                on_h = kv
        kx_lo, kx_hi = _xlines(x0, x1, xs, nc, iw)
        ry_lo, ry_hi = _ylines(y0, y1, ys, nr, ih)
        nx = max(kx_hi - kx_lo + 1, 0)
        ny = max(ry_hi - ry_lo + 1, 0)
        ix = 0
        iy = 0
        ta = 0.0
        while True:
            if ix < nx:
                kk = kx_lo + ix if dX > 0 else kx_hi - ix
                tx = (xs[kk] - x0) / dX
            else:
                tx = 2.0
            if iy < ny:
                rr = ry_lo + iy if dY < 0 else ry_hi - iy
                ty = (ys[rr] - y0) / dY
            else:
                ty = 2.0
            if tx >= 2.0 and ty >= 2.0:
                tb = 1.0
            elif tx <= ty:
                tb = min(max(tx, ta), 1.0)
                ix += 1
            else:
                tb = min(max(ty, ta), 1.0)
                iy += 1
            if tb > ta:
                tm = 0.5 * (ta + tb)
                r = _row(y0 + tm * dY, ys, nr, ih)
                k = _col(x0 + tm * dX, xs, nc, iw)
                if on_v >= -1:
                    dl = rho[r, on_v - 1] if (0 <= r < nr and 1 <= on_v <= nc) else 0.0
                    dr = rho[r, on_v] if (0 <= r < nr and 0 <= on_v < nc) else 0.0
                    rv = 0.5 * (dl + dr)
                elif on_h >= -1:
                    du = rho[on_h - 1, k] if (0 <= k < nc and 1 <= on_h <= nr) else 0.0
                    dd = rho[on_h, k] if (0 <= k < nc and 0 <= on_h < nr) else 0.0
                    rv = 0.5 * (du + dd)
                elif 0 <= r < nr and 0 <= k < nc:
                    rv = rho[r, k]
                else:
                    rv = 0.0
                total += rv * (tb - ta)
            ta = tb
            if tb >= 1.0 and ix >= nx and iy >= ny:
                break
        out[i] = total * length


_TILE = 16  # pixels per side of the tiles that order the work


@numba.njit(cache=True, nogil=True)
def _tile_order(px, py, xs, ys):
    """Indices of the points (px, py) sorted by the 16 x 16-pixel tile holding them (row-major
    tiles, stable counting sort): polygons or segments handled in this order read the image
    from cache, not from memory."""
    nr = ys.size - 1
    nc = xs.size - 1
    iw = nc / (xs[nc] - xs[0])
    ih = nr / (ys[0] - ys[nr])
    ntr = (nr + _TILE - 1) // _TILE
    ntc = (nc + _TILE - 1) // _TILE
    m = px.size
    key = np.empty(m, dtype=np.int64)
    count = np.zeros(ntr * ntc + 1, dtype=np.int64)
    for i in range(m):
        k = min(max(_col(px[i], xs, nc, iw), 0), nc - 1) // _TILE
        r = min(max(_row(py[i], ys, nr, ih), 0), nr - 1) // _TILE
        key[i] = r * ntc + k
        count[key[i] + 1] += 1
    for t in range(ntr * ntc):
        count[t + 1] += count[t]
    seq = np.empty(m, dtype=np.int64)
    for i in range(m):
        seq[count[key[i]]] = i
        count[key[i]] += 1
    return seq


def _map(fn, m, threads):
    """fn(i0, i1) over contiguous ranges of [0, m), one per thread."""
    nthr = kernel_threads(m, threads, min_size=2048)
    b = np.linspace(0, m, nthr + 1).astype(np.int64)
    kernel_map(lambda c: fn(int(b[c]), int(b[c + 1])), nthr)


def ring_integrals(ptr, n, vx, vy, cx, cy, xs, ys, rho, *, threads=None):
    r"""Exact integrals of the pixel density over many rings.

    Parameters
    ----------
    ptr, n : int arrays (m,)
        Ring ``i`` has the vertices ``vx[ptr[i]:ptr[i] + n[i]]``, ``vy[...]`` (the closing edge
        implied, no vertex repeated), the CSR form of :func:`otgan._power.power_cells`. Rings
        with fewer than 3 vertices give zeros.
    vx, vy : float arrays
        Vertices in absolute coordinates.
    cx, cy : float arrays (m,)
        Centre of each ring's second moment.
    xs, ys, rho : arrays
        The grid, from :func:`grid_tables`.
    threads : int, optional
        Number of threads (default: the CPUs, at most 8, one below 2048 rings).

    Returns
    -------
    mass, fx, fy, second : numpy arrays (m,)
        :math:`\int_P \rho`, :math:`\int_P x \rho`, :math:`\int_P y \rho` and
        :math:`\int_P \|x - c_i\|^2 \rho` over the region enclosed by ring ``i``, positive
        for a counter-clockwise ring and negative for a clockwise one (a simple ring; for a
        self-intersecting one, the integrals weighted by the winding number).
    """
    ptr = np.ascontiguousarray(ptr, dtype=np.int64)
    n = np.ascontiguousarray(n, dtype=np.int64)
    vx = np.ascontiguousarray(vx, dtype=np.float64)
    vy = np.ascontiguousarray(vy, dtype=np.float64)
    cx = np.ascontiguousarray(cx, dtype=np.float64)
    cy = np.ascontiguousarray(cy, dtype=np.float64)
    m = ptr.size
    out = [np.empty(m) for _ in range(4)]
    if m == 0:
        return tuple(out)
    first = np.minimum(ptr, max(vx.size - 1, 0))
    seq = _tile_order(vx[first], vy[first], xs, ys) if vx.size else np.arange(m)

    def run(i0, i1):
        _rings_range(i0, i1, seq, ptr, n, vx, vy, cx, cy, xs, ys, rho, *out)

    _map(run, m, threads)
    return tuple(out)


def segment_integrals(x0, y0, x1, y1, xs, ys, rho, *, threads=None):
    r""":math:`\int_{[a_k, b_k]} \rho \, ds` for segments from ``(x0, y0)`` to ``(x1, y1)``
    (float arrays (m,)); a piece lying on a grid line (within ``1e-9`` pixel) counts the mean of
    the densities on both sides, 0 outside the grid. Returns a numpy array (m,)."""
    x0, y0, x1, y1 = (np.ascontiguousarray(a, dtype=np.float64) for a in (x0, y0, x1, y1))
    m = x0.size
    out = np.empty(m)
    seq = _tile_order(x0, y0, xs, ys)

    def run(i0, i1):
        _segments_range(i0, i1, seq, x0, y0, x1, y1, xs, ys, rho, out)

    _map(run, m, threads)
    return out
