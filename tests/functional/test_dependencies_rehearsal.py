"""A rehearsal in which an API canary fails holds the site that depends on it; with ``rollback_dependents`` the
site is restored first, then the API, and the report and the store show the order with each undo's time.

The bbws plan on its short timeline, with the site served by Lambda functions behind a canary of its own
(so it has traffic to shift and an alias to put back), ``depends_on: [order_lambda]``, deployed in the apis
batch beside the APIs. The fault is the order scenario's: the new order_lambda build fails 8% of its calls.
Real sandbox (moto over HTTP, the local GitHub), the engine on a virtual clock, a real store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.plan.validate import load_plan
from golive.rehearsal.local import Rehearsal, rehearse
from golive.store.store import Store
from short_plan import write_short_plan

pytestmark = pytest.mark.xdist_group("dependencies_rehearsal")

FAULT = "order_lambda:error_rate=8%@deploy"
HELD = "held: depends on order_lambda, which failed"


def _plan(folder: Path, *, rollback_dependents: bool) -> Path:
    path = write_short_plan(folder)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    site = data["projects"]["web_public"]
    site["rollout"] = {"lambda_canary": {
        "functions": {"prefix": "2-1-bbws-web-", "suffix": "-{env}", "count": 2}, "alias": "live",
        "steps": [{"weight": 10, "bake": "3m"}, {"weight": 50, "bake": "3m"}, {"weight": 100}]}}
    site["depends_on"] = ["order_lambda"]
    data["batches"] = [data["batches"][0], {**data["batches"][2], "projects": [
        *data["batches"][2]["projects"], "web_public"], "rollback_shifted": rollback_dependents}]
    data["rollback"]["rollback_dependents"] = rollback_dependents
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _rehearse(tmp_path: Path, *, rollback_dependents: bool) -> tuple[Rehearsal, Store, Path]:
    path = _plan(tmp_path / "plan", rollback_dependents=rollback_dependents)
    out = tmp_path / "out"
    result = rehearse(load_plan(path), path.parent, "prod", faults=[FAULT], seed=7, until=None, out_dir=out)
    return result, Store.open(f"sqlite:///{out / 'rehearsal.db'}"), out


def test_a_failed_api_canary_holds_the_site_that_depends_on_it(tmp_path: Path) -> None:
    result, store, _ = _rehearse(tmp_path, rollback_dependents=False)
    try:
        assert result.status == "rolled_back", result.reason
        assert "order_lambda" in (result.reason or "")
        steps = {s.key: s for s in store.steps(result.run_id)}
        site = steps["canary.web_public"]
        # Held where it was: no further shift, not put back (the batch keeps shifted canaries, and the plan
        # does not ask for dependents to be undone).
        assert site.status == "cancelled" and site.wait_reason == HELD
        assert site.state["phase"] == "bake" and site.state["weight"] == 10.0
        assert steps["canary.web_public@dr"].wait_reason == HELD  # its DR region's canary never starts
        assert steps["canary.order_lambda"].status == "failed"
        held = [e.data for e in store.events(run_id=result.run_id, kind="dependents") if e.outcome == "held"]
        assert [(h["failed"], h["held"], h["rollback_dependents"]) for h in held] == [
            ("order_lambda", ["web_public"], False)]
        rolled = [e.subject for e in store.events(run_id=result.run_id, kind="rollback")]
        assert rolled == ["order_lambda"]
    finally:
        store.close()


def test_with_rollback_dependents_the_site_is_restored_first_then_the_api(tmp_path: Path) -> None:
    result, store, out = _rehearse(tmp_path, rollback_dependents=True)
    try:
        assert result.status == "rolled_back", result.reason
        held = [e.data for e in store.events(run_id=result.run_id, kind="dependents") if e.outcome == "held"]
        assert [(h["held"], h["undo"][:2]) for h in held] == [
            (["web_public"], ["canary.web_public", "canary.order_lambda"])]
        undone = [(e.data["position"], e.data["project"], e.data["owed_for"])
                  for e in store.events(run_id=result.run_id, kind="dependents") if e.outcome == "undone"]
        assert undone[:2] == [(1, "web_public", "dependency"), (2, "order_lambda", "self")]
        assert {p for _, p, why in undone[2:] if why == "batch"} == {"product_lambda", "campaigns_lambda"}
        rollbacks = [(e.subject, e.data["asked_by"]) for e in store.events(run_id=result.run_id, kind="rollback")]
        assert rollbacks[:2] == [("web_public", "dependency"), ("order_lambda", "canary")]
        assert all(e.outcome == "rolled_back" for e in store.events(run_id=result.run_id, kind="rollback"))
        steps = {s.key: s for s in store.steps(result.run_id)}
        assert steps["canary.web_public"].state["phase"] == "rolled_back"
        assert steps["canary.web_public"].wait_reason == HELD
        assert steps["canary.order_lambda"].state["phase"] == "rolled_back"
        report = Path(result.reports["md"]).read_text(encoding="utf-8")
        section = report[report.index("## Dependencies held"):]
        assert "Undo order: canary.web\\_public → canary.order\\_lambda" in section or \
            "Undo order: canary.web_public → canary.order_lambda" in section, section[:600]
        rows = [line for line in section.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
        assert "web" in rows[0] and "order" in rows[1], rows
        assert out.is_dir()
    finally:
        store.close()
