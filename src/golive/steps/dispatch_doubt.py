"""The operator's answer to a dispatch golive could not confirm: ``--confirm-run ID`` or ``--redispatch --why``.

When runs appeared after a doubtful dispatch and none can be told to be
golive's (``DispatchUnconfirmed``), the deploy step (or an undo's redeploy,
``golive rollback``) never posts again by itself. A person looks at the candidates and either names the run that is
golive's (checked with GitHub: same workflow dispatch, on the release ref)
or asks for a new dispatch with a reason. Either answer is written into
the waiting step's state, where ``dispatch_once`` reads it, and recorded as
an ``override`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from golive.errors import UsageError
from golive.evidence.gates import Override
from golive.providers.github import GitHub
from golive.steps.undo import run_kind
from golive.store.store import Step, Store


def _doubtful_step(store: Store, release: str, env: str, project: str) -> tuple[int, Step]:
    # A deploy (of a release or deploy run), or an undo's redeploy (golive rollback).
    for kind, key in (("deploy", f"deploy.{project}"), ("release", f"deploy.{project}"),
                      (run_kind(project), f"undo.{project}")):
        run = store.active_run(release, env, kind)
        if run is None:
            continue
        for step in store.steps(run.id):
            if step.key == key and step.state.get("correlation_id") and step.state.get("run_id") is None:
                return run.id, step
    raise UsageError(f"no deploy of {project} in {env} is waiting on a dispatch golive could not confirm")


def settle_dispatch(store: Store, github: GitHub, release: str, env: str, project: str, now: datetime, *,
                    confirm_run: int | None = None, redispatch_why: str | None = None,
                    by: str | None = None) -> dict[str, Any]:
    """Write the operator's answer into the waiting deploy step, with who gave it; returns what was recorded."""
    if (confirm_run is None) == (redispatch_why is None):
        raise UsageError("give one of --confirm-run ID or --redispatch --why \"...\"")
    run_id, step = _doubtful_step(store, release, env, project)
    state = dict(step.state)
    if confirm_run is not None:
        run = github.get_run(state["repo"], confirm_run)
        if run.event != "workflow_dispatch" or run.head_branch != state["ref"]:
            raise UsageError(f"run {confirm_run} is a {run.event} run on {run.head_branch}, not a dispatch of "
                             f"{state['workflow']} on {state['ref']}")
        state.update(run_id=run.id, html_url=run.html_url, found="confirmed-by-operator")
        data: dict[str, Any] = {"project": project, "run_id": run.id, "url": run.html_url,
                                "correlation_id": state["correlation_id"]}
        subject = "confirm-run"
    else:
        state["redispatch"] = {"why": redispatch_why, "at": now.isoformat()}
        data = {"project": project, "why": redispatch_why, "correlation_id": state["correlation_id"]}
        subject = "redispatch"
    if by is not None:
        data["by"] = by
    store.update_step(step.id, state=state)
    store.append_record(Override.from_data(subject, "recorded", data), release=release, env=env, at=now,
                        run_id=run_id, step_key=step.key)
    return data
