"""The tests' tolerances, each named with the reason for its size.

Use them as ``rtol=F64`` or ``**EXACT``; a test that needs another tolerance states its reason
beside it (e.g. Monte Carlo: a few standard errors of the sample size it draws).
``eps64 = 2.2e-16`` and ``eps32 = 1.2e-7`` are the machine epsilons.
"""

#: Bit for bit: the same operations in the same order (a resumed run, two exact references).
EXACT = {"rtol": 0, "atol": 0}

#: float64, one or two roundings of numbers of size ~1 (a sum of masses, a zero by symmetry):
#: a few eps64.
F64_ZERO = 1e-15

#: float64, a handful of operations (a closed form evaluated by hand, a kd-tree's distance
#: against the explicit one): tens of eps64.
F64_FEW = 1e-14

#: float64, the same sums in two orders (blocked kernels against explicit differences, a
#: semi-dual by two formulas): up to ~5000 eps64 for sums of a few hundred terms.
F64 = 1e-12

#: float64 through transcendental functions (powers, square roots, exp and log computed by two
#: libraries) or long accumulations.
F64_LOOSE = 1e-9

#: Exact geometry against closed forms (cell masses from clipped polygons, Green's formula):
#: cancellations in the polygon sums cost a few digits.
GEOMETRY = 1e-10

#: Linear programs solved by POT's network simplex: reduced costs are exact to ~1e-12, values
#: are compared relative to the largest cost.
LP = 1e-9

#: A user's solver through HiGHS (``scipy.optimize.linprog``): its feasibility and optimality
#: tolerances are 1e-7.
HIGHS = 1e-6

#: float32 against float64: 100 eps32, the rounding of dot products and short runs.
F32 = 1e-5

#: Central finite differences (step ~1e-7) of smooth functions: truncation ~1e-14, rounding
#: ~eps64 / step ~1e-9; 1e-6 leaves room for curvature.
FINITE_DIFFERENCES = 1e-6

#: CUDA with TF32 matmuls (a 10-bit mantissa) against the CPU, values of size ~1.
TF32 = {"rtol": 1e-4, "atol": 1e-3}

#: Power iteration (spectral normalisation, one iteration per forward): three digits after a
#: few dozen calls.
POWER_ITERATION = 1e-3

#: What must vanish: exactly 0 in exact arithmetic, below 1e-20 after underflow.
NEGLIGIBLE = 1e-20
