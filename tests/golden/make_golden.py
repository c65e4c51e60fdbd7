"""Record the golden values of a fixed set of semi-discrete problems (``semidiscrete.npz``).

    python tests/golden/make_golden.py

``tests/test_golden.py`` checks that the solvers reproduce them to 1e-12: a restructuring must not
change a number. When the algorithm is changed on purpose, rerun this script in the same commit
and say in the commit message (and the issue note) which numbers moved and why.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import shapely

from otgan import measures, semidiscrete

HERE = os.path.dirname(os.path.abspath(__file__))
#: history keys that are wall-clock times (not reproducible)
TIMES = ("time", "time_diagram", "time_solve")


def _image(zeros):
    n = 16
    u = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(u, u[::-1])
    img = np.exp(-((X - 0.3) ** 2 + (Y - 0.6) ** 2) / 0.05) + 0.5 * np.exp(
        -((X - 0.75) ** 2 + (Y - 0.3) ** 2) / 0.02)
    if zeros:
        img[img < 0.2] = 0.0
    else:
        img += 0.05
    return img


def problems():
    """name -> (callable returning a SemiDiscreteResult)."""
    L = shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)])
    y40 = np.random.default_rng(0).random((40, 2))
    y30 = np.random.default_rng(1).random((30, 2)) * [1.0, 1.0]
    nu30 = np.random.default_rng(2).random(30) + 0.5
    nu30 /= nu30.sum()
    y25 = np.random.default_rng(3).random((25, 2))
    y20 = np.random.default_rng(4).random((20, 2))
    y15 = np.random.default_rng(5).random((15, 2))
    y10 = np.random.default_rng(6).random((10, 2))
    return {
        "newton_square": lambda: semidiscrete.newton(measures.Uniform(), y40),
        "newton_L": lambda: semidiscrete.newton(measures.Uniform(L), y30, nu30),
        "newton_image": lambda: semidiscrete.newton(measures.ImageDensity(_image(False)), y25),
        "newton_image_zeros": lambda: semidiscrete.newton(measures.ImageDensity(_image(True)),
                                                          y20),
        "newton_w1_square": lambda: semidiscrete.solve(measures.Uniform(), y15,
                                                       cost="euclidean", method="newton"),
        "asgd_square": lambda: semidiscrete.asgd(measures.Uniform(), y10, n_iter=300, rng=0,
                                                 tol=1.0),
        "asgd_w1": lambda: semidiscrete.solve(measures.Uniform(), y10, cost="euclidean",
                                              method="asgd", max_iter=300, rng=1, tol=1.0),
    }


def record(res):
    out = {"psi": np.asarray(res.psi, dtype=np.float64), "value": np.float64(res.value),
           "n_iter": np.int64(res.n_iter), "masses": np.asarray(res.masses, np.float64)}
    for k, v in res.history.items():
        if k not in TIMES:
            out["history." + k] = np.asarray(v, dtype=np.float64)
    return out


def main():
    data = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in problems().items():
            for k, v in record(fn()).items():
                data[f"{name}/{k}"] = v
    np.savez(os.path.join(HERE, "semidiscrete.npz"), **data)
    print(f"wrote {len(data)} arrays")


if __name__ == "__main__":
    main()
