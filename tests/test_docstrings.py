"""Docstrings match signatures, in the manner of scikit-learn's ``check_docstring_parameters``.

For every public function and class of the checked modules (``__all__``, defined in the module
itself), and every public method of those classes:

- the numpydoc ``Parameters`` section lists exactly the signature's parameters, in order
  (``self`` and ``cls`` aside; ``*args`` and ``**kwargs`` by their starred names; ``a, b : ...``
  documents two); a class documents its constructor's (a dataclass may list its fields under
  ``Attributes`` instead);
- names documented under ``Other Parameters`` are allowed only with a ``**kwargs``;
- a function that returns a value (a ``return`` with a value in its own body) has a ``Returns``
  section (``Yields`` for a generator);
- properties and the rest have a docstring.

Every public module (``tests/test_public_api.py``) is checked, except those in :data:`NOT_YET`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import textwrap

import pytest

from tests.test_public_api import MODULES as PUBLIC

#: Public modules whose docstrings are not checked yet: remove one to check it.
NOT_YET = []
#: Packages re-export their submodules' names, which are checked where they are defined.
PACKAGES = ["otgan.gan", "otgan.testing"]
MODULES = [m for m in PUBLIC if m not in NOT_YET + PACKAGES]

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}$", re.MULTILINE)
_ENTRY = re.compile(r"^(?P<names>\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_][\w]*)*)"
                    r"\s*(?::.*)?$")


def sections(doc: str) -> dict:
    """The numpydoc sections of ``doc``: title -> body text."""
    out, marks = {}, list(_SECTION.finditer(doc))
    for m, nxt in zip(marks, marks[1:] + [None]):
        out[m.group("title")] = doc[m.end():nxt.start() if nxt else len(doc)]
    return out


def documented(body: str) -> list:
    """The parameter names a Parameters-like section documents, in order."""
    lines = [ln for ln in textwrap.dedent(body.strip("\n")).splitlines() if ln.strip()]
    names = []
    for ln in lines:
        if ln[:1].isspace():
            continue  # a description
        m = _ENTRY.match(ln.strip())
        if m:
            names += [n.strip() for n in m.group("names").split(",")]
    return names


def signature_names(func) -> tuple:
    """``(names, has **kwargs)`` of ``func``'s parameters, ``self`` / ``cls`` aside."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return [], False
    names = []
    for p in params:
        if p.name in ("self", "cls"):
            continue
        star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        names.append(star + p.name)
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def returns_value(func) -> str | None:
    """"Returns" or "Yields" when ``func``'s own body returns a value or yields, else None."""
    try:
        src = textwrap.dedent(inspect.getsource(inspect.unwrap(func)))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError):
        return None
    fn = tree.body[0]
    todo, kind = list(ast.iter_child_nodes(fn)), None
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # nested scopes return for themselves
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return "Yields"
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            kind = "Returns"
        todo.extend(ast.iter_child_nodes(node))
    return kind


def problems_of(name: str, func, doc: str | None, *, sig_of=None) -> list:
    """What is wrong with the docstring ``doc`` of ``func`` (``sig_of``: whose signature)."""
    if not doc:
        return [f"{name}: no docstring"]
    secs = sections(doc)
    want, var_kw = signature_names(sig_of or func)
    if "Parameters" not in secs and dataclasses.is_dataclass(func) and "Attributes" in secs:
        secs["Parameters"] = secs["Attributes"]  # a record: its fields are its attributes
    got = documented(secs.get("Parameters", ""))
    out = []
    if want and "Parameters" not in secs:
        out.append(f"{name}: no Parameters section for {want}")
    elif got != want:
        out.append(f"{name}: Parameters document {got}, the signature has {want}")
    if "Other Parameters" in secs and not var_kw:
        out.append(f"{name}: 'Other Parameters' without a **kwargs in the signature")
    kind = returns_value(func) if sig_of is None else None
    if kind and kind not in secs and not (kind == "Returns" and "Yields" in secs):
        out.append(f"{name}: returns a value but has no {kind} section")
    return out


def public_objects(modname: str):
    """``(qualified name, object)`` of the module's own public functions and classes."""
    module = importlib.import_module(modname)
    for attr in module.__all__:
        obj = getattr(module, attr)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == modname:
            yield f"{modname}.{attr}", obj


def check_class(name: str, cls) -> list:
    """The class docstring against its constructor, and each public method and property."""
    init = cls.__init__ if "__init__" in vars(cls) or dataclasses.is_dataclass(cls) else None
    out = problems_of(name, cls, inspect.getdoc(cls) if cls.__doc__ else None,
                      sig_of=init if init is not None else (lambda self: None))
    fields = getattr(cls, "__dataclass_fields__", {})
    for attr, member in vars(cls).items():
        if attr.startswith("_") or attr in fields:  # a field's default is no method
            continue
        qual = f"{name}.{attr}"
        if isinstance(member, property):
            if not (member.__doc__ or "").strip():
                out.append(f"{qual}: no docstring")
        elif isinstance(member, (staticmethod, classmethod)):
            out += problems_of(qual, member.__func__, inspect.getdoc(member.__func__))
        elif inspect.isfunction(member):
            out += problems_of(qual, member, inspect.getdoc(member))
    return out


@pytest.mark.parametrize("modname", MODULES)
def test_docstring_parameters_match_signatures(modname):
    problems = []
    for name, obj in public_objects(modname):
        if inspect.isclass(obj):
            problems += check_class(name, obj)
        else:
            problems += problems_of(name, obj, inspect.getdoc(obj))
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_mismatch():
    def f(a, b, *, c=1):
        """Summary.

        Parameters
        ----------
        a, b : int
            Numbers.

        Returns
        -------
        int
        """
        return a + b + c

    assert problems_of("f", f, inspect.getdoc(f)) == [
        "f: Parameters document ['a', 'b'], the signature has ['a', 'b', 'c']"]

    def g(x):
        """Summary.

        Parameters
        ----------
        x : float
            A number.
        """
        return 2 * x

    assert problems_of("g", g, inspect.getdoc(g)) == ["g: returns a value but has no Returns "
                                                      "section"]
