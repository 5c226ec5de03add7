"""Sandbox worlds and services for the soak and gate tests, with the soak driven on the virtual clock.

A world is expensive (a moto server, provisioning, a local GitHub) and its
traffic simulation is the slow part of every soak, so the tests share one
world per scenario and give each test its own store file.

moto keeps its state per process, not per server: a world started after
another module's world in the same pytest worker would find that world's
functions, alarms and metrics (same accounts, same virtual start). So the
first world started here empties moto, and the last one stopped empties it
again for whoever comes next. (Worlds of the example and of the small
variant can be up together: the variant uses other accounts.)
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from soak_plans import EXAMPLE_DIR

from golive.engine.context import Services
from golive.engine.runner import AdvanceResult
from golive.plan.model import Plan
from golive.runs import session
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.world import SandboxWorld
from golive.steps import planner
from golive.store.store import Event, Store


@dataclass
class Soaked:
    """One store that has seen a soak (and a preflight), and the world it ran in (None once stopped)."""

    plan: Plan
    store: Store
    run_id: int
    db: Path
    now: datetime
    world: SandboxWorld | None = None
    sit_alarms: tuple[str, ...] = ()

    @property
    def live(self) -> SandboxWorld:
        assert self.world is not None, "this world was stopped after its soak"
        return self.world


HOUR = timedelta(hours=1)
_LIVE: list[SandboxWorld] = []


def start_world(plan: Plan, *, faults: tuple[str, ...] = (), sit_only: bool = False) -> SandboxWorld:
    """A started world; ``sit_only``: only SIT has traffic (the others are provisioned, but not simulated)."""
    if not _LIVE:
        SandboxServer().reset()
    world = SandboxWorld(plan, "prod", faults=faults, follow_release=sit_only).start()
    _LIVE.append(world)
    if sit_only:
        world.anchor("soak", world.clock.now())
    return world


def stop_world(world: SandboxWorld) -> None:
    world.stop()
    _LIVE.remove(world)
    if not _LIVE:
        SandboxServer().reset()


def services_for(world: SandboxWorld, store: Store) -> Services:
    return Services(plan=world.plan, store=store, clock=world.clock, aws_for=world.aws, github=world.github(),
                    rehearsal=False, extras={"workdir": str(EXAMPLE_DIR)})


def open_store(db: Path) -> Store:
    return Store.open(f"sqlite:///{db}")


def checkpoints(store: Store, env: str = "sit") -> list[Event]:
    return [e for e in store.events(kind="checkpoint") if e.data.get("env") == env]


def after_checkpoint(store: Store, index: int) -> Callable[[AdvanceResult], bool]:
    """A ``stop_when`` that ends the drive once checkpoint ``index`` has been evaluated."""
    def stop(_: AdvanceResult) -> bool:
        return any(e.data.get("index") == index for e in checkpoints(store))
    return stop


def soak_until(services: Services, index: int, env: str = "sit") -> int:
    """Start a soak and drive it until checkpoint ``index`` is evaluated; the process then 'stops'."""
    driven = session.drive(services, env, "soak", lambda: planner.build_soak(services.plan, env),
                           stop_when=after_checkpoint(services.store, index))
    return driven.run.id


def soak_through(services: Services, env: str = "sit") -> session.Driven:
    """``golive soak start``, then ``golive soak checkpoint`` each time the clock reaches the next due time."""
    driven = session.soak_start(services, env)
    while not driven.result.finished:
        driven = next_checkpoint(services, env, driven)
    return driven


def next_checkpoint(services: Services, env: str = "sit", driven: session.Driven | None = None) -> session.Driven:
    """Sleep (virtually) until the soak's next due time, then ``golive soak checkpoint``."""
    driven = driven or session.soak_checkpoint(services, env)
    due = driven.result.next_due
    assert due is not None, f"nothing is due later: {driven.result}"
    services.clock.sleep_until(due)
    return session.soak_checkpoint(services, env)


def alarm(world: SandboxWorld, env: str, name: str, state: str) -> None:
    """A CloudWatch alarm created (or updated) in ``env`` and put in ``state``, through the sandbox's AWS."""
    aws = world.aws(env)
    cw = aws.client("cloudwatch")
    aws.call("cloudwatch:PutMetricAlarm", lambda: cw.put_metric_alarm(
        AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold"))
    aws.call("cloudwatch:SetAlarmState", lambda: cw.set_alarm_state(
        AlarmName=name, StateValue=state, StateReason="set by the soak test"))


def alarms_in(world: SandboxWorld, env: str, state: str = "ALARM") -> list[str]:
    aws = world.aws(env)
    cw = aws.client("cloudwatch")
    found: dict[str, Any] = aws.call("cloudwatch:DescribeAlarms", lambda: cw.describe_alarms(StateValue=state))
    return sorted(a["AlarmName"] for a in found.get("MetricAlarms", []))


def once_per_session(tmp_path_factory: Any, worker_id: str, name: str,
                     produce: Callable[[Path], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """``produce(directory)`` run once for the whole test session, even across pytest-xdist workers.

    pytest-xdist's documented pattern: the workers share the session's temporary root; the first to take
    the lock produces, the others wait and read what it wrote. Without xdist it simply runs.
    """
    if worker_id == "master":
        directory = tmp_path_factory.mktemp(name)
        return directory, produce(directory)
    directory = tmp_path_factory.getbasetemp().parent / name
    with (directory.parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = directory / "done.json"
        if not done.exists():
            directory.mkdir(exist_ok=True)
            done.write_text(json.dumps(produce(directory)))
        return directory, dict(json.loads(done.read_text()))


def copy_store(db: Path, target: Path) -> Store:
    """A store file copied (SQLite's backup, so a store in use copies whole) and opened."""
    with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return open_store(target)
