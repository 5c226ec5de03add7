"""A runner process for the intent tests: drive one stored run whose ``work`` steps may act on a world file.

    python intent_worker.py DB_URL RUN_ID WORLD LOG [CRASH_KEY]

A step with ``params.effect`` guards its side effect (appending its key to WORLD) with an intent:
it saves ``state["intent"]`` first, and on a later run that finds the intent it looks at WORLD before
acting again. With CRASH_KEY, the process kills itself (SIGKILL) right after that step's side effect,
before its outcome is written. Every handler call appends ``KEY PID`` to LOG. Prints ``DONE status``.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from golive.clock import VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Handler, Outcome
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.store.store import Store

PLAN = """\
release: intents
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
"""


def main(argv: list[str]) -> int:
    db_url, run_id, world, log = argv[:4]
    crash_key = argv[4] if len(argv) > 4 else None
    store = Store.open(db_url)
    pid = os.getpid()

    def work(ctx: StepContext) -> Outcome:
        key = ctx.step.key
        with Path(log).open("a", encoding="utf-8") as f:
            f.write(f"{key} {pid}\n")
        if not ctx.params.get("effect"):
            return Done(f"{key} done")
        done_outside = key in Path(world).read_text(encoding="utf-8").split()
        if "intent" in ctx.state and done_outside:
            return Done(f"{key} found done after a restart")
        ctx.state["intent"] = key
        ctx.save()
        with Path(world).open("a", encoding="utf-8") as f:
            f.write(f"{key}\n")
        if key == crash_key:
            os.kill(pid, signal.SIGKILL)
        return Done(f"{key} acted")

    clock = VirtualClock(datetime(2026, 1, 10, 9, tzinfo=UTC))
    services = Services(plan=load_plan_text(PLAN), store=store, clock=clock)
    engine = Engine(services, {"work": Handler("work", work)}, concurrency={"g": 3})
    result = engine.drive(int(run_id))
    print(f"DONE {result.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
