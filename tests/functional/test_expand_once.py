"""What ``golive plan`` prints is what runs: plan variables are filled exactly once.

The planner fills ``{name}`` placeholders; a check must not fill them again,
or a variable whose value holds ``{env}``, or a literal ``{{x}}``, would run
as something ``golive plan`` never showed. The test runs the real console
script on a plan whose command values are full of braces and compares, per
command, the argv ``golive plan --json`` printed, the argv stored in the
check's evidence, and what the program itself received.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from golive.store.store import Store

GOLIVE = Path(sys.executable).with_name("golive")

PLAN = """\
release: braces
version: v1
environments:
  prod:
    account: "123456789012"
    region: eu-west-1
    variables: {nested: "{braced}", braced: "{env}-x", json: '{"a": 1}', fmt: "{0} {}"}
projects:
  a:
    repo: owner/a
    deploy: {command: [echo, deployed]}
batches:
  - {name: one, projects: [a]}
preflight:
  - command: [echo, "{{literal}}", "{env}", "{braced}"]
  - command: [echo, "{json}", "{not a name}", "{0}", "{fmt}"]
  - command: [echo, "{nested}", "{{env}}", "}{env}{"]
"""


def golive(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, cwd=folder, env=env, timeout=120,
                          check=False)


def printed_argvs(plan_json: dict[str, Any]) -> list[list[str]]:
    calls = [c for step in plan_json["steps"] if step["key"] == "prerequisites" for c in step["calls"]]
    return [ast.literal_eval(c.removeprefix("command(").removesuffix(")")) for c in calls if c.startswith("command(")]


def test_the_argv_that_runs_is_the_argv_golive_plan_printed(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(PLAN)
    shown = golive(tmp_path, "plan", "--env", "prod", "--json")
    assert shown.returncode == 0, shown.stderr
    printed = printed_argvs(json.loads(shown.stdout))
    assert len(printed) == 3
    # The planner's one expansion: known names filled, everything else as written.
    assert printed[0] == ["echo", "{{literal}}", "prod", "{env}-x"]
    assert printed[1] == ["echo", '{"a": 1}', "{not a name}", "{0}", "{0} {}"]
    assert printed[2] == ["echo", "{braced}", "{prod}", "}prod{"]

    ran = golive(tmp_path, "preflight", "--env", "prod")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    store = Store.open(f"sqlite:///{tmp_path / '.golive' / 'state.db'}")
    stored = [e.data["evidence"][0]["answered"] for e in store.events(release="braces") if e.kind == "check"]
    assert sorted(a["argv"] for a in stored) == sorted(printed)
    for answered in stored:
        assert answered["stdout"] == " ".join(answered["argv"][1:]) + "\n", "the program received something else"
