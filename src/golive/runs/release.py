"""Starting and resuming runs: the one place a run is created.

A run is keyed by (release, environment, kind). Starting while an active
run exists resumes that run with its stored, frozen steps (from the same plan, or a change accepted and
recorded: ``plan_change.py``): re-running
``golive run`` after a crash, a Ctrl-C or on another machine with the same
store continues where the release stands instead of starting again. Two processes
starting at the same instant get one run: the database refuses the second
active run of a key, and the loser resumes the winner's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golive.clock import Clock
from golive.errors import RunInProgress
from golive.evidence.runs import RunNote
from golive.plan.dependencies import of_plan
from golive.plan.model import Plan
from golive.runs import plan_change
from golive.store.store import Run, StepSpec, Store, digest


def plan_digest(plan: Plan) -> str:
    return digest(plan.model_dump_json())


def plan_facts(plan: Plan) -> dict[str, Any]:
    """What a reader without the plan file needs of it (``golive serve`` run without ``-f``): the team's zone and
    the batches with their windows, the projects' dependencies. Kept in the run's meta under ``plan``; the steps
    hold the rest."""
    return {"timezone": plan.timezone, "version": plan.version,
            "batches": [{"name": b.name, "projects": list(b.projects),
                         "window": b.window.model_dump(exclude_none=True) if b.window else None} for b in plan.batches],
            # What a failure holds and the order undos run in (the engine reads it: engine/runner._fail_group).
            "dependencies": {**of_plan(plan).to_data(), "rollback_dependents": plan.rollback.rollback_dependents}}


def start_or_resume(store: Store, plan: Plan, env: str, kind: str, build: Callable[[], list[StepSpec]],
                    clock: Clock, *, restart: bool = False, meta: dict[str, Any] | None = None,
                    accept_change: str | None = None) -> tuple[Run, bool]:
    """The active run of this kind, or a new one; ``(run, resumed)``.

    A run resumes only from the plan it was frozen from, or from a change accepted with ``accept_change``
    (the why, recorded): ``plan_change.check``, which raises ``PlanChanged`` (exit 2) naming the steps.
    """
    active = store.active_run(plan.release, env, kind)
    if active is not None and not restart:
        plan_change.check(store, active, plan_digest(plan), build, clock, accept_why=accept_change)
        return store.get_run(active.id), True
    now = clock.now()
    if active is not None:
        store.set_run(active.id, now, status="aborted", reason="restarted", ended=True)
        store.append_record(RunNote(subject=kind, outcome="aborted", reason="restarted by the user"),
                            release=plan.release, env=env, run_id=active.id, at=now)
    try:
        run = store.create_run(plan.release, env, kind, plan_digest(plan), build(), now,
                               meta={"plan": plan_facts(plan), **(meta or {})})
    except RunInProgress as first:
        # Another process created it between our read and our insert: its run is this one's, resumed.
        winner = store.get_run(first.run_id)
        plan_change.check(store, winner, plan_digest(plan), build, clock, accept_why=accept_change)
        return store.get_run(first.run_id), True
    store.append_record(RunNote(subject=kind, outcome="started", plan_version=plan.version,
                                steps=len(store.steps(run.id))), release=plan.release, env=env, run_id=run.id, at=now)
    return run, False


def group_concurrency(plan: Plan) -> dict[str, int]:
    """How many projects of each batch the engine advances side by side."""
    return {f"batch.{b.name}": b.concurrency for b in plan.batches}
