"""The package's layering, read from its source with `ast`: every import counts, also those
inside functions and under TYPE_CHECKING (a deferred import is still an arrow between rooms).

- no import circle among the package's modules;
- its parts import only parts below them in LAYERS (so stats/ never imports runs/ or reports/,
  sources/ never imports runs/, reports/ or stats/);
- only analysis.workers starts processes for work (process pools, multiprocessing, dask).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "analysis"

# Each part (a sub-package, or a top-level module) may import the parts in the layers below its
# own, never one in its own layer or above.
LAYERS: list[set[str]] = [
    {"analysis", "errors", "files", "workers"},  # analysis: the package's __init__ (its version)
    {"domain"},
    {"paths", "outputs"},
    {"sources"},
    {"demo"},
    {"stats"},
    {"reports"},
    {"runs"},
    {"cli"},
    {"__main__"},
]
POOLS = "workers"  # the one module that may start worker processes
POOL_MODULES = ("multiprocessing", "concurrent.futures.process", "distributed", "dask")
POOL_NAMES = {"ProcessPoolExecutor", "BrokenProcessPool"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> Iterator[tuple[str, list[str]]]:
    """Every module a module imports (anywhere in it), with the names it takes from it."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package, up level - 1
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names]


def _graph() -> dict[str, set[str]]:
    """The package's modules, each with the package modules it imports (a name taken from a
    package that is a module of its own, `from analysis import paths`, counts as that module)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, names in _imports(module):
            found = {f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES}
            if target in MODULES and (not names or len(found) < len(names)):
                found.add(target)
            graph[module] |= found - {module}
    return graph


def _part(module: str) -> str:
    """The part of the package a module belongs to: its sub-package or top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle (its modules in order, the first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (found := visit(t)):
                return found
        state[m] = 2
        path.pop()
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return []


def test_the_graph_sees_every_kind_of_import():
    graph = _graph()
    assert "analysis.paths" in graph["analysis.runs.runner"]  # from analysis import paths
    assert "analysis.runs.kernel" in graph["analysis.runs.runner"]  # inside a function
    assert "analysis.sources.store" in graph["analysis.runs.runner"]  # under TYPE_CHECKING
    assert "analysis.runs.jobs" in graph["analysis.runs.manifest"]


def test_no_import_circle():
    assert _cycle(_graph()) == []


def test_the_circle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]


def test_every_part_of_the_package_has_a_layer():
    assert {_part(m) for m in MODULES} == set().union(*LAYERS)


def test_each_part_imports_only_the_parts_below_it():
    upward = sorted(
        f"{m} imports {t}"
        for m, targets in _graph().items()
        for t in targets
        if _part(m) != _part(t) and _layer(_part(t)) >= _layer(_part(m))
    )
    assert upward == []


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("stats", "runs"),
        ("stats", "reports"),
        ("sources", "runs"),
        ("sources", "reports"),
        ("sources", "stats"),
    ],
)
def test_the_layers_keep_the_rooms_apart(low, high):
    assert _layer(low) < _layer(high)


def test_only_workers_starts_worker_processes():
    found = []
    for module in MODULES:
        if module == f"analysis.{POOLS}":
            continue
        for target, names in _imports(module):
            if target.startswith(POOL_MODULES) or POOL_NAMES & set(names):
                found.append(f"{module}: {target} {names}")
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        found += [f"{module}: .{a}" for a in sorted(POOL_NAMES & attributes)]
    assert found == []
