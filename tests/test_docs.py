"""The documentation builds in strict mode (mkdocs + mkdocstrings): a broken reference to an
API object, a bad link or a docstring that fails to render is an error.

Skipped only when the docs tools are not installed (``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# mkdocs, mkdocstrings, its python handler (mkdocstrings-python) and the material theme
MISSING = [m for m in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers", "material")
           if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"docs tools not installed ({', '.join(MISSING)}): pip install -e '.[docs]'",
)


def _build(config, site, cwd):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", OTGAN_FIGURES=str(site) + "_nofigs")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        check=False, capture_output=True, text=True, cwd=str(cwd), env=env, timeout=600,
    )


def test_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    res = _build(ROOT / "mkdocs.yml", site, ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for page in ("index.html", "getting_started/index.html", "gallery/index.html",
                 "lectures/index.html", "benchmarks/index.html", "api/ctransform/index.html",
                 "guide/semidual/index.html", "guide/testing/index.html",
                 "api/testing/index.html"):
        assert (site / page).exists(), page
    api = (site / "api" / "ctransform" / "index.html").read_text(encoding="utf-8")
    assert "otgan.ctransform.c_transform" in api
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    assert "python -m demos.fig05_c_transforms" in gallery
    bench = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "BENCHMARKS" not in bench


def test_strict_build_catches_a_broken_reference(tmp_path):
    """Negative control: the same toolchain rejects a reference to a missing API object."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(textwrap.dedent("""\
        # Broken

        See [`no_such_function`][otgan.ctransform.no_such_function].

        ::: otgan.costs.get_cost
        """))
    cfg = tmp_path / "mkdocs.yml"
    cfg.write_text(textwrap.dedent(f"""\
        site_name: broken
        docs_dir: {docs}
        plugins:
          - mkdocstrings:
              handlers:
                python:
                  paths: [{ROOT}]
                  options:
                    docstring_style: numpy
        """))
    res = _build(cfg, tmp_path / "site", tmp_path)
    assert res.returncode != 0
    assert "no_such_function" in res.stdout + res.stderr
