"""The sandbox's speed work keeps its behaviour: kept-alive connections, and routing read from moto in process."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TrafficSpec
from golive.sandbox.traffic import IngestSink, TrafficSimulator, moto_alias_reader

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CANARY = FunctionSpec("speed_lambda", versions=2, project="speed", traffic=TrafficSpec(per_minute=100.0))
PLAIN = FunctionSpec("plain_lambda", versions=1, project="plain", traffic=TrafficSpec(per_minute=10.0))
ACCOUNT, REGION = "210000000077", "eu-west-1"


def test_one_connection_serves_many_requests_and_the_down_switch_still_resets_it(server: SandboxServer) -> None:
    where = urlsplit(server.endpoint)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
    sockets = set()
    for _ in range(5):
        connection.request("GET", "/_golive/aws_down")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"off\n")
        assert response.getheader("Connection") != "close"
        assert connection.sock is not None
        sockets.add(id(connection.sock))
    assert len(sockets) == 1  # http.client drops its socket when the server says close

    connection.request("POST", "/_golive/metrics", body=b"", headers={"Content-Length": "0"})
    connection.getresponse().read()  # a body-less POST the app refuses still leaves the connection usable
    connection.request("GET", "/_golive/aws_down")
    assert connection.getresponse().read() == b"off\n"

    server.set_down(True)
    try:
        connection.request("GET", "/2015-03-31/functions/")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            connection.getresponse()
    finally:
        server.set_down(False)
        connection.close()


def test_routing_read_in_process_equals_get_alias_and_follows_an_alias_change(server: SandboxServer) -> None:
    aws = sandbox_aws(server.endpoint, ACCOUNT, REGION)
    provision(aws, SandboxSpec("prod", ACCOUNT, REGION, functions=(CANARY, PLAIN)))
    by_http = TrafficSimulator(aws, [CANARY, PLAIN], seed=3, sink=IngestSink.for_aws(aws))
    in_process = TrafficSimulator(aws, [CANARY, PLAIN], seed=3, sink=IngestSink.for_aws(aws),
                                  read_alias=moto_alias_reader(ACCOUNT, REGION))
    for function in (CANARY, PLAIN):
        assert in_process.routing(function) == by_http.routing(function)
    assert len(in_process.routing(CANARY).weights) == 1  # no additional version yet

    aws.client("lambda").update_alias(FunctionName=CANARY.name, Name="live", FunctionVersion="1",
                                      RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
    seen = in_process.routing(CANARY)
    assert seen == by_http.routing(CANARY)
    assert seen.weights == (("1", 0.75), ("2", 0.25))

    missing = FunctionSpec("no_such_lambda", versions=1, traffic=TrafficSpec(per_minute=1.0))
    assert in_process.routing(missing).alias is None
    assert in_process.routing(missing).weights == (("$LATEST", 1.0),)

    stats = in_process.simulate(T0, T0 + timedelta(minutes=10))
    assert stats.minutes == 10 and stats.datums > 0
