"""The code of docs/guide/testing.md runs: its blocks are executed in order, in one namespace
(the planted bug must be caught, the fixed solver must pass)."""

from __future__ import annotations

import pathlib
import re

import pytest
from hypothesis import Phase, settings

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_blocks(path):
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_testing_guide_blocks_run():
    blocks = python_blocks(ROOT / "docs" / "guide" / "testing.md")
    assert len(blocks) >= 5
    code = "\n".join(blocks)
    assert "pytest.raises(AssertionError" in code and "test_solve_dual_is_optimal()" in code
    # the page's own settings apply; shrinking the planted bug's counter-example (tens of
    # seconds of LP solves) is skipped: the bug only has to be found
    previous = settings.default
    settings.register_profile("docs-example", parent=previous, derandomize=True, database=None,
                              phases=[Phase.explicit, Phase.generate])
    settings.load_profile("docs-example")
    try:
        namespace = {"__name__": "docs_testing_guide"}
        for i, block in enumerate(blocks):
            try:
                exec(compile(block, f"docs/guide/testing.md:block{i}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message names the block
                pytest.fail(f"block {i} of docs/guide/testing.md failed: {exc!r}\n{block}")
    finally:
        settings.register_profile("_restore", parent=previous)
        settings.load_profile("_restore")
