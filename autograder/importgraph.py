"""The package-level import graph of hwlib and the grader, and a check that it only points down.

    python -m autograder.importgraph            # prints the graph; exit status 1 on a back-edge
    python -m autograder.importgraph --markdown # the same as a Markdown block (docs/architecture.md)

The layers, lowest first (a module may import its own layer and the layers it is allowed below it):

    hwlib  <-  core  <-  checks  <-  grading  <-  batch  <-  frontends
                 ^------ sandbox <------'

``core`` is what a probe, a check and a notebook cell are and how a probe runs; ``checks`` is every notebook's
checks and the registry; the ``sandbox`` needs only ``core``: it receives the paths it binds and the registry
lookup as parameters (``autograder.sandbox_host``), and never imports ``hwlib`` or the registry. Every import
statement counts, also those inside functions. A module not placed in :data:`LAYERS` counts as a front end (it may
import anything; nothing below may import it) and is listed, so that it gets a place.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hwlib", "autograder")

#: layer -> module name prefixes (the longest matching prefix wins).
LAYERS: dict[str, tuple[str, ...]] = {
    "hwlib": ("hwlib",),
    "core": ("autograder", "autograder.check", "autograder.arrays", "autograder.extract", "autograder.runner",
             "autograder.text", "autograder.images"),
    "checks": ("autograder.checks", "autograder.assignments"),
    "sandbox": ("autograder.sandbox",),
    "grading": ("autograder.grade", "autograder.reference", "autograder.feedback", "autograder.sandbox_host",
                "autograder.notebook_run"),
    "batch": ("autograder.batch", "autograder.distributed", "autograder.progress"),
    "frontends": ("autograder.cli", "autograder.__main__", "autograder.demo", "autograder.ci",
                  "autograder.pytest_plugin", "autograder.notebook_checks", "autograder.course",
                  "autograder.release", "autograder.instructor", "autograder.nbgrader_config",
                  "autograder.importgraph"),
}

#: layer -> the layers it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "hwlib": set(),
    "core": {"hwlib"},
    "checks": {"core", "hwlib"},
    "sandbox": {"core"},
    "grading": {"sandbox", "checks", "core", "hwlib"},
    "batch": {"grading", "sandbox", "checks", "core", "hwlib"},
    "frontends": {"batch", "grading", "sandbox", "checks", "core", "hwlib"},
}
ORDER = list(LAYERS)

#: back-edges known and owned by someone, with why they remain: printed, but not failed on. Remove an entry when
#: its edge is gone (the check then also fails if it comes back).
KNOWN: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of :data:`PACKAGES` (``__pycache__`` and data files aside)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """The modules of :data:`PACKAGES` that ``path`` imports (absolute and relative, at any depth)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out |= {f"{target}.{alias.name}" for alias in node.names}   # "from . import runner"
    return {m for m in out if m.split(".")[0] in PACKAGES}


def layer_of(module: str) -> str | None:
    best, length = None, -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                exact = module == prefix or prefix != "autograder"   # "autograder" itself only, not its children
                if exact:
                    best, length = layer, len(prefix)
    return best


def graph() -> tuple[Counter, list[str], list[str], list[str]]:
    """(``Counter`` of (layer, imported layer) module-to-module edges, back-edges as text, known back-edges as
    text, modules placed in no layer)."""
    known = modules()
    edges: Counter = Counter()
    back, tolerated, unplaced = [], [], []
    for name, path in known.items():
        layer = layer_of(name)
        if layer is None:
            unplaced.append(name)
            layer = "frontends"
        targets = set()
        for target in imports_of(name, path):
            while target not in known and "." in target:   # "pkg.module.name" -> "pkg.module"
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                targets.add(target)
        for target in sorted(targets):
            other = layer_of(target) or "frontends"
            if other == layer:
                continue
            edges[layer, other] += 1
            if other not in ALLOWED[layer]:
                text = f"{name} ({layer}) imports {target} ({other})"
                if (name, target) in KNOWN:
                    tolerated.append(f"{text}: {KNOWN[name, target]}")
                else:
                    back.append(text)
    return edges, back, tolerated, unplaced


def sizes() -> dict[str, tuple[int, str, int]]:
    """layer -> (module count, largest module, its line count)."""
    out: dict[str, tuple[int, str, int]] = {}
    for name, path in modules().items():
        layer = layer_of(name) or "frontends"
        lines = len(path.read_text(encoding="utf-8").splitlines())
        count, largest, most = out.get(layer, (0, "", -1))
        out[layer] = (count + 1, name if lines > most else largest, max(lines, most))
    return out


def report() -> tuple[str, bool]:
    edges, back, tolerated, unplaced = graph()
    lines = ["layer       imports (number of module-level edges)"]
    for layer in reversed(ORDER):
        targets = sorted((o for (l, o) in edges if l == layer), key=ORDER.index, reverse=True)
        text = ", ".join(f"{o} ({edges[layer, o]})" for o in targets) or "-"
        lines.append(f"{layer:<11} -> {text}")
    lines.append("")
    lines.append("layer       modules  largest")
    for layer, (count, largest, most) in sorted(sizes().items(), key=lambda kv: ORDER.index(kv[0])):
        lines.append(f"{layer:<11} {count:>7}  {largest} ({most} lines)")
    if unplaced:
        lines += ["", "not placed in a layer (counted as front ends): " + ", ".join(sorted(unplaced))]
    lines += ["", f"back-edges: {len(back)}", *(f"  {b}" for b in back)]
    if tolerated:
        lines += [f"known back-edges, to be removed: {len(tolerated)}", *(f"  {t}" for t in tolerated)]
    return "\n".join(lines), not back


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.importgraph", description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown code block")
    args = parser.parse_args(argv)
    text, ok = report()
    print(f"```text\n{text}\n```" if args.markdown else text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
