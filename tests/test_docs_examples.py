"""The code of the user guides runs. docs/guide/testing.md: its blocks are executed in order, in
one namespace (the planted bug must be caught, the fixed solver must pass). Every guide of
docs/make_guide_figures.py: its blocks run, print what the page shows under them, and write
the figures the page shows (committed under docs/assets/ by that script)."""

from __future__ import annotations

import pathlib
import re
import sys

import numpy as np
import pytest
from hypothesis import Phase, settings
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_blocks(path):
    text = path.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_testing_guide_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the page's last block writes its figure into the cwd
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


# ------------------------------------------------------------------ every guide's code runs
sys.path.insert(0, str(ROOT / "docs"))
import make_guide_figures as guides  # noqa: E402

#: the guides whose blocks run here in full (testing.md needs its own hypothesis settings,
#: above, and is run below with them)
PLAIN = [g for g in guides.GUIDES if g != "testing"]


def test_getting_started_shows_what_its_code_prints(tmp_path):
    done = guides.run_guide("getting_started", tmp_path)
    shown = [b for b in done if b["run"] and b["output"] is not None]
    assert shown
    for b in shown:
        assert b["printed"] == b["output"], (b["printed"], b["output"])
    text = guides.page("getting_started").read_text(encoding="utf-8")
    assert "source .venv/bin/activate" in text and "load_mnist_sample" in text


def _check_figures(name, folder):
    shown = guides.figures(name)
    assert shown, f"docs/guide/{name}.md shows no figure of its own"
    for f in shown:
        made = folder / f
        assert made.is_file(), f"the code of {name}.md does not write {f}"
        arr = np.asarray(Image.open(made).convert("L"), dtype=float)
        assert arr.shape[0] > 200 and arr.std() > 5, f"{f} looks blank"
        # the committed picture (docs/make_guide_figures.py) is the one the page shows
        committed = ROOT / "docs" / "assets" / f
        assert committed.is_file(), f"docs/assets/{f} is missing: python docs/make_guide_figures.py"
        assert Image.open(committed).size == Image.open(made).size, f


@pytest.mark.parametrize("name", PLAIN)
def test_guide_code_runs_prints_what_the_page_shows_and_draws_its_figure(name, tmp_path):
    done = guides.run_guide(name, tmp_path)
    ran = [b for b in done if b["run"]]
    assert ran, f"docs/guide/{name}.md has no code that runs"
    shown = [b for b in ran if b["output"] is not None]
    assert shown, f"docs/guide/{name}.md shows no output"
    for b in shown:
        assert b["printed"] == b["output"], (name, b["printed"], b["output"])
    _check_figures(name, tmp_path)


def test_block_parser_negative_control(tmp_path, monkeypatch):
    page = tmp_path / "guide" / "x.md"
    page.parent.mkdir()
    page.write_text("```python\nprint(1)\n```\n\n```text\n1\n```\n\n"
                    "<!-- not run: needs torchrun -->\n```python\nraise SystemExit\n```\n"
                    "![a](../assets/guide_x.png)\n")
    monkeypatch.setattr(guides, "DOCS", tmp_path)
    b = guides.blocks("x")
    assert [(x["code"], x["output"], x["run"]) for x in b] == [
        ("print(1)\n", "1\n", True), ("raise SystemExit\n", None, False)]
    assert guides.figures("x") == ["guide_x.png"]
    done = guides.run_guide("x", tmp_path)
    assert done[0]["printed"] == "1\n" and done[1]["printed"] is None
    page.write_text("```python\nprint(2)\n```\n\n```text\n1\n```\n")
    assert guides.run_guide("x", tmp_path)[0]["printed"] != "1\n"  # a wrong output is seen


def test_testing_guide_draws_its_figure(tmp_path):
    previous = settings.default
    settings.register_profile("docs-example-figure", parent=previous, derandomize=True,
                              database=None, phases=[Phase.explicit, Phase.generate])
    settings.load_profile("docs-example-figure")
    try:
        done = guides.run_guide("testing", tmp_path)
    finally:
        settings.register_profile("_restore", parent=previous)
        settings.load_profile("_restore")
    for b in done:
        if b["run"] and b["output"] is not None:
            assert b["printed"] == b["output"]
    _check_figures("testing", tmp_path)
