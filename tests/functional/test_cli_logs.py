"""Output that survives a CI log, as a new user's first hand-run commands against a fresh sandbox print it.

One detached sandbox for the module, started as the README says; its
repositories still miss the secrets and the release tag, so preflight fails
on ``github_secrets`` and a deploy fails at GitHub, as on a first day. Every
command is a real ``golive`` process with stdout a pipe and no ``COLUMNS``:
what a log or ``| cat`` receives.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_user import GOLIVE, OWNER, Ran, UserSandbox, running_sandbox

from golive.cli.github_actions import error_command

pytestmark = pytest.mark.xdist_group("cli_logs")

REPOS = [f"{OWNER}/{name}" for name in ("2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas", "2_1_bbws_web_public",
                                        "2_bbws_product_lambda", "2_bbws_order_lambda", "2_bbws_campaigns_lambda")]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    yield from running_sandbox(tmp_path_factory.mktemp("user"), "--github-run-seconds", "1")


def piped(box: UserSandbox, *args: str, extra: dict[str, str] | None = None) -> Ran:
    """A command whose stdout is a pipe, in a shell with no COLUMNS (a CI runner's)."""
    env = {k: v for k, v in box.env.items() if k != "COLUMNS"} | (extra or {})
    done = subprocess.run([str(GOLIVE), *args, "-f", str(box.plan)], capture_output=True, text=True, env=env,
                          cwd=box.plan.parent, timeout=180, check=False, stdin=subprocess.DEVNULL)
    ran = Ran(args, done.returncode, done.stdout, done.stderr)
    box.ran.append(ran)
    return ran


@pytest.fixture(scope="module")
def preflight(sandbox: UserSandbox) -> Ran:
    return piped(sandbox, "preflight", "--env", "prod")


def test_piped_preflight_shows_every_repository_and_secret_name_whole(preflight: Ran) -> None:
    assert preflight.code == 1, preflight.explain()
    assert "…" not in preflight.out
    secrets = preflight.out[preflight.out.index("secret status"):]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in secrets.splitlines() if line.startswith("│")]
    targets = [row[0] for row in rows if row and row[0] not in ("repository", "")]
    repos = {target.split(":", 1)[0] for target in targets}  # owner/name:workflow file
    assert len(repos) >= 3 and repos <= set(REPOS), rows
    assert all(re.fullmatch(r"[\w/]+:[\w-]+\.yml", target) for target in targets), targets
    names = {row[1] for row in rows if row and row[0] in targets}
    assert {"AWS_ROLE_PROD", "CLOUDFRONT_DISTRIBUTION_ID_PROD"} <= names, rows
    assert all(re.fullmatch(r"[A-Z0-9_]+|\(role ARN hard-coded\)", name) for name in names), names
    # A line of the check table is one row: no identifier folded onto a second line.
    checks = [line for line in preflight.out.splitlines() if line.startswith("│ ") and "secret status" not in line]
    assert all(line.split("│")[1].strip() for line in checks[:20]), checks


def test_in_github_actions_a_failing_preflight_writes_the_summary_and_error_annotations(sandbox: UserSandbox,
                                                                                    tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    ran = piped(sandbox, "preflight", "--env", "prod",
                extra={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert ran.code == 1, ran.explain()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, as each step of a job adds its part
    assert re.search(r"### golive preflight bbws in prod: \d+ of \d+ checks passed \(\d+ failed\)", text), text
    assert "| check | target | result | evidence |" in text
    assert re.search(r"\| github_secrets \| BigBeardWebSolutions/\S+ \| fail \|", text), text
    assert "| BigBeardWebSolutions/2_1_bbws_dynamodb_schemas:deploy-prod.yml | AWS_ROLE_PROD | missing |" in text
    errors = [line for line in ran.out.splitlines() if line.startswith("::error ")]
    assert errors and all(line.startswith("::error title=golive preflight bbws in prod%3A github_secrets ")
                          for line in errors), errors
    assert "%3A" not in errors[0].split("::", 2)[2][:6]  # the message keeps its own escaping, not the title's
    assert all("\n" not in line for line in errors)


def test_a_hand_run_deploy_before_the_tag_says_to_run_golive_tag_first(sandbox: UserSandbox) -> None:
    ran = piped(sandbox, "deploy", "--yes", "--env", "prod", "--project", "dynamodb_schemas", "--skip-gate",
                "--why", "first try")
    assert ran.code == 1, ran.explain()
    assert "No ref found" in ran.out, ran.explain()
    assert "run golive tag --env prod first" in ran.err, ran.explain()
    assert re.search(r"^\d\d:\d\d:\d\d UTC ▶ ", ran.err, re.MULTILINE), ran.err  # progress lines carry the time


def test_error_command_escapes_as_the_runner_unescapes() -> None:
    line = error_command("a: b, c", "50% done\r\nnext: x, y")
    assert line == "::error title=a%3A b%2C c::50%25 done%0D%0Anext: x, y"


def test_verify_by_hand_reaches_the_sandbox_through_the_exported_url_map(sandbox: UserSandbox) -> None:
    world = sandbox.service("world")
    mapped = dict(pair.split("=", 1) for pair in sandbox.exports["GOLIVE_URL_MAP"].split())
    assert mapped["https://api.kimmyai.io/v1.0"] == f"{world}/prod/api"
    assert mapped["https://kimmyai.io"] == f"{world}/prod/site"
    ran = piped(sandbox, "verify", "--env", "prod")
    # Nothing is deployed in this sandbox: verify runs the validation, then fails naming every project (issue 27).
    assert ran.code == 1 and "not deployed in prod, so not verified: dynamodb_schemas" in ran.out, ran.explain()
    assert f"pass  http {world}/prod/api/orders/health: GET {world}/prod/api/orders/health: 401" in ran.out
    assert f"pass  command ./scripts/smoke_test_orders.sh prod {world}/prod/api" in ran.out
    assert "kimmyai.io" not in ran.out
