"""The sandbox's moto server as the functional tests start it: on a free loopback port, stopped after."""

from __future__ import annotations

from collections.abc import Iterator

from golive.sandbox.moto_server import SandboxServer


def running_server() -> Iterator[SandboxServer]:
    """A started ``SandboxServer``, stopped when the generator is closed."""
    server = SandboxServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
