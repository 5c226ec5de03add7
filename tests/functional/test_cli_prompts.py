"""Commands that change an environment ask first: on a terminal they show the change; without one they need --yes.

Every command is a real ``golive`` process. "No terminal" is ``stdin`` from
``/dev/null`` (as in CI); "a terminal" is a pseudo-terminal the test types
into. None of these runs reaches an outside system: the question comes
before any call, so an unreachable AWS or GitHub cannot hide a missing one.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from cli_user import copy_example, user_env

GOLIVE = str(Path(sys.executable).with_name("golive"))

CHANGING = {
    "deploy": ["deploy", "--env", "prod"],
    "deploy one project without a GO": ["deploy", "--env", "prod", "--project", "order_lambda", "--skip-gate",
                                        "--why", "hotfix"],
    "run": ["run", "--env", "prod"],
    "rollback": ["rollback", "order_lambda", "--env", "prod"],
    "promote": ["promote", "order_lambda", "--env", "prod", "--why", "looks fine"],
    "abort": ["abort", "order_lambda", "--env", "prod"],
    "secrets set": ["secrets", "set", "AWS_ROLE_PROD", "--repo", "BigBeardWebSolutions/2_bbws_order_lambda",
                    "--value-from", "env:ROLE"],
    "tag": ["tag", "--env", "prod"],
}


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "user")


def golive(plan: Path, *args: str, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**user_env(), "ROLE": "arn:aws:iam::093646564004:role/deployer"}
    return subprocess.run([GOLIVE, *args, "-f", str(plan)], stdin=stdin if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, cwd=plan.parent, timeout=120, check=False)


@pytest.mark.parametrize("name", list(CHANGING))
def test_without_a_terminal_and_without_yes_it_exits_2_and_changes_nothing(plan: Path, name: str) -> None:
    r = golive(plan, *CHANGING[name])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "pass --yes to go ahead" in lines[0] and "no terminal" in lines[0]
    assert r.stdout == ""
    assert not (plan.parent / ".golive").exists()  # no store opened, no intent written


def test_deploy_names_the_environment_it_would_change(plan: Path) -> None:
    r = golive(plan, "deploy", "--env", "prod")
    assert "golive deploy changes prod (account 093646564004, af-south-1, then DR eu-west-1)" in r.stderr


def _on_a_terminal(plan: Path, answer: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer)
        return golive(plan, *args, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


def test_on_a_terminal_it_shows_the_change_and_no_means_nothing_changed(plan: Path) -> None:
    r = _on_a_terminal(plan, b"n\n", "deploy", "--env", "prod", "--batch", "apis")
    assert r.returncode == 1, r.stderr
    assert "golive deploy will change prod (account 093646564004, af-south-1, then DR eu-west-1):" in r.stderr
    assert "batch apis: deploy product_lambda, order_lambda, campaigns_lambda (v1.0.0-prod)" in r.stderr
    assert "batch foundation" not in r.stderr
    assert r.stderr.strip().endswith("golive: error: golive deploy not confirmed; nothing was changed")
    assert not (plan.parent / ".golive").exists()


def test_on_a_terminal_yes_goes_ahead(plan: Path) -> None:
    r = _on_a_terminal(plan, b"y\n", "promote", "order_lambda", "--env", "prod", "--why", "looks fine")
    assert r.returncode == 0, r.stderr
    assert "the running canary of order_lambda goes to 100% on its next pass" in r.stderr
    assert "promote recorded (event 1)" in r.stdout


def test_yes_skips_the_question(plan: Path) -> None:
    r = golive(plan, "--yes", "abort", "order_lambda", "--env", "prod", "--why", "latency")
    assert r.returncode == 0, r.stderr
    assert "abort recorded" in r.stdout and "Go ahead?" not in r.stderr
