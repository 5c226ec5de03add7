"""Issue 23's reproduction: a P1 open, golive killed at the NO-GO line, the same command again: still NO-GO, nothing done.

Real processes throughout, as an operator would run them: the sandbox
daemon (the bbws plan on a shorter timeline), ``golive incident open
--severity P1``, then ``golive rehearse --sandbox D``, killed with SIGKILL
the moment it prints the ``✗`` line of ``go_no_go`` (``crash_runner.py``
kills it from inside at that line, so the kill cannot land a little later),
then ``golive rehearse --sandbox D`` again, which the README says resumes.
The resumed rehearsal must end NO-GO and the world must be as before the
release: no secret set, no tag (but where a Terraform plan before the gate needs it), no deploy workflow
dispatched or deploy applied,
no alias moved or weighted; in the store no step after the gate started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_harness import RUNNER, world_state

from golive.plan.validate import load_plan
from golive.sandbox import daemon
from golive.sandbox.daemon import SandboxInfo
from golive.store.statuses import RunStatus, StepStatus, exit_code_of
from golive.store.store import Store
from short_plan import write_short_plan

NO_GO_LINE = "✗ go_no_go"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, SandboxInfo]]:
    plan_path = write_short_plan(tmp_path / "plan")
    state = tmp_path / "sandbox"
    try:
        yield plan_path, daemon.start_world_detached(state, plan_path, "prod", seed=7, follow_release=True)
    finally:
        daemon.stop(state)


def golive(plan_path: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, *((str(RUNNER), "golive") if crash_at else ("-m", "golive")), "-f", str(plan_path), *args]
    env = {"GOLIVE_CRASH_AT": crash_at} if crash_at else {}
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **env})


@pytest.mark.slow
def test_a_rehearsal_killed_at_its_no_go_line_resumes_into_no_go_with_nothing_done(
        sandbox: tuple[Path, SandboxInfo]) -> None:
    plan_path, info = sandbox
    plan = load_plan(plan_path)
    db = f"sqlite:///{info.state_dir / 'rehearsal.db'}"  # where ``rehearse --sandbox`` keeps its store
    opened = golive(plan_path, "--db", db, "incident", "open", "--severity", "P1", "--title", "payments degraded")
    assert opened.returncode == 0, opened.stderr
    before = world_state(info, plan, "prod")

    killed = golive(plan_path, "rehearse", "--sandbox", str(info.state_dir), crash_at=f"line:{NO_GO_LINE}")
    assert killed.returncode == -9, (killed.stdout, killed.stderr)
    assert NO_GO_LINE in killed.stderr and "incidents: open P1" in killed.stderr, killed.stderr

    resumed = golive(plan_path, "rehearse", "--sandbox", str(info.state_dir))
    assert "Traceback" not in resumed.stderr, resumed.stderr
    assert f"rehearsal: {RunStatus.NO_GO}" in resumed.stdout, (resumed.stdout, resumed.stderr[-3000:])
    assert resumed.returncode == exit_code_of(RunStatus.NO_GO) == 1

    after = world_state(info, plan, "prod")
    # ``dispatches`` counts deploy workflows only: the Terraform plan workflows run before the gate (reads). Their
    # plan is of the release tag, so a release run makes that tag before its gate in those repositories alone.
    assert after.deploys == [] and set(after.dispatches.values()) == {0}, after
    planned = {p.repo for p in plan.projects.values() if p.terraform is not None and p.terraform.plan_workflow}
    assert planned and {repo for repo, tagged in after.tags.items() if tagged} == planned, after.tags
    assert after.secrets == before.secrets
    assert after.aliases == before.aliases
    assert not any(weights for _, weights in after.aliases.values())
    store = Store.open(db)
    try:
        (run,) = store.runs(plan.release, "prod", "release")
        steps = store.steps(run.id)
    finally:
        store.close()
    assert run.status == RunStatus.NO_GO
    gate = next(i for i, s in enumerate(steps) if s.key == "gate.go_no_go")
    assert steps[gate].status == StepStatus.FAILED
    assert [s.key for s in steps[gate + 1:] if s.started_at is not None] == []
