"""The deploy step: dispatch a project's workflow once and watch it, or run its command.

A workflow deploy records its intent and run id through the step's saved
state (``golive.steps.workflow``), so a golive killed while watching
resumes watching the same run and never dispatches again. The engine polls
every few seconds by waiting, not sleeping.

A command deploy runs its argv in a process group of its own, with a
timeout (``golive.providers.shell`` ends the group at the timeout or when
golive is stopped). Its intent (a token put in the command's environment,
the time, then its process group) is saved before it runs, and its exit
right after. A golive that finds the intent without an exit (it was killed,
or stopped mid-command) knows the command did not finish: it says so in one
line, ends whatever of it still runs, and, since a command cut off midway
may have done part of its work, does not run it again by itself: the step
fails for a person to check, unless the plan declares the command
``idempotent: true`` (``terraform apply``), which runs it again; never when
it ran on another host (a PostgreSQL worker there died), since nothing here
can tell whether it still runs. In a
rehearsal a command without ``timeout:`` gets five minutes of wall time, and
once it succeeds the sandbox plays its effect (``SandboxWorld.command_deployed``:
the project's functions get their next version), since the command itself
reached no real AWS.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from golive.clock import parse_instant
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import GoliveError
from golive.evidence.runs import DeployDispatched
from golive.providers import shell
from golive.steps.dependent_undo import undo_dependent
from golive.steps.kind import StepKind, StepParams
from golive.steps.terraform_gate import plan_to_apply
from golive.steps.workflow import dispatch_once, poll

POLL_EVERY = timedelta(seconds=10)
REHEARSAL_TIMEOUT = timedelta(minutes=5)


def _workflow(ctx: StepContext, p: DeployParams) -> Outcome:
    github = ctx.services.require_github()
    assert p.repo is not None and p.workflow is not None and p.ref is not None

    inputs = dict(p.inputs)
    if p.plan_sha_input is not None:
        inputs[p.plan_sha_input] = str(ctx.state["plan_sha256"])
    run_id = dispatch_once(github, ctx.state, p.repo, p.workflow, p.ref, inputs, ctx.save_state,
                           timeout=timedelta(seconds=p.timeout_s))
    if run_id is None:
        return Wait(ctx.now + POLL_EVERY, "dispatched; waiting for GitHub to show the run")
    if not ctx.state.get("announced"):
        ctx.state["announced"] = True
        ctx.save()
        ctx.record(DeployDispatched(subject=p.project, project=p.project, repo=p.repo, workflow=p.workflow,
                                    ref=p.ref, run_id=run_id, url=ctx.state.get("html_url")))
    progress = poll(github, ctx.state, ctx.save_state)
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
    before = _intent(ctx.state)
    if before is not None and "exit_code" in before:  # it ended, but golive stopped before writing the outcome
        return _outcome(p, argv, before, rerun=None)
    rerun, gone = _unfinished(before) if before is not None else (None, True)
    if rerun is not None and not gone:
        return Fail(f"{rerun}; not run again while it may still be running: check it, then finish by hand or run "
                    f"golive deploy --project {p.project}", {"project": p.project, "argv": argv, "unfinished": rerun})
    if rerun is not None and not p.idempotent:
        return Fail(f"{rerun}; not run again, as it may have done part of its work: check it, then finish by hand "
                    f"or run golive deploy --project {p.project} (or declare the deploy idempotent: true)",
                    {"project": p.project, "argv": argv, "unfinished": rerun})
    intent: dict[str, Any] = {"token": uuid.uuid4().hex, "at": ctx.now.isoformat(), "host": socket.gethostname()}
    ctx.state["command"] = intent
    ctx.save()
    try:
        timeout = command_timeout(p, rehearsal=ctx.services.rehearsal)
        result = _run_recorded(ctx, argv, cwd, timeout, intent)
    except GoliveError as exc:
        return Fail(f"deploy command could not start: {exc}")
    output = ctx.services.redact((result.stdout + result.stderr)[-4000:])
    ended = {"exit_code": result.exit_code, "output": output, "seconds": result.duration_s,
             "timed_out": result.timed_out, "group_ended": result.ended}
    played: Callable[[str], None] | None = ctx.services.extras.get("deploy_effect")
    if result.ok and ctx.services.rehearsal and played is not None:
        # The command ran against no real AWS: the sandbox does what it would have (a new Lambda version...).
        played(p.project)
        ended["sandbox_effect"] = True
    intent.update(ended)
    ctx.save()  # its exit, so a golive stopped before writing the outcome does not take it for unfinished
    return _outcome(p, argv, intent, rerun)


def _intent(state: dict[str, Any]) -> dict[str, Any] | None:
    """The saved intent of a command started before (a step of an older golive saved only ``started_at``)."""
    saved = state.get("command")
    if isinstance(saved, dict):
        return saved
    return {"at": state["started_at"]} if "started_at" in state else None


def _run_recorded(ctx: StepContext, argv: list[str], cwd: Path, timeout: float,
                  intent: dict[str, Any]) -> shell.CommandOutcome:
    """Run the command, its group's id saved as soon as it exists; if golive is stopped meanwhile, say so there."""
    running: list[shell.Group] = []

    def started(group: shell.Group) -> None:
        running.append(group)
        intent["pid"] = group.pid
        ctx.save()

    try:
        return shell.run(argv, timeout=timeout, cwd=str(cwd), token=intent["token"], on_start=started)
    except BaseException as stop:
        if running and running[0].ended is not None and not isinstance(stop, Exception):
            # golive is being stopped and shell.run saw the group end (a second stop cuts that short: then the
            # resumed step looks for what is left, as after a kill)
            intent.update(stopped_at=ctx.now.isoformat(), group_ended=running[0].ended)
            with contextlib.suppress(Exception):
                ctx.save()
        raise


def _unfinished(intent: dict[str, Any]) -> tuple[str, bool]:
    """The one line for a command a previous golive started and never saw end, having ended what is left of it;
    and whether golive knows nothing of it still runs (not when it ran on another host, or without /proc)."""
    group = f", process group {intent['pid']}" if "pid" in intent else ""
    at = parse_instant(str(intent["at"])).strftime("%Y-%m-%d %H:%M:%SZ")
    how = f"golive was stopped; process group {intent.get('group_ended')}" if "stopped_at" in intent else \
        "golive was killed"
    line = f"the command started {at}{group} did not finish ({how})"
    token, host = intent.get("token"), intent.get("host")
    ended = "stopped_at" in intent  # golive ended the group itself before it stopped
    if token is None:
        return line, ended
    if host is not None and host != socket.gethostname():
        return f"{line}; it ran on {host}, where golive cannot look from here", ended
    if not shell.can_find_survivors():
        return f"{line}; golive cannot look for what is left of it here (no /proc)", ended
    survivors = shell.end_survivors(str(token))
    return line + (f"; ended {len(survivors)} of its processes still running" if survivors else
                   "; none of it is left"), True


def _outcome(p: DeployParams, argv: list[str], ended: dict[str, Any], rerun: str | None) -> Outcome:
    evidence = {"project": p.project, "argv": argv, **{k: ended[k] for k in ("exit_code", "output", "seconds")},
                **({"sandbox_effect": True} if ended.get("sandbox_effect") else {}),
                **({"group_ended": ended["group_ended"]} if ended.get("group_ended") else {}),
                **({"rerun_after": rerun} if rerun else {})}
    shown = f"{rerun}; run again (idempotent):" if rerun else " ".join(argv)
    if ended["exit_code"] == 0 and not ended.get("timed_out"):
        return Done(f"{shown} succeeded", evidence, kind="deploy", subject=p.project)
    why = f"timed out (process group {ended['group_ended']})" if ended.get("timed_out") else \
        f"exited {ended['exit_code']}"
    return Fail(f"{shown} {why}: {str(ended['output'])[-300:]}", evidence)


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
    plan_sha_input: str | None = None  # the input that receives the SHA-256 of the Terraform plan the gate weighed
    terraform: bool = False  # the project has a Terraform plan: a data-losing one is not deployed unapproved
    plan_tag: str | None = None  # the release tag whose plan is applied (None: the latest plan recorded)
    approve_gate: str | None = None  # the gate a plan's approval names (``golive approve GATE --plan-sha``)
    # command
    argv: list[str] | None = None
    cwd: str | None = None
    idempotent: bool = False
    canary: bool = False  # the project has a canary: that step puts it back, this one owes no undo


def describe(params: DeployParams) -> list[str]:
    weighed = ["not before its Terraform plan is recorded, nor while the plan deletes or replaces data without its "
               "approver's approval of that plan's SHA-256"] if params.terraform or params.plan_sha_input else []
    if params.method == "github_workflow":
        sha = [f"input {params.plan_sha_input}: the SHA-256 of the Terraform plan the gate weighed"] \
            if params.plan_sha_input else []
        return [*weighed,
                f"POST /repos/{params.repo}/actions/workflows/{params.workflow}/dispatches ref={params.ref}", *sha,
                f"GET /repos/{params.repo}/actions/runs/{{run_id}} every 5-10 s until completed"]
    return [*weighed, " ".join(params.argv or [])]


def _weighed_plan(ctx: StepContext, p: DeployParams) -> Fail | None:
    """The project's Terraform plan, chosen once (its hash kept in the step's state): the one the gate weighed. A
    plan that deletes or replaces data is refused without its approval, whatever let this deploy start (a skipped
    gate included); the workflow receives its hash, and the apply job refuses any other plan."""
    if "plan_sha256" in ctx.state:
        return None
    chosen = plan_to_apply(ctx.store, ctx.run.release, ctx.run.env, p.project, p.plan_tag,
                           made_before="the gate, or before the deploy", refused="not deployed",
                           gate=p.approve_gate)
    if isinstance(chosen, str):
        return Fail(chosen)
    summary = chosen
    ctx.state["plan_sha256"] = summary.sha256
    ctx.save()
    return None


def run(ctx: StepContext, params: DeployParams) -> Outcome:
    if params.terraform or params.plan_sha_input is not None:
        refused = _weighed_plan(ctx, params)
        if refused is not None:
            return refused
    return _workflow(ctx, params) if params.method == "github_workflow" else _command(ctx, params)


def owes(params: DeployParams, why: str) -> bool:
    """A deploy owes an undo only when a project it depends on failed (``rollback_dependents``): a batch that
    fails keeps what it deployed, as it always did, and a canary's project is put back by its canary."""
    return why == "dependency" and not params.canary


def compensate(ctx: StepContext, params: DeployParams, reason: str) -> None:
    """Undo the project (a project it depends on failed): its workflow at the previous release tag, or its undo
    command, then its verify (``steps/dependent_undo.py``). Idempotent across crashes."""
    if ctx.owed_for != "dependency" or params.canary:
        return
    undo_dependent(ctx, params.project)


KIND = StepKind("deploy", DeployParams, run, describe, compensate, owes)
