"""The bbws plan as shipped declares the runbook's dependencies (the site calls the three APIs, the APIs need the
tables). A rehearsal in which the order API's canary fails holds the site, deployed a batch earlier by its
workflow; with ``rollback.rollback_dependents: true`` the site is redeployed at its previous release tag first,
exactly once, then the order canary and its batch siblings are restored, and the report shows the order and
each undo's time.

Real sandbox (moto over HTTP, the local GitHub with the site's ``v0.9.0-prod`` tag), the engine on a virtual
clock, a real store. The fault is the order scenario's: the new order_lambda build fails 8% of its calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.clock import SystemClock
from golive.engine.context import Services
from golive.plan.validate import load_plan
from golive.rehearsal.local import Rehearsal, rehearse
from golive.runs.undo import ask
from golive.store.store import Store
from short_plan import write_short_plan

pytestmark = pytest.mark.xdist_group("dependencies_rehearsal")

FAULT = "order_lambda:error_rate=8%@deploy"
SITE_REPO = "BigBeardWebSolutions/2_1_bbws_web_public"
HELD = "held: depends on order_lambda, which failed"


def _rehearse(tmp_path: Path, *, rollback_dependents: bool | None) -> tuple[Rehearsal, Store]:
    path = write_short_plan(tmp_path / "plan")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["projects"]["web_public"]["depends_on"] == ["product_lambda", "order_lambda", "campaigns_lambda"]
    assert data["projects"]["order_lambda"]["depends_on"] == ["dynamodb_schemas"]
    if rollback_dependents is not None:
        data["rollback"]["rollback_dependents"] = rollback_dependents
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    result = rehearse(load_plan(path), path.parent, "prod", faults=[FAULT], seed=7, until=None, out_dir=out)
    return result, Store.open(f"sqlite:///{out / 'rehearsal.db'}")


def _site_refs(result: Rehearsal) -> dict[str, int]:
    refs: dict[str, dict[str, int]] = result.summary["dispatches"]["refs_per_repo"]
    return refs[SITE_REPO]


def test_as_shipped_a_failed_api_canary_holds_the_site_and_leaves_it_deployed(tmp_path: Path) -> None:
    result, store = _rehearse(tmp_path, rollback_dependents=None)
    try:
        assert result.status == "rolled_back", result.reason
        held = [e.data for e in store.events(run_id=result.run_id, kind="dependents") if e.outcome == "held"]
        assert [(h["failed"], h["held"], h["rollback_dependents"]) for h in held] == [
            ("order_lambda", ["web_public"], False)]
        assert "deploy.web_public" not in held[0]["undo"]
        steps = {s.key: s for s in store.steps(result.run_id)}
        assert steps["deploy.web_public"].status == "done"  # as a failed batch always left what it deployed
        assert _site_refs(result) == {"v1.0.0-prod": 1}  # not redeployed
        assert list(store.events(run_id=result.run_id, kind="undo")) == []
        report = Path(result.reports["md"]).read_text(encoding="utf-8")
        section = report[report.index("## Dependencies held"):]
        assert "its dependents web_public are held, not undone" in section.splitlines()[2], section[:400]
    finally:
        store.close()


def test_with_rollback_dependents_the_site_is_redeployed_at_its_previous_tag_first(tmp_path: Path) -> None:
    result, store = _rehearse(tmp_path, rollback_dependents=True)
    try:
        assert result.status == "rolled_back", result.reason
        # One more dispatch of the site's workflow, at the previous release tag; the release's own once.
        assert _site_refs(result) == {"v1.0.0-prod": 1, "v0.9.0-prod": 1}
        assert result.summary["dispatches"]["per_repo"][SITE_REPO] == 2
        first, second = result.summary["rollbacks"][:2]
        assert (first["project"], second["project"]) == ("web_public", "order_lambda")
        assert first["reason"] == "undo: redeploy v0.9.0-prod; verify: 1 check passed"
        held = [e.data for e in store.events(run_id=result.run_id, kind="dependents") if e.outcome == "held"]
        # The site's deploy (its redeploy) and its CloudFront canary (promoted: nothing the router can put back).
        assert [(h["held"], h["undo"]) for h in held] == [(["web_public"], [
            "deploy.web_public", "canary.web_public", "canary.order_lambda", "canary.product_lambda",
            "canary.campaigns_lambda"])]
        events = [e for e in store.events(run_id=result.run_id) if e.kind in ("undo", "rollback", "dependents")]
        done = [(e.data["position"], e.data["project"], e.data["owed_for"]) for e in events
                if e.kind == "dependents" and e.outcome == "undone"]
        assert done == [(1, "web_public", "dependency"), (2, "web_public", "dependency"), (3, "order_lambda", "self"),
                        (4, "product_lambda", "batch"), (5, "campaigns_lambda", "batch")]
        assert not [e for e in events if e.kind == "rollback" and e.subject == "web_public"]  # no failed restore
        # The site's undo is recorded before the order canary's restore, with its tag, run, verify and time.
        acts = [(e.kind, e.subject) for e in events if e.kind in ("undo", "rollback")]
        assert acts[:2] == [("undo", "web_public"), ("rollback", "order_lambda")]
        undone = next(e for e in events if e.kind == "undo")
        assert undone.outcome == "undone"
        assert (undone.data["tag"], undone.data["method"], undone.data["asked_by"]) == (
            "v0.9.0-prod", "redeploy", "dependency")
        assert undone.data["verify"] == "verify: 1 check passed"
        assert undone.data["seconds"] > 0
        site_undo = next(e for e in events if e.kind == "dependents" and e.data.get("project") == "web_public"
                         and e.outcome == "undone")
        assert site_undo.data["seconds"] > 0  # the redeploy's minutes on the rehearsal's clock
        steps = {s.key: s for s in store.steps(result.run_id)}
        assert steps["deploy.web_public"].status == "cancelled"
        assert steps["deploy.web_public"].wait_reason == HELD
        assert steps["deploy.web_public"].state["dependency_undo"]["recorded"] is True
        report = Path(result.reports["md"]).read_text(encoding="utf-8")
        section = report[report.index("## Dependencies held"):]
        assert "web_public are undone first. Undo order: deploy.web_public → canary.web_public → canary.order_lambda" in section
        rows = [line for line in section.splitlines() if line.startswith(("| 1 ", "| 2 ", "| 3 "))]
        assert "deploy.web_public" in rows[0] and "depends on the failed project" in rows[0], rows
        assert "canary.web_public" in rows[1], rows
        assert "order_lambda" in rows[2], rows
        assert all(row.rstrip(" |").split("|")[-1].strip().endswith(("s", "min")) for row in rows), rows
        rollbacks = report[report.index("## Rollbacks"):report.index("## Dependencies held")]
        first = next(line for line in rollbacks.splitlines() if line.startswith("| 20"))
        assert "web_public" in first and "undo: redeploy v0.9.0-prod" in first, first
        # A golive rollback of the site now says the release run undid it, and would dispatch nothing again.
        services = Services(plan=load_plan(tmp_path / "plan" / "golive.yaml"), store=store, clock=SystemClock())
        asked = ask(services, "prod", "web_public")
        assert asked.already is not None and asked.already.id == result.run_id
    finally:
        store.close()
