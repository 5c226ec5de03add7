"""The deploy action for a project deployed by a GitHub Actions workflow.

The runbook's ``gh workflow run deploy-prod.yml --ref v1.0.0-prod`` and
``gh run watch``, made resumable. The engine keeps one JSON state dict per
step and calls two functions:

- ``dispatch_once`` writes the intent (a correlation id, the time) through
  ``record`` *before* the POST and the run id right after. Called again
  (a restart, a retry) it never dispatches a second time while a run may
  exist: with a run id it returns it; with only an intent it looks for the
  run by its correlation id, and dispatches again only when the intent is
  old enough that GitHub would long have shown the run.
- ``poll`` reads the run and its jobs once (the engine decides when to
  poll again, every 5–10 s), cancels the run when its time budget is
  spent, and reports progress; a failure names the failed job and step.

The correlation id travels as the ``golive_id`` input when the workflow
declares it, and workflows echo it in their ``run-name``; a workflow that
does not is matched as the dispatch run on the release ref created after
the intent whose id is above every run that existed before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive.clock import parse_instant
from golive.errors import GitHubRequestError
from golive.providers.github import GitHub, Job, Run
from golive.providers.github_yaml import WorkflowFileError, parse_workflow

CORRELATION_INPUT = "golive_id"
FIND_GRACE = timedelta(minutes=3)
Record = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class WorkflowProgress:
    """One look at a run: what the engine stores as evidence and the display shows."""

    run_id: int
    status: str
    conclusion: str | None
    html_url: str
    jobs: tuple[Job, ...]
    failed_job: str | None = None
    failed_step: str | None = None
    timed_out: bool = False

    @property
    def done(self) -> bool:
        return self.status == "completed"

    @property
    def succeeded(self) -> bool:
        return self.done and self.conclusion == "success"

    def summary(self) -> str:
        if not self.done:
            running = [j.name for j in self.jobs if j.status == "in_progress"]
            return f"run {self.run_id} {self.status}" + (f" ({', '.join(running)})" if running else "")
        if self.timed_out:
            return f"run {self.run_id} ran out of time and was cancelled: {self.html_url}"
        if self.conclusion == "success":
            return f"run {self.run_id} succeeded: {self.html_url}"
        where = ""
        if self.failed_job:
            where = f" in job '{self.failed_job}'" + (f", step '{self.failed_step}'" if self.failed_step else "")
        return f"run {self.run_id} concluded {self.conclusion}{where}: {self.html_url}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status, "conclusion": self.conclusion, "html_url": self.html_url,
            "failed_job": self.failed_job, "failed_step": self.failed_step, "timed_out": self.timed_out,
            "jobs": [{"name": j.name, "status": j.status, "conclusion": j.conclusion,
                      "steps": [{"number": s.number, "name": s.name, "status": s.status, "conclusion": s.conclusion}
                                for s in j.steps]} for j in self.jobs],
        }


def _accepts_correlation(github: GitHub, repo: str, workflow: str, ref: str) -> bool:
    path = workflow if "/" in workflow else f".github/workflows/{workflow}"
    try:
        return CORRELATION_INPUT in parse_workflow(github.get_file(repo, path, ref)).dispatch_inputs
    except (GitHubRequestError, WorkflowFileError):
        return False  # the dispatch itself will say what is wrong


def _find(github: GitHub, state: Mapping[str, Any]) -> Run | None:
    since = parse_instant(state["intent_at"])
    if state.get("correlation_in_inputs"):
        return github.find_dispatched_run(state["repo"], state["workflow"], since=since,
                                          correlation=state["correlation_id"])
    candidates = [r for r in github.list_workflow_runs(state["repo"], state["workflow"], since=since)
                  if r.id > int(state.get("runs_before", 0)) and r.head_branch == state["ref"]]
    return min(candidates, key=lambda r: r.id) if candidates else None


def dispatch_once(
    github: GitHub, state: dict[str, Any], repo: str, workflow: str, ref: str, inputs: Mapping[str, str],
    record: Record, *, timeout: timedelta | None = None, new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16],
) -> int | None:
    """The run id of this step's one dispatch; None means "dispatched, not visible yet: call again later"."""
    if state.get("run_id") is not None:
        return int(state["run_id"])
    now = github.clock.now()
    if state.get("correlation_id"):
        found = _find(github, state)
        if found is not None:
            state.update(run_id=found.id, html_url=found.html_url, found="after-restart")
            record(state)
            return found.id
        if now - parse_instant(state["intent_at"]) < FIND_GRACE:
            return None
        # The intent is old and GitHub shows no run: the POST never landed. Dispatch again, same correlation id.
    else:
        correlation_in_inputs = _accepts_correlation(github, repo, workflow, ref)
        before = github.list_workflow_runs(repo, workflow)
        state.update(
            repo=repo, workflow=workflow, ref=ref, correlation_id=f"golive-{new_id()}",
            correlation_in_inputs=correlation_in_inputs, runs_before=max((r.id for r in before), default=0),
        )
        if timeout is not None:
            state["timeout_s"] = timeout.total_seconds()
    state["intent_at"] = now.isoformat()
    record(state)
    sent = dict(inputs)
    if state["correlation_in_inputs"]:
        sent[CORRELATION_INPUT] = state["correlation_id"]
    dispatch = github.dispatch_workflow(
        repo, workflow, ref, sent, correlation=state["correlation_id"] if state["correlation_in_inputs"] else None,
        since=parse_instant(state["intent_at"]),
    )
    state.update(run_id=dispatch.run_id, html_url=dispatch.html_url, found=dispatch.how,
                 dispatched_at=github.clock.now().isoformat())
    record(state)
    return dispatch.run_id


def _failure(jobs: list[Job]) -> tuple[str | None, str | None]:
    for job in jobs:
        if job.conclusion in ("failure", "timed_out", "cancelled"):
            step = next((s.name for s in job.steps if s.conclusion in ("failure", "timed_out", "cancelled")), None)
            return job.name, step
    return None, None


def poll(github: GitHub, state: dict[str, Any], record: Record | None = None) -> WorkflowProgress:
    """One look at the recorded run; cancels it once its time budget (``timeout`` at dispatch) is spent."""
    repo, run_id = state["repo"], int(state["run_id"])
    run = github.get_run(repo, run_id)
    jobs = github.list_run_jobs(repo, run_id)
    timed_out = bool(state.get("cancelled_for_timeout"))
    if run.status != "completed" and state.get("timeout_s") is not None and not timed_out:
        started: datetime = parse_instant(state.get("dispatched_at") or state["intent_at"])
        if github.clock.now() - started > timedelta(seconds=float(state["timeout_s"])):
            github.cancel_run(repo, run_id)
            state["cancelled_for_timeout"] = True
            if record is not None:
                record(state)
            timed_out = True
            run = github.get_run(repo, run_id)
            jobs = github.list_run_jobs(repo, run_id)
    failed_job, failed_step = _failure(jobs) if run.status == "completed" and run.conclusion != "success" else (None, None)
    return WorkflowProgress(run.id, run.status, run.conclusion, run.html_url, tuple(jobs), failed_job, failed_step,
                            timed_out)
