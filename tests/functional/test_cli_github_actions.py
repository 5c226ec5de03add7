"""The composite action's golive step, run as GitHub's runner runs it: bash, inputs as environment variables.

The step's script is read from ``action.yml`` (not copied), run with the
installed ``golive`` on PATH, ``GITHUB_ACTIONS=true``, a step-summary file,
and the store in a fresh PostgreSQL schema, as the action's ``db`` input
gives it from a secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from cli_user import copy_example, user_env

ROOT = Path(__file__).parents[2]


def golive_step(tmp_path: Path, db: str, command: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if str(s.get("name", "")).startswith("golive ")]
    plan = copy_example(tmp_path / "repo")
    summary = tmp_path / "summary.md"
    inputs = {"GOLIVE_COMMAND": command, "GOLIVE_ENV": "prod", "GOLIVE_GATE": "go_no_go", "GOLIVE_ARGS": " ".join(extra),
              "GOLIVE_PLAN": str(plan), "GOLIVE_DB": db, "GITHUB_TOKEN": "ghs_notused"}
    assert set(inputs) == set(step["env"]), "the test gives every variable the action's step sets"
    env = {**user_env(), **inputs, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", step["run"]], capture_output=True, text=True, env=env, cwd=plan.parent,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)
    return done, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_gate_without_approvals_is_no_go_with_a_summary_and_annotations(tmp_path: Path, pg_url: str) -> None:
    done, summary = golive_step(tmp_path, pg_url, "gate")
    assert done.returncode == 1, done.stderr
    assert summary.startswith("### golive gate go_no_go for prod: NO-GO")
    assert "| ✗ |" in summary
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    assert errors and all(line.startswith("::error title=golive gate go_no_go prod%3A NO-GO::") for line in errors)
    assert "ghs_notused" not in done.stdout + done.stderr + summary


def test_deploy_gets_yes_and_stops_at_the_missing_go(tmp_path: Path, pg_url: str) -> None:
    done, _ = golive_step(tmp_path, pg_url, "deploy", "--project", "dynamodb_schemas")
    assert done.returncode == 2, done.stderr
    assert "no gate decision for prod: run golive gate" in done.stderr  # past the prompt: --yes was given
    assert "pass --yes" not in done.stderr


def test_an_unknown_command_is_an_annotation_and_exit_2(tmp_path: Path, pg_url: str) -> None:
    done, _ = golive_step(tmp_path, pg_url, "rollback")
    assert done.returncode == 2
    assert done.stdout.strip() == "::error title=golive action::command must be gate, deploy or run, not 'rollback'"
