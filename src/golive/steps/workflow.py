"""The deploy action for a project deployed by a GitHub Actions workflow.

The runbook's ``gh workflow run deploy-prod.yml --ref v1.0.0-prod`` and
``gh run watch``, made resumable. The engine keeps one JSON state dict per
step and calls two functions:

- ``dispatch_once`` writes the intent (a correlation id, the time) through
  ``record`` *before* the POST and the run id right after. After any doubt
  (a lost answer, a 5xx, a restart that finds an intent and no run id) it
  looks for the run before it would ever post again: the run whose title
  shows the correlation id, else (a workflow whose ``run-name`` does not
  show it) the one dispatch run on the release ref created since the
  intent. While GitHub may still be about to show the run it waits. When
  runs are there but none can be told to be golive's, it never posts
  again: ``DispatchUnconfirmed`` (exit 3) names the workflow, the window
  and the candidates, and the operator answers with ``--confirm-run ID``
  or ``--redispatch --why``. Only when GitHub shows no run at all on the
  ref since the intent, long after it, did the POST never land, and the
  same intent is posted once more. ``find_dispatched`` is that look, for
  whoever else must know the run of an intent (a dependent's undo waits
  for its forward run to end, ``steps/dependent_undo.py``).
- ``poll`` reads the run and its jobs once (the engine decides when to
  poll again, every 5–10 s), cancels the run when its time budget is
  spent, and reports progress; a failure names the failed job and step.

The correlation id travels as the ``golive_id`` input when the workflow
declares it; ``correlation_in_inputs`` records whether the workflow's
``run-name`` at the release ref shows it (``github_workflow`` warns when not).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive.clock import parse_instant
from golive.errors import GitHubError, GitHubRequestError
from golive.providers.github import CLOCK_SKEW, GitHub, Job, Run
from golive.providers.github_yaml import CORRELATION_INPUT, WorkflowFileError, parse_workflow, run_name_shows

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


class DispatchUnconfirmed(GitHubError):
    """Runs appeared after a doubtful dispatch and none can be told to be golive's: never dispatch again."""

    def __init__(self, state: Mapping[str, Any], candidates: list[Run], until: datetime) -> None:
        self.candidates = candidates
        since = parse_instant(state["intent_at"]) - CLOCK_SKEW
        runs = ", ".join(f"{r.id} ({r.display_title or r.name}, {r.created_at:%H:%M:%S}Z, {r.html_url})"
                         for r in candidates)
        # What is in doubt, without what to do about it (that depends on who meets it: a deploy, an undo).
        self.doubt = (f"cannot tell which run of {state['workflow']} on {state['ref']} created "
                      f"{since:%Y-%m-%d %H:%M:%S}Z..{until:%H:%M:%S}Z is golive's dispatch {state['correlation_id']} "
                      f"(candidates: {runs})")
        super().__init__(
            "POST", f"/repos/{state['repo']}/actions/workflows/{state['workflow']}/dispatches",
            f"{self.doubt}; golive will not dispatch again: confirm one with --confirm-run ID, or dispatch anew "
            "with --redispatch --why \"...\"")


def _correlation(github: GitHub, repo: str, workflow: str, ref: str) -> tuple[bool, bool]:
    """Whether the workflow at ``ref`` declares the correlation input, and whether its runs' titles show it."""
    path = workflow if "/" in workflow else f".github/workflows/{workflow}"
    try:
        parsed = parse_workflow(github.get_file(repo, path, ref))
    except (GitHubRequestError, WorkflowFileError):
        return False, False  # the dispatch itself will say what is wrong
    declared = CORRELATION_INPUT in parsed.dispatch_inputs
    return declared, declared and run_name_shows(parsed.run_name, CORRELATION_INPUT)


def _look(github: GitHub, state: Mapping[str, Any]) -> tuple[Run | None, list[Run]]:
    """The run of this intent if it can be identified, and the runs it could be (created since, on the ref)."""
    since = parse_instant(state["intent_at"])
    runs = [r for r in github.list_workflow_runs(state["repo"], state["workflow"], since=since, branch=state["ref"])
            if r.id > int(state.get("runs_before", 0)) and r.head_branch == state["ref"]]
    if state.get("correlation_in_inputs"):
        mine = [r for r in runs if state["correlation_id"] in r.display_title or state["correlation_id"] in (r.name or "")]
        return (min(mine, key=lambda r: r.id) if mine else None), runs
    return (runs[0] if len(runs) == 1 else None), runs


@dataclass(frozen=True)
class Sought:
    """One look for the run of an intent whose run id is not saved: the run; or none yet, while GitHub may still
    show it (``look_until``: the intent's ``FIND_GRACE`` ends); or neither, long after the intent, with no run at
    all on the ref since (the POST never landed)."""

    run: Run | None = None
    look_until: datetime | None = None


def find_dispatched(github: GitHub, state: Mapping[str, Any]) -> Sought:
    """The run of the intent recorded in ``state`` (its correlation id, ``intent_at``), looked for as after a
    restart; raises ``DispatchUnconfirmed`` when runs are there past ``FIND_GRACE`` and none can be told to be
    golive's."""
    now = github.clock.now()
    found, candidates = _look(github, state)
    if found is not None:
        return Sought(run=found)
    grace_ends = parse_instant(state["intent_at"]) + FIND_GRACE
    if now < grace_ends:
        return Sought(look_until=grace_ends)
    if candidates:
        raise DispatchUnconfirmed(state, candidates, now)
    return Sought()


def _new_intent(github: GitHub, state: dict[str, Any], repo: str, workflow: str, ref: str,
                timeout: timedelta | None, new_id: Callable[[], str]) -> None:
    before = github.list_workflow_runs(repo, workflow)
    declared, shown = _correlation(github, repo, workflow, ref)
    state.update(
        repo=repo, workflow=workflow, ref=ref, correlation_id=f"golive-{new_id()}", correlation_declared=declared,
        correlation_in_inputs=shown, runs_before=max((r.id for r in before), default=0),
    )
    if timeout is not None:
        state["timeout_s"] = timeout.total_seconds()


def dispatch_once(
    github: GitHub, state: dict[str, Any], repo: str, workflow: str, ref: str, inputs: Mapping[str, str],
    record: Record, *, timeout: timedelta | None = None, new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:16],
) -> int | None:
    """The run id of this step's one dispatch; None means "dispatched, not visible yet: call again later"."""
    if state.get("run_id") is not None:
        return int(state["run_id"])
    now = github.clock.now()
    if state.get("redispatch"):
        # The operator looked at the candidates and asked for a new dispatch (recorded with their reason).
        state.setdefault("redispatched", []).append({**state.pop("redispatch"), "previous": state["correlation_id"]})
        _new_intent(github, state, repo, workflow, ref, timeout, new_id)
    elif state.get("correlation_id"):
        sought = find_dispatched(github, state)
        if sought.run is not None:
            state.update(run_id=sought.run.id, html_url=sought.run.html_url, found="after-restart")
            record(state)
            return sought.run.id
        if sought.look_until is not None:
            return None
        # Long after the intent GitHub shows no run at all on the ref: the POST never landed. Same intent again.
        state["reposts"] = int(state.get("reposts", 0)) + 1
    else:
        _new_intent(github, state, repo, workflow, ref, timeout, new_id)
    state["intent_at"] = now.isoformat()
    record(state)
    sent = dict(inputs)
    if state.get("correlation_declared", state["correlation_in_inputs"]):
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
