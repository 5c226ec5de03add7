"""Engine overhead: a generated release whose steps do nothing outside.

Builds plans of 50, 500 and 5,000 projects in 10 batches, plans them with
golive's real planner, and drives each run to its end with the real engine
and store (SQLite file, then PostgreSQL if reachable). Prints wall time,
steps, overhead per step, and the round trips and commits per step counted at
the driver (SQLAlchemy's ``before_cursor_execute`` and ``commit`` events, plus
one per pool checkout when ``pool_pre_ping`` pings). Targets (issue 14): SQLite
at most 1 ms a step and linear to 5,000 steps; PostgreSQL at most 4 round
trips and 1 commit per step.

    python bench/engine.py [--sizes 50,500,5000] [--pg postgresql+psycopg://...] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.outcome import Done, Handler
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.runs.release import group_concurrency, start_or_resume
from golive.steps.planner import build_deploy
from golive.store.store import Store


def generated_plan(projects: int, batches: int = 10) -> str:
    lines = ["release: bench", "version: v1", "environments:",
             "  prod: {account: '000000000000', region: eu-west-1}", "projects:"]
    for i in range(projects):
        lines.append(f"  p{i}: {{repo: o/r{i}, deploy: {{command: ['true']}}}}")
    lines.append("batches:")
    per = max(1, projects // batches)
    for b in range(batches):
        members = [f"p{i}" for i in range(b * per, projects if b == batches - 1 else (b + 1) * per)]
        if members:
            lines.append(f"  - {{name: b{b}, concurrency: 8, projects: [{', '.join(members)}]}}")
    return "\n".join(lines) + "\n"


@dataclass
class Counts:
    """Statements sent, commits and pool checkouts (each a pre-ping round trip where the pool pings)."""

    statements: int = 0
    commits: int = 0
    checkouts: int = 0

    def watch(self, engine: sa.Engine) -> None:
        def on_execute(*_args: Any) -> None:
            self.statements += 1

        def on_commit(*_args: Any) -> None:
            self.commits += 1

        def on_checkout(*_args: Any) -> None:
            self.checkouts += 1

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        sa.event.listen(engine, "commit", on_commit)
        sa.event.listen(engine.pool, "checkout", on_checkout)

    def round_trips(self, engine: sa.Engine) -> int:
        """Statements and commits, and a ping per checkout if the pool pre-pings (BEGIN is implicit in psycopg)."""
        return self.statements + self.commits + (self.checkouts if engine.pool._pre_ping else 0)


def run_once(url: str, projects: int) -> tuple[int, float, Counts, int]:
    plan = load_plan_text(generated_plan(projects), "bench.yaml")
    store = Store.open(url)
    clock = VirtualClock(datetime(2026, 1, 10, 9, tzinfo=UTC))
    services = Services(plan=plan, store=store, clock=clock)
    nothing = Handler("deploy", lambda ctx: Done())
    engine = Engine(services, {"deploy": nothing}, concurrency=group_concurrency(plan))
    run, _ = start_or_resume(store, plan, "prod", "deploy", lambda: build_deploy(plan, "prod"), clock)
    steps = len(store.steps(run.id))
    counts = Counts()
    counts.watch(store.engine)
    started = time.perf_counter()
    result = engine.drive(run.id)
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", result
    trips = counts.round_trips(store.engine)
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
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
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
                steps, elapsed, counts, trips = run_once(url, size)
                print(f"{backend:<10} {size:>8} {steps:>7} {elapsed:>8.2f} {elapsed / steps * 1000:>8.2f} "
                      f"{trips / steps:>10.2f} {counts.commits / steps:>12.2f}", flush=True)
    print("targets: sqlite <= 1 ms/step, linear to 5,000; postgres <= 4 round trips and 1 commit per step")


if __name__ == "__main__":
    main()
