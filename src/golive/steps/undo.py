"""The undo step: a project without a canary put back, by its workflow at an earlier tag or by its undo command.

``golive rollback PROJECT`` runs it (``runs/undo.py``) in a run of its own, followed by the project's own
``verify:``. A redeploy is a workflow dispatch like any deploy: ``dispatch_once`` records the intent (a
correlation id) before the POST and the run id after, and looks for its run before it would post again, so a
golive killed anywhere resumes watching the same run and the workflow is dispatched once. A command saves
its intent (a token in its environment) before it runs and its exit right after; a golive that finds the
intent without an exit ends what is left of the command and does not run it again by itself: an undo cut off
midway may have done part of its work, and a person decides. Either way the result is one ``Undone`` record.

A project with ``terraform:`` applies a plan in its deploy workflow, so its redeploy does too: the undo run
makes that project's plan at the earlier tag first (the ``terraform_plan`` step, once per tag), and this step
refuses a plan that deletes or replaces data without its approver's approval of that hash (``golive approve
GATE --plan-sha``, as for a release), and sends the hash as the workflow's plan input.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from golive.clock import parse_instant
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import GoliveError, UsageError
from golive.evidence.rollback import Undone
from golive.plan.model import TerraformSpec
from golive.plan.undo import CommandUndo, RedeployUndo, previous_tag
from golive.providers import shell
from golive.steps.kind import StepKind, StepParams
from golive.steps.terraform_gate import plan_to_apply
from golive.steps.workflow import dispatch_once, poll

POLL_EVERY = timedelta(seconds=10)


def run_kind(project: str) -> str:
    """The kind of the run that undoes ``project`` (one active at a time per release and environment)."""
    return f"undo.{project}"


class UndoParams(StepParams):
    project: str
    method: Literal["redeploy", "command"]
    timeout_s: float
    # redeploy
    repo: str | None = None
    workflow: str | None = None
    tag: str | None = None
    release_tag: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    terraform: bool = False  # the project applies a Terraform plan: the plan made at ``tag`` before this step
    plan_sha_input: str | None = None  # the workflow input that receives that plan's SHA-256
    approve_gate: str | None = None  # the gate a plan's approval names (``golive approve GATE --plan-sha``)
    # command
    argv: list[str] | None = None
    cwd: str | None = None
    data_loss_why: str | None = None


# One look at an undo: not over yet, failed before it could act, or over with its record and a line.
Attempt = Wait | Fail | tuple[Undone, str]


def params_for(how: RedeployUndo | CommandUndo, tag: str | None, *, terraform: TerraformSpec | None = None,
               approve_gate: str | None = None) -> UndoParams:
    """The undo step's parameters for a project's undo (a redeploy at ``tag``, looked up by the caller; with the
    project's ``terraform`` the plan made at that tag is weighed and its hash sent)."""
    if isinstance(how, RedeployUndo):
        return UndoParams(project=how.project, method="redeploy", timeout_s=how.timeout.total_seconds(),
                          repo=how.repo, workflow=how.workflow, tag=tag, release_tag=how.release_tag,
                          inputs=how.inputs, terraform=terraform is not None,
                          plan_sha_input=terraform.sha_input if terraform is not None else None,
                          approve_gate=approve_gate)
    return UndoParams(project=how.project, method="command", timeout_s=how.timeout.total_seconds(),
                      argv=list(how.argv), cwd=how.cwd, data_loss_why=how.data_loss_why)


def tag_of(services: Services, undo: RedeployUndo) -> str:
    """The tag a redeploy goes back to: the plan's ``undo.tag``, or the newest release tag of the repository
    older than the release's (``GET /repos/{owner}/{repo}/tags``)."""
    if undo.tag is not None:
        return undo.tag
    names = [name for name, _ in services.require_github().list_tags(undo.repo)]
    found = previous_tag(undo.release_tag, names)
    if found is None:
        shown = ", ".join(sorted(names)[-10:]) or "none"
        raise UsageError(f"{undo.project}: {undo.repo} has no release tag older than {undo.release_tag} (its tags: "
                         f"{shown}); name the one to redeploy in the plan: undo: {{tag: ...}}")
    return found


def _done(p: UndoParams, record: Undone, summary: str) -> Outcome:
    if record.outcome == "undone":
        return Done(summary, record.to_data(), outcome="undone", kind=Undone.kind, subject=p.project)
    return Fail(summary, record.to_data())


def _redeploy(ctx: StepContext, p: UndoParams) -> Attempt:
    github = ctx.services.require_github()
    assert p.repo is not None and p.workflow is not None and p.tag is not None

    inputs = dict(p.inputs)
    if p.terraform and ctx.state.get("plan_sha256") is None:
        chosen = plan_to_apply(ctx.store, ctx.run.release, ctx.run.env, p.project, p.tag,
                               made_before="the redeploy", refused="not redeployed", gate=p.approve_gate)
        if isinstance(chosen, str):
            return Fail(f"{chosen}; then golive rollback {p.project} --again --why \"...\"", {"project": p.project})
        ctx.save_state({"plan_sha256": chosen.sha256})
    if p.plan_sha_input is not None:
        inputs[p.plan_sha_input] = str(ctx.state["plan_sha256"])
    run_id = dispatch_once(github, ctx.state, p.repo, p.workflow, p.tag, inputs, ctx.save_state,
                           timeout=timedelta(seconds=p.timeout_s))
    if run_id is None:
        return Wait(ctx.now + POLL_EVERY, "dispatched; waiting for GitHub to show the run")
    progress = poll(github, ctx.state, ctx.save_state)
    if not progress.done:
        return Wait(ctx.now + POLL_EVERY, f"undo: workflow run {run_id} at {p.tag} {progress.status}")
    began = parse_instant(str(ctx.state.get("dispatched_at") or ctx.state["intent_at"]))
    undone = Undone(subject=p.project, outcome="undone" if progress.succeeded else "undo_failed", project=p.project,
                    method="redeploy", reason=f"redeploy {p.tag}", tag=p.tag, workflow=p.workflow, run_id=run_id,
                    url=progress.html_url, seconds=round((ctx.now - began).total_seconds(), 3))
    return undone, f"{p.workflow} at {p.tag}: {progress.summary()}"


def _command(ctx: StepContext, p: UndoParams) -> Attempt:
    argv = p.argv or []
    saved = ctx.state.get("command")
    if isinstance(saved, dict) and "exit_code" not in saved:
        left = shell.end_survivors(str(saved["token"])) if shell.can_find_survivors() else []
        at = parse_instant(str(saved["at"])).strftime("%Y-%m-%d %H:%M:%SZ")
        ended = f"; ended {len(left)} of its processes still running" if left else ""
        return Fail(f"the undo command started {at} did not finish{ended}; not run again, as it may have done part "
                    f"of its work: check it, then golive rollback {p.project} --again --why \"...\"",
                    {"project": p.project, "argv": argv})
    if not isinstance(saved, dict):
        saved = {"token": uuid.uuid4().hex, "at": ctx.now.isoformat()}
        ctx.state["command"] = saved
        ctx.save()
        workdir = Path(ctx.services.extras.get("workdir", "."))
        began = time.perf_counter()
        try:
            result = shell.run(argv, timeout=p.timeout_s, cwd=str(workdir / p.cwd if p.cwd else workdir),
                               token=str(saved["token"]))
        except GoliveError as exc:
            return Fail(f"undo command could not start: {exc}", {"project": p.project, "argv": argv})
        saved.update(exit_code=result.exit_code if not result.timed_out else None, timed_out=result.timed_out,
                     output=ctx.services.redact((result.stdout + result.stderr)[-2000:]),
                     seconds=round(time.perf_counter() - began, 3))
        ctx.state["command"] = saved
        ctx.save()
    ok = saved.get("exit_code") == 0 and not saved.get("timed_out")
    undone = Undone(subject=p.project, outcome="undone" if ok else "undo_failed", project=p.project, method="command",
                    reason=" ".join(argv), argv=tuple(argv), exit_code=saved.get("exit_code"),
                    output=str(saved.get("output", "")), seconds=saved.get("seconds"))
    how = "succeeded" if ok else "timed out" if saved.get("timed_out") else f"exited {saved.get('exit_code')}"
    return undone, f"{' '.join(argv)} {how}" + ("" if ok else f": {str(saved.get('output', ''))[-300:]}")


def describe(p: UndoParams) -> list[str]:
    if p.method == "redeploy":
        weighed = [f"the Terraform plan made at {p.tag}: not redeployed while it deletes or replaces data without its "
                   "approver's approval of its SHA-256"] if p.terraform else []
        sha = [f"input {p.plan_sha_input}: that plan's SHA-256"] if p.plan_sha_input else []
        return [*weighed, f"POST /repos/{p.repo}/actions/workflows/{p.workflow}/dispatches ref={p.tag} "
                f"(the release before {p.release_tag}), once", *sha,
                f"GET /repos/{p.repo}/actions/runs/{{run_id}} every 5-10 s until completed"]
    loss = [f"loses data: {p.data_loss_why}"] if p.data_loss_why else []
    return [" ".join(p.argv or []), *loss]


def attempt(ctx: StepContext, params: UndoParams) -> Attempt:
    """One look at the undo (the dispatch once, then its run; or the command once): what ``run`` answers, with
    the ``Undone`` record itself once it is over, for a caller that records it its own way."""
    return _redeploy(ctx, params) if params.method == "redeploy" else _command(ctx, params)


def run(ctx: StepContext, params: UndoParams) -> Outcome:
    got = attempt(ctx, params)
    return _done(params, *got) if isinstance(got, tuple) else got


KIND = StepKind("undo", UndoParams, run, describe)
