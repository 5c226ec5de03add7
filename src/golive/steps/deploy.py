"""The deploy step: dispatch a project's workflow once and watch it, or run its command.

A workflow deploy records its intent and run id through the step's saved
state (``golive.steps.workflow``), so a golive killed while watching
resumes watching the same run and never dispatches again. The engine polls
every few seconds by waiting, not sleeping. A command deploy runs its argv
with a timeout; it is recorded as started before it runs, and a deploy
command is expected to be idempotent (``terraform apply``, ``sam deploy``),
since a process killed mid-command cannot know how far it got. In a
rehearsal a command without ``timeout:`` gets five minutes of wall time, and
once it succeeds the sandbox plays its effect (``SandboxWorld.command_deployed``:
the project's functions get their next version), since the command itself
reached no real AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import GoliveError
from golive.evidence.runs import DeployDispatched
from golive.providers import shell
from golive.steps.kind import StepKind, StepParams
from golive.steps.workflow import dispatch_once, poll

POLL_EVERY = timedelta(seconds=10)
REHEARSAL_TIMEOUT = timedelta(minutes=5)


def _workflow(ctx: StepContext, p: DeployParams) -> Outcome:
    github = ctx.services.require_github()
    assert p.repo is not None and p.workflow is not None and p.ref is not None

    def record(state: dict[str, object]) -> None:
        ctx.state.update(state)
        ctx.save()

    run_id = dispatch_once(github, ctx.state, p.repo, p.workflow, p.ref, p.inputs, record,
                           timeout=timedelta(seconds=p.timeout_s))
    if run_id is None:
        return Wait(ctx.now + POLL_EVERY, "dispatched; waiting for GitHub to show the run")
    if not ctx.state.get("announced"):
        ctx.state["announced"] = True
        ctx.save()
        ctx.record(DeployDispatched(subject=p.project, project=p.project, repo=p.repo, workflow=p.workflow,
                                    ref=p.ref, run_id=run_id, url=ctx.state.get("html_url")))
    progress = poll(github, ctx.state, record)
    if not progress.done:
        running = [j.name for j in progress.jobs if j.status == "in_progress"]
        return Wait(ctx.now + POLL_EVERY, f"workflow run {run_id} {progress.status}"
                    + (f" ({', '.join(running)})" if running else ""))
    evidence = {"project": p.project, "run_id": run_id, "url": progress.html_url, **progress.to_dict()}
    if progress.succeeded:
        return Done(f"{p.workflow} run {run_id} succeeded: {progress.html_url}", evidence, kind="deploy",
                    subject=p.project)
    return Fail(f"{p.workflow} run {run_id} {progress.summary()} ({progress.html_url})", evidence)


def command_timeout(p: DeployParams, *, rehearsal: bool) -> float:
    """The plan's ``timeout``; in a rehearsal without one, a few minutes of wall time rather than half an hour."""
    if rehearsal and not p.timeout_planned:
        return REHEARSAL_TIMEOUT.total_seconds()
    return p.timeout_s


def _command(ctx: StepContext, p: DeployParams) -> Outcome:
    argv = p.argv or []
    workdir = Path(ctx.services.extras.get("workdir", "."))
    cwd = workdir / p.cwd if p.cwd else workdir
    ctx.state["started_at"] = ctx.now.isoformat()
    ctx.save()
    try:
        timeout = command_timeout(p, rehearsal=ctx.services.rehearsal)
        result = shell.run(argv, timeout=timeout, cwd=str(cwd))
    except GoliveError as exc:
        return Fail(f"deploy command could not start: {exc}")
    output = ctx.services.redact((result.stdout + result.stderr)[-4000:])
    evidence = {"project": p.project, "argv": argv, "exit_code": result.exit_code, "output": output,
                "seconds": result.duration_s}
    played: Callable[[str], None] | None = ctx.services.extras.get("deploy_effect")
    if result.ok and ctx.services.rehearsal and played is not None:
        # The command ran against no real AWS: the sandbox does what it would have (a new Lambda version...).
        played(p.project)
        evidence["sandbox_effect"] = True
    if result.ok:
        return Done(f"{' '.join(argv)} succeeded", evidence, kind="deploy", subject=p.project)
    why = "timed out" if result.timed_out else f"exited {result.exit_code}"
    return Fail(f"{' '.join(argv)} {why}: {output[-300:]}", evidence)


class DeployParams(StepParams):
    project: str
    method: Literal["github_workflow", "command"]
    timeout_s: float
    timeout_planned: bool = True  # the plan set the timeout (False: golive's default, shorter in a rehearsal)
    # github_workflow
    repo: str | None = None
    workflow: str | None = None
    ref: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    # command
    argv: list[str] | None = None
    cwd: str | None = None


def describe(params: DeployParams) -> list[str]:
    if params.method == "github_workflow":
        return [f"POST /repos/{params.repo}/actions/workflows/{params.workflow}/dispatches ref={params.ref}",
                f"GET /repos/{params.repo}/actions/runs/{{run_id}} every 5-10 s until completed"]
    return [" ".join(params.argv or [])]


def run(ctx: StepContext, params: DeployParams) -> Outcome:
    return _workflow(ctx, params) if params.method == "github_workflow" else _command(ctx, params)


KIND = StepKind("deploy", DeployParams, run, describe)
