"""How a soak stands, said the way the runbook's schedule says it.

"5/8 checkpoints complete, all passing; next #6 at 02:00 (in 3 h 12 min);
soak ends 18:40" — read from the latest soak of an environment, whether it
runs on its own (``golive soak start``) or inside a release run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from golive import schedule
from golive.analysis.units import counted, human_duration
from golive.clock import parse_instant
from golive.plan.model import Plan
from golive.store.statuses import StepStatus
from golive.store.store import Store


def soak_summary(store: Store, plan: Plan, env: str, now: datetime) -> dict[str, Any]:
    runs = [r for r in store.runs(plan.release) if r.meta.get("soak", {}).get(env) or (r.kind == "soak" and r.env == env)]
    if not runs:
        return {"env": env, "text": f"no soak in {env} yet (golive soak start --env {env})", "checkpoints": []}
    run = runs[-1]
    meta = run.meta.get("soak", {}).get(env, {})
    steps = [s for s in store.steps(run.id) if s.kind == "soak_checkpoint" and s.params.get("env") == env]
    start = parse_instant(meta["start"]) if meta.get("start") else None
    rows = []
    for s in steps:
        due = start + timedelta(seconds=s.params["offset_s"]) if start else None
        result = s.result or {}
        status = StepStatus.PENDING if StepStatus(s.status).open else (
            StepStatus.SKIPPED if result.get("skipped") else ("pass" if not result.get("failures") else "fail"))
        rows.append({"index": s.params["index"], "due": due.isoformat() if due else None, "status": status,
                     "late": result.get("late", False), "detail": "; ".join(result.get("failures", []))})
    done = [r for r in rows if r["status"] in ("pass", "fail")]
    failing = [r for r in rows if r["status"] == "fail"]
    skipped = [r for r in rows if r["status"] == StepStatus.SKIPPED]
    total = len(rows)
    text = f"{env} soak (run {run.id}): {len(done)}/{counted(total, 'checkpoint')} complete"
    if failing:
        text += f", checkpoint {failing[0]['index']} FAILED: {failing[0]['detail']}"
    elif done:
        text += ", all passing"
    if skipped:
        text += f" ({len(skipped)} skipped)"
    nxt = next((r for r in rows if r["status"] == StepStatus.PENDING), None)
    if nxt is not None and start is not None and not failing:
        due = start + timedelta(seconds=steps[nxt["index"] - 1].params["offset_s"])
        wait = due - now
        when = f"in {human_duration(wait)}" if wait.total_seconds() > 0 else "now"
        text += f"; next #{nxt['index']} at {schedule.local(due, fmt='%H:%M')} ({when})"
    if start is not None and steps:
        ends = start + timedelta(seconds=steps[-1].params["offset_s"])
        text += f"; soak ends {schedule.local(ends)}"
    return {"env": env, "run": run.id, "status": run.status, "text": text, "checkpoints": rows,
            "started_at": meta.get("start")}
