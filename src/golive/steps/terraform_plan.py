"""The ``terraform_plan`` step: a project's Terraform plan, made once at the release tag and summarized before GO.

A schema repository's deploy runs ``terraform apply``; what that apply will destroy is only visible in the
plan. This step makes the plan before the gate and records its summary (``TerraformPlanSummary``), which
the gate's ``terraform`` requirement weighs and the deploy hands to the apply job as the approved hash.

Two ways, as the project's ``terraform:`` says:

- ``plan_workflow`` + ``artifact``: in a release run the release tag is made sure of in the project's repository
  (the same annotated tag prep makes, idempotent; the gate comes before prep, and the plan is of the tag); a
  by-hand ``golive gate`` or ``golive deploy`` never tags (the runbook tags first: GitHub's "No ref found" says to run
  ``golive tag``). The workflow is dispatched at it exactly once (the deploy's
  ``dispatch_once``: intent before the POST, looked for before ever posting again), watched, and the
  artifact is downloaded through GitHub's REST artifacts API (``GET .../actions/runs/{run_id}/artifacts``,
  then ``GET .../actions/artifacts/{artifact_id}/zip``). The JSON file is the archive's ``file`` (default:
  its only ``.json`` file).
- ``plan_command``: a local argv that prints ``terraform show -json`` output (read-only, so a resumed step
  runs it again).

The plan of a tag is made once: a later run (after a NO-GO and an approval, or ``golive gate`` by hand)
finds it recorded and weighs the same plan again, so its approval holds (Terraform's own JSON carries the
time it was made: planning again would always give another hash). A new tag plans anew. A plan that cannot
be made or read fails the step, and so the run, before GO; it is made again next time.
"""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import GitHubRequestError, GoliveError
from golive.evidence.terraform import TerraformPlanSummary
from golive.providers import shell
from golive.providers.github import GitHub
from golive.steps.kind import StepKind, StepParams
from golive.steps.terraform_gate import latest_summary
from golive.steps.workflow import dispatch_once, poll
from golive.tfplan import DATA_TYPES, PLAN_MAX_BYTES, PlanJsonError, PlanSummary, summarize

POLL_EVERY = timedelta(seconds=10)


class TerraformPlanParams(StepParams):
    project: str
    method: Literal["workflow", "command"]
    tag: str
    approver: str
    data_types: list[str] = Field(default_factory=lambda: list(DATA_TYPES))
    timeout_s: float = 1200.0
    # workflow
    repo: str | None = None
    ref: str | None = None  # where the release tag goes if it is not there yet (default: the default branch)
    tag_message: str | None = None
    # Only a release run (``golive run``/``rehearse``), whose plan holds the tag step, makes a missing tag here; a
    # by-hand ``golive deploy`` plans at the tag ``golive tag`` made (the runbook tags first) or fails on its absence.
    create_tag: bool = True
    workflow: str | None = None
    artifact: str | None = None
    file: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    # command
    argv: list[str] | None = None
    cwd: str | None = None


def describe(params: TerraformPlanParams) -> list[str]:
    if params.method == "workflow":
        lines = [f"POST /repos/{params.repo}/git/tags + /git/refs refs/tags/{params.tag} (if not there yet)"]
        if not params.create_tag:
            lines = []
        lines += [f"POST /repos/{params.repo}/actions/workflows/{params.workflow}/dispatches ref={params.tag} (once)",
                  f"GET /repos/{params.repo}/actions/runs/{{run_id}} every 5-10 s until completed",
                  f"GET /repos/{params.repo}/actions/runs/{{run_id}}/artifacts?name={params.artifact}",
                  f"GET /repos/{params.repo}/actions/artifacts/{{artifact_id}}/zip"
                  + (f" → {params.file}" if params.file else " → its .json file")]
    else:
        lines = [" ".join(params.argv or []) + " (prints terraform show -json)"]
    extra = [t for t in params.data_types if t not in DATA_TYPES]
    return [*lines, f"summary: creates, updates, deletes, replaces; data-holding deletes and replaces need "
                    f"{params.approver}'s approval of the plan's SHA-256"
            + (f" (also holding data: {', '.join(extra)})" if extra else "")]


def _json_from_zip(archive: bytes, file: str | None, artifact: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            names = [n for n in opened.namelist() if not n.endswith("/")]
            if file is not None:
                if file not in names:
                    raise PlanJsonError(f"artifact {artifact} has no file {file} (files: {', '.join(names) or 'none'})")
                chosen = file
            else:
                found = [n for n in names if n.endswith(".json")]
                if len(found) != 1:
                    raise PlanJsonError(f"artifact {artifact} holds {len(found)} .json files ({', '.join(names)}): "
                                        "name the plan's with terraform.file")
                chosen = found[0]
            info = opened.getinfo(chosen)
            if info.file_size > PLAN_MAX_BYTES:
                raise PlanJsonError(f"{chosen} in artifact {artifact} is {info.file_size} bytes, more than golive reads")
            return opened.read(chosen)
    except zipfile.BadZipFile as exc:
        raise PlanJsonError(f"artifact {artifact} is not a zip archive ({exc})") from None


def _record(p: TerraformPlanParams, summary: PlanSummary, source: str) -> Done:
    record = TerraformPlanSummary(
        subject=p.project, outcome="data_changes" if summary.data_changes else "no_data_changes", project=p.project,
        sha256=summary.sha256, tag=p.tag, source=source,
        format_version=summary.format_version, terraform_version=summary.terraform_version,
        creates=summary.creates, updates=summary.updates, deletes=summary.deletes, replaces=summary.replaces,
        data_changes=tuple({"address": c.address, "type": c.type, "action": c.action} for c in summary.data_changes),
        approver=p.approver)
    changes = "; ".join(c.line() for c in summary.data_changes)
    line = f"plan {summary.sha256[:12]}: {summary.counts}" + (f"; data: {changes}" if changes else "")
    return Done(line, record.to_data(), outcome=str(record.outcome), kind=record.kind, subject=p.project)


def _ensure_tag(github: GitHub, p: TerraformPlanParams) -> None:
    assert p.repo is not None
    if github.get_tag(p.repo, p.tag) is not None:
        return
    ref = p.ref or github.get_repo(p.repo).default_branch
    github.create_annotated_tag(p.repo, p.tag, github.resolve_commit(p.repo, ref), p.tag_message or p.tag)


def _workflow(ctx: StepContext, p: TerraformPlanParams) -> Outcome:
    github = ctx.services.require_github()
    assert p.repo is not None and p.workflow is not None and p.artifact is not None

    if ctx.state.get("correlation_id") is None and p.create_tag:
        try:
            _ensure_tag(github, p)
        except GitHubRequestError as exc:
            return Fail(f"the plan of {p.project} needs the release tag {p.tag} in {p.repo}: {exc}")
    run_id = dispatch_once(github, ctx.state, p.repo, p.workflow, p.tag, p.inputs, ctx.save_state,
                           timeout=timedelta(seconds=p.timeout_s))
    if run_id is None:
        return Wait(ctx.now + POLL_EVERY, "plan dispatched; waiting for GitHub to show the run")
    progress = poll(github, ctx.state, ctx.save_state)
    if not progress.done:
        return Wait(ctx.now + POLL_EVERY, f"terraform plan run {run_id} {progress.status}")
    if not progress.succeeded:
        return Fail(f"the Terraform plan of {p.project} did not succeed: {p.workflow} {progress.summary()}",
                    {"project": p.project, **progress.to_dict()})
    found = [a for a in github.list_run_artifacts(p.repo, run_id, p.artifact) if a.name == p.artifact]
    if not found:
        return Fail(f"{p.workflow} run {run_id} uploaded no artifact {p.artifact} ({progress.html_url})",
                    {"project": p.project, "run_id": run_id})
    artifact = found[-1]
    if artifact.expired:
        return Fail(f"artifact {p.artifact} of {p.workflow} run {run_id} has expired", {"project": p.project})
    try:
        raw = _json_from_zip(github.download_artifact(p.repo, artifact.id), p.file, p.artifact)
        summary = summarize(raw, p.data_types)
    except PlanJsonError as exc:
        return Fail(f"the Terraform plan of {p.project} ({p.workflow} run {run_id}): {exc}", {"project": p.project})
    return _record(p, summary, f"{p.workflow} run {run_id} ({progress.html_url})")


def _command(ctx: StepContext, p: TerraformPlanParams) -> Outcome:
    argv = p.argv or []
    workdir = Path(ctx.services.extras.get("workdir", "."))
    cwd = workdir / p.cwd if p.cwd else workdir
    try:
        result = shell.run(argv, timeout=p.timeout_s, cwd=str(cwd))
    except GoliveError as exc:
        return Fail(f"the Terraform plan command of {p.project} could not start: {exc}")
    shown = " ".join(argv)
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited {result.exit_code}"
        return Fail(f"the Terraform plan command of {p.project} ({shown}) {why}: "
                    f"{ctx.services.redact(result.stderr[-300:])}", {"project": p.project, "argv": argv})
    try:
        summary = summarize(result.stdout.encode("utf-8"), p.data_types)
    except PlanJsonError as exc:
        return Fail(f"the Terraform plan of {p.project} ({shown}): {exc}", {"project": p.project, "argv": argv})
    return _record(p, summary, shown)


def run(ctx: StepContext, params: TerraformPlanParams) -> Outcome:
    if ctx.state.get("correlation_id") is None:
        # The plan of this project already made at this tag (by an earlier run or ``golive gate``), if any.
        before = latest_summary(ctx.store, ctx.run.release, ctx.run.env, params.project, params.tag)
        if before is not None:
            # Once per tag: a plan made again has another hash (Terraform's JSON carries its time), so an approval
            # could never carry over; the plan of a tag stands until a new tag. Drift since is Terraform's to refuse
            # ("Saved plan is stale") when the apply job applies that saved plan.
            line = f"plan {before.sha256[:12]} made at {params.tag} before ({before.source}): reused"
            return Done(line, before.to_data(), outcome=str(before.outcome), kind=before.kind, subject=params.project)
    return _workflow(ctx, params) if params.method == "workflow" else _command(ctx, params)


KIND = StepKind("terraform_plan", TerraformPlanParams, run, describe)
