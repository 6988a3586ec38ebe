"""The package's import graph, read from the source: no import circle, counting imports inside functions too
(a lazy import that closes a circle only hides it), and lower layers import no upper one."""

from __future__ import annotations

import ast
from pathlib import Path

import raereid

PACKAGE = Path(raereid.__file__).parent
# The layers, bottom up: the root modules (errors, registry, plugins, progress, kernels: utilities importing no
# subpackage); config; the domain packages (data, models, clustering, evaluation, synth; learners on top of models,
# selection, the label-free signals, on top of clustering);
# engine, the loop and run infrastructure any trainer uses; inference, using a trained model; adapt (Algorithm 1) and
# translator (CycleGAN), the two trainers; then tools and report; experiments (rows of `raereid train` runs, the demo),
# which runs the trainers as subprocesses and draws with tools and report; and cli on top of everything.
UPPER = {"tools", "cli", "report", "experiments"}  # the commands and what they call: nothing below imports them
TRAINERS = {"adapt", "translator"}
DOMAIN = {"data", "models", "learners", "clustering", "evaluation", "synth", "selection"}
NOT_IMPORTED_BY = {  # subpackage -> the subpackages it must not import
    "config": {*DOMAIN, "engine", "inference", *TRAINERS, *UPPER},
    "data": {*DOMAIN - {"data"}, "engine", "inference", *TRAINERS, *UPPER},
    "models": {*DOMAIN - {"models"}, "engine", "inference", *TRAINERS, *UPPER},
    "learners": {"data", "synth", "engine", "inference", *TRAINERS, *UPPER},
    "clustering": {*DOMAIN - {"clustering"}, "engine", "inference", *TRAINERS, *UPPER},
    "evaluation": {*DOMAIN - {"evaluation"}, "engine", "inference", *TRAINERS, *UPPER},
    "synth": {*DOMAIN - {"synth", "data"}, "engine", "inference", *TRAINERS, *UPPER},
    "selection": {*DOMAIN - {"selection", "clustering"}, "engine", "inference", *TRAINERS, *UPPER},  # arrays in
    "engine": {*DOMAIN, "inference", *TRAINERS, *UPPER},
    "inference": {"learners", "clustering", "synth", *TRAINERS, *UPPER},
    "adapt": {"synth", "translator", *UPPER},
    "translator": {*DOMAIN - {"data"}, "inference", "adapt", *UPPER},
    "tools": {"synth", *TRAINERS, "cli", "report", "experiments"},
    "report": {"synth", *TRAINERS, "cli", "experiments"},
    "experiments": {"cli"},
}
ROOT_ENTRY_POINTS = {"raereid", "raereid.__main__"}  # the package's face (FeatureExtractor) and `python -m raereid`


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (a package is its __init__.py)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (`from a import b` is a.b when b is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {m for m in found if m in modules and m != name}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        circles.append(sorted(members))
    return circles


def test_circles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _circles(graph) == [["a", "b", "c"]]


def test_the_package_has_no_import_circle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > len(modules)  # the graph was read (modules import each other)
    assert _circles(graph) == []


def _subpackage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_lower_layers_do_not_import_upper_ones() -> None:
    modules = _modules()
    wrong = sorted(f"{name} imports {used}" for name, path in modules.items() for used in _imports(name, path, modules)
                   if _subpackage(used) in NOT_IMPORTED_BY.get(_subpackage(name), ()))
    assert wrong == []


def test_every_subpackage_has_its_rules() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages - {"cli"} == set(NOT_IMPORTED_BY), "a new subpackage needs its line in NOT_IMPORTED_BY"


def test_root_modules_import_no_subpackage() -> None:
    """The modules at the package's root (errors, registry, plugins, progress, the kernels...) are the bottom layer."""
    modules = _modules()
    root = {name for name, path in modules.items() if path.parent == PACKAGE and name not in ROOT_ENTRY_POINTS}
    wrong = sorted(f"{name} imports {used}" for name in root for used in _imports(name, modules[name], modules)
                   if used not in root)
    assert root and wrong == []
