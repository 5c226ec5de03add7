"""Lambda releases as Terraform and SAM make them, against the sandbox (boto3 over HTTP to its moto server).

Terraform publishes a new version only of the functions that changed: the sandbox's deploy publishes 3 of
``product_lambda``'s 5 functions (``sandbox.command_publishes``), and the canary shifts those 3 and lists the
other 2 as unchanged, their aliases untouched. SAM's ``AutoPublishAlias`` (or a deploy script) moves the alias
itself: the sandbox's deploy of ``campaigns_lambda`` points each alias at the version it publishes
(``sandbox.deploy_moves_alias``), and the canary says so in one line, shifts nothing, watches the triggers at
100% for the bake, and on a failure puts the previous versions back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from canary_world import ENV, Harness, canary_plan, next_minute

from golive.errors import PlanError
from golive.examples import example_plan
from golive.plan.model import Plan
from golive.plan.validate import load_plan_text
from golive.report import render
from golive.runs import session
from golive.sandbox.world import SandboxWorld
from golive.steps import planner, registry

pytestmark = pytest.mark.xdist_group("lambda_release_shapes")

PRODUCT = [f"2-1-bbws-tf-product-{verb}-prod" for verb in ("create", "get", "list", "update", "delete")]
FAULTS = ["campaigns_lambda:error_rate=8%,version=all@moved_errors..+30m"]


def shaped_plan() -> Plan:
    plan = canary_plan()
    published = PRODUCT[:3]  # create, get, list: Terraform changed these; update and delete are as they were
    sandbox = plan.sandbox.model_copy(update={"command_publishes": {"product_lambda": published},
                                              "deploy_moves_alias": ["campaigns_lambda"]})
    # An account of its own: moto's backends are the process's, and another module's world on this xdist worker
    # may have published versions of the same functions in the example's account (its leftovers are not ours).
    environments = {name: env.model_copy(update={"account": "222233334444"}) if name == ENV else env
                    for name, env in plan.environments.items()}
    return plan.model_copy(update={"sandbox": sandbox, "environments": environments})


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    world = SandboxWorld(shaped_plan(), ENV, follow_release=False, faults=FAULTS).start()
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
def h(world: SandboxWorld, tmp_path: Path) -> Harness:
    return Harness.open(world, tmp_path / "golive.db", world.plan)


def test_terraform_publishes_3_of_5_the_canary_shifts_3_and_lists_2_unchanged(h: Harness) -> None:
    services = h.services()
    assert session.tag(services, ENV).run.status == "succeeded"
    before = h.aliases("product_lambda")
    assert sorted(before) == sorted(PRODUCT)

    driven = session.deploy(services, ENV, project="product_lambda", skip_gate_why="test: terraform shape")

    assert driven.run.status == "succeeded", driven.run.reason
    (found,) = h.events(driven.run, "canary", "product_lambda", "versions")
    changed = sorted(found.data["versions"])
    unchanged = found.data["unchanged"]
    assert len(changed) == 3 and len(unchanged) == 2
    for fn, version in unchanged.items():
        assert version == before[fn].version
    after = h.aliases("product_lambda")
    for fn in changed:
        assert after[fn].version == found.data["versions"][fn]["canary"] != before[fn].version
    for fn in unchanged:
        assert (after[fn].version, after[fn].weights) == (before[fn].version, {})  # never shifted
    step = h.step(driven.run, "canary.product_lambda")
    assert [float(e.data["weight"]) for e in h.events(driven.run, "canary", "product_lambda", "shifted")] == [10.0, 50.0]
    (done,) = [e for e in h.events(driven.run, "canary", "product_lambda") if e.outcome == "pass"]
    for fn, version in unchanged.items():
        assert f"{fn} unchanged (v{version})" in done.data.get("summary", "") + str(done.data), done.data
    assert step.state["unchanged"] == unchanged
    report = render(h.store, driven.run.id, h.plan.release, "md")
    for fn, version in unchanged.items():
        assert f"{fn} unchanged (v{version})" in report


def test_an_alias_the_deploy_moved_is_said_in_one_line_watched_and_kept(h: Harness) -> None:
    services = h.services()
    assert session.tag(services, ENV).run.status == "succeeded"
    before = h.aliases("campaigns_lambda")

    driven = session.deploy(services, ENV, project="campaigns_lambda", skip_gate_why="test: alias moved by deploy")

    assert driven.run.status == "succeeded", driven.run.reason
    (found,) = h.events(driven.run, "canary", "campaigns_lambda", "versions")
    moved = found.data["moved"]
    assert moved.startswith("the deploy moved the alias itself: ") and "not shifting, watching at 100%" in moved
    for fn, state in before.items():
        assert f"{fn} alias 'live' already on v{int(state.version) + 1} (was v{state.version}" in moved
    assert not h.events(driven.run, "canary", "campaigns_lambda", "shifted")
    assert h.events(driven.run, "canary", "campaigns_lambda", "analysis")  # the triggers were watched
    for fn, state in h.aliases("campaigns_lambda").items():
        assert (state.version, state.weights) == (str(int(before[fn].version) + 1), {})
    assert "the deploy moved the alias itself" in render(h.store, driven.run.id, h.plan.release, "md")


def test_an_alias_the_deploy_moved_goes_back_to_the_previous_version_on_a_failure(h: Harness,
                                                                                   world: SandboxWorld) -> None:
    services = h.services()
    assert session.tag(services, ENV).run.status == "succeeded"
    before = h.aliases("campaigns_lambda")
    onset: list[datetime] = []

    def listener(kind: str, data: dict[str, object]) -> None:
        if not onset and kind == "canary" and data.get("subject") == "campaigns_lambda" \
                and data.get("outcome") == "versions":
            onset.append(next_minute(world.clock.now()))
            world.anchor("moved_errors", onset[0])

    h.listeners.append(listener)
    driven = session.deploy(services, ENV, project="campaigns_lambda", skip_gate_why="test: moved alias, errors")

    assert driven.run.status == "rolled_back", driven.run.reason
    (record,) = h.events(driven.run, "rollback", "campaigns_lambda")
    assert record.data["asked_by"] == "canary" and record.data["from_weight"] == 100.0
    assert record.data["reason"].startswith("trigger error_rate"), record.data["reason"]
    for fn, state in h.aliases("campaigns_lambda").items():
        # the previous version: the one the alias served before this deploy moved it
        assert (state.version, state.weights) == (str(int(before[fn].version)), {})


def test_deploy_moves_alias_must_name_a_project() -> None:
    text = example_plan("bbws").replace("sandbox:\n", "sandbox:\n  deploy_moves_alias: [campaign_lambda]\n", 1)
    with pytest.raises(PlanError, match=r"sandbox\.deploy_moves_alias\[0\]: no project 'campaign_lambda'"):
        load_plan_text(text)


def test_new_versions_all_reaches_the_canary_and_its_dry_run() -> None:
    text = example_plan("bbws").replace("        alias: live\n", "        alias: live\n        new_versions: all\n", 1)
    plan = load_plan_text(text)
    canaries = [s for s in planner.build_deploy(plan, ENV) if s.kind == "canary"]
    assert any(s.params["new_versions"] == "all" for s in canaries)
    assert all(s.params["new_versions"] in ("all", "changed") for s in canaries)
    shown = [line for s in canaries if s.params["new_versions"] == "all" for line in registry.calls(s)]
    assert "  every selected function must have a new version (new_versions: all)" in shown
