"""A worker process for the simultaneous-start test: start the same release as another process, many times.

    python start_worker.py DB_URL FOLDER TRIALS

For each trial ``i`` it writes ``FOLDER/ready-i-PID``, waits for ``FOLDER/go-i``
to exist, then calls ``start_or_resume`` for release ``race-i`` and prints
``i STARTED|RESUMED RUN_ID``. Two of these on one store, released by the same
file, start at the same instant as near as two processes can.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from golive.clock import SystemClock
from golive.plan.validate import load_plan_text
from golive.runs.release import start_or_resume
from golive.store.store import StepSpec, Store

PLAN = """\
release: race-{i}
version: v1
environments:
  prod: {{account: "123456789012", region: eu-west-1}}
projects:
  a: {{repo: owner/a, deploy: {{command: ["true"]}}}}
batches:
  - {{name: one, projects: [a]}}
"""


def main(argv: list[str]) -> int:
    db_url, folder, trials = argv[0], Path(argv[1]), int(argv[2])
    store = Store.open(db_url)
    pid = os.getpid()
    specs = [StepSpec(f"s{j}", "deploy", "work", f"step {j}", "g", "l", {}) for j in range(3)]
    try:
        for i in range(trials):
            plan = load_plan_text(PLAN.format(i=i))
            (folder / f"ready-{i}-{pid}").touch()
            deadline = time.monotonic() + 120
            while not (folder / f"go-{i}").exists():
                if time.monotonic() > deadline:
                    print(f"{i} NO_GO_SIGNAL", flush=True)
                    return 1
                time.sleep(0.0005)
            run, resumed = start_or_resume(store, plan, "prod", "release", lambda: specs, SystemClock())
            print(f"{i} {'RESUMED' if resumed else 'STARTED'} {run.id}", flush=True)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
