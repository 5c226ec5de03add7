"""Fixtures shared by the functional tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_fixture import running_server

from golive.sandbox.moto_server import SandboxServer


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """One sandbox moto server for a module's tests (moto's state is the process's: tests keep apart by account)."""
    yield from running_server()
