"""A failure is final, whatever dies when: each scenario, killed at its crash points and resumed, ends as if never killed.

For each scenario of ``crash_harness.py`` (NO-GO at the gate, a canary
failing in a batch of three, a failed soak checkpoint, a failed validation
that rolls back, a lost dispatch answer) the harness runs the release once
undisturbed, counting its commits and side effects, then kills a fresh run
with SIGKILL at crash points and resumes it, and checks the invariants
listed there. The default run covers a seeded sample per scenario
(``GOLIVE_CRASH_POINTS``, default 4, half of them at or after the failure's
commit; ``GOLIVE_CRASH_SEED``, default 23); ``GOLIVE_CRASH_ALL=1`` covers
every point. Each test prints its figures, e.g. ``NO-GO at the gate (an open P1
incident): 10 crash points of 10 (10 commits, 0 side effects; 10 kills landed),
0 with invariant violations (0 violations), 158 s``.
The canary scenario runs on PostgreSQL workers too (a schema per point).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from crash_harness import SCENARIOS, Harness, Scenario

POINTS = int(os.environ.get("GOLIVE_CRASH_POINTS", "4"))
SEED = int(os.environ.get("GOLIVE_CRASH_SEED", "23"))
ALL = os.environ.get("GOLIVE_CRASH_ALL") == "1"

# Scenarios and violations this harness knows to fail, counted and printed but not failing the test. Empty: the two
# it found on the fail-closed engine (a failed validation's rollback lost to a kill before its records; a failing
# canary's own rollback done in AWS before its record) are resumed by the one rollback service (steps/restore.py,
# whose intent is saved before AWS is touched).
KNOWN_SCENARIOS: dict[str, str] = {}
KNOWN_VIOLATIONS: tuple[str, ...] = ()


def crash_points(scenario: Scenario, folder: Path, store_url: Callable[[str], str] | None = None, *,
                 where: str = "") -> None:
    started = time.monotonic()
    harness = Harness(scenario, folder, store_url)
    try:
        reference = harness.reference()
        assert reference.observation.status == scenario.status, reference.observation
        points = reference.points()
        chosen = points if ALL else reference.sample(POINTS, random.Random(f"{SEED}:{scenario.name}"))
        broken: list[str] = []
        known: list[str] = []
        count = landed = 0
        for index, point in enumerate(chosen):
            _, found, killed = harness.point(point, index)
            count += len(found)
            landed += killed
            if found:
                (known if all(v.startswith(KNOWN_VIOLATIONS) for v in found) else broken).append(
                    f"killed at {point}: " + " | ".join(found))
    finally:
        harness.close()
    print(f"\n{scenario.title}{where}: {len(chosen)} crash points of {len(points)} ({reference.commits} commits, "
          f"{len(reference.effects)} side effects; {landed} kills landed), {len(broken) + len(known)} with invariant "
          f"violations ({count} violations; {len(known)} points only with known ones), "
          f"{time.monotonic() - started:.0f} s", *known, sep="\n  ")
    assert not broken, "\n".join(broken)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.name, marks=[pytest.mark.xfail(reason=KNOWN_SCENARIOS[s.name])]
                                                   if s.name in KNOWN_SCENARIOS else []) for s in SCENARIOS])
def test_every_crash_point_ends_as_the_uninterrupted_run(scenario: Scenario, tmp_path: Path) -> None:
    crash_points(scenario, tmp_path)


@pytest.fixture
def pg_schemas(pg_url: str) -> Iterator[Callable[[str], str]]:
    """A fresh PostgreSQL schema per store the harness asks for (beside ``pg_url``'s), all dropped at the end."""
    server = pg_url.split("?", 1)[0]
    engine = sa.create_engine(server)
    made: list[str] = []

    def url(name: str) -> str:
        schema = f"crash_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{server}?options=-csearch_path%3D{schema}"

    try:
        yield url
    finally:
        with engine.begin() as conn:
            for schema in made:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_crash_points_on_postgresql_workers(pg_schemas: Callable[[str], str], tmp_path: Path) -> None:
    (canary,) = [s for s in SCENARIOS if s.name == "canary"]
    crash_points(canary, tmp_path, pg_schemas, where=" (PostgreSQL)")
