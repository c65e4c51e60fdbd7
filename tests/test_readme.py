"""The README's first example runs, and ASGD with its default arguments does not warn there."""

from __future__ import annotations

import pathlib
import re
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_first_taste_runs_without_warnings(capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## A first taste\n\n```python\n(.*?)^```", text, flags=re.S | re.M)[1]
    ns = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NotConvergedWarning (or any other) fails the test
        exec(compile(code, "README.md", "exec"), ns)
    assert ns["res"].converged and ns["exact"].converged
    # ASGD's semi-dual is a lower bound of the exact W2^2, close to it
    assert ns["res"].value <= ns["exact"].value + 1e-12
    assert ns["exact"].value - ns["res"].value < 1e-3 * ns["exact"].value * 10
    assert "SemiDiscreteResult(method='asgd'" in capsys.readouterr().out
