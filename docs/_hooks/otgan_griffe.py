"""Griffe extension for the otgan docs: reST markup in docstrings becomes Markdown at build time.

otgan's numpydoc docstrings use reST roles and directives (they also serve ``help()`` and
Sphinx users). mkdocstrings renders docstrings as Markdown, where those would show literally.
Once griffe has loaded the ``otgan`` package, every docstring is rewritten:

- ``:math:`x``` becomes inline math ``$x$`` and ``.. math::`` blocks become ``$$ ... $$``
  blocks (typeset by the bundled MathJax, see ``otgan_docs.py``);
- ``:func:``, ``:class:``, ``:meth:``, ``:mod:``, ``:data:``, ``:attr:``, ``:obj:`` and
  ``:exc:`` roles become cross-references: the target is resolved against the loaded package
  (as written, then relative to the enclosing class and module, then by a unique suffix) and
  emitted as an *optional* autoref, a link when the target is rendered somewhere in the site and
  plain code otherwise (private helpers, numpy or torch names);
- ``.. note::`` / ``.. warning::`` / ``.. seealso::`` directives become admonitions;
- numpydoc item lists (Parameters, Returns, Attributes, Raises, ...) are made parseable, so that
  every row of their tables is one item (:func:`fix_item_sections`): a prose paragraph written
  flush left after the items (numpydoc would read each of its lines as one more item) joins
  the item above it, an item line's double backticks are dropped (its type is shown as code
  already), and a tuple of names ``(a, b) : type`` becomes one item per name.

Registered in ``mkdocs.yml`` under the python handler's ``extensions``; the gallery hook
(``otgan_docs.py``) uses :func:`rst_to_markdown` for the demos' docstrings.
"""

from __future__ import annotations

import re
import textwrap

try:  # griffe >= 1 is the package 'griffe' (distribution 'griffelib' or 'griffe')
    from griffe import Extension
except ImportError:  # pragma: no cover - only the gallery hook uses this module then
    Extension = object

__all__ = ["ReSTToMarkdown", "fix_item_sections", "rst_to_markdown"]

_ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|data|attr|obj|exc|const):`([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. (?P<name>math|note|warning|seealso)::[ \t]*"
                        r"(?P<arg>.*)$")
_ADMONITION = {"note": "note", "warning": "warning", "seealso": "info"}


def _convert_directives(text: str) -> str:
    """``.. math::`` -> ``$$`` blocks, ``.. note::`` -> admonitions (body = the indented lines)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, name, arg = m["indent"], m["name"], m["arg"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and (not lines[j].strip()
                                  or len(lines[j]) - len(lines[j].lstrip()) > len(indent)):
            body.append(lines[j])
            j += 1
        while body and not body[-1].strip():  # trailing blank lines stay outside the block
            body.pop()
            j -= 1
        content = textwrap.dedent("\n".join(body)).strip("\n")
        if name == "math":
            expr = "\n".join(s for s in (arg, content) if s)
            block = ["", f"{indent}$$"]
            block += [f"{indent}{s}" for s in expr.splitlines()]
            block += [f"{indent}$$", ""]
        else:
            block = ["", f'{indent}!!! {_ADMONITION[name]}']
            text_ = "\n".join(s for s in (arg, content) if s)
            block += [f"{indent}    {s}" if s else "" for s in text_.splitlines()]
            block += [""]
        out += block
        i = j
    return "\n".join(out)


_ITEM_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Receives", "Raises",
                  "Warns", "Attributes"}
_TUPLE_ITEM = re.compile(r"^\((?P<names>[\w*]+(?:\s*,\s*[\w*]+)+)\)\s*:\s*(?P<type>.+)$")


def _is_dashes(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) == {"-"}


def fix_item_sections(text: str) -> str:
    """Make the numpydoc item sections of ``text`` parse as one table row per item.

    In a Parameters / Returns / Attributes / Raises (...) section every line written flush
    left starts an item. A paragraph of prose there (flush left after a blank line, of two
    lines or more or ending with a full stop) would become one empty row per line: it is
    indented under the item above it instead, where it reads as that item's last paragraph.
    An item line keeps no double backticks (the type column shows code already, and would
    show them literally), and ``(a, b) : type`` in Returns becomes the items ``a : type`` and
    ``b : type``.
    """
    lines = text.splitlines()
    out: list[str] = []
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _is_dashes(lines[i + 1]) and line.strip():
            section = line.strip()
            out += [line, lines[i + 1]]
            i += 2
            continue
        flush = bool(line.strip()) and not line[:1].isspace()
        if section in _ITEM_SECTIONS and flush:
            run = [line]
            j = i + 1
            while j < len(lines) and lines[j].strip() and not lines[j][:1].isspace() and not (
                    j + 1 < len(lines) and _is_dashes(lines[j + 1])):
                run.append(lines[j])
                j += 1
            after_blank = bool(out) and not out[-1].strip()
            has_item = any(o.strip() and not o[:1].isspace() and not _is_dashes(o)
                           for o in out[len(out) - _since_header(out):])
            prose = after_blank and has_item and (len(run) > 1 or run[0].rstrip().endswith("."))
            if prose:
                out += ["    " + r for r in run]
                i = j
                continue
            m = _TUPLE_ITEM.match(line.strip()) if section in ("Returns", "Yields") else None
            if m:
                out += [f"{name} : {m['type'].replace('``', '')}"
                        for name in re.split(r"\s*,\s*", m["names"])]
            else:
                out.append(line.replace("``", ""))
            i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _since_header(out: list[str]) -> int:
    """How many lines of ``out`` follow the last section header's dash line."""
    for k in range(len(out) - 1, -1, -1):
        if _is_dashes(out[k]):
            return len(out) - 1 - k
    return len(out)


def rst_to_markdown(text: str, resolve=None) -> str:
    """Convert otgan's reST docstring markup into Markdown understood by the docs site.

    ``resolve(target) -> str | None`` gives the identifier a role links to (``None``: plain
    code). Without it, roles become code spans.
    """
    text = fix_item_sections(_convert_directives(text))
    text = _MATH.sub(lambda m: f"${m[1].strip()}$", text)

    def role(m):
        target = m[2].strip()
        title = None
        explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", target)
        if explicit:
            title, target = explicit[1], explicit[2]
        short = target.startswith("~")
        target = target.lstrip("~.")
        if title is None:
            title = target.rsplit(".", 1)[-1] if short else target
            if m[1] in ("func", "meth") and not title.endswith(")"):
                title += "()"
        ident = resolve(target) if resolve else None
        code = f"<code>{title}</code>"
        if ident is None:
            return f"`{title}`"
        return f'<autoref identifier="{ident}" optional>{code}</autoref>'

    return _ROLE.sub(role, text)


def _walk(obj, table):
    table[obj.path] = obj
    for member in list(obj.members.values()):
        if member.is_alias:
            table.setdefault(member.path, member)
        else:
            _walk(member, table)


def _public(path: str) -> bool:
    return not any(part.startswith("_") for part in path.split("."))


class ReSTToMarkdown(Extension):
    """Rewrite the docstrings of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg, **kwargs):  # griffe >= 1.0
        table: dict = {}
        _walk(pkg, table)
        for obj in list(table.values()):
            if obj.is_alias or obj.docstring is None:
                continue
            obj.docstring.value = rst_to_markdown(
                obj.docstring.value, lambda t, o=obj: self._resolve(t, o, table))

    @staticmethod
    def _resolve(target, obj, table):
        found = None
        if target in table:
            found = target
        else:
            scope = obj
            while scope is not None and found is None:
                cand = f"{scope.path}.{target}"
                if cand in table:
                    found = cand
                scope = scope.parent
        if found is None:
            ends = [p for p in table if p.endswith("." + target)]
            if len(ends) == 1:
                found = ends[0]
        if found is None:
            return None
        obj_found = table[found]
        if obj_found.is_alias:
            try:
                path = obj_found.final_target.path
                if path in table:
                    found = path
            except Exception:  # noqa: BLE001 - unresolvable alias (external object): no link
                return None
        return found if _public(found) else None
