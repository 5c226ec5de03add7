"""``depends_on``: a plan error for a cycle or an unknown name (file, line, the cycle's path), and the undo order.

The undo order puts a project before every project it depends on (the site before the API it calls, the API
before the tables it needs), ties in the plan's order; ``lines`` is what ``golive plan`` prints of the graph.
"""

from __future__ import annotations

import pytest

from golive.errors import PlanError, PlanErrors
from golive.plan.dependencies import Graph, of_plan
from golive.plan.validate import load_plan_text

PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  tables:
    repo: owner/tables
    deploy: {command: ["true"]}
  api:
    repo: owner/api
    deploy: {command: ["true"]}
    depends_on: [tables]
  site:
    repo: owner/site
    deploy: {command: ["true"]}
    depends_on: [api]
batches:
  - {name: one, projects: [tables, site]}
  - {name: two, projects: [api]}
"""


def _error(text: str) -> str:
    with pytest.raises(PlanError) as info:
        load_plan_text(text)
    return str(info.value)


def _line(text: str, marker: str) -> int:
    return text.count("\n", 0, text.index(marker)) + 1


def test_a_cycle_is_a_plan_error_naming_it_at_its_line() -> None:
    text = PLAN.replace('    deploy: {command: ["true"]}\n  api:',
                        '    deploy: {command: ["true"]}\n    depends_on: [site]\n  api:')
    message = _error(text)
    assert message == f"golive.yaml:{_line(text, 'depends_on: [site]')} projects.tables.depends_on: " \
                      "depends_on cycle: tables -> site -> api -> tables"


def test_a_project_depending_on_itself_is_a_cycle() -> None:
    text = PLAN.replace("depends_on: [tables]", "depends_on: [api]")
    assert _error(text) == f"golive.yaml:{_line(text, 'depends_on: [api]')} projects.api.depends_on[0]: " \
                           "depends_on cycle: api -> api"


def test_an_unknown_name_says_which_and_the_closest() -> None:
    text = PLAN.replace("depends_on: [api]", "depends_on: [apu]")
    assert _error(text) == f"golive.yaml:{_line(text, 'depends_on: [apu]')} projects.site.depends_on[0]: " \
                           "no project 'apu' (did you mean 'api'?)"


def test_every_dependency_error_of_a_plan_is_reported_at_once() -> None:
    text = PLAN.replace("depends_on: [api]", "depends_on: [nothing_like_it]").replace(
        "depends_on: [tables]", "depends_on: [api]")
    with pytest.raises(PlanErrors) as info:
        load_plan_text(text)
    lines = str(info.value).splitlines()[1:]
    assert [line.split(": ", 1)[1] for line in lines] == [
        "depends_on cycle: api -> api", "no project 'nothing_like_it' (known: api, site, tables)"]


def test_the_undo_order_puts_dependents_first_and_the_graph_prints_in_lines() -> None:
    graph = of_plan(load_plan_text(PLAN))
    assert graph.dependents("tables") == ["site", "api"]
    assert graph.dependents("api") == ["site"]
    assert graph.dependents("site") == []
    assert graph.undo_order(["tables", "api", "site"]) == ["site", "api", "tables"]
    assert graph.lines() == ["api -> tables", "site -> api", "undo order: site → api → tables"]
    assert Graph.from_data(graph.to_data()) == graph


def test_ties_keep_the_plans_order_and_a_plan_without_dependencies_prints_nothing() -> None:
    graph = Graph.of(["a", "b", "c", "d"], {"c": ["a"], "d": ["a", "b"]})
    assert graph.undo_order("abcd") == ["c", "d", "a", "b"]
    assert graph.dependents("a") == ["c", "d"]
    assert Graph.of(["a", "b"], {}).lines() == []
    assert Graph.from_data(None).empty
