"""Engine overhead: a generated release whose steps do nothing outside.

Builds plans of 50, 500 and 5,000 projects in 10 batches, plans them with
golive's real planner, and drives each run to its end with the real engine
and store (SQLite file, then PostgreSQL if reachable). Prints wall time,
steps, overhead per step, and the round trips and commits per step.

On PostgreSQL round trips are counted on the wire: libpq's protocol trace of
every pooled connection, one trip per message the client then waits on (a
simple ``Query``: BEGIN, COMMIT, a ping; a ``Sync`` closing an extended-query
batch: a statement, or a whole pipelined ``executemany``). On SQLite (no
wire) it is statements plus commits, from SQLAlchemy's events. Commits are
SQLAlchemy's ``commit`` events on both.

``--intent``: steps that save an intent (``ctx.save()``) before their side
effect, the write the engine must commit at once; reported on their own rows.
``--lanes 1`` gives every batch one lane (a pass per step, as in a release's
sequential phases). Targets (issue 14): SQLite at most 1 ms a step and linear
to 5,000 steps; PostgreSQL at most 4 round trips and 1 commit per step.

    python bench/engine.py [--sizes 50,500,5000] [--pg postgresql+psycopg://...] [--backends sqlite,postgres]
                           [--intent] [--lanes 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from golive.clock import VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Handler, Outcome
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.runs.release import group_concurrency, start_or_resume
from golive.steps.planner import build_deploy
from golive.store.store import Store


def generated_plan(projects: int, batches: int = 10, lanes: int = 8) -> str:
    lines = ["release: bench", "version: v1", "environments:",
             "  prod: {account: '000000000000', region: eu-west-1}", "projects:"]
    for i in range(projects):
        lines.append(f"  p{i}: {{repo: o/r{i}, deploy: {{command: ['true']}}}}")
    lines.append("batches:")
    per = max(1, projects // batches)
    for b in range(batches):
        members = [f"p{i}" for i in range(b * per, projects if b == batches - 1 else (b + 1) * per)]
        if members:
            lines.append(f"  - {{name: b{b}, concurrency: {lanes}, projects: [{', '.join(members)}]}}")
    return "\n".join(lines) + "\n"


@dataclass
class Counts:
    """Statements sent and commits (SQLAlchemy's events: its ``commit``, and the COMMIT statement that ends a
    pipelined write), and the wire's round trips where there is a wire."""

    statements: int = 0
    commits: int = 0
    traces: list[tuple[Any, int]] = field(default_factory=list)
    trace_path: str = ""

    def watch(self, engine: sa.Engine, trace_dir: str) -> None:
        def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.statements += 1
            if statement == "COMMIT":  # a pipelined write commits with a statement
                self.commits += 1

        def on_commit(*_args: Any) -> None:
            self.commits += 1

        def on_checkout(dbapi_conn: Any, *_args: Any) -> None:
            pgconn = getattr(dbapi_conn, "pgconn", None)
            if pgconn is not None and all(conn is not pgconn for conn, _ in self.traces):
                fd = os.open(Path(trace_dir) / f"trace-{len(self.traces)}.txt", os.O_WRONLY | os.O_CREAT, 0o600)
                pgconn.trace(fd)
                self.traces.append((pgconn, fd))

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_commit)
        sa.event.listen(engine.pool, "checkout", on_checkout)
        self.trace_path = trace_dir

    def round_trips(self) -> int:
        """Client messages the client waits on, from the protocol traces; statements and commits without a wire."""
        if not self.traces:
            return self.statements + self.commits
        trips = 0
        for i, (pgconn, _fd) in enumerate(self.traces):
            if not pgconn.status:  # still open: flush and stop its trace
                pgconn.untrace()
            for line in (Path(self.trace_path) / f"trace-{i}.txt").read_text().splitlines():
                parts = line.split("\t")
                if len(parts) >= 4 and parts[1] == "F" and parts[3].split(" ")[0] in ("Query", "Sync"):
                    trips += 1
        return trips


def intent_then_done(ctx: StepContext) -> Outcome:
    """A step guarding a side effect: its intent is saved (committed) first, then it is done."""
    if "intent" not in ctx.state:
        ctx.state["intent"] = ctx.step.key
        ctx.save()
    return Done()


def run_once(url: str, projects: int, *, intent: bool = False, lanes: int = 8) -> tuple[int, float, Counts, int]:
    plan = load_plan_text(generated_plan(projects, lanes=lanes), "bench.yaml")
    store = Store.open(url)
    clock = VirtualClock(datetime(2026, 1, 10, 9, tzinfo=UTC))
    services = Services(plan=plan, store=store, clock=clock)
    handler = Handler("deploy", intent_then_done if intent else (lambda ctx: Done()))
    engine = Engine(services, {"deploy": handler}, concurrency=group_concurrency(plan))
    run, _ = start_or_resume(store, plan, "prod", "deploy", lambda: build_deploy(plan, "prod"), clock)
    steps = len(store.steps(run.id))
    counts = Counts()
    with tempfile.TemporaryDirectory() as traces:
        counts.watch(store.engine, traces)
        started = time.perf_counter()
        result = engine.drive(run.id)
        elapsed = time.perf_counter() - started
        assert result.status == "succeeded", result
        trips = counts.round_trips()
        for _pgconn, fd in counts.traces:
            os.close(fd)
    store.close()
    return steps, elapsed, counts, trips


def pg_schema_url(base: str) -> str | None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except sa.exc.OperationalError:
        return None
    return f"{base}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--intent", action="store_true", help="steps save an intent before they are done")
    parser.add_argument("--lanes", type=int, default=8, help="lanes a batch advances side by side")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    mode = ("intent" if args.intent else "plain") + f", {args.lanes} lanes"
    print(f"steps: {mode}")
    print(f"{'backend':<10} {'projects':>8} {'steps':>7} {'wall s':>8} {'ms/step':>8} {'trips/step':>10} "
          f"{'commits/step':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for size in sizes:
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'bench-{size}.db'}"
                else:
                    found = pg_schema_url(args.pg)
                    if found is None:
                        print("postgres   (not reachable, skipped)")
                        break
                    url = found
                steps, elapsed, counts, trips = run_once(url, size, intent=args.intent, lanes=args.lanes)
                print(f"{backend:<10} {size:>8} {steps:>7} {elapsed:>8.2f} {elapsed / steps * 1000:>8.2f} "
                      f"{trips / steps:>10.2f} {counts.commits / steps:>12.2f}", flush=True)
    print("targets: sqlite <= 1 ms/step, linear to 5,000; postgres <= 4 round trips and 1 commit per step")


if __name__ == "__main__":
    main()
