"""The sandbox's controls answer writes only with its token: over real HTTP on 127.0.0.1.

Any local process can reach the sandbox's ports; without the token printed
with ``golive sandbox up``'s export lines it can read, but not switch AWS
off, reset moto, or move the world's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from moto_fixture import running_server

from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import CONTROL_PATH, TOKEN_HEADER, SandboxServer, set_remote_down
from golive.sandbox.provision import provision
from golive.sandbox.spec import SandboxSpec, TableSpec
from golive.sandbox.world import RemoteClock
from golive.sandbox.world_server import WorldControls, WorldServer

ACCOUNT = "210000000077"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A server of each test's own: these tests switch it down and back."""
    yield from running_server()


def _tables(server: SandboxServer) -> list[str]:
    aws = sandbox_aws(server.endpoint, ACCOUNT, "eu-west-1")
    ddb = aws.client("dynamodb")
    names: list[str] = aws.call("dynamodb:ListTables", lambda: ddb.list_tables()["TableNames"])
    return names


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({TOKEN_HEADER: "guess"}, 403)])
def test_moto_reset_needs_the_token(server: SandboxServer, headers: dict[str, str], status: int) -> None:
    provision(sandbox_aws(server.endpoint, ACCOUNT, "eu-west-1"),
              SandboxSpec("sit", ACCOUNT, "eu-west-1", tables=(TableSpec("kept", "LockID"),)))
    refused = httpx.post(f"{server.endpoint}/moto-api/reset", headers=headers, timeout=10)
    assert refused.status_code == status
    assert TOKEN_HEADER in refused.text
    assert httpx.get(f"{server.endpoint}/moto-api/data.json", headers=headers, timeout=10).status_code == status
    assert _tables(server) == ["kept"], "a refused reset emptied moto"

    done = httpx.post(f"{server.endpoint}/moto-api/reset", headers={TOKEN_HEADER: server.token}, timeout=10)
    assert done.status_code == 200
    assert _tables(server) == []


def test_aws_down_switch_needs_the_token_reading_it_does_not(server: SandboxServer) -> None:
    url = server.endpoint + CONTROL_PATH
    assert httpx.post(url, content="on", timeout=10).status_code == 401
    assert httpx.post(url, content="on", headers={TOKEN_HEADER: server.token[:-1]}, timeout=10).status_code == 403
    assert not server.down
    assert httpx.get(url, timeout=10).text == "off\n"
    set_remote_down(server.endpoint, True, token=server.token)
    assert server.down
    set_remote_down(server.endpoint, False, token=server.token)
    assert not server.down


class _Controls(WorldControls):
    def __init__(self) -> None:
        self.at = T0
        self.anchors: list[str] = []

    def now(self) -> datetime:
        return self.at

    def advance_to(self, when: datetime) -> datetime:
        self.at = max(self.at, when)
        return self.at

    def anchor(self, name: str, at: datetime) -> None:
        self.anchors.append(name)

    def counts(self) -> dict[str, Any]:
        return {}

    def api_down(self, env: str, api: str) -> bool:
        return False


def test_world_clock_and_anchor_need_the_token() -> None:
    controls = _Controls()
    world = WorldServer(controls, token="world-token-123")
    url = world.start()
    try:
        later = (T0 + timedelta(hours=1)).isoformat()
        assert httpx.post(f"{url}/_world/clock", json={"until": later}, timeout=10).status_code == 401
        assert httpx.post(f"{url}/_world/anchor", json={"name": "deploy", "at": later},
                          headers={TOKEN_HEADER: "nope"}, timeout=10).status_code == 403
        assert controls.at == T0 and controls.anchors == []
        assert httpx.get(f"{url}/_world/clock", timeout=10).json()["now"] == T0.isoformat()

        clock = RemoteClock(url, "world-token-123")
        clock.advance(timedelta(hours=2))
        clock.anchor("deploy", clock.now())
        assert controls.at == T0 + timedelta(hours=2) and controls.anchors == ["deploy"]
    finally:
        world.stop()
