"""Benchmark: many small releases advanced concurrently by worker processes on PostgreSQL.

Issue 15's benchmark. It creates a fresh PostgreSQL schema, submits N small
releases (one project each, deployed by a local command, so the figures are
the engine's and the store's, not AWS's), starts W worker processes that each
call ``golive.worker.work`` over every release, and kills one worker with
SIGKILL while it holds a run's lease. It prints the throughput (steps done a
second), p50 and p99 of the wall time a worker took per turn (one lease
taken, the run advanced until it waits, the lease let go), and how long the
killed worker's run waited before another worker took it.

    python bench/workers.py [--releases 200] [--workers 4] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Not measured here: releases against the sandbox's AWS and GitHub (tests/functional/test_worker.py does one
such release, with a worker killed mid-canary); on the shared 2-core machine a sandbox per 200 releases does
not fit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

PLAN = """\
release: {name}
version: v1
environments:
  prod: {{account: "123456789012", region: eu-west-1}}
projects:
  app: {{repo: owner/{name}, deploy: {{command: ["python3", "-c", "pass"]}}}}
batches:
  - {{name: one, projects: [app]}}
"""


def plans(folder: Path, n: int) -> list[Path]:
    out = []
    for i in range(n):
        path = folder / f"r{i:03}" / "golive.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PLAN.format(name=f"r{i:03}"), encoding="utf-8")
        out.append(path)
    return out


def holder_pid(holder: str) -> int:
    """The pid in a lease holder ``host:pid:start`` (engine.runner.default_holder), -1 when it has none."""
    parts = holder.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def worker_main(url: str, github_url: str, folder: Path, n: int, log: Path) -> int:
    from golive.clock import SystemClock
    from golive.engine.context import Services
    from golive.plan.validate import load_plan
    from golive.providers.github import GitHub
    from golive.sandbox.world import SANDBOX_TOKEN
    from golive.store.store import Store
    from golive.worker import due_runs, work

    store = Store.open(url)
    clock = SystemClock()
    github = GitHub(github_url, SANDBOX_TOKEN, clock=clock)
    services = [Services(plan=load_plan(p), store=store, clock=clock, github=github, extras={"workdir": str(p.parent)})
                for p in plans(folder, n)]
    turns: list[float] = []
    with log.open("a", encoding="utf-8") as out:
        while True:
            active = [s for s in services if due_runs(s)]
            if not active:
                break
            for s in active:
                report = work(s, poll=timedelta(0), until=lambda r: r.passes >= 1)
                turns += report.step_seconds
                if report.advanced:
                    out.write(json.dumps({"turns": report.step_seconds}) + "\n")
                    out.flush()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg", default=os.environ.get("GOLIVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, github_url, folder, log = args.worker
        sys.exit(worker_main(url, github_url, Path(folder), args.releases, Path(log)))

    from golive.clock import SystemClock
    from golive.engine.context import Services
    from golive.plan.validate import load_plan
    from golive.sandbox.github_seed import seed
    from golive.sandbox.github_server import GitHubServer
    from golive.sandbox.world import SANDBOX_TOKEN
    from golive.store.store import Store
    from golive.worker import submit

    github = GitHubServer(SystemClock(), token=SANDBOX_TOKEN)
    github_url = github.start()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(args.pg)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    folder = Path(f"/tmp/golive-bench-workers-{schema}")
    try:
        store = Store.open(url)
        for path in plans(folder, args.releases):
            seed(github, load_plan(path), "prod")
            submit(Services(plan=load_plan(path), store=store, clock=SystemClock()), "prod")
        total_steps = sum(len(store.steps(r.id)) for r in store.runs())
        started = time.perf_counter()
        logs = [folder / f"worker{i}.log" for i in range(args.workers)]
        procs = [subprocess.Popen([sys.executable, __file__, "--releases", str(args.releases),
                                   "--worker", url, github_url, str(folder), str(log)]) for log in logs]
        # The victim is whichever worker is first seen holding a lease (on a loaded machine one worker may
        # finish its share between two looks at the leases table).
        victim, victim_lease = procs[0], None
        by_pid = {p.pid: p for p in procs}
        while victim_lease is None and any(p.poll() is None for p in procs) and time.perf_counter() - started < 600:
            with store.tx() as conn:
                rows = conn.execute(sa.text("SELECT name, holder FROM leases")).all()
            for r in rows:
                pid = holder_pid(str(r.holder))
                if pid in by_pid and by_pid[pid].poll() is None:
                    victim, victim_lease = by_pid[pid], r.name
                    break
        killed_at = time.perf_counter()
        try:
            os.kill(victim.pid, signal.SIGKILL)
        except ProcessLookupError:
            victim_lease = None  # it ended on its own first: nothing to take over
        victim.wait()
        waited = None
        while victim_lease is not None and waited is None and time.perf_counter() - killed_at < 120:
            with store.tx() as conn:
                holder = conn.execute(sa.text("SELECT holder FROM leases WHERE name = :n"), {"n": victim_lease}).scalar()
            if holder is None or holder_pid(str(holder)) != victim.pid:
                waited = time.perf_counter() - killed_at
            time.sleep(0.01)
        for proc in procs:
            proc.wait()
        wall = time.perf_counter() - started
        done = sum(1 for r in store.runs() for s in store.steps(r.id) if s.status in ("done", "skipped"))
        succeeded = sum(r.status == "succeeded" for r in store.runs())
        turns = sorted(t for log in logs if log.exists() for line in log.read_text().splitlines()
                       for t in json.loads(line)["turns"])
        print(f"ran: {args.releases} releases ({total_steps} steps) on {args.workers} worker processes, PostgreSQL, "
              f"one worker SIGKILLed holding {victim_lease}")
        print(f"succeeded: {succeeded}/{args.releases}; steps done {done}/{total_steps}")
        print(f"throughput: {done / wall:.1f} steps/s over {wall:.1f} s")
        if turns:
            p99 = turns[min(len(turns) - 1, int(len(turns) * 0.99))]
            print(f"turn latency: p50 {statistics.median(turns) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms ({len(turns)} turns)")
        print(f"killed worker's run taken over after: {waited:.2f} s" if waited is not None else
              "killed worker's run: lease not seen taken over (it was let go before the kill)")
        store.close()
    finally:
        github.stop()
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
