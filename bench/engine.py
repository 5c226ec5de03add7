"""Engine overhead: a generated release whose steps do nothing outside.

Builds plans of 50, 500 and 5,000 projects in 10 batches, plans them with
golive's real planner, and drives each run to its end with the real engine
and store (SQLite file, then PostgreSQL if reachable). Prints wall time,
steps, and overhead per step; the target is at most 5 ms per step on SQLite
and growth linear in the number of steps.

    python bench/engine.py [--sizes 50,500,5000] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.outcome import Done, Handler
from golive.engine.planner import build_deploy
from golive.engine.release import group_concurrency, start_or_resume
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
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


def run_once(url: str, projects: int) -> tuple[int, float]:
    plan = load_plan_text(generated_plan(projects), "bench.yaml")
    store = Store.open(url)
    clock = VirtualClock(datetime(2026, 1, 10, 9, tzinfo=UTC))
    services = Services(plan=plan, store=store, clock=clock)
    nothing = Handler("deploy", lambda ctx: Done())
    engine = Engine(services, {"deploy": nothing}, concurrency=group_concurrency(plan))
    run, _ = start_or_resume(store, plan, "prod", "deploy", lambda: build_deploy(plan, "prod"), clock)
    steps = len(store.steps(run.id))
    started = time.perf_counter()
    result = engine.drive(run.id)
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", result
    store.close()
    return steps, elapsed


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
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'backend':<10} {'projects':>8} {'steps':>7} {'wall s':>8} {'ms/step':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgres"):
            for size in sizes:
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'bench-{size}.db'}"
                else:
                    found = pg_schema_url(args.pg)
                    if found is None:
                        print("postgres   (not reachable, skipped)")
                        break
                    url = found
                steps, elapsed = run_once(url, size)
                print(f"{backend:<10} {size:>8} {steps:>7} {elapsed:>8.2f} {elapsed / steps * 1000:>8.2f}")


if __name__ == "__main__":
    main()
