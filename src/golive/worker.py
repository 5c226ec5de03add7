"""Workers: any number of processes, on any number of machines, advancing the store's due runs.

A worker does not own a run. Each pass it lists the active runs of its
plan's release, and for each one tries to take the run's lease
(``Store.acquire_lease``: on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so a
worker never queues behind another, it moves on). Holding it, the worker
advances the run until only waits remain, then lets the lease go, so the
next due step of that run may be taken by whichever worker is free. A
worker killed while it holds a lease is replaced when the lease expires (at
once when the dead holder was a process on the same host), and the
handlers' recorded intents mean its successor looks before it acts again:
no second dispatch, no alias left weighted. While it works, a worker also
delivers the outbox (``delivering``): notifications go out from a
deployment that runs only workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from golive.clock import SystemClock
from golive.engine.approver import AutoApprover
from golive.engine.context import Services
from golive.engine.runner import Engine, default_holder
from golive.errors import LeaseHeld, UsageError
from golive.notify.deliver import DeliveryLoop, deliver_due
from golive.notify.sinks import DEADLINE
from golive.runs.release import group_concurrency, start_or_resume
from golive.steps.planner import build_release
from golive.steps.registry import all_handlers
from golive.store.store import Run

DEFAULT_TTL = timedelta(seconds=30)


@dataclass
class WorkerReport:
    passes: int = 0
    advanced: int = 0  # runs this worker held and moved
    skipped: int = 0  # runs whose lease another worker held
    finished: list[int] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)  # wall time of each pass that moved a run


def submit(services: Services, env: str) -> Run:
    """Create (or find) the release run for ``env`` without driving it: the workers take it."""
    plan = services.plan
    if env not in plan.environments:
        raise UsageError(f"unknown environment '{env}' (known: {', '.join(plan.environments)})")
    run, _ = start_or_resume(services.store, plan, env, "release", lambda: build_release(plan, env), services.clock)
    return run


def due_runs(services: Services) -> list[Run]:
    return [r for r in services.store.runs(services.plan.release) if r.active]


def work(services: Services, *, holder: str | None = None, lease_ttl: timedelta = DEFAULT_TTL,
         poll: timedelta = timedelta(seconds=1), stop: threading.Event | None = None,
         until: Callable[[WorkerReport], bool] | None = None, on_pass: Callable[[Run, float], None] | None = None,
         ) -> WorkerReport:
    """Advance due runs until ``stop`` is set or ``until(report)`` holds (``until`` None: forever)."""
    stop = stop or threading.Event()
    report = WorkerReport()
    engine = Engine(services, all_handlers(), holder=holder or default_holder(), lease_ttl=lease_ttl,
                    concurrency=group_concurrency(services.plan), lease_clock=SystemClock())
    while not stop.is_set() and not (until is not None and until(report)):
        report.passes += 1
        moved = held_elsewhere = False
        next_due: datetime | None = None
        for run in due_runs(services):
            started = time.perf_counter()
            try:
                result = engine.drive(run.id, stop_when=lambda r: not r.progressed)
            except LeaseHeld:
                report.skipped += 1
                held_elsewhere = True
                continue
            took = time.perf_counter() - started
            report.advanced += 1
            report.step_seconds.append(took)
            if on_pass is not None:
                on_pass(run, took)
            if result.finished:
                report.finished.append(run.id)
            moved = moved or result.progressed or result.finished
            if result.next_due is not None:
                next_due = result.next_due if next_due is None else min(next_due, result.next_due)
        if not moved and held_elsewhere:
            # Another worker is mid-step: moving a shared virtual clock now would age its step under it.
            stop.wait(poll.total_seconds())
        elif not moved:
            now = services.clock.now()
            if next_due is None or not hasattr(services.clock, "advance"):
                next_due = min(next_due, now + poll) if next_due is not None else now + poll
            services.clock.sleep_until(next_due)  # a virtual clock (a rehearsal's world) jumps straight there
    return report


@contextmanager
def delivering(services: Services, plan_dir: Path) -> Iterator[None]:
    """Deliver the outbox on a thread while the block runs, and what is due once more when it ends well."""
    if not services.plan.notify:
        yield
        return
    client = httpx.Client(timeout=DEADLINE)
    loop = DeliveryLoop(services.store, services.plan, plan_dir, client).start()
    try:
        yield
        loop.stop()
        deliver_due(services.store, services.plan, plan_dir, client)  # what the last turns recorded
    finally:
        loop.stop()
        client.close()


def sandbox_services(plan_path: Path, sandbox_state_dir: Path, store_url: str) -> Services:
    """Services on a running sandbox daemon (its AWS, GitHub and virtual clock), for workers rehearsing on it."""
    from golive.plan.validate import load_plan
    from golive.providers.github import GitHub
    from golive.rehearsal.local import anchoring, placed_anchors
    from golive.sandbox import daemon
    from golive.sandbox.accounts import sandbox_aws_for
    from golive.sandbox.world import SANDBOX_TOKEN, RemoteClock, plan_for_world
    from golive.store.store import Store

    info = daemon.status(sandbox_state_dir)
    if info is None:
        raise UsageError(f"no sandbox runs from {sandbox_state_dir} (start one: golive sandbox up --detach)")
    world_url, github_url = info.services.get("world"), info.services.get("github")
    if world_url is None or github_url is None:
        raise UsageError(f"the sandbox of {sandbox_state_dir} is not a whole world (no world or GitHub service)")
    plan = plan_for_world(load_plan(plan_path), world_url)
    clock = RemoteClock(world_url, info.token)
    aws_for = sandbox_aws_for(plan, info.endpoint)

    store = Store.open(store_url)
    # The world sends an environment traffic once the release reaches it: tell it where the active runs are
    # (a predecessor may have died after a step started), and place anchors as steps start from here on.
    for run in store.runs(plan.release):
        if run.active:
            clock.anchor("run", run.created_at)
            for name, at in placed_anchors(store, run.id).items():
                clock.anchor(name, at)
    services = Services(plan=plan, store=store, clock=clock, aws_for=aws_for,
                        github=GitHub(github_url, SANDBOX_TOKEN, clock=clock), http=httpx.Client(timeout=5.0),
                        rehearsal=True, approver=AutoApprover(), extras={"workdir": str(plan_path.resolve().parent)})
    services.notify = anchoring(clock.anchor, clock, None)
    return services
