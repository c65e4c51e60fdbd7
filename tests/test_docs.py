"""The documentation builds in strict mode (mkdocs + mkdocstrings): a broken reference to an
API object, a bad link or a docstring that fails to render is an error. The built site works
offline: no page loads a script or a stylesheet from another host, the API pages show no raw
reST roles or directives, and (where Debian's ``chromium`` is installed) the guide and API pages
typeset their math in headless Chromium with every host name unresolvable.

Skipped only when the docs tools are not installed (``pip install -e ".[docs]"``); the browser
check alone is skipped when no ``chromium`` is on the PATH (``apt-get install chromium``).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# mkdocs, mkdocstrings, its python handler (mkdocstrings-python) and the material theme
# and the MathJax bundle (django-static-mathjax, importable as 'mathjax')
MISSING = [m for m in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers", "material", "mathjax")
           if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"docs tools not installed ({', '.join(MISSING)}): pip install -e '.[docs]'",
)


def _build(config, site, cwd, figures=None):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               OTGAN_FIGURES=str(figures or str(site) + "_nofigs"))
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        check=False, capture_output=True, text=True, cwd=str(cwd), env=env, timeout=600,
    )


def _fake_figures(folder: pathlib.Path) -> pathlib.Path:
    """Two figures of one demo (a wide strip and a square plot) and its sidecar, which lists
    them in the order the demo wrote them (not alphabetical); one demo's single figure."""
    from PIL import Image

    folder.mkdir()
    Image.new("RGB", (1500, 300), "navy").save(folder / "fig07_sdwgan_2d_training.png")
    Image.new("RGB", (400, 400), "orange").save(folder / "fig07_sdwgan_2d_w2.png")
    Image.new("RGB", (400, 400), "navy").save(folder / "fig04_wgan_critics.png")  # no stem
    (folder / "fig07_sdwgan_2d.json").write_text(json.dumps({
        "command": "python -m demos.fig07_sdwgan_2d --seed 0 --out figures",
        "files": ["fig07_sdwgan_2d_w2.png", "fig07_sdwgan_2d_training.png"],
        "captions": {"fig07_sdwgan_2d_w2.png": "W2 along training"},
        "wall_time_s": 7.9}))
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    site = tmp / "site"
    res = _build(ROOT / "mkdocs.yml", site, ROOT, figures=_fake_figures(tmp / "figures"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return site


def _pages(site):
    return sorted(site.rglob("*.html"))


def test_docs_build_strict(site):
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


_RAW_ROLE = re.compile(r":(?:py:)?(?:math|func|class|meth|mod|data|attr|obj|exc|ref):(?:`|<code>)")
_RAW_DIRECTIVE = re.compile(r"\.\. (?:math|note|warning|seealso|code-block)::")


def raw_rest(text: str) -> list[str]:
    """Raw reST roles and directives left in a page's HTML."""
    return _RAW_ROLE.findall(text) + _RAW_DIRECTIVE.findall(text)


def test_raw_rest_detector_negative_control():
    assert raw_rest("For sites :math:<code>y_j</code> see :func:`c_transform`") == [
        ":math:<code>", ":func:`"]
    assert raw_rest("<p>.. math:: H = 1</p>") == [".. math::"]
    assert raw_rest('<span class="arithmatex">\\(y_j\\)</span>') == []


def test_api_pages_have_no_raw_rest_markup(site):
    api = sorted((site / "api").rglob("index.html"))
    assert len(api) >= 9
    found = {}
    for page in api:
        text = page.read_text(encoding="utf-8")
        if raw := raw_rest(text):
            found[str(page.relative_to(site))] = raw[:5]
    assert not found, found
    # the roles became math and links: the semi-discrete page typesets its formulas and links
    # to the c-transform and the Laguerre diagram on their own pages
    sd = (site / "api" / "semidiscrete" / "index.html").read_text(encoding="utf-8")
    assert sd.count('class="arithmatex"') >= 5
    assert 'href="../laguerre/#otgan.laguerre.diagram"' in sd
    assert 'href="../measures/#otgan.measures.Uniform"' in sd


_ASSET = re.compile(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"[^>]*>")


def external_assets(text: str) -> list[str]:
    """Scripts, stylesheets, images and frames a page loads from another host."""
    out = []
    for m in _ASSET.finditer(text):
        tag, url = m[0], html.unescape(m[1])
        if tag.startswith("<link") and not re.search(r"rel=\"(?:stylesheet|preload|modulepreload"
                                                     r"|preconnect|icon)\"", tag):
            continue  # <link rel="canonical"> and friends load nothing
        if re.match(r"(?:[a-z][a-z0-9+.-]*:)?//", url, flags=re.IGNORECASE):
            out.append(url)
    return out


def test_external_asset_detector_negative_control():
    page = ('<script src="https://unpkg.com/mathjax@3/es5/tex-mml-chtml.js"></script>'
            '<link rel="stylesheet" href="//fonts.googleapis.com/css">'
            '<script src="assets/mathjax/tex-svg-full.js"></script>'
            '<link rel="canonical" href="https://example.org/">')
    assert external_assets(page) == ["https://unpkg.com/mathjax@3/es5/tex-mml-chtml.js",
                                     "//fonts.googleapis.com/css"]


def test_no_page_loads_anything_from_another_host(site):
    pages = _pages(site)
    assert len(pages) >= 15
    found = {str(p.relative_to(site)): ext for p in pages
             if (ext := external_assets(p.read_text(encoding="utf-8")))}
    assert not found, found
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="assets/mathjax/tex-svg-full.js"' in index
    assert (site / "assets" / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _typeset(page: pathlib.Path) -> tuple[int, int, int]:
    """(math elements, typeset ones, MathJax errors) of ``page`` rendered by headless Chromium
    with no network (every host name resolves to nothing)."""
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=20000", "--dump-dom",
         page.as_uri()], check=False, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    n_math = dom.count('class="arithmatex"')
    parts = dom.split('class="arithmatex"')[1:]
    typeset = sum(1 for part in parts if part.lstrip(">").lstrip().startswith("<mjx-container"))
    return n_math, typeset, dom.count("<mjx-merror")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on the PATH (apt-get install chromium)")
def test_math_is_typeset_offline_in_headless_chromium(site, tmp_path):
    pages = sorted((site / "guide").glob("*/index.html"))
    pages += [site / "api" / "measures" / "index.html", site / "api" / "closed_forms" / "index.html"]
    assert len(pages) >= 7
    for page in pages:
        n_math, typeset, errors = _typeset(page)
        assert n_math > 0, page
        assert (typeset, errors) == (n_math, 0), (page, n_math, typeset, errors)
    # negative control: the same page without the bundled MathJax shows raw TeX
    page = site / "guide" / "semidual" / "index.html"
    bare = page.parent / "bare.html"
    bare.write_text(page.read_text(encoding="utf-8").replace("tex-svg-full.js", "missing.js"),
                    encoding="utf-8")
    n_math, typeset, _ = _typeset(bare)
    assert n_math > 0 and typeset == 0


def test_gallery_follows_the_lecture_order_and_opens_figures_at_full_size(site):
    sys.path.insert(0, str(ROOT))
    from demos.run_all import DEMOS

    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    positions = [gallery.find(f'id="{name}"') for name, *_ in DEMOS]
    assert -1 not in positions and positions == sorted(positions)
    # the sidecar's order (w2 written first), its caption and the command with its wall time
    w2 = gallery.find('src="fig07_sdwgan_2d_w2.png"')
    strip = gallery.find('src="fig07_sdwgan_2d_training.png"')
    assert -1 < w2 < strip
    assert "W2 along training" in gallery and "in 8 s" in gallery
    # every picture is a link to the full-size file; the wide strip keeps a readable width
    assert '<a href="fig07_sdwgan_2d_training.png"' in gallery
    wide = gallery[gallery.rfind("<figure", 0, strip):strip]
    assert "otgan-wide" in wide
    assert (site / "gallery" / "fig07_sdwgan_2d_training.png").is_file()
    # a demo's only figure, saved without a stem, is shown too
    assert 'src="fig04_wgan_critics.png"' in gallery
    # demos without figures say how to make them
    assert gallery.count("Not generated yet") == len(DEMOS) - 2


def test_landing_page_shows_a_figure(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    imgs = re.findall(r'<img[^>]*src="([^"]+\.png)"', index)
    assert imgs, "no figure on the landing page"
    for src in imgs:
        assert (site / src).is_file(), src
