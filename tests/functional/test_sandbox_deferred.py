"""A world that draws a function's traffic when it is read answers every read as a world that draws at once.

Two accounts on one moto server over HTTP, the same functions, seed, faults
and clock steps, and the same alias changes (a canary shifted 10 % -> 50 %
-> promoted, between uneven clock steps): one simulator draws at every step,
the other only when somebody reads (GetMetricData or GetMetricStatistics,
through the read hook). Reads in the middle of the run draw only the
functions they name; the answers, over HTTP, are equal to the last bit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from golive.providers.aws import Aws
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.faults import parse_fault
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.percentiles import PercentileCloudWatchBackend, on_read
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TrafficSpec
from golive.sandbox.traffic import MAX_PENDING_SPANS, InProcessSink, TrafficSimulator, moto_alias_reader

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGION = "eu-west-1"
CANARY = FunctionSpec("deferred_canary", versions=2, project="shop", traffic=TrafficSpec(per_minute=400.0))
QUIET = FunctionSpec("deferred_quiet", versions=1, project="shop", traffic=TrafficSpec(per_minute=50.0, error_rate=0.02))


def _world(server: SandboxServer, account: str, deferred: bool) -> tuple[Aws, TrafficSimulator]:
    aws = sandbox_aws(server.endpoint, account, REGION)
    provision(aws, SandboxSpec("prod", account, REGION, functions=(CANARY, QUIET)))
    fault = parse_fault("shop:error_rate=6%@deploy").resolve({"run": T0, "deploy": T0 + timedelta(minutes=20)},
                                                            {"shop": [CANARY.name]})
    assert fault is not None
    simulator = TrafficSimulator(aws, [CANARY, QUIET], seed=11, sink=InProcessSink(account, REGION), faults=[fault],
                                 read_alias=moto_alias_reader(account, REGION), deferred=deferred)
    return aws, simulator


def _queries(function: FunctionSpec) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    for version in (*(str(v) for v in range(1, function.versions + 1)), None):
        dims = [{"Name": "FunctionName", "Value": function.name}]
        if version is not None:
            dims += [{"Name": "Resource", "Value": f"{function.name}:live"}, {"Name": "ExecutedVersion", "Value": version}]
        for metric, stat in (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p95"),
                             ("Duration", "PR(:250)"), ("Duration", "Maximum"), ("Duration", "SampleCount")):
            queries.append({"Id": f"q{len(queries)}", "MetricStat": {"Metric": {
                "Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims}, "Period": 60, "Stat": stat}})
    return queries


def _read(aws: Aws, function: FunctionSpec, end: datetime) -> list[tuple[str, list[float], list[datetime]]]:
    answer = aws.client("cloudwatch").get_metric_data(MetricDataQueries=_queries(function), StartTime=T0, EndTime=end)
    return [(r["Id"], r["Values"], r["Timestamps"]) for r in answer["MetricDataResults"]]


def _series_count(account: str) -> int:
    backend = cloudwatch_backends[account][REGION]
    assert isinstance(backend, PercentileCloudWatchBackend)
    return sum(1 for key in backend.series if key[0] == "AWS/Lambda")


def test_a_deferred_world_answers_every_read_as_one_that_draws_at_once(server: SandboxServer) -> None:
    accounts = {False: "210000000091", True: "210000000092"}
    worlds = {deferred: _world(server, account, deferred) for deferred, account in accounts.items()}
    removers = [on_read(accounts[deferred], REGION, simulator.flush) for deferred, (_aws, simulator) in worlds.items()]
    try:
        answers: dict[bool, list[Any]] = {False: [], True: []}
        now = T0
        steps: list[tuple[int, dict[str, float] | None, FunctionSpec | None]] = [
            (7, None, None), (25, {"2": 0.1}, CANARY), (1, None, CANARY), (3, {"2": 0.5}, CANARY),
            (2, None, None), (4, {}, None), (61, None, QUIET), (5, None, CANARY),
        ]
        for minutes, weights, reader in steps:
            if weights is not None:
                for aws, _simulator in worlds.values():
                    lam = aws.client("lambda")
                    if weights:
                        lam.update_alias(FunctionName=CANARY.name, Name="live", FunctionVersion="1",
                                         RoutingConfig={"AdditionalVersionWeights": weights})
                    else:  # promoted: all on the canary, no split
                        lam.update_alias(FunctionName=CANARY.name, Name="live", FunctionVersion="2",
                                         RoutingConfig={"AdditionalVersionWeights": {}})
            end = now + timedelta(minutes=minutes, seconds=17)  # a part minute is left for the next step
            for _aws, simulator in worlds.values():
                simulator.simulate(now, end)
            now = end
            if reader is not None:
                for deferred, (aws, _simulator) in worlds.items():
                    answers[deferred].append(_read(aws, reader, now))
            if reader is CANARY and now < T0 + timedelta(minutes=60):
                # Reading the canary drew the canary only: the quiet function's minutes wait for their reader.
                assert _series_count(accounts[True]) < _series_count(accounts[False])
        for function in (CANARY, QUIET):
            for deferred, (aws, _simulator) in worlds.items():
                answers[deferred].append(_read(aws, function, now))
        statistics = {}
        for deferred, (aws, _simulator) in worlds.items():
            statistics[deferred] = aws.client("cloudwatch").get_metric_statistics(
                Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": QUIET.name}],
                StartTime=T0, EndTime=now, Period=300, Statistics=["Sum", "SampleCount"])["Datapoints"]
    finally:
        for remove in removers:
            remove()

    assert answers[True] == answers[False]
    assert sorted(statistics[True], key=lambda p: p["Timestamp"]) == \
        sorted(statistics[False], key=lambda p: p["Timestamp"])
    assert _series_count(accounts[True]) == _series_count(accounts[False])
    canary_split = [values for _id, values, _ts in answers[False][-2][7:14]]  # version 2's series
    assert any(canary_split), "the canary version took traffic"


def test_the_newest_world_of_an_account_is_the_one_drawn_on_read(server: SandboxServer) -> None:
    seen: list[str] = []
    aws = sandbox_aws(server.endpoint, "210000000093", REGION)

    def read() -> None:
        aws.client("cloudwatch").get_metric_data(MetricDataQueries=_queries(QUIET), StartTime=T0,
                                                 EndTime=T0 + timedelta(hours=1))

    old = on_read("210000000093", REGION, lambda names: seen.append("old"))
    try:
        new = on_read("210000000093", REGION, lambda names: seen.append(f"new {sorted(names or ())}"))
        read()  # the newer world's hook, with the function the read names
        new()  # the newer world stops: the older one's is called again
        read()
    finally:
        old()
    read()  # no world: nothing called
    assert seen == [f"new {[QUIET.name]}", "old"]


def test_a_world_nobody_reads_draws_once_its_pending_spans_reach_the_bound(server: SandboxServer) -> None:
    account = "210000000094"
    _aws, simulator = _world(server, account, deferred=True)
    now = T0
    for _ in range(MAX_PENDING_SPANS - 1):
        simulator.simulate(now, now + timedelta(minutes=1))
        now += timedelta(minutes=1)
    assert _series_count(account) == 0  # nothing read, nothing drawn yet
    simulator.simulate(now, now + timedelta(minutes=1))
    assert _series_count(account) > 0  # a `sandbox up` world nobody reads does not hold days of minutes
