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

from golive.engine.context import Services
from golive.engine.runner import AdvanceResult, Engine
from golive.errors import UsageError
from golive.evidence.gates import Override
from golive.runs import plan_change
from golive.runs.audit import record_overrides
from golive.runs.deployed import deployed_projects
from golive.runs.release import group_concurrency, plan_digest, start_or_resume
from golive.steps import alarm_baseline, planner
from golive.steps.registry import all_handlers
from golive.store.store import Run, StepSpec


@dataclass(frozen=True)
class Driven:
    run: Run
    result: AdvanceResult
    resumed: bool


def _engine(services: Services, holder: str | None = None) -> Engine:
    return Engine(services, all_handlers(), holder=holder, concurrency=group_concurrency(services.plan))


def drive(services: Services, env: str, kind: str, build: Callable[[], list[StepSpec]], *, restart: bool = False,
          wait_external: bool = False, stop_when: Callable[[AdvanceResult], bool] | None = None,
          poll: timedelta = timedelta(seconds=10), holder: str | None = None,
          accept_change: str | None = None, on_start: Callable[[Run], None] | None = None) -> Driven:
    """Start or resume the run of ``kind`` (a changed plan only with ``accept_change``, the why) and drive it;
    ``on_start`` records what belongs to the run before it advances (an override the command was given)."""
    plan = services.plan
    run, resumed = start_or_resume(services.store, plan, env, kind, build, services.clock, restart=restart,
                                   accept_change=accept_change, meta={"rehearsal": True} if services.rehearsal else None)
    if on_start is not None:
        on_start(run)
    if kind in ("release", "deploy", "verify"):
        alarm_baseline.record(services, run)
    result = _engine(services, holder).drive(run.id, wait_external=wait_external, stop_when=stop_when, poll=poll)
    return Driven(services.store.get_run(run.id), result, resumed)


def release(services: Services, env: str, *, restart: bool = False, wait_external: bool = True,
            until_phase: str | None = None, holder: str | None = None, no_wait: bool = False,
            accept_change: str | None = None, override_window_why: str | None = None) -> Driven:
    """``golive run``: the whole release, to its end or the next external wait.

    ``no_wait`` (``golive run --no-wait``) returns as soon as only waits remain, a time (a soak's next
    checkpoint) or an approval, instead of sleeping through them; retries of an unreachable system still
    run to their budget.

    ``holder`` names who advances the run (default: this process, by host, pid and start time); a process
    started after a holder on this host was killed takes the dead holder's lease at once.
    """
    plan = services.plan
    stop = None
    if until_phase is not None:
        if until_phase not in planner.PHASES:
            raise UsageError(f"unknown phase '{until_phase}' (phases: {', '.join(planner.PHASES)})")
        limit = planner.PHASES.index(until_phase)

        def stop(result: AdvanceResult) -> bool:
            return result.next_phase is not None and planner.PHASES.index(result.next_phase) > limit

    if no_wait:
        wait_external = False
        phase_stop = stop

        def stop(result: AdvanceResult) -> bool:
            return (phase_stop is not None and phase_stop(result)) or at_plan_wait(result)

    if not restart and services.store.active_run(plan.release, env, "release") is None:
        ended = services.store.latest_run(plan.release, env, "release")
        if ended is not None:
            # Running the same release again would deploy again: that must be asked for, not happen by accident.
            why = f": {ended.reason}" if ended.reason else ""
            raise UsageError(f"release {plan.release} {plan.version} in {env} already ended {ended.status} "
                             f"(run {ended.id}{why}); golive run --restart runs it again")
    if override_window_why is not None:
        _override_window(services, env, override_window_why)
    return drive(services, env, "release", lambda: planner.build_release(plan, env), restart=restart,
                 wait_external=wait_external, stop_when=stop, holder=holder, accept_change=accept_change)


def _override_window(services: Services, env: str, why: str) -> None:
    """``--override-window``: the active run's windows that have ended may start, recorded with the why."""
    from golive.evidence.gates import Override
    from golive.steps.window import OVERRIDE

    plan, store = services.plan, services.store
    active = store.active_run(plan.release, env, "release")
    if active is None:
        raise UsageError(f"--override-window: no run of {plan.release} in {env} is waiting for a window")
    store.append_record(Override(subject=OVERRIDE, why=why), release=plan.release, env=env, at=services.clock.now(),
                        run_id=active.id)


def preflight(services: Services, env: str) -> Driven:
    """One preflight run: every check of the plan's preflight list, evidence stored."""
    return drive(services, env, "preflight", lambda: planner.build_preflight(services.plan, env), restart=True)


def soak_start(services: Services, env: str, *, restart: bool = False, accept_change: str | None = None) -> Driven:
    """Lay out the soak's checkpoints and evaluate whatever is already due; never waits."""
    return drive(services, env, "soak", lambda: planner.build_soak(services.plan, env), restart=restart,
                 stop_when=_only_waits, accept_change=accept_change)


def soak_checkpoint(services: Services, env: str, *, accept_change: str | None = None) -> Driven:
    """Evaluate every checkpoint of the active soak that is due now; never waits."""
    plan = services.plan
    active = services.store.active_run(plan.release, env, "soak")
    if active is None:
        raise UsageError(f"no active soak in {env} (golive soak start --env {env})")
    plan_change.check(services.store, active, plan_digest(plan), lambda: planner.build_soak(plan, env),
                      services.clock, accept_why=accept_change)
    result = _engine(services).drive(active.id, stop_when=_only_waits)
    return Driven(services.store.get_run(active.id), result, True)


def at_plan_wait(result: AdvanceResult) -> bool:
    """Only the plan's waits remain (a time, an approval): not a retry of a system that did not answer."""
    return not result.progressed and not result.retrying


def _only_waits(result: AdvanceResult) -> bool:
    # Without this, drive() sleeps until the next checkpoint: a 48 h soak would hold the command for 48 h.
    return not result.progressed


def verify(services: Services, env: str) -> Driven:
    """``golive verify``: every deployed project's own checks, the post-deployment validation, and a failure
    naming each project with no successful deploy recorded in ``env`` (``runs/deployed.py``)."""
    found = deployed_projects(services.store, services.plan, env)
    return drive(services, env, "verify", lambda: planner.build_verify(services.plan, env, found), restart=True)


def terraform_plans(services: Services, env: str) -> Driven | None:
    """The Terraform plans a gate weighs (``golive gate`` by hand): made once per release tag, waited for; None when
    no project has ``terraform:``. A plan already made at the tag is weighed again, not made again."""
    if not planner.terraform_steps(services.plan, env):
        return None
    return drive(services, env, "terraform", lambda: planner.terraform_steps(services.plan, env), wait_external=True)


def tag(services: Services, env: str) -> Driven:
    """``golive tag``: the annotated release tag in every project's repository."""
    return drive(services, env, "tag", lambda: [planner.tag_step(services.plan)], restart=True)


def deploy(services: Services, env: str, batch: str | None = None, project: str | None = None, *,
           restart: bool = False, skip_gate_why: str | None = None, override_freeze_why: str | None = None,
           accept_change: str | None = None, by: str | None = None) -> Driven:
    """``golive deploy``: the batches (or one batch / project), refused without a GO unless told why.

    Each override (``--skip-gate``, ``--override-freeze``) is recorded in the deploy run it let start, so every
    report of the run and of the release shows it, with who gave it (``by``)."""
    from golive.steps.gate import freeze_item, latest_decision

    plan, store, now = services.plan, services.store, services.clock.now()
    overrides: list[Override] = []
    if store.active_run(plan.release, env, "deploy") is None or restart:
        decision = latest_decision(store, plan, env)
        if decision is None or decision.outcome != "GO":
            if skip_gate_why is None:
                state = "no gate decision" if decision is None else f"the last decision was {decision.outcome}"
                raise UsageError(f"{state} for {env}: run golive gate GATE --env {env} first, "
                                 f"or deploy with --skip-gate --why \"...\"")
            overrides.append(Override(subject="skip-gate", why=skip_gate_why, by=by))
        freeze = freeze_item(plan, now)
        if not freeze.ok:
            if override_freeze_why is None:
                raise UsageError(f"{freeze.detail}; to deploy anyway: --override-freeze --why \"...\"")
            overrides.append(Override(subject="freeze", why=override_freeze_why, by=by,
                                      extra={"window": freeze.evidence}))
    planner.build_deploy(plan, env, batch, project)  # an unknown batch or project is refused before anything is recorded
    return drive(services, env, "deploy", lambda: planner.build_deploy(plan, env, batch, project), restart=restart,
                 wait_external=False, accept_change=accept_change,
                 on_start=lambda run: record_overrides(store, run, overrides, now))
