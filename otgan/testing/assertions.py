r"""Assertions for property tests of OT code: each fails with the numbers, never on NaN.

:func:`assert_weak_duality`, :func:`assert_duality_gap`, :func:`assert_potentials_close`,
:func:`assert_transport_map`, :func:`assert_laguerre_valid` raise ``AssertionError`` with the
values compared and the tolerance. They accept numpy arrays and torch tensors (any device; the
comparison is made in float64 on the CPU, with a tolerance that fits the input's dtype).

Every assertion first checks that what it reads is finite -- the user's potential, coupling, map
values or diagram, and the problem's own fields -- and fails naming the field otherwise: a NaN
makes every comparison ``False``, so without this check a solver that underflowed to NaN would
pass.
"""

from __future__ import annotations

import numpy as np
import shapely

from .._utils import check_tol, to_numpy
from ..laguerre import diagram
from ._checks import assert_finite, check_problem, finite_float64, is_discrete
from .problems import DiscreteProblem, SemiDiscreteProblem  # noqa: F401 (the examples use them)
from .references import _semi_dual, cost_matrix

__all__ = [
    "assert_duality_gap",
    "assert_laguerre_valid",
    "assert_potentials_close",
    "assert_transport_map",
    "assert_weak_duality",
]


def _scale(problem):
    """Compute a cost scale of the problem: max(|value|, typical cost), for tolerances."""
    if is_discrete(problem):
        # rounding errors of the costs scale with the coordinates, not with the costs
        r = max(float(np.abs(problem.x).max()), float(np.abs(problem.y).max()))
        r *= np.sqrt(problem.x.shape[1])
        C = cost_matrix(problem.x, problem.y, problem.cost)
        return max(abs(problem.value), float(C.max()), r**problem.cost.p, 1e-300)
    x0, y0, x1, y1 = problem.mu.domain.bounds
    return max(abs(problem.value), (x1 - x0) ** 2 + (y1 - y0) ** 2)


def _mass_report(psi, problem):
    """Where the cells of psi carry the wrong mass (a hint for the failure message)."""
    if is_discrete(problem):
        C = cost_matrix(problem.x, problem.y, problem.cost) - psi[None, :]
        m = np.bincount(np.argmin(C, axis=1), problem.a, len(problem.y))
    else:
        m = diagram(problem.y, psi, measure=problem.mu).masses
    err = m - problem.nu
    j = int(np.argmax(np.abs(err)))
    return (f"the cells of psi carry masses differing from the target by up to {abs(err[j]):.3g}"
            f" (site {j}: cell mass {m[j]:.6g}, target {problem.nu[j]:.6g})")


def assert_weak_duality(psi, problem, *, phi=None, value=None, atol=None):
    r"""Assert weak duality: a dual objective never exceeds the optimal transport cost.

    Checks :math:`H(\psi) \le W` for the exact semi-dual at ``psi`` (:func:`semi_dual_value`),
    and, when given,

    * ``value`` (a float: your own code's dual value at ``psi``): ``value <= W``;
    * ``phi`` (discrete problems: a potential on ``x``): the dual constraints
      :math:`\phi_i + \psi_j \le c(x_i, y_j)` and :math:`a\cdot\phi + b\cdot\psi \le W`.

    Parameters
    ----------
    psi : array (m,)
        Potential on ``problem.y`` (numpy or torch).
    problem : DiscreteProblem or SemiDiscreteProblem
    phi : array (n,), optional
    value : float, optional
    atol : float, optional
        Absolute slack; default: a dtype-aware relative tolerance times the problem's cost
        scale.

    Raises
    ------
    AssertionError
        With the values and the excess.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> p = DiscreteProblem(np.zeros((1, 1)), np.ones(1), np.ones((1, 1)), np.ones(1),
    ...                     SquaredEuclidean(), 1.0, np.zeros(1))
    >>> assert_weak_duality(np.array([0.3]), p)
    >>> assert_weak_duality(np.zeros(1), p, value=1.5)
    Traceback (most recent call last):
    ...
    AssertionError: weak duality violated: the dual value 1.5 exceeds the OT cost W = 1 by 0.5 ...
    """
    where = "testing.assert_weak_duality"
    check_problem(problem, where)
    psi_n, rtol = finite_float64(psi, "psi", where, shape=(len(problem.y),))
    if phi is not None:
        if not is_discrete(problem):
            raise TypeError(f"{where}: 'phi' is only defined for a DiscreteProblem")
        phi_n, _ = finite_float64(phi, "phi", where, shape=(len(problem.x),))
    if value is not None:
        v = to_numpy(value, dtype=np.float64)
        if v.size != 1:
            raise AssertionError(f"{where}: 'value' must be a number; got shape {v.shape}")
        assert_finite(v.reshape(()), "value", where)
        v = float(v.reshape(()))
    atol = check_tol(atol, "atol", where) if atol is not None else None
    tol = rtol * _scale(problem) if atol is None else atol
    W = problem.value
    h = _semi_dual(psi_n, problem)
    if h > W + tol:
        raise AssertionError(
            f"weak duality violated: the exact semi-dual H(psi) = {h:.12g} exceeds the OT cost "
            f"W = {W:.12g} by {h - W:.3g} (tolerance {tol:.3g}); H(psi) <= W holds for every "
            "psi, so the problem or the cost convention is inconsistent"
        )
    if value is not None and not v <= W + tol:
        raise AssertionError(
            f"weak duality violated: the dual value {v:.12g} exceeds the OT cost W = {W:.12g}"
            f" by {v - W:.3g} (tolerance {tol:.3g}); the exact semi-dual at this psi is "
            f"{h:.12g}"
        )
    if phi is not None:
        C = cost_matrix(problem.x, problem.y, problem.cost)
        slack = phi_n[:, None] + psi_n[None, :] - C
        i, j = np.unravel_index(int(np.argmax(slack)), slack.shape)
        if slack[i, j] > tol:
            raise AssertionError(
                f"dual constraint violated: phi[{i}] + psi[{j}] = {phi_n[i] + psi_n[j]:.12g} "
                f"exceeds c(x[{i}], y[{j}]) = {C[i, j]:.12g} by {slack[i, j]:.3g} "
                f"(tolerance {tol:.3g})"
            )
        d = float(problem.a @ phi_n + problem.b @ psi_n)
        if d > W + tol:
            raise AssertionError(f"weak duality violated: a.phi + b.psi = {d:.12g} exceeds "
                                 f"W = {W:.12g} by {d - W:.3g} (tolerance {tol:.3g})")


def assert_duality_gap(psi, problem, *, rtol=None, atol=None):
    r"""Assert that ``psi`` is optimal: the exact semi-dual at ``psi`` equals the OT cost.

    Fails when :math:`|W - H(\psi)| > \mathrm{atol} + \mathrm{rtol}\, S`, where the scale
    :math:`S = \max(|W|, \max_{ij} c(x_i, y_j), R^p)` is that of the costs (``R`` the largest
    coordinate norm; the squared diameter of the domain for semi-discrete problems): an error
    ``delta`` on every ``psi_j`` moves ``H`` by at most ``delta``, and ``W`` itself may be tiny
    next to the costs. The gap is never negative (weak duality), so a negative gap beyond the
    tolerance fails too. The message says which cell carries the wrong mass.

    Parameters
    ----------
    psi : array (m,)
        Potential on ``problem.y`` (numpy or torch, any device).
    problem : DiscreteProblem or SemiDiscreteProblem
    rtol : float, optional
        Relative tolerance; default ``1e-9`` for float64 input, ``1e-5`` for float32.
    atol : float, optional
        Absolute tolerance (default 0).

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> x = np.array([[0.0], [1.0]])
    >>> p = DiscreteProblem(x, np.array([0.5, 0.5]), x, np.array([0.5, 0.5]),
    ...                     SquaredEuclidean(), 0.0, np.zeros(2))
    >>> assert_duality_gap(np.zeros(2), p)
    >>> assert_duality_gap(np.array([0.0, 2.0]), p)
    Traceback (most recent call last):
    ...
    AssertionError: duality gap too large: W = 0, H(psi) = -0.5, gap W - H(psi) = 0.5 ...
    """
    where = "testing.assert_duality_gap"
    check_problem(problem, where)
    psi_n, dt_rtol = finite_float64(psi, "psi", where, shape=(len(problem.y),))
    if rtol is None:
        rtol = 1e-9 if dt_rtol < 1e-10 else 1e-5
    rtol = check_tol(rtol, "rtol", where)
    atol = 0.0 if atol is None else check_tol(atol, "atol", where)
    tol = atol + rtol * _scale(problem)
    W = problem.value
    h = _semi_dual(psi_n, problem)
    gap = W - h
    if abs(gap) > tol:
        rel = f"relative {abs(gap) / abs(W):.3g}; " if W != 0 else ""
        what = ("weak duality violated (H(psi) > W): the problem or the cost convention is "
                "inconsistent" if gap < 0 else _mass_report(psi_n, problem))
        raise AssertionError(
            f"duality gap too large: W = {W:.12g}, H(psi) = {h:.12g}, gap W - H(psi) = "
            f"{gap:.3g} ({rel}tolerance {tol:.3g}); "
            f"{what}"
        )


def assert_potentials_close(p, q, *, problem=None, rtol=None, atol=None):
    """Assert that two potentials are equal up to an additive constant.

    The best constant in the max norm is removed: ``c = (max(p - q) + min(p - q)) / 2``; fails
    when ``max |p - q - c| > atol + rtol * S`` with the scale ``S = max(|p|, |q|)`` or, when
    ``problem`` is given, the problem's cost scale (as in :func:`assert_duality_gap`; needed
    when the potentials are close to zero).

    Semi-discrete optimal potentials are unique up to a constant (connected support, positive
    masses); discrete ones in general are not -- compare values with
    :func:`assert_duality_gap` there.

    Parameters
    ----------
    p, q : arrays (m,)
        numpy or torch.
    problem : DiscreteProblem or SemiDiscreteProblem, optional
        Gives the scale of the costs.
    rtol, atol : float, optional
        Defaults fit the least precise input dtype (``1e-7`` relative for float64, ``1e-4``
        for float32).

    Examples
    --------
    >>> import numpy as np
    >>> assert_potentials_close(np.array([1.0, 2.0]), np.array([11.0, 12.0]))
    >>> assert_potentials_close(np.array([1.0, 2.0]), np.array([2.0, 1.0]))
    Traceback (most recent call last):
    ...
    AssertionError: potentials differ by more than an additive constant: ...
    """
    where = "testing.assert_potentials_close"
    pn, r1 = finite_float64(p, "p", where)
    qn, r2 = finite_float64(q, "q", where)
    if pn.shape != qn.shape:
        raise AssertionError(f"{where}: shapes differ: {pn.shape} and {qn.shape}")
    if pn.size == 0:
        return
    single = max(r1, r2) > 1e-10
    if rtol is None:
        rtol = 1e-4 if single else 1e-7
    rtol = check_tol(rtol, "rtol", where)
    atol = None if atol is None else check_tol(atol, "atol", where)
    if problem is not None:
        check_problem(problem, where)
        scale = _scale(problem)
    else:
        scale = max(np.abs(pn).max(), np.abs(qn).max(), 1e-300)
    tol = (0.0 if atol is None else float(atol)) + rtol * scale
    d = pn - qn
    c = (d.max() + d.min()) / 2
    err = np.abs(d - c)
    j = int(np.argmax(err))
    if err[j] > tol:
        raise AssertionError(
            f"potentials differ by more than an additive constant: after removing c = {c:.6g}, "
            f"max |p - q - c| = {err[j]:.3g} at index {j} (p[{j}] = {pn[j]:.12g}, q[{j}] = "
            f"{qn[j]:.12g}; tolerance {tol:.3g}; {int((err > tol).sum())} of {err.size} entries "
            "off)"
        )


def _site_indices(T, problem, where, name):
    T = to_numpy(T)
    assert_finite(T, name, where)
    if T.ndim == 2:  # site coordinates: map back to indices
        if T.shape[1] != problem.y.shape[1]:
            raise AssertionError(f"{where}: the map returns points of shape {T.shape}; expected "
                                 f"indices (n,) or sites (n, {problem.y.shape[1]})")
        d = ((T[:, None, :] - problem.y[None]) ** 2).sum(-1)
        idx = np.argmin(d, axis=1)
        far = np.sqrt(d[np.arange(len(T)), idx])
        if (far > 1e-9 * (1 + np.abs(problem.y).max())).any():
            k = int(np.argmax(far))
            raise AssertionError(f"{where}: T maps a point to {T[k].tolist()}, which is not a "
                                 "site of the problem")
        return idx
    if T.ndim != 1 or not np.issubdtype(T.dtype, np.integer):
        raise AssertionError(f"{where}: expected integer site indices of shape (n,); got dtype "
                             f"{T.dtype}, shape {T.shape}")
    if T.size and (T.min() < 0 or T.max() >= len(problem.y)):
        raise AssertionError(f"{where}: site indices must lie in [0, {len(problem.y)}); got "
                             f"range [{T.min()}, {T.max()}]")
    return T.astype(np.int64)


def assert_transport_map(T, problem, *, optimal=False, rtol=None, n_samples=200_000, rng=0,
                         z=6.0):
    r"""Assert that ``T`` transports the source onto the target (and optimally, if asked).

    The pushed-forward masses must equal ``nu`` and, with ``optimal``, the cost of ``T`` the OT
    cost.

    * Discrete problems: ``T`` is an integer array ``(n,)`` (the site index of each ``x_i``, a
      Monge map: pushed-forward masses ``bincount(T, a)``) or a float coupling matrix
      ``(n, m)`` (its marginals must be ``a`` and ``b``). Compared to
      ``rtol`` (default ``1e-9``, ``1e-5`` for float32).
    * Semi-discrete problems: ``T`` is a callable mapping points ``(k, 2)`` to site indices
      ``(k,)`` or sites ``(k, 2)``. The masses are estimated from ``n_samples`` points drawn
      from ``mu`` (seeded by ``rng``): when ``T`` pushes ``mu`` to ``nu``, the count of site
      ``j`` is Binomial(n, nu_j), and the assertion fails when a count is more than ``z``
      standard deviations away (false alarm below ``1e-8`` per site for ``z = 6``). With
      ``optimal``, the mean transport cost must match ``value`` within ``z`` standard errors.

    Parameters
    ----------
    T : array_like or callable
        Site indices ``(n,)`` or a coupling ``(n, m)`` (discrete problems), or a map of points
        to site indices or sites (semi-discrete problems); its values must be finite.
    problem : DiscreteProblem or SemiDiscreteProblem
        The problem; its fields must be finite.
    optimal : bool
        Also check the transport cost.
    rtol : float, optional
        Tolerance of the discrete checks.
    n_samples : int
        Monte Carlo points of the semi-discrete checks.
    rng : None, int or numpy.random.Generator
        Seeds the Monte Carlo points.
    z : float
        Standard deviations allowed in the semi-discrete checks.

    Raises
    ------
    AssertionError
        With the marginal or the site that is off, or the excess cost; or naming an input that
        is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.costs import SquaredEuclidean
    >>> x = np.array([[0.0], [1.0]])
    >>> p = DiscreteProblem(x, np.array([0.5, 0.5]), x + 1, np.array([0.5, 0.5]),
    ...                     SquaredEuclidean(), 1.0, np.zeros(2))
    >>> assert_transport_map(np.array([0, 1]), p, optimal=True)
    >>> assert_transport_map(np.array([0, 0]), p)
    Traceback (most recent call last):
    ...
    AssertionError: T does not push the source onto the target: ...
    """
    where = "testing.assert_transport_map"
    check_problem(problem, where)
    if is_discrete(problem):
        Tn = to_numpy(T)
        assert_finite(Tn, "T", where)
        single = Tn.dtype == np.float32
        tol = (1e-5 if single else 1e-9) if rtol is None else check_tol(rtol, "rtol", where)
        n, m = len(problem.x), len(problem.y)
        C = cost_matrix(problem.x, problem.y, problem.cost)
        if Tn.ndim == 2 and np.issubdtype(Tn.dtype, np.floating):
            if Tn.shape != (n, m):
                raise AssertionError(f"{where}: a coupling must have shape ({n}, {m}); got "
                                     f"{Tn.shape}")
            P = Tn.astype(np.float64)
        else:
            idx = _site_indices(Tn, problem, where, "T")
            if idx.shape != (n,):
                raise AssertionError(f"{where}: expected one site index per source point "
                                     f"({n},); got {idx.shape}")
            P = np.zeros((n, m))
            P[np.arange(n), idx] = problem.a
        if (P < -tol).any():
            raise AssertionError(f"{where}: the coupling has negative entries (min {P.min():.3g})")
        for name, got, ref in (("source (rows)", P.sum(1), problem.a),
                               ("target (columns)", P.sum(0), problem.b)):
            err = np.abs(got - ref)
            j = int(np.argmax(err))
            if err[j] > tol:
                raise AssertionError(
                    f"T does not push the source onto the target: the {name} marginal differs "
                    f"by {err[j]:.3g} at index {j} (got {got[j]:.12g}, expected {ref[j]:.12g}; "
                    f"tolerance {tol:.3g})"
                )
        if optimal:
            cost = float((P * C).sum())
            if abs(cost - problem.value) > tol * _scale(problem):
                raise AssertionError(f"{where}: the transport cost of T is {cost:.12g}, the OT "
                                     f"cost is {problem.value:.12g} (excess "
                                     f"{cost - problem.value:.3g})")
        return
    if not callable(T):
        raise TypeError(f"{where}: for a SemiDiscreteProblem, 'T' must be a callable mapping "
                        f"points (k, 2) to site indices; got {type(T).__name__}")
    x = problem.mu.sample(int(n_samples), rng=rng)
    idx = _site_indices(T(x), problem, where, "T(x)")
    if idx.shape != (len(x),):
        raise AssertionError(f"{where}: T returned {idx.shape} for {len(x)} points")
    n = len(x)
    counts = np.bincount(idx, minlength=len(problem.y))
    nu = problem.nu
    std = np.sqrt(n * nu * (1 - nu)) + 1e-300
    zs = np.abs(counts - n * nu) / std
    j = int(np.argmax(zs))
    if zs[j] > z:
        raise AssertionError(
            f"T does not push the source onto the target: site {j} receives {counts[j] / n:.6g} "
            f"of {n} samples, its mass is {nu[j]:.6g} ({zs[j]:.1f} standard deviations off; "
            f"threshold {z}); worst sites: "
            + ", ".join(f"{k}: {counts[k] / n:.4g} vs {nu[k]:.4g}" for k in np.argsort(-zs)[:3])
        )
    if optimal:
        c = ((x - problem.y[idx]) ** 2).sum(1)
        se = c.std() / np.sqrt(n) + 1e-12 * _scale(problem)
        if abs(c.mean() - problem.value) > z * se:
            raise AssertionError(
                f"{where}: the transport cost of T is {c.mean():.6g} +- {se:.2g} (Monte Carlo, "
                f"{n} samples), the OT cost is {problem.value:.6g}")


def _envelope_gap(polygons, y, psi, diam2):
    """Excess of each cell vertex's own power value over the lower envelope.

    The envelope is ``min_k ||v - y_k||^2 - psi_k`` (explicit differences). Returns arrays of the
    excess, of the excess relative to ``diam2 + |own value|`` (the scale of its rounding error),
    of the cell index and of the vertices.
    """
    ex_all, rel_all, own_all, v_all = [np.zeros(0)], [np.zeros(0)], [np.zeros(0, int)], []
    for i, g in enumerate(polygons):
        if g is None or g.is_empty:
            continue
        v = shapely.get_coordinates(g)
        pw = ((v[:, None, :] - y[None]) ** 2).sum(-1) - psi[None]
        ex = pw[:, i] - pw.min(axis=1)
        ex_all.append(ex)
        rel_all.append(ex / (diam2 + np.abs(pw[:, i])))
        own_all.append(np.full(len(v), i))
        v_all.append(v)
    v_all = np.concatenate(v_all) if v_all else np.zeros((0, 2))
    return np.concatenate(ex_all), np.concatenate(rel_all), np.concatenate(own_all), v_all


def assert_laguerre_valid(diagram, *, rtol=1e-10, envelope_atol=None):
    r"""Assert that a Laguerre (power) diagram of the quadratic cost is exact.

    Checks (float64): the cell areas sum to the domain's area and equal the areas of the cell
    polygons; the adjacency matrix (if any) is symmetric; every vertex ``v`` of every cell ``i``
    lies on the lower envelope, :math:`\|v - y_i\|^2 - \psi_i = \min_k \|v - y_k\|^2 -
    \psi_k` (explicit differences; the excess must be below ``envelope_atol``, or by default
    ``rtol`` times the squared diameter of the domain plus the vertex's own power value, the
    scale of its rounding error). Together these prove the cells exact: convex pieces lying in
    their true cells and tiling the domain.

    Parameters
    ----------
    diagram : otgan.laguerre.LaguerreDiagram or any object with ``y`` (J, 2), ``psi`` (J,),
        ``areas`` (J,), ``polygons`` (J shapely geometries), ``domain`` (shapely polygon) and
        optionally ``adjacency`` (J, J).
    rtol : float
        Relative tolerance of the checks.
    envelope_atol : float, optional
        Absolute tolerance of the lower-envelope check instead.

    Examples
    --------
    >>> import numpy as np
    >>> from otgan.laguerre import diagram
    >>> assert_laguerre_valid(diagram(np.array([[0.2, 0.3], [0.7, 0.6]]), np.zeros(2)))
    """
    where = "testing.assert_laguerre_valid"
    rtol = check_tol(rtol, "rtol", where)
    if envelope_atol is not None:
        envelope_atol = check_tol(envelope_atol, "envelope_atol", where)
    y = to_numpy(diagram.y, dtype=np.float64)
    psi = to_numpy(diagram.psi, dtype=np.float64)
    areas = to_numpy(diagram.areas, dtype=np.float64)
    polys = np.asarray(diagram.polygons, dtype=object)
    dom = diagram.domain
    for name, arr in (("diagram.y", y), ("diagram.psi", psi), ("diagram.areas", areas),
                      ("diagram.domain", shapely.get_coordinates(dom))):
        assert_finite(arr, name, where)
    for j, g in enumerate(polys):
        if g is not None:
            assert_finite(shapely.get_coordinates(g), f"diagram.polygons[{j}]", where)
    A = getattr(diagram, "adjacency", None)
    if A is not None:
        assert_finite(A.data if hasattr(A, "tocsr") else to_numpy(A), "diagram.adjacency", where)
    J = len(y)
    if y.shape != (J, 2) or psi.shape != (J,) or areas.shape != (J,) or len(polys) != J:
        raise AssertionError(f"{where}: a diagram of J sites needs y (J, 2), psi, areas and "
                             f"polygons of length J; got y {y.shape}, psi {psi.shape}, areas "
                             f"{areas.shape}, {len(polys)} polygons")
    x0, y0, x1, y1 = dom.bounds
    diam2 = (x1 - x0) ** 2 + (y1 - y0) ** 2
    total = float(areas.sum())
    if abs(total - dom.area) > rtol * dom.area:
        raise AssertionError(f"{where}: the cell areas sum to {total:.15g}, the domain's area is "
                             f"{dom.area:.15g} (difference {total - dom.area:.3g})")
    pa = np.array([0.0 if g is None else g.area for g in polys])
    j = int(np.argmax(np.abs(pa - areas)))
    if abs(pa[j] - areas[j]) > rtol * dom.area:
        raise AssertionError(f"{where}: cell {j} has area {areas[j]:.15g} but its polygon has "
                             f"area {pa[j]:.15g}")
    if A is not None:
        if hasattr(A, "tocsr"):  # scipy sparse
            D = abs(A - A.T).tocoo()
            asym = float(D.data.max()) if D.nnz else 0.0
            if asym > rtol * np.sqrt(diam2):
                k = int(np.argmax(D.data))
                i, j = int(D.row[k]), int(D.col[k])
                raise AssertionError(f"{where}: adjacency is not symmetric: A[{i}, {j}] = "
                                     f"{A[i, j]:.12g}, A[{j}, {i}] = {A[j, i]:.12g}")
        else:
            A = to_numpy(A, dtype=np.float64)
            asym = np.abs(A - A.T)
            if asym.size and asym.max() > rtol * np.sqrt(diam2):
                i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
                raise AssertionError(f"{where}: adjacency is not symmetric: A[{i}, {j}] = "
                                     f"{A[i, j]:.12g}, A[{j}, {i}] = {A[j, i]:.12g}")
    ex, rel, own, verts = _envelope_gap(polys, y, psi, diam2)
    bad = ex > envelope_atol if envelope_atol is not None else rel > rtol
    if bad.any():
        k = int(np.argmax(np.where(bad, ex, -np.inf)))
        tol = envelope_atol if envelope_atol is not None else rtol
        raise AssertionError(
            f"{where}: vertex {verts[k].tolist()} of cell {own[k]} is above the lower envelope "
            f"of the power functions by {ex[k]:.3g} (relative {rel[k]:.3g}; tolerance "
            f"{tol:.3g}; {int(bad.sum())} vertices off): the cell is not its power cell"
        )
