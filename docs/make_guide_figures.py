"""Run the code of the user guides and write the figures it draws (``docs/assets/guide_*.png``).

Every ```` ```python ```` block of a guide runs, in order, in one namespace (a block right after
the line ``<!-- not run: REASON -->`` is skipped: code that needs ``torchrun``, say). A
```` ```text ```` block right after a code block is that block's printed output, as the reader
will see it. ``tests/test_docs_examples.py`` runs the same code through :func:`run_guide` in a
temporary folder and checks the outputs and the figures; this script runs it inside
``docs/assets/`` so that the committed pictures are the ones the code draws::

    python docs/make_guide_figures.py              # every guide (about a minute)
    python docs/make_guide_figures.py laguerre w1  # some of them
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
#: the guides whose code runs (docs/guide/<name>.md)
GUIDES = ("laguerre", "semidual", "w1", "gans", "distributed", "testing")

_BLOCK = re.compile(r"^(?P<skip><!-- not run: [^>]*-->\n)?```python\n(?P<code>.*?)^```\n"
                    r"(?:\n?```text\n(?P<out>.*?)^```\n)?", flags=re.S | re.M)


def page(name: str) -> pathlib.Path:
    """``docs/guide/<name>.md``, or ``docs/getting_started.md``."""
    return DOCS / f"{name}.md" if name == "getting_started" else DOCS / "guide" / f"{name}.md"


def blocks(name: str) -> list[dict]:
    """``[{"code", "output" (or None), "run"}]`` of the page :func:`page`, in order."""
    text = page(name).read_text(encoding="utf-8")
    return [{"code": m["code"], "output": m["out"], "run": not m["skip"]}
            for m in _BLOCK.finditer(text)]


def figures(name: str) -> list[str]:
    """The ``guide_*.png`` pictures ``docs/guide/<name>.md`` shows (from ``../assets/``)."""
    text = page(name).read_text(encoding="utf-8")
    return re.findall(r"\]\(\.\./assets/(guide_[\w-]+\.png)\)", text)


def run_guide(name: str, cwd, namespace=None) -> list[dict]:
    """Run the blocks of a guide inside folder ``cwd`` (Agg backend); returns the blocks, each
    with the ``printed`` text. Raises ``RuntimeError`` naming the block that failed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import torch

    ns = {"__name__": f"docs_guide_{name}"} if namespace is None else namespace
    out = []
    old = os.getcwd()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the guides' networks are tiny: one thread is the fastest
    os.chdir(cwd)
    try:
        for i, b in enumerate(blocks(name)):
            if not b["run"]:
                out.append(dict(b, printed=None))
                continue
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf):
                    exec(compile(b["code"], f"docs/guide/{name}.md:block{i}", "exec"), ns)
            except Exception as exc:
                raise RuntimeError(f"block {i} of docs/guide/{name}.md failed: {exc!r}\n"
                                   f"{b['code']}") from exc
            out.append(dict(b, printed=buf.getvalue()))
    finally:
        os.chdir(old)
        torch.set_num_threads(threads)
        plt.close("all")
    return out


def main(argv=None):
    names = (argv if argv is not None else sys.argv[1:]) or list(GUIDES)
    assets = DOCS / "assets"
    for name in names:
        if name == "testing":
            from hypothesis import Phase, settings

            settings.register_profile("docs-figures", derandomize=True, database=None,
                                      phases=[Phase.explicit, Phase.generate])
            settings.load_profile("docs-figures")
        run_guide(name, assets)
        print(f"{name}: {', '.join(figures(name)) or 'no figure'} -> {assets}")


if __name__ == "__main__":
    main()
