"""The documentation builds in strict mode (mkdocs + mkdocstrings): a broken reference to an
API object, a bad link or a docstring that fails to render is an error. The built site works
offline and from disk: every internal link names an HTML file (no folder URL, which ``file://``
shows as a directory listing), search runs from ``file://`` (Material's offline plugin), no page
loads a script or a stylesheet from another host, the API pages show no raw reST roles or
directives and their Returns tables one row per item, and (where Debian's ``chromium`` is
installed) headless Chromium opens ``site/index.html``, follows every navigation link of every
page it reaches and finds no folder listing, missing page or raw markup, runs a search, and
typesets the math of the guide and API pages, with every host name unresolvable.

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
    for page in ("index.html", "getting_started.html", "gallery.html",
                 "lectures.html", "benchmarks.html", "api/ctransform.html",
                 "guide/semidual.html", "guide/testing.html",
                 "api/testing.html"):
        assert (site / page).exists(), page
    api = (site / "api" / "ctransform.html").read_text(encoding="utf-8")
    assert "otgan.ctransform.c_transform" in api
    gallery = (site / "gallery.html").read_text(encoding="utf-8")
    assert "python -m demos.fig05_c_transforms" in gallery
    bench = (site / "benchmarks.html").read_text(encoding="utf-8")
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
    api = sorted((site / "api").glob("*.html"))
    assert len(api) >= 9
    found = {}
    for page in api:
        text = page.read_text(encoding="utf-8")
        if raw := raw_rest(text):
            found[str(page.relative_to(site))] = raw[:5]
    assert not found, found
    # the roles became math and links: the semi-discrete page typesets its formulas and links
    # to the c-transform and the Laguerre diagram on their own pages
    sd = (site / "api" / "semidiscrete.html").read_text(encoding="utf-8")
    assert sd.count('class="arithmatex"') >= 5
    assert 'href="laguerre.html#otgan.laguerre.diagram"' in sd
    assert 'href="measures.html#otgan.measures.Uniform"' in sd


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
    pages = sorted((site / "guide").glob("*.html"))
    pages += [site / "api" / "measures.html", site / "api" / "closed_forms.html"]
    assert len(pages) >= 7
    for page in pages:
        n_math, typeset, errors = _typeset(page)
        assert n_math > 0, page
        assert (typeset, errors) == (n_math, 0), (page, n_math, typeset, errors)
    # negative control: the same page without the bundled MathJax shows raw TeX
    page = site / "guide" / "semidual.html"
    bare = page.parent / "bare.html"
    bare.write_text(page.read_text(encoding="utf-8").replace("tex-svg-full.js", "missing.js"),
                    encoding="utf-8")
    n_math, typeset, _ = _typeset(bare)
    assert n_math > 0 and typeset == 0


def test_gallery_follows_the_lecture_order_and_opens_figures_at_full_size(site):
    sys.path.insert(0, str(ROOT))
    from demos.run_all import DEMOS

    gallery = (site / "gallery.html").read_text(encoding="utf-8")
    positions = [gallery.find(f'id="{name}"') for name, *_ in DEMOS]
    assert -1 not in positions and positions == sorted(positions)
    # the sidecar's order (w2 written first), its caption and the command with its wall time
    w2 = gallery.find('src="gallery/fig07_sdwgan_2d_w2.png"')
    strip = gallery.find('src="gallery/fig07_sdwgan_2d_training.png"')
    assert -1 < w2 < strip
    assert "W2 along training" in gallery and "in 8 s" in gallery
    # every picture is a link to the full-size file; the wide strip keeps a readable width
    assert '<a href="gallery/fig07_sdwgan_2d_training.png"' in gallery
    wide = gallery[gallery.rfind("<figure", 0, strip):strip]
    assert "otgan-wide" in wide
    assert (site / "gallery" / "fig07_sdwgan_2d_training.png").is_file()
    # a demo's only figure, saved without a stem, is shown too
    assert 'src="gallery/fig04_wgan_critics.png"' in gallery
    # demos without figures say how to make them
    assert gallery.count("Not generated yet") == len(DEMOS) - 2


def test_landing_page_shows_a_figure(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    imgs = re.findall(r'<img[^>]*src="([^"]+\.png)"', index)
    assert imgs, "no figure on the landing page"
    for src in imgs:
        assert (site / src).is_file(), src


# ------------------------------------------------------------------ the site from disk
_HREF = re.compile(r"<a\b[^>]*?\bhref=\"([^\"]*)\"")


def internal_links(page: pathlib.Path, site: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """``(href, target path)`` of every link of ``page`` to another file of the site (anchors
    dropped; links to other hosts, mail and same-page anchors left out)."""
    out = []
    for href in _HREF.findall(page.read_text(encoding="utf-8")):
        href = html.unescape(href)
        if not href or href.startswith("#") or re.match(r"[a-z][a-z0-9+.-]*:", href, re.I):
            continue
        path = href.split("#", 1)[0].split("?", 1)[0]
        if path:
            out.append((href, (page.parent / path).resolve()))
    return out


def broken_links(site: pathlib.Path) -> dict:
    """``{page: [href, ...]}`` whose target is a folder (a directory listing from disk) or no
    file at all (a missing page). ``404.html`` is left out: only a web server shows it, and its
    links are absolute on purpose (it answers for any missing URL)."""
    found = {}
    for page in _pages(site):
        if page.name == "404.html" and page.parent == site:
            continue
        bad = [href for href, target in internal_links(page, site) if not target.is_file()]
        if bad:
            found[str(page.relative_to(site))] = bad
    return found


def test_broken_link_detector_negative_control(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "a.html").write_text("x")
    (tmp_path / "index.html").write_text(
        '<a href="guide/a.html#top">ok</a><a href="guide/">folder</a><a href="b.html">gone</a>'
        '<a href="https://example.org/">other host</a><a href="#x">here</a>')
    assert broken_links(tmp_path) == {"index.html": ["guide/", "b.html"]}


def test_every_internal_link_opens_a_page_from_disk(site):
    # mkdocs' directory URLs ("guide/laguerre/") show a folder listing under file://: every
    # link must name an HTML file (use_directory_urls: false)
    n = sum(len(internal_links(p, site)) for p in _pages(site))
    assert n > 500
    assert broken_links(site) == {}


def test_search_index_is_inlined_for_file_urls(site):
    # Material's offline plugin: the index as a script (no fetch from file://), and the
    # iframe-worker shim bundled instead of loaded from a CDN
    js = (site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert js.startswith("var __index = {") and "otgan.laguerre.diagram" in js
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="javascripts/iframe-worker-shim.js"' in index
    assert (site / "javascripts" / "iframe-worker-shim.js").is_file()


def test_returns_tables_have_one_row_per_item(site):
    # numpydoc prose after the items once became extra, nameless rows showing `` literally
    page = (site / "api" / "ctransform.html").read_text(encoding="utf-8")
    start = page.find('id="otgan.ctransform.c_transform"')
    section = page[start:page.find("Examples:", start)]
    returns = section[section.find("Returns:"):]
    assert returns.count('class="doc-section-item"') == 2
    assert "numpy inputs give numpy outputs" in returns
    for p in sorted((site / "api").glob("*.html")):
        text = re.sub(r"<pre\b.*?</pre>", "", p.read_text(encoding="utf-8"), flags=re.S)
        assert "``" not in text, p.name
        assert "<td></td>" not in text.replace(" ", ""), p.name  # a row without a name


def test_fix_item_sections():
    sys.path.insert(0, str(ROOT / "docs" / "_hooks"))
    from otgan_griffe import fix_item_sections

    doc = textwrap.dedent("""\
        Returns
        -------
        values : array ``(n,)``
            The values.

        numpy in gives numpy out; torch in
        gives torch out.

        Examples
        --------
        >>> 1
        1
        """)
    assert fix_item_sections(doc) == textwrap.dedent("""\
        Returns
        -------
        values : array (n,)
            The values.

            numpy in gives numpy out; torch in
            gives torch out.

        Examples
        --------
        >>> 1
        1
        """)
    # a type-only item, and several items, are kept as they are
    kept = "Returns\n-------\nmatplotlib.axes.Axes\n    ``ax``.\nint\n    A count\n"
    assert fix_item_sections(kept) == kept
    assert fix_item_sections("Returns\n-------\n(a, b) : floats\n") == (
        "Returns\n-------\na : floats\nb : floats\n")


_HARNESS = """<!DOCTYPE html><html><body><pre id="out">running</pre>
<iframe id="f" width="1280" height="900"></iframe>
<script>
const RAW = /``|:(?:py:)?(?:math|func|class|meth|mod|data|attr|obj|exc|ref):`|\\.\\. (?:math|note|warning|seealso|code-block)::/;
const f = document.getElementById("f");
function load(url) { return new Promise(r => { f.onload = () => r(); f.src = url; }); }
function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }
function report(page, url) {
  let d = null;
  try { d = f.contentDocument; } catch (e) { return {url: url, error: String(e)}; }
  if (!d || !d.body) return {url: url, error: "no document"};
  const listing = d.title.startsWith("Index of") || !!d.getElementById("listingParsingErrorBox");
  const art = d.querySelector("article");
  let raw = null;
  if (art) {
    const c = art.cloneNode(true);
    c.querySelectorAll("pre, script").forEach(e => e.remove());
    const m = c.textContent.match(RAW);
    if (m) raw = c.textContent.substr(Math.max(0, m.index - 60), 140);
  }
  return {url: url, from: page, title: d.title, listing: listing, article: !!art, raw: raw,
          nav: [...d.querySelectorAll("a.md-nav__link[href]")].map(a => a.href.split("#")[0])};
}
(async () => {
  const out = {pages: [], search: null};
  const todo = [["(start)", "START"]], seen = new Set(["START"]);
  while (todo.length) {
    const [from, url] = todo.shift();
    await load(url);
    const r = report(from, url);
    out.pages.push(r);
    for (const u of (r.nav || [])) if (!seen.has(u)) { seen.add(u); todo.push([url, u]); }
  }
  await load("START?q=laguerre");
  for (let k = 0; k < 100; k++) {
    const d = f.contentDocument;
    const n = d ? d.querySelectorAll(".md-search-result__item").length : 0;
    if (n) { out.search = n; break; }
    await sleep(100);
  }
  for (const p of out.pages) delete p.nav;
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


def follow_navigation(start: pathlib.Path, tmp_path: pathlib.Path) -> dict:
    """Open ``start`` in headless Chromium (no network), follow every navigation link of every
    page reached, and run a search; ``{"pages": [...], "search": hits}`` where each page says
    whether it is a folder listing, has an article and shows raw markup."""
    harness = tmp_path / "harness.html"
    harness.write_text(_HARNESS.replace("START", start.as_uri()), encoding="utf-8")
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--allow-file-access-from-files", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--virtual-time-budget=120000", "--dump-dom", harness.as_uri()],
        check=False, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="out">(.*?)</pre>', res.stdout, flags=re.S)
    assert m and m[1] != "running", res.stdout[-2000:]
    return json.loads(html.unescape(m[1]))


def _problems(report: dict) -> list:
    """Pages that could not be read (a missing file shows the browser's error page), folder
    listings, pages without an article, and pages showing raw markup."""
    return [p for p in report["pages"]
            if p.get("error") or p["listing"] or not p["article"] or p["raw"]]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on the PATH (apt-get install chromium)")
def test_site_opened_from_disk_reaches_every_page_in_headless_chromium(site, tmp_path):
    report = follow_navigation(site / "index.html", tmp_path)
    titles = {p["title"] for p in report["pages"]}
    nav = yaml_nav_count()
    assert len(report["pages"]) >= nav, (len(report["pages"]), nav)
    assert {"Getting started - otgan", "otgan.laguerre - otgan", "Gallery - otgan"} <= titles
    assert _problems(report) == []
    assert report["search"], "search found nothing from file://"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on the PATH (apt-get install chromium)")
def test_navigation_check_negative_control(tmp_path):
    """A folder link, a missing page and raw backticks are each reported."""
    site = tmp_path / "s"
    (site / "guide").mkdir(parents=True)
    nav = ('<nav><a class="md-nav__link" href="guide/">folder</a>'
           '<a class="md-nav__link" href="gone.html">missing</a>'
           '<a class="md-nav__link" href="raw.html">raw</a></nav>')
    (site / "index.html").write_text(f"<title>i</title>{nav}<article>fine</article>")
    (site / "raw.html").write_text(f"<title>r</title>{nav}<article>see ``x``</article>")
    report = follow_navigation(site / "index.html", tmp_path)
    bad = {p["url"].rsplit("/", 2)[-1] or p["url"].rsplit("/", 2)[-2]: p
           for p in _problems(report)}
    assert set(bad) == {"guide", "gone.html", "raw.html"}, bad
    assert bad["guide"]["listing"] and "``x``" in bad["raw.html"]["raw"]
    assert bad["gone.html"].get("error") or not bad["gone.html"]["article"]


def yaml_nav_count() -> int:
    """Pages named in mkdocs.yml's nav (lines ``- Title: page.md``)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):text.index("\nexclude_docs:")]
    return len(re.findall(r"^\s*- [^:]+: \S+\.md\s*$", nav, flags=re.M))
