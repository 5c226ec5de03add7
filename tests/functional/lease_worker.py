"""A worker process for the lease tests: drive one stored run, or say who holds it.

    python lease_worker.py DB_URL RUN_ID NAME LOG READY GO SLEEP

Opens the store, writes READY, waits for the file GO to exist, then calls
``Engine.drive`` on run RUN_ID with a handler for ``work`` steps that appends
``STEP_KEY PID`` to LOG and sleeps SLEEP seconds. Exit 0 and ``DONE status``
on stdout when it drove the run; exit 75 and ``LEASE_HELD holder`` when
another process holds the run's lease.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from golive.clock import SystemClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Handler, Outcome
from golive.engine.runner import Engine
from golive.errors import LeaseHeld
from golive.plan.validate import load_plan_text
from golive.store.store import Store

PLAN = """\
release: leases
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
"""

EXIT_LEASE_HELD = 75


def main(argv: list[str]) -> int:
    db_url, run_id, name, log, ready, go, sleep = argv
    store = Store.open(db_url)
    pid = os.getpid()

    def work(ctx: StepContext) -> Outcome:
        with Path(log).open("a", encoding="utf-8") as f:
            f.write(f"{ctx.step.key} {pid}\n")
        time.sleep(float(sleep))
        return Done()

    services = Services(plan=load_plan_text(PLAN), store=store, clock=SystemClock())
    engine = Engine(services, {"work": Handler("work", work)}, holder=f"{name}:{pid}")
    Path(ready + ".tmp").write_text(str(pid), encoding="utf-8")
    Path(ready + ".tmp").replace(ready)  # appears whole, never empty
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            print("NO_GO_SIGNAL", flush=True)
            return 1
        time.sleep(0.005)
    try:
        result = engine.drive(int(run_id))
    except LeaseHeld as err:
        print(f"LEASE_HELD {err.holder}", flush=True)
        return EXIT_LEASE_HELD
    finally:
        store.close()
    print(f"DONE {result.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
