"""A release worker that may be killed at any instant: create or resume one run and drive it.

    python chaos_worker.py DB_URL EFFECTS_FILE

The run has 30 ``effect`` steps in 10 groups of 3 lanes. Each step's side
effect is appending its key to EFFECTS_FILE, guarded by a recorded intent
(look before you act): the handler saves ``state["intent"] = True`` first;
when it finds the intent already set (a previous process died mid-step), it
checks the file and writes only if the key is not there yet. Prints READY
once the store is open and the run exists, then DONE with the run's status.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from golive.clock import SystemClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Handler, Outcome
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.runs.release import start_or_resume
from golive.store.store import StepSpec, Store

PLAN = """\
release: chaos
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
"""

GROUPS, LANES = 10, 3


def build() -> list[StepSpec]:
    return [StepSpec(key=f"g{g}.l{lane}", phase="deploy", kind="effect", title=f"effect {g}/{lane}", group=f"g{g}",
                     lane=f"l{lane}", params={}) for g in range(GROUPS) for lane in range(LANES)]


def main(db_url: str, effects: str) -> int:
    path = Path(effects)
    store = Store.open(db_url)
    clock = SystemClock()
    plan = load_plan_text(PLAN)

    def effect(ctx: StepContext) -> Outcome:
        key = ctx.step.key
        if ctx.state.get("intent"):
            if path.exists() and key in path.read_text(encoding="utf-8").split():
                return Done("already done by a process that died before recording it", {"resumed": True})
        else:
            ctx.state["intent"] = True
            ctx.save()
        time.sleep(0.01)  # widen the window between the intent and the effect
        with path.open("a", encoding="utf-8") as f:
            f.write(key + "\n")
        time.sleep(0.01)  # and between the effect and the step's completion
        return Done()

    run, _ = start_or_resume(store, plan, "prod", "release", build, clock)
    print("READY", flush=True)
    # The same holder name on every restart: this stands for one machine resuming its own work.
    engine = Engine(Services(plan=plan, store=store, clock=clock), {"effect": Handler("effect", effect)},
                    holder="chaos-worker", lease_ttl=timedelta(seconds=60))
    result = engine.drive(run.id)
    print(f"DONE {result.status}", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
