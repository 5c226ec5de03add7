"""The uptime steps of a plan without health URLs say so, and do not claim golive was restarted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.plan.validate import load_plan_text
from golive.runs import session
from golive.store.store import StepSpec, Store

PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a:
    repo: owner/a
    deploy: {command: [make, deploy]}
batches:
  - {name: one, projects: [a]}
"""


def _uptime_steps(urls: list[str]) -> list[StepSpec]:
    return [StepSpec("uptime.start", "deploy", "uptime_start", "start the uptime prober", "uptime.start", "uptime",
                     {"urls": urls, "ok": [200]}),
            StepSpec("uptime.end", "validation", "uptime_end", "availability", "uptime.end", "uptime", {})]


def test_no_health_urls_is_said_as_such(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        services = Services(plan=load_plan_text(PLAN), store=store, clock=VirtualClock(datetime(2026, 1, 7, tzinfo=UTC)))
        driven = session.drive(services, "prod", "deploy", lambda: _uptime_steps([]))
        assert driven.run.status == "succeeded"
        end = next(s for s in store.steps(driven.run.id) if s.key == "uptime.end")
        summary = (end.result or {}).get("summary", "")
        assert summary == "no health URLs in the plan; availability not measured"
        assert "restarted" not in summary
    finally:
        store.close()
