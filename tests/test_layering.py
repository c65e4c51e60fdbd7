"""The architecture holds: every import of an otgan module goes to a module of the same layer or
below (the layer table of ``../shared/DESIGN.md``), and is written at the top of its file, never
inside a function or a class (an import hidden in a function is how cycles creep in).

The table is read from ``DESIGN.md`` when the shared folder sits beside the checkout (as on the
developers' machines and in CI); ``LAYERS`` below is the same table, checked against it.
"""

from __future__ import annotations

import ast
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "otgan")
DESIGN = os.path.join(os.path.dirname(ROOT), "shared", "DESIGN.md")

#: layer of each module or package (a package's modules share its layer)
LAYERS = {
    "errors": 0, "_utils": 0,
    "costs": 1, "measures": 1, "closed_forms": 1, "datasets": 1, "plot": 1,
    "ctransform": 2, "_certified": 2, "_graph": 2,
    "laguerre": 3,
    "semidiscrete": 4,
    "w1": 5, "distributed": 5,
    "gan": 6,
    "testing": 7,
}
#: private helpers that DESIGN.md's table does not list, with the layer of their only user
PRIVATE = {
    "_pixels": 1,  # the pixel-grid integrals of measures.ImageDensity (numba)
}
TOP = 99  # otgan/__init__.py


def _design_layers():
    text = open(DESIGN, encoding="utf-8").read()
    out = {}
    for m in re.finditer(r"^\|\s*L(\d)\s*\|([^|]*)\|", text, flags=re.M):
        for name in re.findall(r"`([A-Za-z_0-9]+)/?`", m.group(2)):
            out[name] = int(m.group(1))
    return out


@pytest.mark.skipif(not os.path.exists(DESIGN), reason=f"{DESIGN} is not beside the checkout")
def test_table_is_design_md():
    assert _design_layers() == LAYERS


def _modules():
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                if rel.endswith(".__init__"):
                    rel = rel[: -len(".__init__")]
                yield rel, path


def layer(module):
    """Layer of a dotted otgan module name (``otgan.laguerre.power`` -> 3)."""
    parts = module.split(".")
    assert parts[0] == "otgan", module
    if len(parts) == 1:
        return TOP
    name = parts[1]
    if name in LAYERS:
        return LAYERS[name]
    if name in PRIVATE:
        return PRIVATE[name]
    return None  # in no layer: reported by violations()


def _imports(module, path):
    """(line, imported otgan module, at the top level?) for every import in the file."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_pkg = path.endswith("__init__.py")
    here = module.split(".") if is_pkg else module.split(".")[:-1]

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.ClassDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name == "otgan" or a.name.startswith("otgan."):
                        yield child.lineno, a.name, top
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = here[: len(here) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target == "otgan" or target.startswith("otgan."):
                    if child.module is None or target == "otgan":  # from . import a, b
                        for a in child.names:
                            yield child.lineno, f"{target}.{a.name}", top
                    else:
                        yield child.lineno, target, top
            yield from visit(child, inner)

    yield from visit(tree, True)


def violations():
    out = []
    for module, path in sorted(_modules()):
        src = layer(module)
        if src is None:
            out.append(f"{os.path.relpath(path, ROOT)}: {module} is in no layer (add it to "
                       "DESIGN.md's table, or to PRIVATE here with the layer of its user)")
            continue
        for line, target, top in _imports(module, path):
            where = f"{os.path.relpath(path, ROOT)}:{line}"
            if not top:
                out.append(f"{where}: imports {target} inside a function or class")
            dst = layer(target)
            if dst is not None and dst > src:
                out.append(f"{where}: {module} (L{src}) imports {target} (L{dst}), a higher "
                           "layer")
    return out


def test_no_upward_or_hidden_import():
    bad = violations()
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_detector_sees_hidden_and_upward_imports(tmp_path, monkeypatch):
    # negative control: a module of layer L1 importing L4 inside a function is reported twice
    pkg = tmp_path / "otgan"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "costs.py").write_text("def f():\n    from . import semidiscrete\n")
    (pkg / "semidiscrete.py").write_text("from .costs import f\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", str(pkg))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    bad = violations()
    assert any("inside a function" in b for b in bad), bad
    assert any("a higher layer" in b for b in bad), bad
