"""What the commands ask the engine to do: start or resume a run and drive it.

Each function takes the services (the outside world, passed in) and answers
with the run and where it stands; the CLI only renders. ``release`` is
``golive run``; ``preflight``, ``soak_start``/``soak_checkpoint`` and
``deploy`` are the same engine on narrower step lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from golive.engine import planner
from golive.engine.context import Services
from golive.engine.release import all_handlers, group_concurrency, start_or_resume
from golive.engine.runner import AdvanceResult, Engine
from golive.errors import UsageError
from golive.store.store import Run, StepSpec


@dataclass(frozen=True)
class Driven:
    run: Run
    result: AdvanceResult
    resumed: bool


def _engine(services: Services) -> Engine:
    return Engine(services, all_handlers(), concurrency=group_concurrency(services.plan))


def drive(services: Services, env: str, kind: str, build: Callable[[], list[StepSpec]], *, restart: bool = False,
          wait_external: bool = False, stop_when: Callable[[AdvanceResult], bool] | None = None,
          poll: timedelta = timedelta(seconds=10)) -> Driven:
    plan = services.plan
    run, resumed = start_or_resume(services.store, plan, env, kind, build, services.clock, restart=restart)
    result = _engine(services).drive(run.id, wait_external=wait_external, stop_when=stop_when, poll=poll)
    return Driven(services.store.get_run(run.id), result, resumed)


def release(services: Services, env: str, *, restart: bool = False, wait_external: bool = True,
            until_phase: str | None = None) -> Driven:
    """``golive run``: the whole release, to its end or the next external wait."""
    plan = services.plan
    stop = None
    if until_phase is not None:
        if until_phase not in planner.PHASES:
            raise UsageError(f"unknown phase '{until_phase}' (phases: {', '.join(planner.PHASES)})")
        limit = planner.PHASES.index(until_phase)

        def stop(_: AdvanceResult) -> bool:
            steps = services.store.steps(run_id[0])
            nxt = next((s for s in steps if s.status not in ("done", "failed", "cancelled", "skipped")), None)
            return nxt is not None and planner.PHASES.index(nxt.phase) > limit

    run_id: list[int] = []

    def build() -> list[StepSpec]:
        return planner.build_release(plan, env)

    run, resumed = start_or_resume(services.store, plan, env, "release", build, services.clock, restart=restart)
    run_id.append(run.id)
    result = _engine(services).drive(run.id, wait_external=wait_external, stop_when=stop)
    return Driven(services.store.get_run(run.id), result, resumed)


def preflight(services: Services, env: str) -> Driven:
    """One preflight run: every check of the plan's preflight list, evidence stored."""
    return drive(services, env, "preflight", lambda: planner.build_preflight(services.plan, env), restart=True)


def soak_start(services: Services, env: str, *, restart: bool = False) -> Driven:
    """Lay out the soak's checkpoints and evaluate whatever is already due."""
    return drive(services, env, "soak", lambda: planner.build_soak(services.plan, env), restart=restart)


def soak_checkpoint(services: Services, env: str) -> Driven:
    """Evaluate every checkpoint of the active soak that is due now; never waits."""
    active = services.store.active_run(services.plan.release, env, "soak")
    if active is None:
        raise UsageError(f"no active soak in {env} (golive soak start --env {env})")
    result = _engine(services).drive(active.id)
    return Driven(services.store.get_run(active.id), result, True)


def deploy(services: Services, env: str, batch: str | None = None, project: str | None = None,
           *, restart: bool = False) -> Driven:
    plan = services.plan
    return drive(services, env, "deploy", lambda: planner.build_deploy(plan, env, batch, project), restart=restart,
                 wait_external=False)
