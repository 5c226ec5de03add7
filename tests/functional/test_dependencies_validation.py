"""A validation failing after promotion puts the promoted canaries back each before the projects it depends on.

The sandbox's Lambda APIs (real boto3 against moto over HTTP, the virtual clock, a real store): the product
API depends on the campaigns API, both promote at once, then every API answers 503 through the validation
(``on_failure: rollback``, the default with canaries). The run's steps list campaigns first; the rollbacks
run product first, as ``depends_on`` says, through the one restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from canary_world import ENV, Harness, canary_plan, with_canary

from golive.runs.release import start_or_resume
from golive.sandbox.world import SandboxWorld
from golive.steps import planner

pytestmark = pytest.mark.xdist_group("dependencies_validation")


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    world = SandboxWorld(canary_plan(), ENV, follow_release=False, faults=["api_down@validation_down..+3m"]).start()
    try:
        yield world
    finally:
        world.stop()


def test_a_failed_validation_restores_each_project_before_those_it_depends_on(h: Harness, world: SandboxWorld) -> None:
    plan = with_canary(with_canary(h.plan, "campaigns_lambda", steps=[{"weight": 100}]), "product_lambda",
                       steps=[{"weight": 100}])
    product = plan.projects["product_lambda"].model_copy(update={"depends_on": ["campaigns_lambda"]})
    h.plan = plan = plan.model_copy(update={"projects": {**plan.projects, "product_lambda": product}})
    for project in ("campaigns_lambda", "product_lambda"):
        h.publish(project)
    steps = [s for p in ("campaigns_lambda", "product_lambda") for s in planner.build_deploy(plan, ENV, project=p)
             if s.kind == "canary"]
    run, _ = start_or_resume(h.store, plan, ENV, "deploy", lambda: [*steps, planner.validation_step(plan, ENV)],
                             world.clock)

    def promoted() -> bool:
        return all(h.step(run, f"canary.{p}").state.get("phase") == "promoted"
                   for p in ("campaigns_lambda", "product_lambda"))

    h.drive(run, until=promoted)
    down = world.clock.now() - timedelta(seconds=1)
    world.anchor("validation_down", down)
    h.drive(run)
    world.clock.sleep_until(down + timedelta(minutes=3))

    ended = h.store.get_run(run.id)
    assert ended.status == "rolled_back", ended.reason
    assert [(e.subject, e.outcome) for e in h.events(run, "rollback")] == [
        ("product_lambda", "rolled_back"), ("campaigns_lambda", "rolled_back")]
    assert "rolled back product_lambda, campaigns_lambda to the previous versions" in (ended.reason or "")
