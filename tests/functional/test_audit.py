"""Issue 27, "an audit that holds": approvals by a verified identity, one person per role of a gate.

The plan's ``identity: github`` makes golive ask the local GitHub whose token is in use (``GET /user``, its
answer checked against the pinned OpenAPI excerpt) and refuse a ``--by`` naming someone else;
``distinct_approvers`` (the default) refuses one identity approving a gate for two roles. Real ``golive``
processes against a real local GitHub and a SQLite store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_github_support import *  # noqa: F403  (the shared fixtures)
from test_github_support import TOKEN

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.errors import UsageError
from golive.plan.validate import load_plan_text
from golive.providers.aws import Aws, AwsTarget
from golive.providers.github import GitHub
from golive.runs.identity import acting
from golive.sandbox.github_server import GitHubServer
from golive.store.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "bbws" / "golive.yaml"
GOLIVE = Path(sys.executable).with_name("golive")


def _plan(folder: Path, extra: str = "") -> Path:
    plan = folder / "golive.yaml"
    plan.write_text(EXAMPLE.read_text() + extra)
    return plan


def _golive(plan: Path, *args: str, api: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOLIVE_", "GITHUB_", "GH_"))}
    if api is not None:
        env.update(GOLIVE_GITHUB_API=api, GITHUB_TOKEN=TOKEN)
    return subprocess.run([str(GOLIVE), *args, "-f", str(plan), "--db", f"sqlite:///{plan.parent / 'state.db'}"],
                          text=True, capture_output=True, env={**env, "COLUMNS": "200"}, timeout=60, check=False)


def test_get_user_answers_the_token_s_login_in_github_s_documented_shape(github: GitHub) -> None:
    assert github.authenticated_login() == "release-operator"


def test_approve_by_someone_else_than_the_token_s_user_is_refused(server: GitHubServer, tmp_path: Path) -> None:
    plan = _plan(tmp_path, "identity: github\n")
    refused = _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "mallory", api=server.url)
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "mallory" in refused.stderr and "release-operator" in refused.stderr

    mine = _golive(plan, "--json", "approve", "go_no_go", "--env", "prod", "--role", "devops", api=server.url)
    assert mine.returncode == 0, mine.stderr
    assert json.loads(mine.stdout)["by"] == "release-operator"
    named = _golive(plan, "approve", "signoff", "--env", "prod", "--role", "devops", "--by", "release-operator",
                    api=server.url)
    assert named.returncode == 0, named.stderr
    assert ("GET", "/user", 200) in server.requests


def test_one_identity_cannot_approve_a_gate_for_two_roles(server: GitHubServer, tmp_path: Path) -> None:
    plan = _plan(tmp_path, "identity: github\n")
    first = _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "devops", api=server.url)
    assert first.returncode == 0, first.stderr
    second = _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "tech_lead", api=server.url)
    assert second.returncode == 2, second.stderr
    assert "release-operator already approved go_no_go for prod as devops" in second.stderr


def test_distinct_approvers_holds_without_verified_identity_and_can_be_turned_off(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "alice").returncode == 0
    twice = _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "tech_lead", "--by", "alice")
    assert twice.returncode == 2 and "distinct_approvers" in twice.stderr, twice.stderr
    assert _golive(plan, "approve", "go_no_go", "--env", "prod", "--role", "tech_lead", "--by", "bob").returncode == 0

    relaxed = tmp_path / "relaxed"
    relaxed.mkdir()
    text = EXAMPLE.read_text().replace("  go_no_go:\n", "  go_no_go:\n    distinct_approvers: false\n", 1)
    assert "distinct_approvers: false" in text
    (relaxed / "golive.yaml").write_text(text)
    one = relaxed / "golive.yaml"
    assert _golive(one, "approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "alice").returncode == 0
    both = _golive(one, "approve", "go_no_go", "--env", "prod", "--role", "tech_lead", "--by", "alice")
    assert both.returncode == 0, both.stderr


def test_with_identity_aws_by_must_be_the_caller_arn_or_its_last_part(moto_reset: str, tmp_path: Path) -> None:
    plan = load_plan_text(EXAMPLE.read_text() + "identity: aws\n")
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    services = Services(plan=plan, store=store, clock=VirtualClock(datetime(2026, 1, 10, 9, 0, tzinfo=UTC)),
                        aws_for=lambda env, region: Aws(AwsTarget(region="af-south-1", endpoint_url=moto_reset)))
    arn = acting(services, "prod", None)
    assert arn is not None and arn.startswith("arn:aws:")
    assert acting(services, "prod", arn.rsplit("/", 1)[-1]) == arn
    with pytest.raises(UsageError, match="refused: --by mallory"):
        acting(services, "prod", "mallory")
    store.close()
