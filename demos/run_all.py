"""Run every demo and regenerate all the lectures' figures (``python -m demos``).

The demos run in lecture order (the order of :data:`DEMOS`, which the docs gallery follows). A
header line first, then for each demo a start line (what it draws, its usual wall time), the
demo's own stage lines, and an end line with its wall time; a summary; and last the list
slide -> file of every figure written (:data:`demos.registry.FIGURES`), also written to
``<out>/index.html`` (each figure with its slide and caption). Options: those of every demo
(``--out``, ``--quick``, ``--seed``, ``--device``, ``--no-progress``) plus ``--only NAME
[NAME ...]`` to run a subset (substring match on the demo names). The exit status is the number
of failed demos.
"""

from __future__ import annotations

if __package__ in (None, ""):
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import html
import importlib
import json
import pathlib
import sys
import time
import traceback

from demos.registry import DEMOS, FIGURES, SECONDS

__all__ = ["DEMOS", "FIGURES", "SECONDS", "figure_list", "main", "write_index"]


def parse(argv=None):
    p = argparse.ArgumentParser(description="Run every otgan demo.")
    p.add_argument("--out", default="figures", help="output folder (default: figures/)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars during the trainings")
    p.add_argument("--only", nargs="*", default=None, help="run the demos whose name contains one "
                   "of these strings")
    return p.parse_args(argv)


def figure_list(out, names=None) -> list[dict]:
    """``[{"demo", "file", "slide", "caption"}]`` of the figures the sidecars in ``out`` list,
    in lecture order (demos ``names``, default all)."""
    out = pathlib.Path(out)
    rows = []
    for name, _title, slides in DEMOS:
        if names is not None and name not in names:
            continue
        try:
            side = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for f in side.get("files", []):
            rows.append({"demo": name, "file": f, "slide": FIGURES.get(f, slides),
                         "caption": side.get("captions", {}).get(f, "")})
    return rows


def write_index(out, rows) -> pathlib.Path:
    """``<out>/index.html``: every figure (a thumbnail opening the file) with its slide and
    caption, in lecture order."""
    out = pathlib.Path(out)
    items = []
    for r in rows:
        f = html.escape(r["file"])
        items.append(f'<tr><td>{html.escape(r["slide"])}</td><td><a href="{f}">{f}</a><br>'
                     f'<small>{html.escape(r["caption"])}</small></td><td><a href="{f}">'
                     f'<img src="{f}" alt="{f}" style="max-width: 320px; max-height: 200px">'
                     '</a></td></tr>')
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>otgan figures: slide -> file</title></head><body>\n"
            "<h1>The lectures' figures: slide &rarr; file</h1>\n"
            "<p>Written by <code>python -m demos</code>; each demo's JSON sidecar beside its "
            "figures holds its parameters and numbers.</p>\n"
            "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse\">\n"
            "<tr><th>slide</th><th>file</th><th>figure</th></tr>\n"
            + "\n".join(items) + "\n</table></body></html>\n")
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def main(argv=None) -> int:
    args = parse(argv)
    todo = [d for d in DEMOS if not args.only or any(s in d[0] for s in args.only)]
    common = ["--out", args.out, "--seed", str(args.seed), "--device", args.device]
    if args.quick:
        common.append("--quick")
    if not args.progress:
        common.append("--no-progress")
    failed = []
    t_all = time.perf_counter()
    expected = "" if args.quick else (
        f" (about {sum(SECONDS.get(d[0], 10) for d in todo) / 60:.0f} min on a 2-core CPU)")
    print(f"Regenerating {len(todo)} lecture figure famil{'y' if len(todo) == 1 else 'ies'} "
          f"into {args.out}/{expected}", flush=True)
    for k, (name, title, _) in enumerate(todo, 1):
        t0 = time.perf_counter()
        about = "" if args.quick else f" (about {SECONDS.get(name, 10)} s)"
        print(f"[{k:2d}/{len(todo)}] {name}: {title}{about} ...", flush=True)
        try:
            mod = importlib.import_module(f"demos.{name}")
            # the start line above replaces the demo's own
            side = mod.main(common, announce=False)
            status = f"ok  {len(side['files'])} file(s)"
        except Exception:  # noqa: BLE001 - report and go on with the other demos
            failed.append(name)
            status = "FAILED\n" + traceback.format_exc()
        dt = time.perf_counter() - t0
        print(f"[{k:2d}/{len(todo)}] {name:28s} {dt:7.1f} s  {status}", flush=True)
    total = time.perf_counter() - t_all
    rows = figure_list(args.out, [d[0] for d in todo])
    if rows:
        print("\nSlide -> file:")
        for r in rows:
            print(f"  {r['slide']}\n      -> {args.out}/{r['file']}")
        print(f"(also in {write_index(args.out, rows)})")
    print(f"{len(todo) - len(failed)}/{len(todo)} demos in {total:.1f} s -> {args.out}/"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
