"""The chaos seed: ``--chaos-seed 11,23`` or ``GOLIVE_CHAOS_SEED=11,23`` (default 7), one test run per seed."""

from __future__ import annotations

import os

import pytest

DEFAULT_SEED = "7"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chaos-seed", default=None,
                     help="seed(s) of the chaos test's kill points, comma-separated (env GOLIVE_CHAOS_SEED)")


def chaos_seeds(config: pytest.Config) -> list[int]:
    raw = config.getoption("--chaos-seed") or os.environ.get("GOLIVE_CHAOS_SEED") or DEFAULT_SEED
    try:
        return [int(s) for s in str(raw).split(",") if s.strip()]
    except ValueError:
        raise pytest.UsageError(f"--chaos-seed / GOLIVE_CHAOS_SEED: expected integers like 7 or 11,23, not {raw!r}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chaos_seed" in metafunc.fixturenames:
        metafunc.parametrize("chaos_seed", chaos_seeds(metafunc.config), ids=lambda s: f"seed{s}", scope="module")
