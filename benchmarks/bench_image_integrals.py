"""Timing of the exact pixel-grid integrals of ``ImageDensity`` on power cells.

For J random sites in the unit square at ``psi = 0`` and an image (128 x 128 and 512 x 512;
``--kind smooth``: two Gaussian bumps on a positive floor, ``binary``: a disk and a square), times,
best of ``--repeat`` warm runs:

- ``power_cells``: the uniform diagram's kernel (``otgan._power.power_cells``), for reference;
- ``shapely``: building the cells' shapely polygons from its CSR output (what
  ``laguerre.diagram`` does today before integrating);
- ``old``: the previous vectorised-numpy ``ImageDensity.integrate`` (kept below, in this script
  only, as the baseline) on those polygons;
- ``integrate``: the new ``ImageDensity.integrate`` (numba kernel ``otgan._pixels``) on the same
  shapely polygons;
- ``integrate_cells (CSR)``: the kernel that ``ImageDensity.integrate_cells`` runs, on the CSR
  arrays directly (no shapely);
- ``old edges`` / ``edges``: ``line_integral`` on every cell edge (each shared edge twice), old
  numpy path and new kernel.

``--threads`` (default 1) sets the threads of ``power_cells`` and of the new kernels; ``--clock``
(default ``cpu``: process CPU time, summed over threads, steadier than elapsed time on a shared
machine) or ``wall``.

It checks that old and new agree (largest relative difference of masses, second moments and
edge masses) and prints a markdown table with the command and the machine.

Usage: ``python benchmarks/bench_image_integrals.py [--sizes 5000 20000] [--images 128 512]
[--repeat 5] [--threads 1] [--clock cpu] [--kind smooth]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import shapely

from otgan import _power
from otgan._pixels import ring_integrals, segment_integrals
from otgan.measures import ImageDensity, PolygonIntegrals, _as_geometries


class OldImagePath:
    """The numpy implementation of ``ImageDensity.integrate`` / ``line_integral`` before the
    numba kernels (commit 32af808), verbatim, bound to a measure's grid."""

    def __init__(self, mu):
        self.extent, self.shape, self.pixel_size = mu.extent, mu.shape, mu.pixel_size
        self.density_values = mu.density_values
        self._cum = None

    # -- exact integration by Green's formula on the pixel grid ------------------------------
    #
    # With R_q(x, y) = int_{-inf}^x q(t, y) rho(t, y) dt (piecewise polynomial in x on each
    # pixel row, continuous), int_P q rho dA = oint_{dP} R_q dy for q in {1, x, x^2} and
    # int_P y^k rho dA = oint_{dP} y^k R_1 dy. The boundary is cut at the grid lines so that each
    # piece lies in one pixel, where the integrand is a polynomial of degree <= 3 in the
    # piece's parameter: Simpson's rule integrates it exactly.

    def _grid(self):
        """Cumulative row integrals C_q[r, c] = R_q at the left edge of column c (nc + 1
        columns), in coordinates centred on the extent."""
        if getattr(self, "_cum", None) is None:
            xmin, xmax = self.extent[:2]
            w = self.pixel_size[0]
            nr, nc = self.shape
            xs = (xmin - xmax) / 2 + w * np.arange(nc + 1)  # centred column edges
            rho = self.density_values
            cum = []
            for q in (1, 2, 3):  # int x^(q-1) rho dx over each pixel: rho (x1^q - x0^q) / q
                inc = rho * (xs[1:] ** q - xs[:-1] ** q) / q
                cum.append(np.concatenate([np.zeros((nr, 1)), np.cumsum(inc, axis=1)], axis=1))
            self._cum = (xs, cum)
        return self._cum

    def _pieces(self, a, b):
        """Cut segments [a_k, b_k] (centred coordinates) at the grid lines inside the extent.

        Returns the pieces' end points, their segment index, and the (row, col) of the pixel
        holding each piece (col clamped to [-1, nc], row -1 / nr outside)."""
        xmin, xmax, ymin, ymax = self.extent
        w, h = self.pixel_size
        nr, nc = self.shape
        x0 = (xmin - xmax) / 2
        y1 = (ymax - ymin) / 2
        E = a.shape[0]
        ts, owners = [np.zeros(E), np.ones(E)], [np.arange(E), np.arange(E)]
        for ua, ub, kmax in (((a[:, 0] - x0) / w, (b[:, 0] - x0) / w, nc),
                             ((y1 - a[:, 1]) / h, (y1 - b[:, 1]) / h, nr)):
            lo = np.maximum(np.floor(np.minimum(ua, ub)) + 1, 0)
            hi = np.minimum(np.ceil(np.maximum(ua, ub)) - 1, kmax)
            cnt = np.maximum(hi - lo + 1, 0).astype(np.int64)
            own = np.repeat(np.arange(E), cnt)
            if own.size:
                start = np.cumsum(cnt) - cnt
                k = lo[own] + (np.arange(own.size) - start[own])
                ts.append((k - ua[own]) / (ub - ua)[own])
                owners.append(own)
        t = np.concatenate(ts)
        own = np.concatenate(owners)
        order = np.lexsort((t, own))
        t, own = t[order], own[order]
        keep = own[1:] == own[:-1]
        e = own[:-1][keep]
        t0, t1 = t[:-1][keep], t[1:][keep]
        d = b[e] - a[e]
        p0 = a[e] + t0[:, None] * d
        p1 = a[e] + t1[:, None] * d
        mid = (p0 + p1) / 2
        col = np.clip(np.floor((mid[:, 0] - x0) / w).astype(np.int64), -1, nc)
        row = np.clip(np.floor((y1 - mid[:, 1]) / h).astype(np.int64), -1, nr)
        return p0, p1, e, row, col

    def _shift(self):
        xmin, xmax, ymin, ymax = self.extent
        return np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])

    def integrate(self, polygons, centers=None):
        r"""Exact integrals over polygons (Green's formula on the pixel grid).

        Each polygon boundary is cut at the pixel grid lines; on each piece the antiderivative
        of the piecewise-constant density along the rows is a polynomial, integrated exactly.
        Cost: linear in the number of (boundary piece, pixel) crossings, whatever the number of
        pixels inside the polygons.

        Parameters
        ----------
        polygons : array-like of shapely geometries (m,)
            Polygons or MultiPolygons (holes allowed); parts outside the extent carry no mass.
        centers : array (m, 2), optional
            Centres of the second moments (default: the origin).

        Returns
        -------
        PolygonIntegrals
        """
        geoms = _as_geometries(polygons, "ImageDensity.integrate")
        m = geoms.shape[0]
        centers = np.zeros((m, 2)) if centers is None else np.asarray(centers, np.float64)
        centers = centers.reshape(m, 2)
        geoms = np.where(np.equal(geoms, None), shapely.Polygon(), geoms)
        sh = self._shift()
        mass = np.zeros(m)
        fx, fy, sxx, syy = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        keep = shapely.get_type_id(parts) == 3
        parts, part_of = parts[keep], part_of[keep]
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        if rings.size:
            exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
            coords, ring = shapely.get_coordinates(rings, return_index=True)
            coords = coords - sh
            # orientation of each ring (+1 counter-clockwise), holes counted negatively
            same = ring[1:] == ring[:-1]
            a, b, er = coords[:-1][same], coords[1:][same], ring[:-1][same]
            cross = np.bincount(er, a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1], rings.size)
            sign = np.where(exterior, 1.0, -1.0) * np.sign(cross)
            owner = part_of[ring_part]  # geometry of each ring
            p0, p1, e, row, col = self._pieces(a, b)
            inrow = (row >= 0) & (row < self.shape[0])
            p0, p1, e, row, col = p0[inrow], p1[inrow], e[inrow], row[inrow], col[inrow]
            xs, (c0, c1, c2) = self._grid()
            nc = self.shape[1]
            inside = (col >= 0) & (col < nc)
            cc = np.maximum(col, 0)
            rho = np.where(inside, self.density_values[row, np.minimum(cc, nc - 1)], 0.0)
            xc = xs[cc]
            C0, C1, C2 = c0[row, cc], c1[row, cc], c2[row, cc]
            dy = p1[:, 1] - p0[:, 1]
            wgt = sign[er[e]] * dy / 6.0
            g = owner[er[e]]
            acc = [np.zeros(e.size) for _ in range(5)]
            for p, coef in ((p0, 1.0), ((p0 + p1) / 2, 4.0), (p1, 1.0)):
                x, y = p[:, 0], p[:, 1]
                r0 = C0 + rho * (x - xc)
                acc[0] += coef * r0
                acc[1] += coef * (C1 + rho * (x * x - xc * xc) / 2)
                acc[2] += coef * y * r0
                acc[3] += coef * (C2 + rho * (x**3 - xc**3) / 3)
                acc[4] += coef * y * y * r0
            mass = np.bincount(g, wgt * acc[0], m)
            fx = np.bincount(g, wgt * acc[1], m)
            fy = np.bincount(g, wgt * acc[2], m)
            sxx = np.bincount(g, wgt * acc[3], m)
            syy = np.bincount(g, wgt * acc[4], m)
        # moments in original coordinates: x = x' + sh; second moment about c = c' + sh
        cp = centers - sh
        first = np.stack([fx, fy], axis=1)
        second = sxx + syy - 2 * (cp * first).sum(axis=1) + (cp * cp).sum(axis=1) * mass
        first = first + sh * mass[:, None]
        return PolygonIntegrals(mass, first, second)

    def line_integral(self, segments):
        r""":math:`\int_{S_k} \rho \, ds`, exactly: the segments are cut at the pixel grid lines
        and each piece weighted by the density of its pixel. A piece lying on an edge between
        two pixels counts the mean of their two densities (0 outside the extent). Segments
        ``(m, 2, 2)`` or line geometries; numpy (m,)."""
        where = "ImageDensity.line_integral"
        s = ImageDensity._segment_array(segments, where)
        if s is not None:
            a, b, owner, m = s[:, 0], s[:, 1], np.arange(s.shape[0]), s.shape[0]
        else:
            geoms = _as_geometries(segments, where)
            m = geoms.shape[0]
            geoms = np.where(np.equal(geoms, None), shapely.LineString(), geoms)
            parts, part_of = shapely.get_parts(geoms, return_index=True)
            coords, idx = shapely.get_coordinates(parts, return_index=True)
            same = idx[1:] == idx[:-1]
            a, b = coords[:-1][same], coords[1:][same]
            owner = part_of[idx[:-1][same]]
        if a.shape[0] == 0:
            return np.zeros(m)
        sh = self._shift()
        p0, p1, e, row, col = self._pieces(a - sh, b - sh)
        nr, nc = self.shape
        w, h = self.pixel_size
        x0 = (self.extent[0] - self.extent[1]) / 2
        y1 = (self.extent[3] - self.extent[2]) / 2
        pad = np.pad(self.density_values, 1)  # 0 outside the extent

        def dens(r, c):
            return pad[np.clip(r, -1, nr) + 1, np.clip(c, -1, nc) + 1]

        rho = dens(row, col)
        mid = (p0 + p1) / 2
        u = (mid[:, 0] - x0) / w
        v = (y1 - mid[:, 1]) / h
        on_v = (p0[:, 0] == p1[:, 0]) & (np.abs(u - np.round(u)) < 1e-9)
        on_h = (p0[:, 1] == p1[:, 1]) & (np.abs(v - np.round(v)) < 1e-9)
        ku = np.round(u).astype(np.int64)
        kv = np.round(v).astype(np.int64)
        rho = np.where(on_v, (dens(row, ku - 1) + dens(row, ku)) / 2, rho)
        rho = np.where(on_h, (dens(kv - 1, col) + dens(kv, col)) / 2, rho)
        length = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1])
        return np.bincount(owner[e], rho * length, m)



_CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}


def _best(fn, repeat, clock):
    best, out = np.inf, None
    for _ in range(repeat):
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def _image(n, kind="smooth"):
    """An n x n image: ``smooth`` (two Gaussian bumps on a positive floor) or ``binary`` (a disk
    and a square, white on black)."""
    u = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(u, u)
    if kind == "binary":
        disk = (X - 0.35) ** 2 + (Y - 0.4) ** 2 < 0.06
        square = (np.abs(X - 0.75) < 0.15) & (np.abs(Y - 0.75) < 0.15)
        return (disk | square).astype(float)
    return (0.1 + np.exp(-((X - 0.3) ** 2 + (Y - 0.4) ** 2) / 0.02)
            + 0.7 * np.exp(-((X - 0.7) ** 2 + (Y - 0.7) ** 2) / 0.05))


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        ncpu = os.cpu_count()
    return f"{cpu}, {ncpu} CPUs available, Python {platform.python_version()}, {platform.system()}"


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--images", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of power_cells and of the new kernels (0: their default)")
    ap.add_argument("--clock", choices=sorted(_CLOCK), default="cpu",
                    help="cpu: process CPU time (all threads; stable on a shared machine), "
                         "wall: elapsed time")
    ap.add_argument("--kind", choices=["smooth", "binary"], default="smooth",
                    help="the image: two Gaussian bumps on a floor, or a disk and a square")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    thr = args.threads or None
    clock = _CLOCK[args.clock]

    # compile / load the kernels once
    warm = ImageDensity(_image(8))
    y0 = rng.random((50, 2))
    c0 = _power.power_cells(y0[:, 0], y0[:, 1], np.zeros(50), (0, 0, 1, 1))
    warm.integrate_cells(c0.ptr, c0.n, c0.vx, c0.vy, y0)
    warm.line_integral(rng.random((5, 2, 2)))

    rows = []
    for npx in args.images:
        mu = ImageDensity(_image(npx, args.kind))
        old = OldImagePath(mu)
        tab = mu._tables()
        for J in args.sizes:
            y = rng.random((J, 2))
            psi = np.zeros(J)

            def best(fn):
                return _best(fn, args.repeat, clock)

            t_pc, C = best(lambda: _power.power_cells(y[:, 0], y[:, 1], psi, (0, 0, 1, 1),
                                                      threads=thr))
            idx = np.repeat(np.arange(J), C.n)
            order = np.concatenate([np.arange(p, p + k) for p, k in zip(C.ptr, C.n)])
            xy = np.column_stack([C.vx[order], C.vy[order]])
            t_sh, P = best(lambda: shapely.polygons(shapely.linearrings(xy, indices=idx)))
            t_old, A = best(lambda: old.integrate(P, y))
            t_new, B = best(lambda: mu.integrate(P, y))
            # what ImageDensity.integrate_cells runs, with the chosen number of threads
            t_c, Cc = best(lambda: ring_integrals(C.ptr, C.n, C.vx, C.vy, y[:, 0], y[:, 1], *tab,
                                                  threads=thr))
            nxt = np.concatenate([np.r_[np.arange(p + 1, p + k), p] for p, k in zip(C.ptr, C.n)])
            seg = np.stack([xy, np.column_stack([C.vx[nxt], C.vy[nxt]])], axis=1)
            t_eo, Eo = best(lambda: old.line_integral(seg))
            t_en, En = best(lambda: segment_integrals(seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0],
                                                      seg[:, 1, 1], *tab, threads=thr))
            rows.append((npx, J, t_pc, t_sh, t_old, t_new, t_c, t_eo, t_en,
                         max(_rel(B.mass, A.mass), _rel(Cc[0], A.mass)),
                         max(_rel(B.second, A.second), _rel(Cc[3], A.second)),
                         _rel(En, Eo), seg.shape[0]))
            print(f"done {npx}x{npx} J={J}", file=sys.stderr, flush=True)

    print(f"`python {' '.join(sys.argv)}`  \n{_machine()}; best of {args.repeat} warm runs, "
          f"{args.clock} time in ms, threads={args.threads or 'default'}, {args.kind} image.\n")
    print("| image | J | power_cells | shapely polygons | old integrate | integrate (shapely in) "
          "| integrate_cells (CSR) | old edges | edges | old / CSR | CSR / power_cells "
          "| max rel d mass | max rel d second | max rel d edges |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (npx, J, t_pc, t_sh, t_old, t_new, t_c, t_eo, t_en, dm, ds, de, ne) in rows:
        ms = [1e3 * t for t in (t_pc, t_sh, t_old, t_new, t_c, t_eo, t_en)]
        print(f"| {npx}x{npx} | {J} | " + " | ".join(f"{t:.1f}" for t in ms)
              + f" | {t_old / t_c:.0f}x | {t_c / t_pc:.2f} | {dm:.0e} | {ds:.0e} | {de:.0e} |")


if __name__ == "__main__":
    main()
