"""The sandbox endpoint: the aws_down switch makes golive's Aws unreachable, and state survives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_fixture import running_server

from golive.errors import AwsUnreachable
from golive.providers.aws import Aws, AwsTarget
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import SandboxServer, set_remote_down

ACCOUNT = "210000000002"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A server of each test's own: these tests switch it down and back."""
    yield from running_server()


def _table_names(aws: Aws) -> list[str]:
    ddb = aws.client("dynamodb")
    return aws.call("dynamodb:ListTables", lambda: ddb.list_tables()["TableNames"])


@pytest.mark.parametrize("remote", [False, True])
def test_aws_down_refuses_connections_and_recovery_keeps_state(server: SandboxServer, remote: bool) -> None:
    aws = sandbox_aws(server.endpoint, ACCOUNT, "eu-west-1")
    ddb = aws.client("dynamodb")
    name = f"orders-{remote}"
    aws.call("dynamodb:CreateTable", lambda: ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST"))
    assert name in _table_names(aws)  # the pooled connection is now kept alive

    if remote:
        set_remote_down(server.endpoint, True, token=server.token)
    else:
        server.set_down(True)
    assert server.down
    with pytest.raises(AwsUnreachable) as caught:
        _table_names(aws)
    assert server.endpoint in str(caught.value) and "dynamodb:ListTables" in str(caught.value)
    fresh = Aws(AwsTarget(region="eu-west-1", endpoint_url=server.endpoint), max_attempts=1)
    with pytest.raises(AwsUnreachable):
        fresh.caller_account()

    if remote:
        set_remote_down(server.endpoint, False, token=server.token)
    else:
        server.set_down(False)
    assert name in _table_names(aws)
    assert fresh.caller_account() == "123456789012"
