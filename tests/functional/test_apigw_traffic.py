"""The sandbox's API Gateway traffic: the stage's requests split by its canary settings, reported as AWS/ApiGateway
metrics the router's scopes read back, and a @deploy fault that hurts only the canary's deployment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from golive.analysis.metrics import SeriesRequest
from golive.clock import VirtualClock
from golive.providers.aws import Aws
from golive.routers.apigw_stage import ApiGatewayStageRouter, stage_sample
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.apigw import ensure_api, new_deployment
from golive.sandbox.apigw_traffic import StageTraffic, moto_stage_reader
from golive.sandbox.faults import parse_fault
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.spec import ApiSpec, RouteSpec, TrafficSpec
from golive.sandbox.traffic import InProcessSink

REGION = "eu-west-1"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_accounts = iter(range(210000000800, 210000000900))


@pytest.fixture
def aws(server: SandboxServer) -> Aws:
    return sandbox_aws(server.endpoint, str(next(_accounts)), REGION)


def _totals(aws: Aws, router: ApiGatewayStageRouter, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    (canary, stable), = router.scopes(router.discover().changed)
    source = router.metrics(VirtualClock(end), timedelta(0))
    requests = {(scope.label, metric): SeriesRequest(scope, metric, "Sum")
                for scope in (canary, stable) for metric in ("invocations", "errors")}
    fetched = source.fetch(list(requests.values()), start, end)
    assert fetched.error is None
    assert {q["namespace"] for q in fetched.queries} == {"AWS/ApiGateway"}
    assert {q["dimensions"]["Stage"] for q in fetched.queries} == {"prod", "prod/Canary"}
    out: dict[str, dict[str, float]] = {}
    for (label, metric), request in requests.items():
        out.setdefault(label, {})[metric] = fetched.get(request).total
    return out


def test_the_stage_splits_by_percent_traffic_and_a_deploy_fault_hurts_only_the_canary(aws: Aws) -> None:
    account = aws.caller_account()
    spec = ApiSpec("shop", "prod", "shop_api", (RouteSpec("/", "GET", "shop-handler", "live"),),
                   TrafficSpec(per_minute=2000, error_rate=0.001))
    ensure_api(aws, spec, account)
    traffic = StageTraffic([spec], 7, sink=InProcessSink(account, REGION), read_stage=moto_stage_reader(account, REGION))
    traffic.set_faults([parse_fault("shop_api:error_rate=8%@deploy").resolve({"deploy": T0}, {})])  # type: ignore[list-item]
    router = ApiGatewayStageRouter(lambda: aws, "shop", "prod")
    traffic.simulate(T0 - timedelta(minutes=5), T0)  # before the deploy: the stage alone
    new_deployment(aws, "shop")
    variants = router.discover().changed
    router.set_weight(variants, 10)
    traffic.simulate(T0, T0 + timedelta(minutes=10))
    totals = _totals(aws, router, T0, T0 + timedelta(minutes=10))
    canary, stable = totals["shop/prod/Canary"], totals["shop/prod"]
    share = canary["invocations"] / (canary["invocations"] + stable["invocations"])
    assert 0.08 < share < 0.12
    assert 0.06 < canary["errors"] / canary["invocations"] < 0.10
    assert stable["errors"] / stable["invocations"] < 0.005
    # Rolled back, the stage alone serves again; the fault named the canary's build, so nothing errs.
    router.restore(variants)
    traffic.simulate(T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    after = _totals(aws, router, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    assert after["shop/prod/Canary"]["invocations"] == 0
    assert after["shop/prod"]["errors"] / after["shop/prod"]["invocations"] < 0.005


def test_golive_plan_sizes_a_stage_canary_on_the_stages_own_last_hour(aws: Aws) -> None:
    account = aws.caller_account()
    spec = ApiSpec("cart", "prod", "cart_api", (RouteSpec("/", "GET", "cart-handler", "live"),),
                   TrafficSpec(per_minute=600, error_rate=0.001))
    ensure_api(aws, spec, account)
    traffic = StageTraffic([spec], 7, sink=InProcessSink(account, REGION), read_stage=moto_stage_reader(account, REGION))
    traffic.simulate(T0 - timedelta(hours=1, minutes=5), T0)
    params = {"project": "cart_api", "apigw_stage": {"rest_api": "cart", "stage": "prod"}, "region": REGION,
              "steps": [{"weight": 10, "bake_s": 600}, {"weight": 100}], "min_invocations": 300,
              "triggers": [{"criterion": "error_rate > 5%"}], "analysis": {"judge": False}}
    samples, error = stage_sample(aws, VirtualClock(T0), params)
    assert error is None
    (sample,) = samples
    assert sample.weight == 10 and sample.decides
    # The stage's 600 requests a minute, a tenth of them at 10%: 300 calls in some 5 minutes of the 10-minute bake.
    calls = float(re.search(r"(\d+(?:\.\d+)?) calls per minute \(\S+ on cart\)", sample.line()).group(1))  # type: ignore[union-attr]
    assert 55 < calls < 65, sample.line()
    _, error = stage_sample(aws, VirtualClock(T0), {**params, "apigw_stage": {"rest_api": "nosuch", "stage": "prod"}})
    assert error is not None and "no REST API named or with id 'nosuch'" in error
