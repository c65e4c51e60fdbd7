"""Demo scripts regenerating the figures of the GAN / WGAN lectures.

Run one demo with ``python -m demos.fig03_parallel_lines`` (or ``python demos/fig03_parallel_lines.py``),
all of them with ``python -m demos`` (see :mod:`demos.run_all`). Common options: ``--out DIR``
(default ``figures/``), ``--quick``, ``--seed``, ``--device``. The live playground:
``python -m demos.playground`` (:mod:`demos.playground`).
"""
