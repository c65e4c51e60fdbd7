r"""numba kernels for :mod:`otgan.laguerre`: exact power cells by half-plane clipping.

Private module. :func:`power_cells` computes every power cell

.. math::

    L_i = \{x \in B : \|x - y_i\|^2 - \psi_i \le \|x - y_k\|^2 - \psi_k \ \forall k\}

of sites ``y`` with weights ``psi``, clipped to a rectangle ``B``, together with its area and its
first and second moments about :math:`y_i`.

**Neighbour search.** The sites are put in a kd-tree (median splits along the wider side, leaves
of at most ``leaf`` sites; every node stores the bounding box of its sites and their largest
weight :math:`P`). The cells are built in the tree's order (neighbouring cells one after the
other). Each cell starts as ``B`` and the tree is walked depth first, the child whose power lower
bound at :math:`y_i` is smaller first. A node is skipped when no site in it can cut the current
cell: the cell is convex, so a site :math:`k` cuts it only if it beats :math:`i` at one of its
vertices :math:`v`, and :math:`\|v - y_k\|^2 - \psi_k \ge d(v, \mathrm{box})^2 - P`. The test
uses the vertices of the current cell and the largest weight *of that node* (not of all sites):
the walk visits the few nodes around the cell whatever the spread of ``psi``, and needs no
security radius. A node that test keeps is then tested against its least-squares plane
:math:`\psi_k \le A + \langle g, y_k\rangle + e` (:func:`node_bounds`), which gives
:math:`\|v - y_k\|^2 - \psi_k \ge d(v + g/2, \mathrm{box})^2 - \langle g, v\rangle - |g|^2/4 - A - e`
(with a relative margin for rounding): where the potential has a slope, the cells lie far from
their sites (a measure concentrated on part of the domain, an image with black pixels) and the
largest weight alone would open every node between the site and its cell.

**Warm start.** Given the cells of a nearby potential (Newton's last iterate), each cell is
first clipped by its neighbours there: it starts almost final, and the walk only has to prove
that no other site cuts it.

**Arithmetic.** Everything is computed in the frame of the cell's site, :math:`z = x - y_i`. The
half-plane of site :math:`k` is

.. math::

    \langle z, u \rangle \le \tfrac12 (\|u\|^2 + \psi_i - \psi_k), \qquad u = y_k - y_i,

in which no term cancels: :math:`u` is exact for nearby sites (Sterbenz) and :math:`\|u\|^2` is
accurate to a few ulps of itself, so two sites ``1e-12`` apart get their bisector to ``1e-28``
(the form :math:`2 \langle x, y_k - y_i\rangle \le \|y_k\|^2 - \|y_i\|^2 - \ldots` loses all its
digits there). Areas and moments are the shoelace sums in the same frame.

Clipping of a convex polygon by :math:`s(z) \le 0`: vertices with :math:`s \le 0` are kept, a new
vertex is created only where an edge goes strictly from one side to the other (a half-plane
through a vertex creates no vertex: ties are exact), and every edge remembers the site that
created it (-1: the box). The working polygon and the output buffers grow as needed.
"""

from __future__ import annotations

import numba
import numpy as np

from .._utils import kernel_map, kernel_threads

__all__ = ["PowerCells", "PowerTree", "build_tree", "cells_range", "edge_pairs", "gather",
           "node_bounds", "power_cells", "symmetric_csr"]

_LEAF = 8  # sites per kd-tree leaf
_MARGIN = 1e-12  # relative safety margin of the plane bound (rounding of its terms)


@numba.njit(cache=True, nogil=True)
def _select(perm, coord, lo, hi, k):
    """Reorder ``perm[lo:hi]`` by ``coord`` around position ``k`` (a partial sort).

    ``coord[perm[k]]`` ends as the value a full sort would put there, with smaller (or equal)
    values before it and larger (or equal) after it (Hoare's quickselect, pivot the median of
    three; ``lo <= k < hi``).
    """
    while hi - lo > 1:
        mid = (lo + hi - 1) // 2
        a = coord[perm[lo]]
        b = coord[perm[mid]]
        c = coord[perm[hi - 1]]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
        pivot = max(a, b)
        i = lo
        j = hi - 1
        while i <= j:
            while coord[perm[i]] < pivot:
                i += 1
            while coord[perm[j]] > pivot:
                j -= 1
            if i <= j:
                t = perm[i]
                perm[i] = perm[j]
                perm[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return


@numba.njit(cache=True, nogil=True)
def build_tree(yx, yy, leaf):
    """Build the kd-tree of the sites ``(yx, yy)``.

    Median splits along the wider side of each node's bounding box, leaves of at most ``leaf``
    sites. Returns ``perm`` (tree order -> site), the node arrays ``start``, ``end`` (range of
    ``perm``), ``child`` (first child, -1 for a leaf; the second is ``child + 1``), ``parent``
    (-1 for the root) and ``bbox`` (nodes, 4) = (xmin, ymin, xmax, ymax) of the node's sites;
    node 0 is the root. The bounds of the weights are :func:`node_bounds`'s, for each potential.
    """
    J = yx.size
    perm = np.arange(J)
    cap = 2 * (J // max(leaf // 2, 1) + 1) + 1
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    child = np.full(cap, -1, np.int64)
    parent = np.full(cap, -1, np.int64)
    bbox = np.empty((cap, 4))
    start[0] = 0
    end[0] = J
    nn = 1
    stack = np.empty(128, np.int64)
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        s = start[node]
        e = end[node]
        x0 = np.inf
        y0 = np.inf
        x1 = -np.inf
        y1 = -np.inf
        for t in range(s, e):
            k = perm[t]
            x0 = min(x0, yx[k])
            x1 = max(x1, yx[k])
            y0 = min(y0, yy[k])
            y1 = max(y1, yy[k])
        bbox[node, 0] = x0
        bbox[node, 1] = y0
        bbox[node, 2] = x1
        bbox[node, 3] = y1
        if e - s <= leaf:
            continue
        mid = (s + e) // 2
        if x1 - x0 >= y1 - y0:
            _select(perm, yx, s, e, mid)
        else:
            _select(perm, yy, s, e, mid)
        child[node] = nn
        parent[nn] = node
        parent[nn + 1] = node
        start[nn] = s
        end[nn] = mid
        start[nn + 1] = mid
        end[nn + 1] = e
        stack[sp] = nn
        stack[sp + 1] = nn + 1
        sp += 2
        nn += 2
    return perm, start[:nn], end[:nn], child[:nn], parent[:nn], bbox[:nn]


@numba.njit(cache=True, nogil=True)
def _node_bound(bbox, node, cx, cy):
    """Squared distance from (cx, cy) to the node's bounding box."""
    dx = max(bbox[node, 0] - cx, 0.0, cx - bbox[node, 2])
    dy = max(bbox[node, 1] - cy, 0.0, cy - bbox[node, 3])
    return dx * dx + dy * dy


@numba.njit(cache=True, nogil=True, inline="always")
def _box_d2(zx, zy, bx0, by0, bx1, by1):
    """Squared distance from (zx, zy) to the box [bx0, bx1] x [by0, by1]."""
    dx = 0.0
    if zx < bx0:
        dx = bx0 - zx
    elif zx > bx1:
        dx = zx - bx1
    dy = 0.0
    if zy < by0:
        dy = by0 - zy
    elif zy > by1:
        dy = zy - by1
    return dx * dx + dy * dy


@numba.njit(cache=True, nogil=True)
def cells_range(p0, p1, order, gx, gy, gp, items, pos, start, end, child, parent, bbox, pmax,
                model, xlo, ylo, xhi, yhi, nbptr, nbn, nbidx, cap, cap_out):
    r"""Compute the power cells of the sites at tree positions ``order[p0:p1]``, clipped to the box.

    ``gx, gy, gp``: coordinates and weights in tree order, ``items`` the original indices and
    ``pos`` their inverse; the tree from :func:`build_tree` with the bounds of
    :func:`node_bounds` (``model`` with no rows: no plane bound); the box ``xlo, ylo, xhi,
    yhi``; ``nbptr, nbn, nbidx`` the neighbours of each cell in a nearby diagram, in tree
    positions (-1: the box), or empty arrays (no warm start).

    ``order``: tree positions (all of them, ``arange(J)``, for a whole diagram; any subset for
    the cells of a few sites). Returns ``p_done`` (the cells of ``order[p0:p_done]`` were
    computed: fewer than asked when a cell needs more than ``cap`` vertices or the output more
    than ``cap_out``; the caller goes on from ``p_done`` with larger buffers) and, for each
    computed cell in order, the offset
    ``ptr`` into the flat arrays ``vx, vy`` (vertices, counter-clockwise) and ``lab`` (original
    index of the site that created the edge from each vertex to the next; -1 the box), the
    vertex count, and the area, first moment and second moment about ``y_i`` (polar:
    :math:`\int \|x - y_i\|^2 dx`). An empty cell has 0 vertices (a degenerate one may keep 1
    or 2 vertices of zero area, as the half-planes leave them).

    Each cell is clipped by the sites of its own leaf first (and, with a warm start, its
    neighbours in the nearby diagram), in order of power distance from ``y_i``; then the tree is
    walked upwards from that leaf, each sibling subtree depth first; a node is skipped when no
    site in it can beat ``y_i`` at a vertex of the current cell (first tested on the disc around
    ``y_i`` holding the cell, then on the vertices with the node's largest weight, then with
    its plane bound).

    No array variable is ever rebound here (numba then keeps the arrays out of reference
    counting in the loops, which otherwise costs more than the geometry).
    """
    M = p1 - p0
    use_model = model.shape[0] > 0
    ox = np.empty(cap_out)
    oy = np.empty(cap_out)
    ol = np.empty(cap_out, np.int64)
    ptr = np.zeros(M, np.int64)
    nvert = np.zeros(M, np.int64)
    area = np.zeros(M)
    sx = np.zeros(M)
    sy = np.zeros(M)
    i2 = np.zeros(M)
    # two working polygons (clipping goes from one to the other) and the half-plane values
    wx = np.empty((2, cap))
    wy = np.empty((2, cap))
    wl = np.empty((2, cap), np.int64)
    s = np.empty(cap)
    stack = np.empty(256, np.int64)
    leaf = 1
    for node in range(start.size):
        leaf = max(leaf, end[node] - start[node])
    leaf_of = np.empty(end[0], np.int64)
    for node in range(start.size):
        if child[node] < 0:
            for t in range(start[node], end[node]):
                leaf_of[t] = node
    maxnb = 0
    for t in range(nbn.size):
        maxnb = max(maxnb, nbn[t])
    lidx = np.empty(leaf + cap + maxnb + 1, np.int64)
    lkey = np.empty(leaf + cap + maxnb + 1)
    # mark[k] == i: site k has been clipped against cell i (a warm start's neighbour)
    mark = np.full(end[0] if nbn.size else 0, -1, np.int64)
    fill = 0
    p_done = p1
    for it in range(p0, p1):
        i = order[it]
        cx = gx[i]
        cy = gy[i]
        pi = gp[i]
        cur = 0
        # the box in the frame of y_i
        wx[0, 0] = xlo - cx
        wy[0, 0] = ylo - cy
        wx[0, 1] = xhi - cx
        wy[0, 1] = ylo - cy
        wx[0, 2] = xhi - cx
        wy[0, 2] = yhi - cy
        wx[0, 3] = xlo - cx
        wy[0, 3] = yhi - cy
        for c in range(4):
            wl[0, c] = -1
        n = 4
        r2 = -1.0  # squared radius of the disc around y_i holding the cell (-1: to compute)
        r = 0.0
        overflow = False
        level = leaf_of[i]  # the walk has covered the subtree of `level`
        sp = 0
        first = True  # the own leaf first, then the walk upwards
        warm = 1 if nbn.size else 0
        while n > 0:
            # ---- the next batch of candidate sites into lidx[:m]
            m = 0
            if first:
                first = False
                kn0 = start[level]
                kn1 = end[level]
            else:
                found = False
                while not found:
                    if sp == 0:
                        if level == 0:
                            break
                        par = parent[level]
                        ch = child[par]
                        stack[0] = ch if level == ch + 1 else ch + 1
                        sp = 1
                        level = par
                    sp -= 1
                    node = stack[sp]
                    # skip the node if no site in it beats y_i at a vertex of the cell
                    bx0 = bbox[node, 0] - cx
                    by0 = bbox[node, 1] - cy
                    bx1 = bbox[node, 2] - cx
                    by1 = bbox[node, 3] - cy
                    dp = pmax[node] - pi
                    if r2 < 0.0:
                        r2 = 0.0
                        for c in range(n):
                            r2 = max(r2, wx[cur, c] * wx[cur, c] + wy[cur, c] * wy[cur, c])
                        r = np.sqrt(r2)
                    dx = max(bx0, 0.0, -bx1)
                    dy = max(by0, 0.0, -by1)
                    dd = dx * dx + dy * dy
                    if dd > r2:
                        d0 = np.sqrt(dd) - r
                        if d0 > 0.0 and d0 * d0 - dp >= r2:
                            continue  # the whole disc is safe
                    cut = False
                    for c in range(n):
                        zx = wx[cur, c]
                        zy = wy[cur, c]
                        if _box_d2(zx, zy, bx0, by0, bx1, by1) - dp < zx * zx + zy * zy:
                            cut = True
                            break
                    if not cut:
                        continue
                    if use_model and (model[node, 1] != 0.0 or model[node, 2] != 0.0):
                        # the node's plane psi_k <= A + <g, y_k> + e: for every site of the node
                        # ||v - y_k||^2 - psi_k >= d(v + g/2, box)^2 - <g, v> - |g|^2/4 - A - e
                        # (a bound that follows psi's slope across the node; in the frame of y_i)
                        gxn = model[node, 1]
                        gyn = model[node, 2]
                        a2 = model[node, 0] + gxn * cx + gyn * cy + model[node, 3] - pi
                        g2 = 0.25 * (gxn * gxn + gyn * gyn)
                        marg = _MARGIN * (abs(model[node, 0]) + abs(pi) + model[node, 3] + g2
                                          + (abs(gxn) + abs(gyn)) * (abs(cx) + abs(cy)))
                        cut = False
                        for c in range(n):
                            zx = wx[cur, c]
                            zy = wy[cur, c]
                            d2 = _box_d2(zx + 0.5 * gxn, zy + 0.5 * gyn, bx0, by0, bx1, by1)
                            gz = gxn * zx + gyn * zy
                            z2 = zx * zx + zy * zy
                            if (d2 - gz - g2 - a2 - marg - _MARGIN * (d2 + abs(gz) + z2)
                                    < z2):
                                cut = True
                                break
                        if not cut:
                            continue
                    ch = child[node]
                    if ch < 0:
                        found = True
                        kn0 = start[node]
                        kn1 = end[node]
                        break
                    if sp + 2 > stack.size:  # pragma: no cover - deeper than any tree here
                        overflow = True
                        break
                    # depth first, the child with the smaller power lower bound at y_i first
                    if (_node_bound(bbox, ch, cx, cy) - pmax[ch]
                            <= _node_bound(bbox, ch + 1, cx, cy) - pmax[ch + 1]):
                        stack[sp] = ch + 1
                        stack[sp + 1] = ch
                    else:
                        stack[sp] = ch
                        stack[sp + 1] = ch + 1
                    sp += 2
                if not found:
                    break
            for k in range(kn0, kn1):
                if k != i and (warm == 0 or mark[k] != i):
                    lidx[m] = k
                    m += 1
                    if warm:
                        mark[k] = i
            if warm == 1:
                # a warm start: the neighbours of the cell in a nearby diagram are clipped with
                # the own leaf (the cell is small from the start; the walk skips them later)
                warm = 2
                for q in range(nbptr[i], nbptr[i] + nbn[i]):
                    k = nbidx[q]
                    if k >= 0 and k != i and mark[k] != i:
                        lidx[m] = k
                        m += 1
                        mark[k] = i
            # ---- sorted by power distance from y_i (the nearest cut most), then clip
            for a in range(m):
                k = lidx[a]
                ux = gx[k] - cx
                uy = gy[k] - cy
                key = ux * ux + uy * uy - gp[k]
                c = a - 1
                while c >= 0 and lkey[c] > key:
                    lkey[c + 1] = lkey[c]
                    lidx[c + 1] = lidx[c]
                    c -= 1
                lkey[c + 1] = key
                lidx[c + 1] = k
            for a in range(m):
                k = lidx[a]
                ux = gx[k] - cx
                uy = gy[k] - cy
                # half-plane <z, u> <= (|u|^2 + psi_i - psi_k) / 2 in the frame of y_i
                u2 = ux * ux + uy * uy
                hb = 0.5 * (u2 + (pi - gp[k]))
                # the cell lies in the disc |z| <= r around y_i, where <z, u> <= r |u|: no cut
                # when r |u| <= hb (tested on squares, no square root)
                if r2 < 0.0:
                    r2 = 0.0
                    for c in range(n):
                        r2 = max(r2, wx[cur, c] * wx[cur, c] + wy[cur, c] * wy[cur, c])
                    r = np.sqrt(r2)
                if hb > 0.0 and r2 * u2 < hb * hb:
                    continue
                cuts = False
                for c in range(n):
                    sc = wx[cur, c] * ux + wy[cur, c] * uy - hb
                    s[c] = sc
                    if sc > 0.0:
                        cuts = True
                if not cuts:
                    continue
                if n + 1 > cap:
                    overflow = True
                    break
                # clip polygon `cur` into `nxt`
                nxt = 1 - cur
                lab = items[k]
                mm = 0
                for c in range(n):
                    cn = c + 1 if c + 1 < n else 0
                    sc = s[c]
                    sn = s[cn]
                    if sc <= 0.0:
                        wx[nxt, mm] = wx[cur, c]
                        wy[nxt, mm] = wy[cur, c]
                        wl[nxt, mm] = lab if (sc == 0.0 and sn > 0.0) else wl[cur, c]
                        mm += 1
                    if (sc < 0.0 and sn > 0.0) or (sc > 0.0 and sn < 0.0):
                        tt = sc / (sc - sn)
                        x0 = wx[cur, c]
                        y0 = wy[cur, c]
                        wx[nxt, mm] = x0 + tt * (wx[cur, cn] - x0)
                        wy[nxt, mm] = y0 + tt * (wy[cur, cn] - y0)
                        wl[nxt, mm] = lab if sc < 0.0 else wl[cur, c]
                        mm += 1
                n = mm
                cur = nxt
                r2 = -1.0
                if n == 0:
                    break
            if overflow:
                break
        if overflow or fill + n > cap_out:
            p_done = it
            break
        # ---- write the cell (global coordinates) and its moments: the shoelace sums about
        # the cell's first vertex z0 (accurate for a small cell far from its site), then moved
        # to the frame of y_i
        j = it - p0
        ptr[j] = fill
        nvert[j] = n
        a = 0.0
        fx = 0.0
        fy = 0.0
        f2 = 0.0
        z0x = wx[cur, 0] if n > 0 else 0.0
        z0y = wy[cur, 0] if n > 0 else 0.0
        for c in range(n):
            ox[fill + c] = wx[cur, c] + cx
            oy[fill + c] = wy[cur, c] + cy
            ol[fill + c] = wl[cur, c]
            cn = c + 1 if c + 1 < n else 0
            x0 = wx[cur, c] - z0x
            y0 = wy[cur, c] - z0y
            x1 = wx[cur, cn] - z0x
            y1 = wy[cur, cn] - z0y
            cr = x0 * y1 - x1 * y0
            a += cr
            fx += (x0 + x1) * cr
            fy += (y0 + y1) * cr
            f2 += (x0 * x0 + x0 * x1 + x1 * x1 + y0 * y0 + y0 * y1 + y1 * y1) * cr
        a /= 2.0
        fx /= 6.0
        fy /= 6.0
        f2 /= 12.0
        # int z = int (z - z0) + z0 A;  int |z|^2 = int |z - z0|^2 + 2 z0 . int (z - z0) + |z0|^2 A
        area[j] = a
        sx[j] = fx + z0x * a
        sy[j] = fy + z0y * a
        i2[j] = f2 + 2.0 * (z0x * fx + z0y * fy) + (z0x * z0x + z0y * z0y) * a
        fill += n
    k = p_done - p0
    return (p_done, ptr[:k], nvert[:k], ox[:fill], oy[:fill], ol[:fill], area[:k], sx[:k],
            sy[:k], i2[:k])


def _cells(p0, p1, *args):
    """Run :func:`cells_range` over ``p0 <= t < p1``, with buffers that grow as the cells need.

    Each run stops at the first cell that outgrows its buffers and the next one starts there:
    with a working polygon twice as large when that cell was the first of its run, and an
    output buffer sized for the cells left. Returns the parts ``(ptr, n, vx, vy, lab, area, sx,
    sy, i2)`` concatenated (``ptr`` into the concatenated vertex arrays).
    """
    cap, cap_out = 64, 8 * (p1 - p0) + 64
    parts = []
    while p0 < p1:
        done, *part = cells_range(p0, p1, *args, cap, cap_out)
        if done < p1:
            if done == p0:  # the first cell needs more room
                cap *= 2
                cap_out = 2 * cap_out + cap
            else:
                cap_out = 8 * (p1 - done) + 64 + cap
        parts.append(part)
        p0 = done
    if len(parts) == 1:
        return parts[0]
    shift = np.cumsum([0] + [p[2].size for p in parts[:-1]])
    out = [np.concatenate([p[0] + sh for p, sh in zip(parts, shift, strict=True)])]
    out += [np.concatenate([p[k] for p in parts]) for k in range(1, 9)]
    return out


class PowerCells:
    """Flat result of :func:`power_cells`, indexed by the original site index ``i``.

    The vertices of cell ``i`` are ``vx[ptr[i]:ptr[i] + n[i]]`` (likewise ``vy``, and ``lab``:
    the site that created the edge from each vertex to the next, -1 the box); ``area``,
    ``sx, sy`` (first moment about ``y_i``) and ``i2`` (second moment about ``y_i``);
    ``order``: the sites in the order their cells were computed (the kd-tree's: neighbouring
    cells are near in it).
    """

    __slots__ = ("vx", "vy", "lab", "ptr", "n", "area", "sx", "sy", "i2", "order")

    def __init__(self, vx, vy, lab, ptr, n, area, sx, sy, i2, order):
        self.vx, self.vy, self.lab, self.ptr, self.n, self.order = vx, vy, lab, ptr, n, order
        self.area, self.sx, self.sy, self.i2 = area, sx, sy, i2


@numba.njit(cache=True, nogil=True)
def node_bounds(start, end, child, gx, gy, gp):
    """Compute the bounds of the weights on each node of a tree from :func:`build_tree`.

    ``gx, gy, gp``: the sites' coordinates and weights in tree order (``yx[perm]``...), so that
    every node's sites are contiguous. The walk of :func:`cells_range` bounds each node by
    ``pmax``, the largest weight of the node's sites, and by ``model`` (nodes, 4) =
    ``(A, gx, gy, e)``: the node's least-squares plane ``psi_k ~ A + gx y_k,x + gy y_k,y`` with
    its largest excess ``e = max(0, max_k (psi_k - A - <g, y_k>))``, so that
    ``psi_k <= A + <g, y_k> + e`` on the node (``g = 0`` for a node of fewer than 3 sites, of
    (nearly) collinear sites, where the plane varies by no more than 4 e across the node, or
    where it moves the cells, by ``g / 2``, by less than a quarter of the node's extent: the
    walk then uses ``pmax`` alone). Cost: three passes over each node's sites, about
    ``3 J log J``.
    """
    nn = start.size
    pmax = np.empty(nn)
    model = np.zeros((nn, 4))
    for node in range(nn - 1, -1, -1):
        ch = child[node]
        s0 = start[node]
        s1 = end[node]
        m = s1 - s0
        mx = 0.0
        my = 0.0
        mp = 0.0
        x0 = np.inf
        x1 = -np.inf
        y0 = np.inf
        y1 = -np.inf
        for t in range(s0, s1):
            mx += gx[t]
            my += gy[t]
            mp += gp[t]
            x0 = min(x0, gx[t])
            x1 = max(x1, gx[t])
            y0 = min(y0, gy[t])
            y1 = max(y1, gy[t])
        mx /= m
        my /= m
        mp /= m
        sxx = 0.0
        sxy = 0.0
        syy = 0.0
        sxp = 0.0
        syp = 0.0
        for t in range(s0, s1):
            dx = gx[t] - mx
            dy = gy[t] - my
            dp = gp[t] - mp
            sxx += dx * dx
            sxy += dx * dy
            syy += dy * dy
            sxp += dx * dp
            syp += dy * dp
        det = sxx * syy - sxy * sxy
        ax = 0.0
        ay = 0.0
        if m >= 3 and det > 1e-12 * sxx * syy:
            ax = (syy * sxp - sxy * syp) / det
            ay = (sxx * syp - sxy * sxp) / det
        A = mp - ax * mx - ay * my
        e = 0.0
        pm = -np.inf
        if ch >= 0:
            pm = max(pmax[ch], pmax[ch + 1])
        for t in range(s0, s1):
            e = max(e, gp[t] - A - ax * gx[t] - ay * gy[t])
            if ch < 0:
                pm = max(pm, gp[t])
        pmax[node] = pm
        if (abs(ax) * (x1 - x0) + abs(ay) * (y1 - y0) <= 4.0 * e
                or abs(ax) + abs(ay) <= 0.5 * (x1 - x0 + y1 - y0)):
            # the plane explains no more of psi across the node than its residual (psi flat or
            # noisy there), or it moves the cells (by g / 2) by less than a quarter of the node:
            # its bound is no better than pmax's, and the walk skips it (g = 0)
            ax = 0.0
            ay = 0.0
            A = mp
        model[node, 0] = A
        model[node, 1] = ax
        model[node, 2] = ay
        model[node, 3] = e
    return pmax, model


class PowerTree:
    """The kd-tree of fixed sites (:func:`build_tree`), built once and reused for every potential.

    Newton computes many diagrams of the same sites: only the nodes' bounds change
    (:func:`node_bounds`). Owned by the diagram factory of :mod:`otgan.laguerre`.
    """

    __slots__ = ("yx", "yy", "leaf", "arrays", "gx", "gy")

    def __init__(self, yx, yy, leaf=_LEAF):
        self.yx = np.ascontiguousarray(yx, dtype=np.float64)
        self.yy = np.ascontiguousarray(yy, dtype=np.float64)
        self.leaf = int(leaf)
        self.arrays = build_tree(self.yx, self.yy, self.leaf)
        self.gx, self.gy = self.yx[self.arrays[0]], self.yy[self.arrays[0]]  # in tree order

    def nodes(self, psi):
        """Return ``(perm, start, end, child, parent, bbox, pmax, model)`` for the weights ``psi``.

        The tree is built once (:func:`build_tree`); the bounds (:func:`node_bounds`) are
        computed for each ``psi``.
        """
        perm, start, end, child, parent, bbox = self.arrays
        pmax, model = node_bounds(start, end, child, self.gx, self.gy,
                                  np.ascontiguousarray(psi, dtype=np.float64)[perm])
        return perm, start, end, child, parent, bbox, pmax, model


def power_cells(yx, yy, psi, box, *, threads=None, leaf=_LEAF, tree=None, near=None,
                subset=None):
    """Compute the power cells of the sites ``(yx, yy)`` with weights ``psi``, clipped to ``box``.

    ``box = (xlo, ylo, xhi, yhi)``; returns a :class:`PowerCells`. ``tree``: a
    :class:`PowerTree` of these sites (built here, for this call only, if not given).
    ``near``: the :class:`PowerCells` of the same sites under nearby weights (the last Newton
    iterate), a warm start: each cell is first clipped by its neighbours there. The cells are
    the same (the search still proves them), only the clipping order, hence the rounding,
    can differ. ``subset``: distinct site indices; only their cells are computed, each as in
    the whole diagram (bit for bit, with the same ``near``: every cell is clipped on its own),
    and the result is indexed by the position in ``subset`` (its ``order`` is None).

    The cells are computed in tree order by :func:`cells_range` on ``threads`` contiguous
    ranges of sites in parallel (the kernels release the GIL; default: the number of CPUs, at
    most 8, one for small problems).
    """
    yx = np.ascontiguousarray(yx, dtype=np.float64)
    yy = np.ascontiguousarray(yy, dtype=np.float64)
    psi = np.ascontiguousarray(psi, dtype=np.float64)
    J = yx.size
    xlo, ylo, xhi, yhi = (float(v) for v in box)
    if tree is None:
        tree = PowerTree(yx, yy, leaf)
    perm, start, end, child, parent, bbox, pmax, model = tree.nodes(psi)
    gx, gy, gp = tree.gx, tree.gy, psi[perm]  # in tree order
    pos = np.empty(J, dtype=np.int64)
    pos[perm] = np.arange(J)
    if near is None:
        nbptr = nbn = nbidx = np.zeros(0, dtype=np.int64)
    else:  # the neighbours of each cell in `near`, in tree positions (-1: the box)
        nbptr, nbn = near.ptr[perm], near.n[perm]
        nbidx = np.where(near.lab >= 0, pos[np.maximum(near.lab, 0)], -1)
    if subset is None:  # every cell, in tree order; cell t goes to site perm[t]
        order, dest = np.arange(J, dtype=np.int64), perm
    else:  # the subset's cells in tree order (neighbours one after the other)
        at = pos[subset]
        dest = np.argsort(at, kind="stable")
        order = at[dest]
    m = order.size
    nthr = kernel_threads(m, threads, min_size=4096)
    bounds = np.linspace(0, m, nthr + 1).astype(np.int64)

    def run(c):
        return _cells(int(bounds[c]), int(bounds[c + 1]), order, gx, gy, gp, perm, pos, start,
                      end, child, parent, bbox, pmax, model, xlo, ylo, xhi, yhi, nbptr, nbn,
                      nbidx)

    parts = kernel_map(run, nthr)
    shift = np.cumsum([0] + [p[2].size for p in parts[:-1]])
    ptr_t = np.concatenate([p[0] + sh for p, sh in zip(parts, shift, strict=True)])
    vx, vy, lab = (np.concatenate([p[k] for p in parts]) for k in (2, 3, 4))
    out = [np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)]
    out[0][dest] = ptr_t
    out[1][dest] = np.concatenate([p[1] for p in parts])
    moments = []
    for k in (5, 6, 7, 8):
        arr = np.empty(m)
        arr[dest] = np.concatenate([p[k] for p in parts])
        moments.append(arr)
    return PowerCells(vx, vy, lab, out[0], out[1], *moments, perm if subset is None else None)


@numba.njit(cache=True, nogil=True)
def edge_pairs(ptr, n, vx, vy, lab, order):
    """List the edges between cells.

    For every vertex ``v`` of cell ``i`` whose edge to the next vertex was created by site
    ``j >= 0``: ``ei = i``, ``ej = j``, the segment ``(x0, y0, x1, y1)``, and ``rev``: the index
    of the same edge seen from cell ``j`` (-1 if cell ``j`` has no edge created by ``i``). The
    cells are listed in ``order`` (the kernel's: memory-local).
    """
    J = n.size
    m = 0
    for t in range(J):
        i = order[t]
        for c in range(n[i]):
            if lab[ptr[i] + c] >= 0:
                m += 1
    ei = np.empty(m, np.int64)
    ej = np.empty(m, np.int64)
    seg = np.empty((m, 4))
    first = np.empty(J, np.int64)  # edges of cell i: first[i]:first[i] + count[i]
    count = np.zeros(J, np.int64)
    e = 0
    for t in range(J):
        i = order[t]
        first[i] = e
        p = ptr[i]
        for c in range(n[i]):
            lb = lab[p + c]
            if lb >= 0:
                cn = c + 1 if c + 1 < n[i] else 0
                ei[e] = i
                ej[e] = lb
                seg[e, 0] = vx[p + c]
                seg[e, 1] = vy[p + c]
                seg[e, 2] = vx[p + cn]
                seg[e, 3] = vy[p + cn]
                e += 1
        count[i] = e - first[i]
    rev = np.full(m, -1, np.int64)
    for e in range(m):
        j = ej[e]
        i = ei[e]
        for f in range(first[j], first[j] + count[j]):
            if ej[f] == i:
                rev[e] = f
                break
    return ei, ej, seg, rev


@numba.njit(cache=True, nogil=True)
def symmetric_csr(ei, ej, val, rev, J):
    """Return the CSR arrays (indptr, indices, data) of the symmetric matrix of edge values.

    Its entries are ``max(val[e], val[rev[e]])`` at (ei, ej) and (ej, ei) (``val[e]`` alone
    where ``rev[e] == -1``); non-positive entries dropped. Column indices are sorted within
    each row.
    """
    m = ei.size
    cnt = np.zeros(J + 1, np.int64)
    keep = np.zeros(m, np.bool_)
    for e in range(m):
        v = val[e]
        r = rev[e]
        if r >= 0:
            if ei[e] > ej[e]:
                continue  # the pair is handled from its other side
            v = max(v, val[r])
        if v > 0.0:
            keep[e] = True
            cnt[ei[e] + 1] += 1
            cnt[ej[e] + 1] += 1
    for i in range(J):
        cnt[i + 1] += cnt[i]
    nnz = cnt[J]
    indices = np.empty(nnz, np.int64)
    data = np.empty(nnz)
    fill = cnt[:J].copy()
    for e in range(m):
        if not keep[e]:
            continue
        v = val[e]
        r = rev[e]
        if r >= 0:
            v = max(v, val[r])
        a = ei[e]
        b = ej[e]
        indices[fill[a]] = b
        data[fill[a]] = v
        fill[a] += 1
        indices[fill[b]] = a
        data[fill[b]] = v
        fill[b] += 1
    for i in range(J):  # sort each row by column (insertion sort: rows are short)
        for a in range(cnt[i] + 1, cnt[i + 1]):
            kv = indices[a]
            dv = data[a]
            c = a - 1
            while c >= cnt[i] and indices[c] > kv:
                indices[c + 1] = indices[c]
                data[c + 1] = data[c]
                c -= 1
            indices[c + 1] = kv
            data[c + 1] = dv
    return cnt, indices, data


@numba.njit(cache=True, nogil=True)
def gather(ptr, n, vx, vy, idx):
    """Gather the vertices of the cells ``idx`` one after the other.

    Returns their coordinates (sum n, 2), the position in ``idx`` of the cell of each vertex
    (for ``shapely.linearrings(coords, indices=...)``) and each cell's bounding box
    (len(idx), 4) = (xmin, ymin, xmax, ymax).
    """
    tot = 0
    for t in range(idx.size):
        tot += n[idx[t]]
    coords = np.empty((tot, 2))
    owner = np.empty(tot, np.int64)
    boxes = np.empty((idx.size, 4))
    f = 0
    for t in range(idx.size):
        i = idx[t]
        p = ptr[i]
        x0 = np.inf
        y0 = np.inf
        x1 = -np.inf
        y1 = -np.inf
        for c in range(n[i]):
            x = vx[p + c]
            y = vy[p + c]
            coords[f, 0] = x
            coords[f, 1] = y
            owner[f] = t
            f += 1
            x0 = min(x0, x)
            y0 = min(y0, y)
            x1 = max(x1, x)
            y1 = max(y1, y)
        boxes[t, 0] = x0
        boxes[t, 1] = y0
        boxes[t, 2] = x1
        boxes[t, 3] = y1
    return coords, owner, boxes
