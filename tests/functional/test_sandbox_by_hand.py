"""Issue 27's by-hand flow, as the README writes it: ``sandbox up -f PLAN``, paste the exports, then every later
command without ``-f`` (``GOLIVE_PLAN``), ``sandbox down`` finding the sandbox (``GOLIVE_SANDBOX``) or saying where
it looked, tokens pasteable only where the output is meant for pasting, and a fault's lost answer logged in one
line by the local GitHub (no werkzeug traceback).
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cli_user import GOLIVE, OWNER, Ran, UserSandbox, parse_exports, process_running, sandbox_up, user_env

from golive.clock import VirtualClock
from golive.sandbox.github_server import GitHubServer
from golive.sandbox.world import SANDBOX_TOKEN

pytestmark = pytest.mark.xdist_group("sandbox_by_hand")


def _golive(box: UserSandbox, *args: str, cwd: Path, exports: bool = True) -> Ran:
    """A command typed in the user's shell: no -f, the pasted exports (or none), from ``cwd``."""
    env = box.env if exports else user_env()
    done = subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180,
                          check=False)
    ran = Ran(tuple(args), done.returncode, done.stdout, done.stderr)
    box.ran.append(ran)
    return ran


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    folder = tmp_path_factory.mktemp("byhand")
    started: UserSandbox | None = None
    try:
        started = sandbox_up(folder / "examples" / "bbws")
        yield started
    finally:
        if started is not None:
            started.golive("sandbox", "down")


def test_sandbox_up_exports_the_plan_and_later_commands_need_no_f(box: UserSandbox) -> None:
    assert box.exports["GOLIVE_PLAN"] == str(box.plan)
    assert box.exports["GOLIVE_SANDBOX"] == str(box.state_dir)
    top = box.plan.parents[2]  # where the user typed `golive sandbox up -f examples/bbws/golive.yaml`
    ran = _golive(box, "--yes", "tag", "--env", "prod", cwd=top)
    assert ran.code == 0, ran.explain()
    assert "no such plan file" not in ran.text
    other = top / "elsewhere.yaml"  # an explicit -f still wins over GOLIVE_PLAN
    assert _golive(box, "check", "-f", str(other), cwd=top).err.startswith(f"golive: error: {other}: no such plan file")


def test_status_masks_the_tokens_and_env_prints_pasteable_exports(box: UserSandbox) -> None:
    top = box.plan.parents[2]
    status = _golive(box, "sandbox", "status", cwd=top)
    assert status.code == 0, status.explain()
    assert box.exports["GOLIVE_SANDBOX_TOKEN"] not in status.text and SANDBOX_TOKEN not in status.text
    assert "***" not in status.out  # no unusable masked export line: the hidden ones are named, not shown
    shown = parse_exports("\n".join(line.strip() for line in status.out.splitlines()))
    assert shown == {k: v for k, v in box.exports.items() if k not in ("GITHUB_TOKEN", "GOLIVE_SANDBOX_TOKEN")}
    assert 'eval "$(golive sandbox env)"' in status.out
    as_json = _golive(box, "sandbox", "status", "--json", cwd=top)
    assert box.exports["GOLIVE_SANDBOX_TOKEN"] not in as_json.out and SANDBOX_TOKEN not in as_json.out
    env = _golive(box, "sandbox", "env", cwd=top)
    assert env.code == 0, env.explain()
    assert parse_exports(env.out) == box.exports  # the same lines `up` printed, tokens included
    # pasted into a shell, they are what the shell then holds
    shell = subprocess.run(["bash", "-c", f"{env.out}\nprintf %s \"$GITHUB_TOKEN\""], capture_output=True, text=True,
                           check=True, env=user_env())
    assert shell.stdout == SANDBOX_TOKEN


def test_secrets_list_says_what_each_workflow_reads_and_what_is_missing(box: UserSandbox) -> None:
    top = box.plan.parents[2]
    listed = _golive(box, "secrets", "list", "--env", "prod", "--json", cwd=top)
    assert listed.code == 0, listed.explain()
    rows = {(w["project"], s["name"]): s["status"] for w in json.loads(listed.out)["workflows"] for s in w["secrets"]}
    assert rows[("web_public", "AWS_ROLE_ARN_PROD")] == "configured"
    assert rows[("web_public", "CLOUDFRONT_DISTRIBUTION_ID_PROD")] == "missing"
    assert rows[("campaigns_lambda", "AWS_ROLE_ARN_PROD")] == "missing"
    text = _golive(box, "secrets", "list", "--env", "prod", cwd=top)
    assert "missing" in text.out and "set (repository)" in text.out, text.explain()


def test_secrets_set_refuses_a_name_no_workflow_reads_unless_forced(box: UserSandbox) -> None:
    top = box.plan.parents[2]
    repo = f"{OWNER}/2_1_bbws_s3_schemas"
    typo = _golive(box, "--yes", "secrets", "set", "AWS_ROLE_PRD", "--repo", repo, "--value-from", "plan:AWS_ROLE_PROD",
                   cwd=top)
    assert typo.code == 2, typo.explain()
    assert f"no workflow of {repo} reads AWS_ROLE_PRD" in typo.err and "did you mean AWS_ROLE_PROD?" in typo.err
    assert "AWS_ROLE_PRD" not in {row["name"] for row in _listed(box, top, repo)}
    forced = _golive(box, "--yes", "secrets", "set", "AWS_ROLE_PRD", "--repo", repo, "--value-from",
                     "plan:AWS_ROLE_PROD", "--force", cwd=top)
    assert forced.code == 0, forced.explain()
    right = _golive(box, "--yes", "secrets", "set", "AWS_ROLE_PROD", "--repo", repo, "--value-from", "plan:AWS_ROLE_PROD",
                    cwd=top)
    assert right.code == 0, right.explain()
    assert {row["name"]: row["status"] for row in _listed(box, top, repo)}["AWS_ROLE_PROD"] == "configured"


def _listed(box: UserSandbox, top: Path, repo: str) -> list[dict[str, str]]:
    listed = _golive(box, "secrets", "list", "--env", "prod", "--json", cwd=top)
    return [s for w in json.loads(listed.out)["workflows"] if w["repo"] == repo for s in w["secrets"]]


def test_down_without_f_stops_the_sandbox_then_says_where_it_looked(box: UserSandbox) -> None:
    top = box.plan.parents[2]
    pid = int(box.status()["pid"])
    nothing = _golive(box, "sandbox", "down", cwd=top, exports=False)  # no exports: the default place
    assert nothing.code == 0 and process_running(pid), nothing.explain()
    assert f"no sandbox running in {top / '.golive' / 'sandbox'}" in nothing.out
    assert f"beside the plan {top / 'golive.yaml'}, from the default" in nothing.out
    down = _golive(box, "sandbox", "down", cwd=top)
    assert down.code == 0, down.explain()
    assert down.out.startswith(f"sandbox stopped (pid {pid}"), down.out
    assert not process_running(pid)
    again = _golive(box, "sandbox", "down", cwd=top)
    assert again.out.strip() == f"no sandbox running in {box.state_dir} (from GOLIVE_SANDBOX); nothing to stop"


def test_a_lost_dispatch_answer_is_one_log_line_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(datetime.fromisoformat("2026-01-10T08:00:00+00:00"))
    with GitHubServer(clock, faults=lambda _at: {("dispatch", "lost")}) as server:
        server.add_repo("acme/app", {".github/workflows/deploy.yml": "on: workflow_dispatch\njobs: {}\n"})
        with caplog.at_level(logging.INFO, logger="werkzeug"), pytest.raises(httpx.TransportError):
            httpx.post(f"{server.url}/repos/acme/app/actions/workflows/deploy.yml/dispatches", json={"ref": "main"},
                       timeout=10)
        assert server.dispatch_count("acme/app", "deploy.yml") == 1  # the run was created; only its answer was lost
    logged = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(logged) == 1, logged
    assert "fault dispatch=lost" in logged[0] and "\n" not in logged[0], logged
    assert "Traceback" not in caplog.text and "start_response" not in caplog.text
