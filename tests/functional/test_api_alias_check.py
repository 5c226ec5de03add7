"""Preflight's ``api_invokes_alias`` against the sandbox's moto server: an integration that bypasses the alias
the Lambda canary shifts is named with its method and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from golive.checks.api_alias import ApiInvokesAliasParams, invoked, problem, run
from golive.checks.base import CheckContext, Status
from golive.providers.aws import Aws
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.apigw import ensure_api
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import ApiSpec, FunctionSpec, RouteSpec, SandboxSpec

REGION = "eu-west-1"
_accounts = iter(range(210000000700, 210000000800))


@pytest.fixture
def aws(server: SandboxServer) -> Aws:
    return sandbox_aws(server.endpoint, str(next(_accounts)), REGION)


def _check(aws: Aws, functions: dict[str, object], api: str = "orders") -> tuple[Status, str]:
    params = ApiInvokesAliasParams(project="orders", rest_api=api, stage="prod", alias="live", functions=functions)
    result = run(CheckContext(env="prod", aws=aws), params)
    return result.status, result.summary


def test_an_integration_invoking_the_bare_function_is_named(aws: Aws) -> None:
    routes = (RouteSpec("/orders", "GET", "orders-list", "live"), RouteSpec("/orders/{id}", "POST", "orders-put", None),
              RouteSpec("/orders/{id}", "DELETE", "orders-del", "3"), RouteSpec("/health", "GET", "other-fn", None))
    ensure_api(aws, ApiSpec("orders", routes=routes), aws.caller_account())
    status, summary = _check(aws, {"names": ["orders-list", "orders-put", "orders-del"]})
    assert status is Status.FAIL
    assert "POST /orders/{id} invokes orders-put unqualified ($LATEST), not alias live" in summary
    assert "DELETE /orders/{id} invokes orders-del version 3, not alias live" in summary
    assert "GET /orders" not in summary and "other-fn" not in summary  # on the alias; not a canaried function


def test_every_integration_on_the_alias_passes_and_a_prefix_selects_the_functions(aws: Aws) -> None:
    provision(aws, SandboxSpec("prod", aws.caller_account(), REGION,
                               functions=(FunctionSpec("orders-list"), FunctionSpec("orders-put"))))
    routes = (RouteSpec("/orders", "GET", "orders-list", "live"), RouteSpec("/orders", "POST", "orders-put", "live"))
    ensure_api(aws, ApiSpec("orders", routes=routes), aws.caller_account())
    assert _check(aws, {"prefix": "orders-"}) == (Status.PASS, "2 integrations invoke alias live")
    status, summary = _check(aws, {"prefix": "orders-"}, api="billing")
    assert status is Status.FAIL and "no REST API named or with id 'billing'" in summary


def test_the_invoked_function_and_qualifier_are_read_from_the_uri() -> None:
    base = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:"
    assert invoked(base + "fn:live/invocations") == ("fn", "live")
    assert invoked(base + "fn/invocations") == ("fn", None)
    assert invoked("https://example.com/orders") is None
    assert problem("fn", "${stageVariables.alias}", "live", {"alias": "live"}) is None
    assert problem("fn", "${stageVariables.alias}", "live", {}) == \
        "invokes fn:${stageVariables.alias}, and the stage has no variable 'alias'"
    assert problem("fn", "blue", "live", {}) == "invokes fn alias blue, not alias live"


PLAN = """\
release: orders-r1
version: v1.0.0
environments:
  prod: {account: "210000000990", region: eu-west-1}
projects:
  orders:
    repo: acme/orders
    kind: api
    deploy: {github_workflow: deploy.yml}
    api: {rest_api: "orders-{env}", stage: prod}
    rollout:
      lambda_canary:
        functions: {names: [orders-list-prod, orders-put-prod]}
        steps: [{weight: 10, bake: 3m}, {weight: 100}]
batches:
  - {name: apis, projects: [orders]}
sandbox:
  bypass_alias: {orders: [orders-put-prod]}
"""


def test_golive_preflight_names_the_route_that_invokes_latest_in_the_sandbox(tmp_path: Path) -> None:
    from golive.engine.context import Services
    from golive.plan.validate import load_plan_text
    from golive.runs import session
    from golive.sandbox.world import SandboxWorld
    from golive.store.store import Store

    world = SandboxWorld(load_plan_text(PLAN), "prod")
    world.moto.reset()
    world.start()
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        services = Services(plan=world.plan, store=store, clock=world.clock, aws_for=world.aws)
        driven = session.preflight(services, "prod")
        (step,) = store.steps(driven.run.id)
        results = {r["check"]: r for r in (step.result or {})["results"]}
        found = results["api_invokes_alias"]
        assert found["status"] == "fail"
        assert found["summary"].startswith("GET /orders-put-prod invokes orders-put-prod unqualified ($LATEST), "
                                           "not alias live"), found
        assert "orders-list-prod" not in found["summary"]
    finally:
        store.close()
        world.stop()
