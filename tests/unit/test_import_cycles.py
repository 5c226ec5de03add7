"""No import cycle between golive's packages: read every import (module level, inside functions, under
``TYPE_CHECKING``) with ``ast`` and fail on any strongly connected set of packages. No cycle is excused."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import golive

ROOT = Path(golive.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """A module's package below golive (``golive.steps.canary`` → ``steps``); a top-level module is its own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "golive"


def package_imports() -> dict[str, dict[str, list[str]]]:
    """package → imported package → where (file:line)."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in ROOT.rglob("*.py"):
        module = _module(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    targets = [".".join([*base, node.module] if node.module else base)]
                elif node.module:
                    targets = [node.module]
            for target in targets:
                if target.startswith("golive.") and _unit(target) != _unit(module):
                    edges[_unit(module)][_unit(target)].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return edges


def cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one package."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_sees_a_cycle() -> None:
    edges = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:1"]}, "c": {"a": ["c.py:9"]}, "d": {"a": ["d.py:1"]}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_the_reader_sees_function_level_and_type_checking_imports() -> None:
    edges = package_imports()
    assert "engine" in edges["steps"]  # module level
    assert "plan" in edges["engine"]  # under TYPE_CHECKING in engine/context.py
    assert "runs" in edges["cli"]  # inside command functions


def test_no_import_cycle_between_golive_packages() -> None:
    edges = package_imports()
    found = cycles(edges)
    lines = [f"{' ⇄ '.join(c)}: " + "; ".join(f"{a} → {b} at {edges[a][b][0]}" for a in c for b in c if b in edges[a])
             for c in found]
    assert not found, "\n".join(lines)


def test_the_engine_knows_no_step_kind() -> None:
    assert not {"steps", "runs", "checks"} & set(package_imports()["engine"])
