"""Which project needs which: the plan's ``depends_on`` as a graph, its cycles, and the order undos go in.

The site calls the APIs, the APIs need the tables. Batches order the deploy; this graph says what a failure
holds and in which order things are undone: a project that depends on another is undone before it (the new
site must not be left calling an API that went back), so the undo order is a topological order of the
graph reversed, ties broken by the plan's order of projects. The graph is pure data: the plan validates it
(``plan/validate.py``: a cycle or an unknown name is a plan error), ``golive plan`` prints ``lines``, and a
run keeps ``to_data`` in its meta so the engine and reports read the graph the run started with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from golive.plan.model import Plan


@dataclass(frozen=True)
class Graph:
    """Projects (in the plan's order) and, for each, the projects it depends on directly."""

    projects: tuple[str, ...]
    needs: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, projects: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> Graph:
        known = set(projects)
        return cls(tuple(projects), {p: tuple(d for d in depends_on.get(p, ()) if d in known) for p in projects})

    @classmethod
    def from_data(cls, data: Any) -> Graph:
        """The graph a run kept in its meta (``to_data``); empty for a run started before dependencies."""
        if not isinstance(data, Mapping):
            return cls((), {})
        projects = [str(p) for p in data.get("projects", [])]
        needs = data.get("depends_on", {})
        return cls.of(projects, {str(p): [str(d) for d in ds] for p, ds in needs.items()} if isinstance(needs, Mapping)
                      else {})

    def to_data(self) -> dict[str, Any]:
        return {"projects": list(self.projects), "depends_on": {p: list(d) for p, d in self.needs.items() if d}}

    @property
    def empty(self) -> bool:
        return not any(self.needs.values())

    def dependents(self, project: str) -> list[str]:
        """Every project that depends on ``project``, directly or through others, in undo order."""
        found: set[str] = set()
        todo = [project]
        while todo:
            current = todo.pop()
            for other in self.projects:
                if current in self.needs.get(other, ()) and other not in found and other != project:
                    found.add(other)
                    todo.append(other)
        return self.undo_order(found)

    def undo_order(self, projects: Iterable[str]) -> list[str]:
        """``projects`` with each one before every project it depends on (ties: the plan's order)."""
        wanted = set(projects)
        return [p for p in self._reverse_topological() if p in wanted]

    def undo_rank(self) -> dict[str, int]:
        """Each project's place in the undo order; empty without dependencies (whatever order stood, stands)."""
        return {} if self.empty else {p: i for i, p in enumerate(self.undo_order(self.projects))}

    def _reverse_topological(self) -> list[str]:
        dependents_left = {p: sum(p in self.needs.get(o, ()) for o in self.projects) for p in self.projects}
        out: list[str] = []
        left = list(self.projects)
        while left:
            ready = next((p for p in left if dependents_left[p] == 0), left[0])  # left[0]: a cycle, never validated
            left.remove(ready)
            out.append(ready)
            for needed in self.needs.get(ready, ()):
                dependents_left[needed] -= 1
        return out

    def cycles(self) -> list[list[str]]:
        """Each cycle once, as the path that closes it (``[a, b, a]``), starting from its first project in plan order."""
        found: list[list[str]] = []
        seen_sets: set[frozenset[str]] = set()
        done: set[str] = set()

        def visit(project: str, path: list[str]) -> None:
            for needed in self.needs.get(project, ()):
                if needed in path:
                    cycle = [*path[path.index(needed):], needed]
                    if frozenset(cycle) not in seen_sets:
                        seen_sets.add(frozenset(cycle))
                        found.append(cycle)
                elif needed not in done:
                    visit(needed, [*path, needed])
            done.add(project)

        for project in self.projects:
            if project not in done:
                visit(project, [project])
        return found

    def lines(self) -> list[str]:
        """The graph in a few lines: each project that depends on others, then the undo order."""
        if self.empty:
            return []
        out = [f"{p} -> {', '.join(d)}" for p, d in self.needs.items() if d]
        involved = {p for p, d in self.needs.items() if d} | {n for d in self.needs.values() for n in d}
        out.append(f"undo order: {' → '.join(self.undo_order(involved))}")
        return out


def of_plan(plan: Plan) -> Graph:
    """The graph of a loaded plan (``plan.projects[*].depends_on``)."""
    return Graph.of(list(plan.projects), {name: list(p.depends_on) for name, p in plan.projects.items()})


def project_of_lane(lane: str) -> str:
    """The project a batch lane runs (``product_lambda@dr``: its DR region's lane is the same project)."""
    return lane.split("@", 1)[0]
