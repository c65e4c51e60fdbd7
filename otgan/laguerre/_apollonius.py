r"""Exact 2D cells for the Euclidean cost (W1): additively weighted Voronoi (Apollonius) cells.

For sites :math:`y_j` and potentials :math:`\psi_j`, the W1 Laguerre cell is

.. math:: L_j = \{x \in D : \|x - y_j\| - \psi_j \le \|x - y_k\| - \psi_k \ \forall k\}.

Design (private module; the public entry points are ``laguerre.diagram(..., cost="euclidean")``
and ``semidiscrete.solve(..., cost="euclidean")``).

**1. Polar form of a cell.** With :math:`X = x - y_j = r u(\theta)`, :math:`v_k = y_k - y_j`,
:math:`d_k = \|v_k\|` and :math:`c_k = \psi_j - \psi_k`, the constraint of site ``k`` reads
:math:`r - c_k \le \|X - v_k\|`; squaring (where :math:`r \ge c_k`) gives
:math:`r\,(v_k \cdot u - c_k) \le a_k := (d_k^2 - c_k^2)/2`. Hence

- :math:`c_k \ge d_k`: site ``k`` never constrains ``j``;
- :math:`c_k \le -d_k`: :math:`L_j` has zero area (``y_j`` is hidden in the cell of ``y_k``);
- otherwise the cell side is :math:`r \le R_k(\theta) = 1 / h_k(u)` with the *affine* function
  :math:`h_k(u) = (v_k \cdot u - c_k) / a_k` of :math:`u = (\cos\theta, \sin\theta)` (the
  boundary is the hyperbola branch :math:`v_k \cdot X - c_k \|X\| = a_k`, foci ``y_j, y_k``).

So the unclipped cell is the star-shaped set :math:`S_j = \{r \le 1 / \max(0, \max_k h_k(u))\}`
and its boundary is given by the upper envelope of sinusoids :math:`\theta \mapsto \alpha_k +
w_k \cdot u(\theta)` on the circle (and the zero function for directions with no constraint).
The envelope is computed exactly by marching around the circle: from the current maximal
function, the next one is the first to cross it upwards, at the closed-form root of
:math:`\Delta\alpha + \Delta w \cdot u(\theta) = 0`.

**2. Candidates (security radius).** Site ``k`` cannot cut :math:`S_j` within distance
:math:`\rho` of :math:`y_j` when :math:`\min_\theta R_k = (d_k + c_k)/2 \ge \rho`. The cell is
computed with the sites of smallest key :math:`d_k + c_k`; if the largest distance
:math:`r_{max}` from ``y_j`` to the resulting (clipped) cell satisfies :math:`2 r_{max} \le`
the next key, no other site can cut it (the cell with fewer constraints is a superset), else the
candidate list is doubled.

**3. Clipping and integration (Green's formula).** The measure is described by oriented
*weighted segments*: for a piecewise-constant density :math:`\rho` on a polygonal partition, each
edge carries the jump :math:`\rho_{left} - \rho_{right}` (the domain's boundary, oriented
counter-clockwise with holes clockwise, for the uniform measure; the pixel grid edges for an
image density). Then for any integrand ``g`` with a field ``F`` of divergence ``g``,

.. math:: \int_{S_j} g\,\rho = \sum_s w_s \int_{s \cap S_j} F\cdot n\,ds
          + \int_{\partial S_j} \rho\,F\cdot n\,ds,

since :math:`\partial(S_j \cap R) = (\partial R \cap S_j) \cup (\partial S_j \cap R)` for each
region ``R`` of constant density. The segments are cut at their (closed-form, quadratic)
intersections with the hyperbola branches and each piece is kept when its midpoint lies in
:math:`S_j`; the envelope arcs are cut at the same intersection points and each sub-arc gets the
density at its midpoint. Segment integrals are in closed form (shoelace-type formulas, and
:math:`\int \sqrt{u^2 + h^2}\,du` for the transport cost); arc integrals use Gauss-Legendre on the
polar parametrisation :math:`X = R(\theta) u(\theta)` (:math:`X \times dX = R^2 d\theta`), with
16 nodes on sub-intervals graded towards the poles of :math:`R` (each at least half its length
away from them: about :math:`3.7^{-32}` relative error, i.e. float64 rounding).

Integrands (all about :math:`y_j`, :math:`F \cdot n\, ds` on a curve): area ``X x dX / 2``;
first moments ``X1^2/2 dX2`` and ``-X2^2/2 dX1``; transport cost ``|X| (X x dX) / 3``
(:math:`\mathrm{div}(|X| X / 3) = |X|`). The Hessian weights of the semi-dual are
:math:`\int_{L_j \cap L_k} \rho / \|u_j - u_k\|\,ds` with :math:`u_i = (x - y_i)/\|x - y_i\|`
(on the branch :math:`\|X - v_k\| = R - c_k`, so no square root is needed).

Robustness: at a vertex where several constraints meet (e.g. "cone" potentials
:math:`\psi_j = \|y_j - c\|`, all cells meeting at ``c``) the next function of the envelope is
chosen by comparing values, then derivatives, within the rounding of each pair of functions, so
ill-conditioned crossing angles (near tangencies, the huge coefficients of nearly hidden sites)
cannot derail the marching. A nearly hidden site (:math:`d_k + c_k = \varepsilon`) has a needle
cell whose area is conditioned as :math:`10^{-16}/\sqrt{\varepsilon}` in float64.

Limits: degenerate configurations where a hyperbola branch runs *along* a domain edge (measure
zero in random problems) are not treated specially. Candidate selection costs ``O(J)`` per cell
(``O(J^2)`` per diagram, vectorised).
"""

from __future__ import annotations

import numpy as np
import shapely

from ..errors import GeometryError
from ..measures import ImageDensity, Uniform

TWO_PI = 2.0 * np.pi
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


# --------------------------------------------------------------------------------------------
# envelope of sinusoids on the circle
# --------------------------------------------------------------------------------------------


def envelope(alpha, wx, wy, theta0=0.1234567):
    """Upper envelope of ``h_k(theta) = alpha_k + wx_k cos + wy_k sin`` and of ``0``.

    Returns a list of ``(k, t0, t1)`` with ``k = -1`` for the zero function, covering
    ``[theta0, theta0 + 2 pi]`` in order.
    """
    A = np.append(np.asarray(alpha, float), 0.0)
    P = np.append(np.asarray(wx, float), 0.0)
    Q = np.append(np.asarray(wy, float), 0.0)
    K = A.size - 1

    # rounding scale of each function's value (and derivative) at any angle
    mag = 1e-13 * (np.abs(A) + np.abs(P) + np.abs(Q))

    def best_at(th, idx):
        # the maximal function just after th: pairwise comparisons of the value, then (when
        # the values are tied to the rounding of the two functions) of the derivative, then of
        # the second derivative (h'' = alpha - h)
        val = A[idx] + P[idx] * np.cos(th) + Q[idx] * np.sin(th)
        der = -P[idx] * np.sin(th) + Q[idx] * np.cos(th)
        i = int(np.argmax(val))
        cand = np.flatnonzero(val >= val[i] - mag[idx] - mag[idx[i]])
        b = int(cand[0])
        for m in cand[1:]:
            tol = mag[idx[m]] + mag[idx[b]]
            tied = val[m] >= val[b] - tol
            steeper = der[m] > der[b] + tol or (der[m] >= der[b] - tol and A[idx[m]] > A[idx[b]])
            if val[m] > val[b] + tol or (tied and steeper):
                b = int(m)
        return int(idx[b])

    th = float(theta0)
    end = th + TWO_PI
    k = best_at(th, np.arange(K + 1))
    pieces = []
    start = th  # start of the current piece
    for _ in range(4 * K + 16):
        dA = A - A[k]
        dP = P - P[k]
        dQ = Q - Q[k]
        B = np.hypot(dP, dQ)
        ok = B > np.abs(dA)
        ok[k] = False
        if ok.any():
            idx = np.flatnonzero(ok)
            root = np.arctan2(dQ[idx], dP[idx]) - np.arccos(np.clip(-dA[idx] / B[idx], -1, 1))
            delta = np.mod(root - th, TWO_PI)
            good = (delta > 1e-13) & (delta < TWO_PI - 1e-13)
            idx, delta = idx[good], delta[good]
        else:
            idx = delta = np.zeros(0)
        if idx.size == 0:
            pieces.append((k, start, end))
            return _merge(pieces, K)
        dmin = delta.min()
        tn = th + dmin
        if tn >= end:
            pieces.append((k, start, end))
            return _merge(pieces, K)
        # at a vertex several functions may tie (and their crossing angles are ill-conditioned
        # near tangencies): choose among all functions by value and derivatives at tn
        m = best_at(tn, np.arange(K + 1))
        if m == k:  # a tangency, not a crossing: continue with k past it
            th = tn
            continue
        pieces.append((k, start, tn))
        th, k, start = tn, m, tn
    raise GeometryError("apollonius: the envelope of the cell constraints did not close")


def _merge(pieces, K):
    out = []
    for k, a, b in pieces:
        k = -1 if k == K else k
        if out and out[-1][0] == k:
            out[-1] = (k, out[-1][1], b)
        else:
            out.append((k, a, b))
    return out


# --------------------------------------------------------------------------------------------
# line / branch intersections
# --------------------------------------------------------------------------------------------


def branch_roots(X0, E, vx, vy, c, a):
    """Parameters ``t`` of the points ``X0 + t E`` on the branches ``v.X - c|X| = a``.

    ``X0, E`` (S, 2); branch parameters (K,). Returns (S, K, 2) with NaN where no root.
    """
    b0 = X0[:, 0:1] * vx + X0[:, 1:2] * vy - a  # (S, K)
    b1 = E[:, 0:1] * vx + E[:, 1:2] * vy
    c2 = c * c
    XE = (X0 * E).sum(1)[:, None]
    XX = (X0 * X0).sum(1)[:, None]
    EE = (E * E).sum(1)[:, None]
    qa = b1 * b1 - c2 * EE
    qb = 2.0 * (b0 * b1 - c2 * XE)
    qc = b0 * b0 - c2 * XX
    disc = qb * qb - 4.0 * qa * qc
    # a tangent line or the straight bisector (c = 0) gives a double root: disc = 0 up to
    # rounding; the Newton polish and the residual test below reject spurious roots
    disc = np.where(disc < 0, np.where(disc > -1e-12 * (qb * qb + np.abs(4 * qa * qc)), 0.0,
                                       disc), disc)
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        q = -0.5 * (qb + np.where(qb >= 0, sq, -sq))
        t1 = q / qa
        t2 = qc / q
        out = np.stack([t1, t2], axis=-1)
        # polish with one Newton step on G(t) = b0 + b1 t - c |X0 + t E|, then reject the
        # spurious roots of the squared equation
        for _ in range(2):
            Xx = X0[:, 0:1, None] + out * E[:, 0:1, None]
            Xy = X0[:, 1:2, None] + out * E[:, 1:2, None]
            n = np.hypot(Xx, Xy)
            G = b0[..., None] + b1[..., None] * out - c[None, :, None] * n
            dG = b1[..., None] - c[None, :, None] * (Xx * E[:, 0:1, None] + Xy * E[:, 1:2, None]) \
                / np.where(n > 0, n, 1.0)
            step = np.where(np.abs(dG) > 0, G / dG, 0.0)
            out = out - np.where(np.abs(step) < 1e-6, step, 0.0)
        Xx = X0[:, 0:1, None] + out * E[:, 0:1, None]
        Xy = X0[:, 1:2, None] + out * E[:, 1:2, None]
        n = np.hypot(Xx, Xy)
        G = b0[..., None] + b1[..., None] * out - c[None, :, None] * n
        scale = np.abs(a)[None, :, None] + np.abs(b0[..., None]) + np.abs(b1[..., None]) + 1e-300
        bad = ~(np.abs(G) <= 1e-9 * scale) | ~np.isfinite(out)
    return np.where(bad, np.nan, out)


# --------------------------------------------------------------------------------------------
# quadrature on arcs
# --------------------------------------------------------------------------------------------


def _arc_nodes(t0, t1, poles):
    """Return Gauss-Legendre nodes and weights on [t0, t1], split away from the poles.

    The interval is bisected until every sub-interval is at least half its length away from
    the poles (angles, taken modulo 2 pi), or is shorter than 1e-15, or 400 intervals have
    been examined.
    """
    out_t, out_w = [], []
    stack = [(t0, t1)]
    guard = 0
    while stack:
        s0, s1 = stack.pop()
        guard += 1
        L = s1 - s0
        if L <= 0:
            continue
        dist = np.inf
        for p in poles:
            q = s0 + (p - s0) % TWO_PI  # the first copy of the pole at or after s0
            dist = 0.0 if q <= s1 else min(dist, q - s1, s0 - (q - TWO_PI))
        if dist >= 0.5 * L or guard > 400 or L < 1e-15:
            m = 0.5 * (s0 + s1)
            out_t.append(m + 0.5 * L * _GL_X)
            out_w.append(0.5 * L * _GL_W)
        else:
            m = 0.5 * (s0 + s1)
            stack.append((s0, m))
            stack.append((m, s1))
    if not out_t:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(out_t), np.concatenate(out_w)


# --------------------------------------------------------------------------------------------
# segment integrals (closed forms), coordinates relative to the site
# --------------------------------------------------------------------------------------------


def _asinh_prim(u, h):
    """Antiderivative of sqrt(u^2 + h^2) in u."""
    s = np.sqrt(u * u + h * h)
    with np.errstate(invalid="ignore", divide="ignore"):
        lg = np.where(h > 0, h * h * np.arcsinh(u / np.where(h > 0, h, 1.0)), 0.0)
    return 0.5 * (u * s + lg)


def segment_integrals(A, B):
    """Green's integrals along segments A -> B (relative coordinates, (n, 2) each).

    Returns (area, mx, my, cost): contributions to |P|, int X1, int X2, int |X|.
    """
    ax, ay, bx, by = A[:, 0], A[:, 1], B[:, 0], B[:, 1]
    cross = ax * by - bx * ay
    area = 0.5 * cross
    mx = (by - ay) * (ax * ax + ax * bx + bx * bx) / 6.0
    my = -(bx - ax) * (ay * ay + ay * by + by * by) / 6.0
    E = B - A
    L = np.hypot(E[:, 0], E[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        Ls = np.where(L > 0, L, 1.0)
        s0 = (A * E).sum(1) / Ls
        h = np.abs(cross) / Ls
        integral = _asinh_prim(s0 + L, h) - _asinh_prim(s0, h)  # int |X| ds
        cost = np.where(L > 0, cross / (3.0 * Ls) * integral, 0.0)
    return area, mx, my, cost


# --------------------------------------------------------------------------------------------
# one cell
# --------------------------------------------------------------------------------------------


class CellResult:
    __slots__ = (
        "arcs",
        "area",
        "bbox",
        "cost",
        "env",
        "first",
        "mass",
        "mfirst",
        "nbr_hess",
        "nbr_len",
        "nbr_mass",
        "rmax",
    )


def _in_star(X, vx, vy, c, a):
    """Whether points X (n, 2) satisfy every constraint v.X - c|X| <= a."""
    if vx.size == 0:
        return np.ones(X.shape[0], dtype=bool)
    n = np.hypot(X[:, 0], X[:, 1])[:, None]
    G = X[:, 0:1] * vx + X[:, 1:2] * vy - c * n - a
    return (G <= 0).all(axis=1)


def cell(yj, vx, vy, c, a, nbr, segs, w_area, w_rho, density, in_domain):
    """Integrals of one cell ``S_j ∩ D`` (all coordinates normalised).

    Parameters
    ----------
    yj : (2,) site; vx, vy, c, a : (K,) constraints of the candidates (see module doc);
    nbr : (K,) global indices of the candidates; segs : (S, 2, 2) oriented weighted segments
    (absolute coordinates); w_area, w_rho : (S,) their weights for the area and the measure;
    density(points) -> rho; in_domain(points) -> bool.
    """
    res = CellResult()
    K = vx.size
    alpha = -c / a
    env = envelope(alpha, vx / a, vy / a)
    res.env = env
    X0 = segs[:, 0, :] - yj
    E = segs[:, 1, :] - segs[:, 0, :]
    S = X0.shape[0]
    roots = branch_roots(X0, E, vx, vy, c, a) if (K and S) else np.full((S, K, 2), np.nan)
    # ---- segment pieces inside S_j
    T = roots.reshape(S, -1)
    T = np.where((T > 0) & (T < 1), T, np.nan)
    T = np.concatenate([np.zeros((S, 1)), T, np.ones((S, 1))], axis=1)
    T = np.sort(T, axis=1)  # NaN last
    t0, t1 = T[:, :-1], T[:, 1:]
    ok = np.isfinite(t1) & (t1 > t0)
    si, pi = np.nonzero(ok)
    ta, tb = t0[si, pi], t1[si, pi]
    tm = 0.5 * (ta + tb)
    Xm = X0[si] + tm[:, None] * E[si]
    keep = _in_star(Xm, vx, vy, c, a)
    si, ta, tb = si[keep], ta[keep], tb[keep]
    A = X0[si] + ta[:, None] * E[si]
    B = X0[si] + tb[:, None] * E[si]
    sa, smx, smy, sc = segment_integrals(A, B)
    wa, wr = w_area[si], w_rho[si]
    area = float(wa @ sa)
    first = np.array([wa @ smx, wa @ smy])
    mass = float(wr @ sa)
    mfirst = np.array([wr @ smx, wr @ smy])
    cost = float(wr @ sc)
    rmax = 0.0
    pts = [A, B]
    if si.size:
        inD = wa != 0  # domain boundary pieces
        if inD.any():
            rmax = max(rmax, float(np.hypot(A[inD, 0], A[inD, 1]).max()),
                       float(np.hypot(B[inD, 0], B[inD, 1]).max()))
    # ---- arcs: cut every envelope arc at its crossings with the segments
    nbr_len, nbr_mass, nbr_hess = {}, {}, {}
    ks, a0, a1 = [], [], []
    rflat = roots.reshape(S, -1, 2) if S else roots
    sidx_all = np.repeat(np.arange(S), 2)
    for k, ta_, tb_ in env:
        if k < 0:
            continue
        rk = rflat[:, k, :].ravel() if S else np.zeros(0)
        ok = np.isfinite(rk) & (rk >= 0) & (rk <= 1)
        if ok.any():
            sk = sidx_all[ok]
            P = X0[sk] + rk[ok][:, None] * E[sk]
            th = ta_ + np.mod(np.arctan2(P[:, 1], P[:, 0]) - ta_, TWO_PI)
            cuts = np.concatenate([[ta_], np.sort(th[(th > ta_) & (th < tb_)]), [tb_]])
        else:
            cuts = np.array([ta_, tb_])
        good = cuts[1:] > cuts[:-1]
        ks.append(np.full(int(good.sum()), k))
        a0.append(cuts[:-1][good])
        a1.append(cuts[1:][good])
    arcs = []
    if ks:
        ks, c0, c1 = np.concatenate(ks), np.concatenate(a0), np.concatenate(a1)
    else:
        ks, c0, c1 = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    if ks.size:
        Wx, Wy = vx / a, vy / a
        tmid = 0.5 * (c0 + c1)
        cm, sm = np.cos(tmid), np.sin(tmid)
        Rm = 1.0 / (alpha[ks] + cm * Wx[ks] + sm * Wy[ks])
        Pm = yj + np.column_stack([Rm * cm, Rm * sm])
        inD = in_domain(Pm)
        rho = density(Pm)
        use = np.flatnonzero(inD | (rho != 0))
        # poles of R on each used arc: alpha + |w| cos(theta - phi) = 0
        tq, wq, own = [], [], []
        for i in use:
            k = ks[i]
            nw = np.hypot(Wx[k], Wy[k])
            if nw > abs(alpha[k]):
                phi = np.arctan2(Wy[k], Wx[k])
                acs = np.arccos(np.clip(-alpha[k] / nw, -1, 1))
                poles = (phi - acs, phi + acs)
            else:
                poles = ()
            t_, w_ = _arc_nodes(c0[i], c1[i], poles)
            tq.append(t_)
            wq.append(w_)
            own.append(np.full(t_.size, i))
        if use.size:
            tq, wq, own = np.concatenate(tq), np.concatenate(wq), np.concatenate(own)
            kk = ks[own]
            ux, uy = np.cos(tq), np.sin(tq)
            h = alpha[kk] + ux * Wx[kk] + uy * Wy[kk]
            dh = -Wx[kk] * uy + Wy[kk] * ux
            R = 1.0 / h
            dR = -dh * R * R
            Xx, Xy = R * ux, R * uy
            dXx = dR * ux - R * uy
            dXy = dR * uy + R * ux
            r2 = R * R
            speed = np.hypot(dXx, dXy)
            dk = R - c[kk]  # |X - v_k| on the branch
            gap = np.hypot(ux - (Xx - vx[kk]) / dk, uy - (Xy - vy[kk]) / dk)
            n = ks.size

            def per_arc(f):
                return np.bincount(own, wq * f, n)

            i_area = per_arc(0.5 * r2)
            i_mx = per_arc(0.5 * Xx * Xx * dXy)
            i_my = per_arc(-0.5 * Xy * Xy * dXx)
            i_cost = per_arc(r2 * R / 3.0)
            i_len = per_arc(speed)
            i_hess = per_arc(speed / gap)
            wD = inD.astype(float)
            area += float(wD @ i_area)
            first += [wD @ i_mx, wD @ i_my]
            mass += float(rho @ i_area)
            mfirst += [rho @ i_mx, rho @ i_my]
            cost += float(rho @ i_cost)
            dj = np.flatnonzero(inD)
            if dj.size:
                R0 = 1.0 / (alpha[ks[dj]] + np.cos(c0[dj]) * Wx[ks[dj]]
                            + np.sin(c0[dj]) * Wy[ks[dj]])
                R1 = 1.0 / (alpha[ks[dj]] + np.cos(c1[dj]) * Wx[ks[dj]]
                            + np.sin(c1[dj]) * Wy[ks[dj]])
                rmax = max(rmax, float(R0.max()), float(R1.max()))
                for i in dj:
                    g = int(nbr[ks[i]])
                    nbr_len[g] = nbr_len.get(g, 0.0) + i_len[i]
                    nbr_mass[g] = nbr_mass.get(g, 0.0) + rho[i] * i_len[i]
                    nbr_hess[g] = nbr_hess.get(g, 0.0) + rho[i] * i_hess[i]
                    arcs.append((int(ks[i]), c0[i], c1[i]))
                sel = inD[own]
                pts.append(np.column_stack([Xx[sel], Xy[sel]]))
    res.area, res.first, res.mass, res.mfirst, res.cost = area, first, mass, mfirst, cost
    res.rmax = rmax
    res.arcs = arcs
    res.nbr_len, res.nbr_mass, res.nbr_hess = nbr_len, nbr_mass, nbr_hess
    allp = np.concatenate([p.reshape(-1, 2) for p in pts]) if pts else np.zeros((0, 2))
    if allp.size:
        res.bbox = (yj[0] + allp[:, 0].min(), yj[1] + allp[:, 1].min(),
                    yj[0] + allp[:, 0].max(), yj[1] + allp[:, 1].max())
    else:
        res.bbox = None
    return res


# --------------------------------------------------------------------------------------------
# measures as weighted segments
# --------------------------------------------------------------------------------------------


def _ring_segments(dom):
    """Oriented boundary edges of a shapely (Multi)Polygon: exteriors ccw, holes cw; (m, 2, 2)."""
    out = []
    for part in shapely.get_parts(dom):
        p = shapely.geometry.polygon.orient(part, 1.0)
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)
            out.append(np.stack([xy[:-1], xy[1:]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2, 2))


class _Normalised:
    """The measure and domain in normalised coordinates ``x' = (x - c) / s``."""

    def __init__(self, measure, dom, c, s):
        self.c, self.s = c, s
        self.dom = shapely.affinity.affine_transform(dom, [1 / s, 0, 0, 1 / s, -c[0] / s,
                                                           -c[1] / s])
        shapely.prepare(self.dom)
        self.bsegs = _ring_segments(self.dom)
        self.image = isinstance(measure, ImageDensity)
        self.measure = measure
        if isinstance(measure, Uniform):
            self.rho = 1.0 / self.dom.area
        elif self.image:
            xmin, _xmax, _ymin, ymax = measure.extent
            self.x0 = (xmin - c[0]) / s
            self.y1 = (ymax - c[1]) / s
            self.w = measure.pixel_size[0] / s
            self.h = measure.pixel_size[1] / s
            self.nr, self.nc = measure.shape
            self.dv = np.pad(measure.density_values * s * s, 1)  # 0 outside the extent
            self.ones = np.pad(np.ones(measure.shape), 1)
        else:  # pragma: no cover - checked by the caller
            raise TypeError(type(measure).__name__)

    def in_domain(self, P):
        return shapely.contains_xy(self.dom, P[:, 0], P[:, 1])

    def density(self, P):
        if not self.image:
            return np.where(self.in_domain(P), self.rho, 0.0)
        col = np.floor((P[:, 0] - self.x0) / self.w).astype(np.int64)
        row = np.floor((self.y1 - P[:, 1]) / self.h).astype(np.int64)
        out = (col < 0) | (col >= self.nc) | (row < 0) | (row >= self.nr)
        return np.where(out, 0.0, self.dv[np.clip(row, -1, self.nr) + 1,
                                          np.clip(col, -1, self.nc) + 1])

    def boundary(self):
        """Segments for the geometry pass: the domain's boundary, area weight 1."""
        n = self.bsegs.shape[0]
        wr = np.full(n, self.rho) if not self.image else np.zeros(n)
        return self.bsegs, np.ones(n), wr

    def grid(self, bbox):
        """Return the pixel-grid edges meeting ``bbox`` (image densities).

        Returns ``(segments (n, 2, 2), w_area (n,), w_rho (n,))``: the oriented edges with
        their jumps of the extent's indicator and of the density (edges with no jump dropped).
        """
        xa, ya, xb, yb = bbox
        c0 = max(int(np.floor((xa - self.x0) / self.w)) - 1, 0)
        c1 = min(int(np.ceil((xb - self.x0) / self.w)) + 1, self.nc)
        r0 = max(int(np.floor((self.y1 - yb) / self.h)) - 1, 0)
        r1 = min(int(np.ceil((self.y1 - ya) / self.h)) + 1, self.nr)
        if c1 <= c0 or r1 <= r0:
            return np.zeros((0, 2, 2)), np.zeros(0), np.zeros(0)
        segs, wa, wr = [], [], []
        # vertical edges: x = x0 + cc w (cc in [c0, c1]), rows r0..r1-1, oriented upwards;
        # left pixel (r, cc - 1), right pixel (r, cc): weight rho_left - rho_right
        cc, rr = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1), indexing="ij")
        cc, rr = cc.ravel(), rr.ravel()
        x = self.x0 + cc * self.w
        ylo = self.y1 - (rr + 1) * self.h
        segs.append(np.stack([np.column_stack([x, ylo]), np.column_stack([x, ylo + self.h])],
                             axis=1))
        wr.append(self.dv[rr + 1, cc] - self.dv[rr + 1, cc + 1])
        wa.append(self.ones[rr + 1, cc] - self.ones[rr + 1, cc + 1])
        # horizontal edges: y = y1 - rr h (rr in [r0, r1]), columns c0..c1-1, oriented +x;
        # left = above (rr - 1, c), right = below (rr, c)
        rr, cc = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        y = self.y1 - rr * self.h
        xl = self.x0 + cc * self.w
        segs.append(np.stack([np.column_stack([xl, y]), np.column_stack([xl + self.w, y])],
                             axis=1))
        wr.append(self.dv[rr, cc + 1] - self.dv[rr + 1, cc + 1])
        wa.append(self.ones[rr, cc + 1] - self.ones[rr + 1, cc + 1])
        segs, wa, wr = np.concatenate(segs), np.concatenate(wa), np.concatenate(wr)
        keep = (wa != 0) | (wr != 0)
        return segs[keep], wa[keep], wr[keep]


# --------------------------------------------------------------------------------------------
# the whole diagram
# --------------------------------------------------------------------------------------------


def compute(yn, pn, measure, dom, *, k0=24):
    """All cells. Returns a dict of arrays in original coordinates (see ApolloniusDiagram)."""
    J = yn.shape[0]
    bx0, by0, bx1, by1 = dom.bounds
    c = np.array([(bx0 + bx1) / 2, (by0 + by1) / 2])
    s = max(bx1 - bx0, by1 - by0) / 2
    yl = (yn - c) / s
    pl = (pn - pn.max()) / s
    N = _Normalised(measure, dom, c, s)
    areas = np.zeros(J)
    first = np.zeros((J, 2))
    masses = np.zeros(J)
    mfirst = np.zeros((J, 2))
    cost = np.zeros(J)
    hidden = np.zeros(J, dtype=bool)
    envs = [None] * J
    cand = [None] * J
    rows, cols, lens, emass, hess = [], [], [], [], []
    block = max(1, min(J, 2_000_000 // max(J, 1)))
    for b0 in range(0, J, block):
        jb = np.arange(b0, min(J, b0 + block))
        d = np.hypot(yl[None, :, 0] - yl[jb, None, 0], yl[None, :, 1] - yl[jb, None, 1])
        cc = pl[jb, None] - pl[None, :]
        key = d + cc
        key[np.arange(jb.size), jb] = np.inf
        for r, j in enumerate(jb):
            kr = key[r]
            if J > 1 and kr.min() <= 0:
                hidden[j] = True
                continue
            valid = np.flatnonzero(cc[r] < d[r])  # sites that can constrain j
            valid = valid[valid != j]
            K = min(k0, valid.size)
            if K < valid.size:  # the K smallest keys first; the full order only if needed
                part = valid[np.argpartition(kr[valid], K)[: K + 1]]
                order = part[np.argsort(kr[part], kind="stable")]
            else:
                order = valid[np.argsort(kr[valid], kind="stable")]
            while True:
                nb = order[:K]
                vx, vy = yl[nb, 0] - yl[j, 0], yl[nb, 1] - yl[j, 1]
                ck = cc[r, nb]
                dk = d[r, nb]
                ak = 0.5 * (dk - ck) * (dk + ck)
                segs, wa, wr = N.boundary()
                res = cell(yl[j], vx, vy, ck, ak, nb, segs, wa, wr, N.density, N.in_domain)
                if K >= order.size or kr[order[K]] >= 2.0 * res.rmax * (1 + 1e-9) + 1e-12:
                    break
                if order.size < valid.size:
                    order = valid[np.argsort(kr[valid], kind="stable")]
                K = min(2 * K, order.size)
            if N.image and res.bbox is not None:
                segs, wa, wr = N.grid(res.bbox)
                res = cell(yl[j], vx, vy, ck, ak, nb, segs, wa, wr, N.density, N.in_domain)
            envs[j] = res.env
            cand[j] = (nb, vx, vy, ck, ak)
            areas[j] = res.area
            first[j] = res.first
            masses[j] = res.mass
            mfirst[j] = res.mfirst
            cost[j] = res.cost
            for g, ln in res.nbr_len.items():
                rows.append(j)
                cols.append(g)
                lens.append(ln)
                emass.append(res.nbr_mass[g])
                hess.append(res.nbr_hess[g])
    # back to original coordinates
    areas *= s * s
    first = first * s**3
    mfirst = mfirst * s
    cost = cost * s
    return {
        "areas": areas, "first": first, "masses": masses, "mfirst": mfirst, "cost": cost, "hidden": hidden,
        "rows": np.asarray(rows, np.int64), "cols": np.asarray(cols, np.int64),
        "lengths": np.asarray(lens) * s, "edge_mass": np.asarray(emass) / s,
        "hessian": np.asarray(hess) / s, "envs": envs, "cand": cand, "c": c, "s": s, "yl": yl, "pl": pl,
    }
