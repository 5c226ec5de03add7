"""What a step costs the store, and the guarantees that cost must keep.

Counts are taken at the driver while the real engine drives a stored run: on PostgreSQL the round trips
on the wire (libpq's protocol trace of every pooled connection: each simple ``Query`` and each ``Sync``
is one wait for the server), on SQLite statements plus commits (SQLAlchemy's events); commits from
SQLAlchemy's ``commit`` event on both. The cost per step is the difference between a run of 4N and one
of N steps, so the fixed cost of a drive (the lease, the first reads, the run's end) is left out.

Then the guarantees: an intent is committed before the side effect it guards (another connection sees
it), a connection dropped mid-run is retried once and the run completes, and a process killed between a
step's side effect and its outcome resumes without acting again (real subprocesses).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from golive.clock import VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Handler, Outcome
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.store.store import StepSpec, Store

T0 = datetime(2026, 1, 10, 9, tzinfo=UTC)
WORKER = Path(__file__).with_name("intent_worker.py")
PLAN = """\
release: trips
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
"""


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0
    traces: list[tuple[Any, int, Path]] = field(default_factory=list)

    def watch(self, engine: sa.Engine, folder: Path) -> None:
        def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.statements += 1
            if statement == "COMMIT":  # a pipelined write commits with a statement
                self.commits += 1

        def on_commit(*_args: Any) -> None:
            self.commits += 1

        def on_checkout(dbapi_conn: Any, *_args: Any) -> None:
            pgconn = getattr(dbapi_conn, "pgconn", None)
            if pgconn is not None and all(known is not pgconn for known, _, _ in self.traces):
                path = folder / f"trace-{len(self.traces)}.txt"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                pgconn.trace(fd)
                self.traces.append((pgconn, fd, path))

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_commit)
        sa.event.listen(engine.pool, "checkout", on_checkout)

    def round_trips(self) -> int:
        if not self.traces:
            return self.statements + self.commits
        trips = 0
        for pgconn, fd, path in self.traces:
            if not pgconn.status:
                pgconn.untrace()
            os.close(fd)
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split("\t")
                if len(parts) >= 4 and parts[1] == "F" and parts[3].split(" ")[0] in ("Query", "Sync"):
                    trips += 1
        return trips


def specs(steps: int, lanes: int, *, effect: bool = False) -> list[StepSpec]:
    return [StepSpec(f"s{i}", "deploy", "work", f"step {i}", "g", f"lane{i % lanes}", {"effect": effect})
            for i in range(steps)]


def drive_counted(url: str, steps: int, lanes: int, handler: Handler) -> tuple[int, int]:
    """(round trips, commits) while the engine drives a run of ``steps`` steps over ``lanes`` lanes."""
    store = Store.open(url)
    try:
        clock = VirtualClock(T0)
        run = store.create_run("trips", "prod", "deploy", "d", specs(steps, lanes), T0)
        engine = Engine(Services(plan=load_plan_text(PLAN), store=store, clock=clock), {"work": handler},
                        concurrency={"g": lanes})
        counts = Counts()
        with tempfile.TemporaryDirectory() as folder:
            counts.watch(store.engine, Path(folder))
            result = engine.drive(run.id)
            trips = counts.round_trips()
        assert result.status == "succeeded"
        assert all(s.status == "done" for s in store.steps(run.id))
        assert len(store.events(run_id=run.id, kind="step")) == steps
        return trips, counts.commits
    finally:
        store.close()


def per_step(url: str, lanes: int, handler: Handler, n: int = 8) -> tuple[float, float]:
    small = drive_counted(url, n, lanes, handler)
    large = drive_counted(url, 4 * n, lanes, handler)
    return (large[0] - small[0]) / (3 * n), (large[1] - small[1]) / (3 * n)


def done(ctx: StepContext) -> Outcome:
    return Done(f"{ctx.step.key} done")


@pytest.mark.parametrize("lanes", [1, 8])
def test_a_step_costs_at_most_four_round_trips_and_one_commit(store_url: str, lanes: int) -> None:
    trips, commits = per_step(store_url, lanes, Handler("work", done))
    assert commits <= 1.0, f"{commits:.2f} commits a step with {lanes} lane(s)"
    assert trips <= 4.0, f"{trips:.2f} round trips a step with {lanes} lane(s)"
    if store_url.startswith("postgresql"):
        # BEGIN and a pass's statements go out as one pipeline, then COMMIT: two waits for the server.
        assert trips <= 2.0, f"{trips:.2f} round trips a step with {lanes} lane(s) on PostgreSQL"
    if lanes == 8:
        # The lanes of a pass share one transaction: far below one commit a step.
        assert commits <= 0.25, f"{commits:.2f} commits a step with 8 lanes"


def test_an_intent_is_committed_before_the_side_effect(store_url: str) -> None:
    """At the moment of the side effect, another connection already reads the step's intent (and it is running)."""
    seen: dict[str, tuple[str, Any]] = {}
    observer = Store.open(store_url)

    def act(ctx: StepContext) -> Outcome:
        ctx.state["intent"] = ctx.step.key
        ctx.save()
        stored = {s.key: s for s in observer.steps(ctx.run.id)}[ctx.step.key]
        seen[ctx.step.key] = (stored.status, stored.state.get("intent"))
        return Done()

    try:
        trips, commits = per_step(store_url, 8, Handler("work", act), n=8)
    finally:
        observer.close()
    assert seen and all(value == ("running", key) for key, value in seen.items()), seen
    # An intent costs its own commit, and carries the other lanes' outcomes held so far.
    assert commits <= 1.25, f"{commits:.2f} commits a step"
    assert trips <= 5.0, f"{trips:.2f} round trips a step"


def test_a_dropped_connection_is_retried_once_and_the_run_completes(pg_url: str) -> None:
    """Every connection of the store is killed by the server mid-run; the next write retries once and succeeds."""
    name = f"golive-drop-{os.getpid()}"
    url = f"{pg_url}&application_name={name}"
    admin = sa.create_engine(pg_url.split("?", maxsplit=1)[0])
    store = Store.open(url)
    invalidated: list[object] = []
    sa.event.listen(store.engine.pool, "invalidate", lambda *args: invalidated.append(args[0]))
    killed: list[int] = []

    def work(ctx: StepContext) -> Outcome:
        if ctx.step.key in ("s5", "s11"):
            with admin.begin() as conn:
                killed.extend(conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND pid <> pg_backend_pid()"),
                    {"name": name}).scalars())
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE application_name = :name"), {"name": name})
        return Done()

    try:
        run = store.create_run("trips", "prod", "deploy", "d", specs(16, 4), T0)
        engine = Engine(Services(plan=load_plan_text(PLAN), store=store, clock=VirtualClock(T0)),
                        {"work": Handler("work", work)}, concurrency={"g": 4})
        result = engine.drive(run.id)
        assert result.status == "succeeded"
        assert killed, "the server had no connection of the store to kill"
        assert invalidated, "no write met the dropped connection"
        steps = store.steps(run.id)
        assert [s.status for s in steps] == ["done"] * 16
        assert sorted(e.step_key or "" for e in store.events(run_id=run.id, kind="step")) == sorted(
            s.key for s in steps)
    finally:
        store.close()
        admin.dispose()


def test_a_crash_between_intent_and_outcome_resumes_without_repeating_the_side_effect(
        store_url: str, tmp_path: Path) -> None:
    world, log = tmp_path / "world.txt", tmp_path / "calls.log"
    world.write_text("", encoding="utf-8")
    store = Store.open(store_url)
    try:
        steps = [StepSpec("a", "deploy", "work", "a", "g", "a", {}),
                 StepSpec("b", "deploy", "work", "b", "g", "b", {"effect": True}),
                 StepSpec("c", "deploy", "work", "c", "g", "c", {}),
                 StepSpec("d", "deploy", "work", "d", "h", "d", {"effect": True})]
        run = store.create_run("intents", "prod", "deploy", "d", steps, T0)
        argv = [sys.executable, str(WORKER), store_url, str(run.id), str(world), str(log)]
        crashed = subprocess.run([*argv, "b"], check=False, capture_output=True, text=True, timeout=60)
        assert crashed.returncode == -9, crashed.stderr
        after_crash = {s.key: s for s in store.steps(run.id)}
        # a's outcome was held and went with b's intent; b's intent was committed before it acted; c never ran.
        assert after_crash["a"].status == "done"
        assert (after_crash["b"].status, after_crash["b"].state) == ("running", {"intent": "b"})
        assert after_crash["c"].status == "pending"

        resumed = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
        assert "DONE succeeded" in resumed.stdout
    finally:
        store.close()
    assert world.read_text(encoding="utf-8").split() == ["b", "d"]  # b acted once, before the crash
    calls = [line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()]
    assert calls == ["a", "b", "b", "c", "d"]
    store = Store.open(store_url)
    try:
        final = {s.key: s for s in store.steps(run.id)}
        assert all(s.status == "done" for s in final.values())
        assert final["b"].result is not None and final["b"].result["summary"] == "b found done after a restart"
        assert store.get_run(run.id).status == "succeeded"
    finally:
        store.close()


def test_the_run_is_read_once_a_drive_unless_a_handler_changed_it(store_url: str) -> None:
    """Passes do not re-read an unchanged run; a handler's change to it (a soak's meta) is seen by the next step."""
    store = Store.open(store_url)
    run_reads: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM runs" in statement:
            run_reads.append(statement)

    seen: dict[str, Any] = {}

    def work(ctx: StepContext) -> Outcome:
        seen[ctx.step.key] = ctx.run.meta.get("marked")
        if ctx.step.key == "s3":
            ctx.store.set_run(ctx.run.id, ctx.now, meta={**ctx.run.meta, "marked": "by s3"})
        return Done()

    try:
        run = store.create_run("trips", "prod", "deploy", "d", specs(8, 1), T0)
        engine = Engine(Services(plan=load_plan_text(PLAN), store=store, clock=VirtualClock(T0)),
                        {"work": Handler("work", work)}, concurrency={"g": 1})
        sa.event.listen(store.engine, "before_cursor_execute", on_execute)
        assert engine.drive(run.id).status == "succeeded"
    finally:
        store.close()
    assert [seen[f"s{i}"] for i in range(8)] == [None] * 4 + ["by s3"] * 4
    # drive()'s own read, the engine's first, and one after s3 changed the run: not one a pass (9 passes).
    assert len(run_reads) <= 3, run_reads
