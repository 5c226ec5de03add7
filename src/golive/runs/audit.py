"""What belongs to a release's audit: overrides recorded in the run they let through, and actions taken by hand.

An override (``--skip-gate``, ``--override-freeze``, ``--redispatch``, promote, abort, and any guard added
later) is an ``Override`` or ``OperatorCommand`` record; it is written with the id of the run it belongs to,
so the run's report and the release's report show it. A command that acts on a running canary (``abort``,
``promote``) belongs to the active release or deploy run of its environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from golive.engine.context import Services
from golive.evidence.gates import Override
from golive.runs.identity import acting
from golive.steps import rollback
from golive.store.statuses import StepStatus
from golive.store.store import Run, Store

# The runs a hand on a canary can belong to: the ones that run canaries.
_CANARY_RUNS = ("release", "deploy")


def record_overrides(store: Store, run: Run, overrides: Sequence[Override], at: datetime) -> None:
    """Each override a command was given, recorded in the run it let start."""
    for override in overrides:
        store.append_record(override, release=run.release, env=run.env, at=at, run_id=run.id)


def action_run(store: Store, release: str, env: str) -> int | None:
    """The run a hand on a canary acts in: the active release or deploy run of ``env``, else the latest one."""
    runs = [r for r in store.runs(release, env) if r.kind in _CANARY_RUNS]
    active = [r for r in runs if r.active]
    chosen = active[-1] if active else (runs[-1] if runs else None)
    return None if chosen is None else chosen.id


def hand_on_canary(services: Services, env: str, project: str, action: str, by: str | None, why: str | None) -> int:
    """``abort`` / ``promote``: recorded in the run whose canary it acts on, with who (verified by the plan's
    ``identity``; ``--by`` naming someone else is refused).

    An abort acts at once: the aliases go back to the stable versions here, through the rollback service, and
    the running canary reads the recorded abort on its next pass and ends rolled back (restoring again is a
    no-op). A canary that has not shifted traffic yet has nothing to restore; it stops on its next pass.
    """
    by = acting(services, env, by, required=False)
    run_id = action_run(services.store, services.plan.release, env)
    event = rollback.operator(services, env, project, action, by, why, run_id=run_id,
                              step=_running_canary(services.store, run_id, project))
    if action == "abort" and run_id is not None and _shifted(services.store, run_id, project):
        rollback.rollback(services, env, project, why=f"aborted by {by or 'an operator'}: {why or 'golive abort'}")
    return event


def _running_canary(store: Store, run_id: int | None, project: str) -> str | None:
    """The key of the project's canary step running now (a DR canary later in the run is not the one answered)."""
    if run_id is None:
        return None
    return next((s.key for s in store.steps(run_id) if s.kind == "canary" and s.params.get("project") == project
                 and s.started_at is not None and StepStatus(s.status).open), None)


def _shifted(store: Store, run_id: int, project: str) -> bool:
    """A canary of ``project`` is running in the run and has moved traffic (its versions are recorded)."""
    return any(s.kind == "canary" and s.params.get("project") == project and StepStatus(s.status).open
               and s.state.get("versions") for s in store.steps(run_id))

