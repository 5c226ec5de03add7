"""Fixtures shared by the functional tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from canary_world import Harness
from moto_fixture import running_server

from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.world import SandboxWorld


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """One sandbox moto server for a module's tests (moto's state is the process's: tests keep apart by account)."""
    yield from running_server()


@pytest.fixture
def h(world: SandboxWorld, tmp_path: Path) -> Iterator[Harness]:
    """A canary harness on the module's own ``world`` fixture, with a fresh store for each test."""
    harness = Harness.open(world, tmp_path / "state.db")
    try:
        yield harness
    finally:
        harness.store.close()
