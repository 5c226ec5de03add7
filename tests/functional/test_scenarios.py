"""Every named scenario beside the bbws plan ends as its file says.

``examples/bbws/scenarios/*.yaml`` each name faults to inject, where to stop,
and the outcome the rehearsal must have: the run's status, words its reason
must contain, the projects rolled back, the soak checkpoint that fails. Each
is rehearsed in-process (``golive.rehearsal.local.rehearse``: the sandbox world and
the engine on a virtual clock). ``healthy``, ``sit-error-spike`` and
``latency`` run on the plan as shipped; the others, whose outcome does not
hang on the soaks' or bakes' length, on the same plan with shorter soaks and
bakes (``short_plan.py``).
One test per scenario, so ``pytest -n 2`` splits them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse
from golive.steps.planner import PHASES
from golive.store.store import Store
from short_plan import write_short_plan

SCENARIOS = example_path("bbws").parent / "scenarios"
# The judge needs more minutes than the short bakes give to call a latency shift significant.
AS_SHIPPED = {"healthy", "sit-error-spike", "latency"}
KEYS = {"name", "description", "inject", "until", "expect"}
EXPECT_KEYS = {"status", "reason_contains", "rollbacks", "checkpoint_failed"}


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


def test_the_named_scenarios_are_there_and_well_formed() -> None:
    names = {p.stem for p in scenario_files()}
    assert {"healthy", "order-canary-errors", "sit-error-spike", "p0-incident-during-apis",
            "aws-outage-during-canary", "latency"} <= names
    for path in scenario_files():
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(scenario) == KEYS, path.name
        assert scenario["name"] == path.stem
        assert set(scenario["expect"]) == EXPECT_KEYS, path.name
        assert scenario["until"] is None or scenario["until"] in PHASES, path.name
        assert scenario["expect"]["status"] in ("succeeded", "stopped", "rolled_back", "no_go", "failed")


# The whole bbws rehearsal (the Quickstart's command) is outside the default run for CI's budget: the extended
# rehearsal-equivalence test rehearses it too, and compares its whole report.
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.extended) if p.stem == "healthy" else p
                                  for p in scenario_files()], ids=lambda p: p.stem)
def test_scenario_ends_as_it_says(path: Path, tmp_path: Path) -> None:
    scenario: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    expect = scenario["expect"]
    plan_path = example_path("bbws") if scenario["name"] in AS_SHIPPED else write_short_plan(tmp_path / "plan")
    out = tmp_path / "out"
    result = rehearse(load_plan(plan_path), plan_path.parent, "prod", faults=scenario["inject"], seed=7,
                      until=scenario["until"], out_dir=out)
    summary = result.summary
    context = f"{result.status}: {result.reason}; rollbacks {summary['rollbacks']}; phases {summary['phases']}"

    assert result.status == expect["status"], context
    assert result.exit_code == (0 if expect["status"] in ("succeeded", "stopped") else 1)
    for words in expect["reason_contains"]:
        assert words in (result.reason or ""), context
    assert sorted(r["project"] for r in summary["rollbacks"]) == sorted(expect["rollbacks"]), context
    if expect["status"] == "rolled_back":
        reasons = {r["project"]: r["reason"] or "" for r in summary["rollbacks"]}
        first = expect["rollbacks"][0]
        assert all(w in reasons[first] for w in expect["reason_contains"] if w != first), reasons
    if expect["status"] in ("rolled_back", "no_go"):
        assert summary["phases"].get("prod_soak") == "cancelled", context  # nothing after the failure ran

    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    try:
        failed = sorted(e.data.get("index") for e in store.events(release=result.summary.get("release", "bbws"))
                        if e.kind == "checkpoint" and e.outcome == "fail")
    finally:
        store.close()
    assert failed == ([] if expect["checkpoint_failed"] is None else [expect["checkpoint_failed"]]), context
    assert Path(result.reports["html"]).is_file() and Path(result.reports["md"]).is_file()
