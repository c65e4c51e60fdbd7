"""mkdocs hooks for the otgan documentation.

- ``gallery.md``: the marker ``<!-- GALLERY -->`` becomes one section per demo of
  ``demos/registry.py``'s ``DEMOS``, with the command that regenerates it, its
  description (the demo's docstring) and, when ``figures/`` (or ``$OTGAN_FIGURES``) holds them,
  its PNG / GIF files, copied into the site.
- MathJax: ``assets/mathjax/tex-svg-full.js`` is copied into the site from the installed
  ``django-static-mathjax`` package (docs extra), so formulas typeset with no network.
- ``benchmarks.md``: the marker ``<!-- BENCHMARKS -->`` becomes the content of every
  ``benchmarks/results_*.md`` (headings demoted, relative links turned into plain text).

Nothing here imports torch or runs a demo: the docs build stays fast.
"""

from __future__ import annotations

import ast
import html
import json
import os
import pathlib
import re
import struct
import sys

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from otgan_griffe import rst_to_markdown

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALLERY_DIR = "gallery"
MATHJAX_URI = "assets/mathjax/tex-svg-full.js"


def _mathjax_script() -> pathlib.Path:
    """The self-contained MathJax 3 SVG bundle shipped by the ``django-static-mathjax`` wheel."""
    try:
        import mathjax
    except ImportError as exc:
        raise PluginError(
            "otgan docs: MathJax is bundled from the 'django-static-mathjax' package, which is "
            "not installed; run: pip install -e '.[docs]'") from exc
    path = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    if not path.is_file():
        raise PluginError(f"otgan docs: {path} is missing; reinstall django-static-mathjax")
    return path


def _figures_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("OTGAN_FIGURES", ROOT / "figures"))


def _demos():
    """``(name, title, slides)`` rows of ``demos/registry.py`` (read with ast: no import)."""
    tree = ast.parse((ROOT / "demos" / "registry.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEMOS" for t in node.targets
        ):
            return [tuple(row) for row in ast.literal_eval(node.value)]
    return []


def _slides() -> dict:
    """``FIGURES`` of ``demos/registry.py``: file -> slide (read with ast: no import)."""
    tree = ast.parse((ROOT / "demos" / "registry.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "FIGURES" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def _docstring(name: str) -> str:
    path = ROOT / "demos" / f"{name}.py"
    if not path.exists():
        return ""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    # the first paragraph is the section title (the registry's title is shown instead)
    return doc.split("\n\n", 1)[1].strip() if "\n\n" in doc else ""


def _sidecar(name: str) -> dict:
    p = _figures_dir() / f"{name}.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _figures(name: str):
    """The demo's images in the order the demo wrote them (its sidecar), else by name."""
    d = _figures_dir()
    if not d.is_dir():
        return []
    found = {p.name: p for p in d.iterdir()
             if (p.stem == name or p.stem.startswith(name + "_"))
             and p.suffix in (".png", ".gif")}
    order = [f for f in _sidecar(name).get("files", []) if f in found]
    return [found[f] for f in order] + [found[f] for f in sorted(found) if f not in order]


def _image_size(path: pathlib.Path):
    """``(width, height)`` in pixels from a PNG or GIF header (no imaging library needed)."""
    head = path.read_bytes()[:32]
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return struct.unpack(">II", head[16:24])
    if head[:3] == b"GIF":
        return struct.unpack("<HH", head[6:10])
    return None


def on_files(files, config):
    if files.get_file_from_path(MATHJAX_URI) is None:
        files.append(File.generated(config, MATHJAX_URI, abs_src_path=str(_mathjax_script())))
    for row in _demos():
        for p in _figures(row[0]):
            uri = f"{GALLERY_DIR}/{p.name}"
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(p)))
    return files


def _rst_to_md(text: str) -> str:
    return rst_to_markdown(text).replace("``", "`")


def _figure_html(p: pathlib.Path, caption: str, page, files) -> str:
    """An image that opens at full size on click; wide strips span the whole content width
    (and never more: they fit, nothing is cut at the column edge). The caption ends with the
    slide the figure illustrates (``demos/registry.py`` ``FIGURES``). (Raw HTML: its URLs are
    made relative to the page here, mkdocs only rewrites Markdown links.)"""
    src = files.get_file_from_path(f"{GALLERY_DIR}/{p.name}").url_relative_to(page.file)
    size = _image_size(p)
    wide = size is not None and size[0] > 2.2 * size[1]
    style = ""
    slide = _slides().get(p.name)
    caption = caption or p.stem
    if slide:
        caption = f"{caption} Slide: {slide}."
    cap = html.escape(caption)
    return (f'<figure class="otgan-figure{" otgan-wide" if wide else ""}">\n'
            f'<a href="{src}" title="open at full size"><img src="{src}" alt="{cap}"'
            f' loading="lazy"{style}></a>\n<figcaption>{cap} '
            f'(<a href="{src}">full size</a>)</figcaption>\n</figure>\n')


def _gallery_markdown(page, files) -> str:
    out = []
    for k, (name, title, slides) in enumerate(_demos(), 1):
        side = _sidecar(name)
        out.append(f"## Figure {name[3:5]}: {title} {{#{name}}}\n")
        out.append(f"```bash\npython -m demos.{name} --out figures\n```\n")
        made = ""
        if side.get("wall_time_s") is not None:
            made = (f" *Made by* `{side.get('command', 'python -m demos.' + name)}` in "
                    f"{float(side['wall_time_s']):.0f} s.")
        out.append(f"*Lecture slides:* {slides}.{made}\n")
        doc = _rst_to_md(_docstring(name))
        if doc:
            out.append(doc + "\n")
        figs = _figures(name)
        captions = side.get("captions", {})
        if figs:
            for p in figs:
                out.append(_figure_html(p, captions.get(p.name, ""), page, files))
        else:
            out.append(
                '!!! note "Not generated yet"\n'
                f"    Run `python -m demos.{name}` (or `python -m demos`) before building the "
                "docs to include the pictures.\n"
            )
    return "\n".join(out)


_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?://|#)([^)]+)\)")


def _benchmarks_markdown() -> str:
    files = sorted((ROOT / "benchmarks").glob("results_*.md"))
    if not files:
        return (
            '!!! note "No results yet"\n'
            "    Run the scripts in `benchmarks/`; they write `benchmarks/results_*.md`.\n"
        )
    out = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        text = re.sub(r"^(#+)", r"#\1", text, flags=re.MULTILINE)  # demote headings
        text = _LINK.sub(r"`\1`", text)  # relative links do not exist in the site
        text = re.sub(r"!\[[^\]]*\]\((?!https?://)[^)]+\)", "", text)  # local images
        out.append(f"## `{f.name}`\n\n{text.strip()}\n")
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    if src == "gallery.md":
        return markdown.replace("<!-- GALLERY -->", _gallery_markdown(page, files))
    if src == "benchmarks.md":
        return markdown.replace("<!-- BENCHMARKS -->", _benchmarks_markdown())
    return markdown
