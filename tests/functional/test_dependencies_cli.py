"""``golive plan`` prints the projects' dependency graph; a plan with a ``depends_on`` cycle stops every command
with exit 2 and the one line naming it. Real ``golive`` processes on a small plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GOLIVE = Path(sys.executable).with_name("golive")

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
    depends_on: [api, tables]
batches:
  - {name: one, projects: [tables]}
  - {name: two, projects: [site, api]}
rollback:
  rollback_dependents: true
"""


def golive(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, cwd=folder, env=env, timeout=120,
                          check=False)


def test_golive_plan_prints_the_dependency_graph_and_the_undo_order(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(PLAN)
    shown = golive(tmp_path, "plan", "--env", "prod", "--offline")
    assert shown.returncode == 0, shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    at = lines.index("dependencies (a failed canary's dependents are undone first)")
    assert lines[at + 1:at + 4] == ["api -> tables", "site -> api, tables", "undo order: site → api → tables"]
    as_json = json.loads(golive(tmp_path, "--json", "plan", "--env", "prod", "--offline").stdout)
    assert as_json["dependencies"] == {"projects": ["tables", "api", "site"],
                                       "depends_on": {"api": ["tables"], "site": ["api", "tables"]},
                                       "undo_order": ["site", "api", "tables"], "rollback_dependents": True}


def test_a_cycle_stops_the_command_with_exit_2_and_its_line(tmp_path: Path) -> None:
    text = PLAN.replace("    deploy: {command: [\"true\"]}\n  api:", "    deploy: {command: [\"true\"]}\n"
                        "    depends_on: [site]\n  api:")
    (tmp_path / "golive.yaml").write_text(text)
    line = text.count("\n", 0, text.index("depends_on: [site]")) + 1
    for args in (("plan", "--env", "prod", "--offline"), ("check",)):
        ran = golive(tmp_path, *args)
        assert ran.returncode == 2, ran.stdout + ran.stderr
        assert f"golive.yaml:{line} projects.tables.depends_on: depends_on cycle: tables -> site -> api -> tables" \
            in ran.stderr, ran.stderr
        assert "Traceback" not in ran.stderr
