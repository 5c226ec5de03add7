"""The state store on SQLite and PostgreSQL: schema by migration, runs, steps, evidence, people's input.

Every test runs on both backends: a SQLite file in tmp_path and a fresh
PostgreSQL schema (the ``pg_url`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from golive.errors import StoreError
from golive.store.store import StepSpec, Store, default_url

T0 = datetime(2026, 1, 9, 18, 40, 0, 123456, tzinfo=UTC)


def specs(n: int, group: str = "g", lane: str = "l") -> list[StepSpec]:
    return [StepSpec(key=f"s{i}", phase="deploy", kind="noop", title=f"step {i}", group=group, lane=lane,
                     params={"i": i, "calls": [f"call {i}"], "nested": {"list": [1, 2.5, None, "x"]}})
            for i in range(n)]


def test_migrations_create_the_schema_at_head(store: Store) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from golive.store.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    inspector = sa.inspect(store.engine)
    assert {"runs", "steps", "events", "approvals", "incidents", "leases", "alembic_version"} <= set(
        inspector.get_table_names())
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head]


def test_reopening_runs_no_ddl_and_keeps_data(store_url: str) -> None:
    first = Store.open(store_url)
    run = first.create_run("bbws", "prod", "release", "d" * 64, specs(2), T0)
    first.close()

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        second = Store.open(store_url)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    try:
        ddl = [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]
        assert ddl == []
        assert any("alembic_version" in s for s in statements)  # it did look
        assert [s.key for s in second.steps(run.id)] == ["s0", "s1"]
    finally:
        second.close()


def test_default_url_is_beside_the_plan(tmp_path: Path) -> None:
    url = default_url(tmp_path / "plans" / "golive.yaml")
    assert url == f"sqlite:///{tmp_path / 'plans' / '.golive' / 'state.db'}"
    store = Store.open(url)
    try:
        assert (tmp_path / "plans" / ".golive" / "state.db").is_file()
    finally:
        store.close()


def test_create_run_with_steps(store: Store) -> None:
    run = store.create_run("bbws", "prod", "release", "a" * 64, specs(3, group="batch.apis"), T0,
                           meta={"alarms_at_start": {"prod": ["bbws-order-dlq"]}})
    assert (run.release, run.env, run.kind, run.status) == ("bbws", "prod", "release", "pending")
    assert run.active
    assert run.created_at == T0 and run.updated_at == T0 and run.ended_at is None
    assert run.meta == {"alarms_at_start": {"prod": ["bbws-order-dlq"]}}
    steps = store.steps(run.id)
    assert [(s.seq, s.key, s.group, s.status, s.attempts, s.state) for s in steps] == [
        (0, "s0", "batch.apis", "pending", 0, {}), (1, "s1", "batch.apis", "pending", 0, {}),
        (2, "s2", "batch.apis", "pending", 0, {})]
    assert steps[2].params == {"i": 2, "calls": ["call 2"], "nested": {"list": [1, 2.5, None, "x"]}}
    assert all(s.open for s in steps)
    assert store.get_run(run.id) == run


def test_two_runs_keep_their_own_steps(store: Store) -> None:
    one = store.create_run("bbws", "prod", "release", "a" * 64, specs(2), T0)
    two = store.create_run("bbws", "sit", "soak", "b" * 64, specs(3), T0)
    assert len(store.steps(one.id)) == 2
    assert len(store.steps(two.id)) == 3
    assert {s.run_id for s in store.steps(two.id)} == {two.id}


def test_duplicate_step_keys_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        store.create_run("bbws", "prod", "release", "a" * 64, [*specs(1), *specs(1)], T0)
    assert store.runs("bbws") == []  # the run and its steps are one transaction


def test_get_unknown_run_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no run 999"):
        store.get_run(999)


def test_update_steps(store: Store) -> None:
    run = store.create_run("bbws", "prod", "release", "a" * 64, specs(2), T0)
    first, second = store.steps(run.id)
    due = T0 + timedelta(hours=6)
    store.update_step(first.id, status="waiting", state={"intent": True, "dispatched": [1, 2]}, due_at=due,
                      wait_reason="checkpoint 2 of 8", attempts=3, started_at=T0)
    store.update_step(second.id, status="done", ended_at=T0, result={"summary": "ok", "n": 5})
    a, b = store.steps(run.id)
    assert (a.status, a.state, a.due_at, a.wait_reason, a.attempts, a.started_at) == (
        "waiting", {"intent": True, "dispatched": [1, 2]}, due, "checkpoint 2 of 8", 3, T0)
    assert a.open
    assert (b.status, b.ended_at, b.result) == ("done", T0, {"summary": "ok", "n": 5})
    assert not b.open
    with pytest.raises(StoreError, match="key"):
        store.update_step(first.id, key="renamed")


def test_update_step_and_event_is_one_transaction(store: Store) -> None:
    run = store.create_run("bbws", "prod", "release", "a" * 64, specs(1), T0)
    (step,) = store.steps(run.id)
    event = {"release": "bbws", "env": "prod", "run_id": run.id, "step_key": step.key, "at": T0, "kind": "step",
             "subject": "deploy", "outcome": "pass", "data": {"summary": "done"}}
    store.update_step_and_event(step.id, {"status": "done"}, event)
    assert store.steps(run.id)[0].status == "done"
    assert [e.outcome for e in store.events(run_id=run.id)] == ["pass"]

    broken = {**event, "kind": None}  # NOT NULL violated: the step change must roll back with it
    with pytest.raises(sa.exc.IntegrityError):
        store.update_step_and_event(step.id, {"status": "failed"}, broken)
    assert store.steps(run.id)[0].status == "done"
    assert len(store.events(run_id=run.id)) == 1
    # The connection that met the violation is clean again: the next write on it lands.
    store.update_step_and_event(step.id, {"status": "failed"}, {**event, "outcome": "fail"})
    assert store.steps(run.id)[0].status == "failed"
    assert [e.outcome for e in store.events(run_id=run.id)] == ["pass", "fail"]


def test_events_append_in_order_and_filter(store: Store) -> None:
    run = store.create_run("bbws", "prod", "release", "a" * 64, specs(1), T0)
    ids = []
    for i in range(5):
        ids.append(store.append_event(release="bbws", env="prod", run_id=run.id, step_key="s0",
                                      at=T0 + timedelta(minutes=i), kind="check" if i % 2 else "measurement",
                                      subject=f"e{i}", outcome="pass", data={"i": i, "values": [i, i * 0.5]}))
    store.append_event(release="bbws", env="sit", kind="approval", subject="go_no_go", at=T0, data={})
    assert ids == sorted(ids) and len(set(ids)) == 5
    before = store.events(run_id=run.id)
    assert [e.subject for e in before] == [f"e{i}" for i in range(5)]
    assert before[3].data == {"i": 3, "values": [3, 1.5]}
    assert [e.subject for e in store.events(run_id=run.id, kind="check")] == ["e1", "e3"]
    assert [e.subject for e in store.events(release="bbws", since=T0 + timedelta(minutes=3))] == ["e3", "e4"]
    assert [e.subject for e in store.events(env="sit")] == ["go_no_go"]
    assert store.events(release="other") == []

    store.append_event(release="bbws", env="prod", run_id=run.id, at=T0, kind="run", subject="later")
    after = store.events(run_id=run.id)
    assert after[:5] == before  # earlier evidence is never changed by appending
    assert after[-1].subject == "later"


def test_approvals(store: Store) -> None:
    a1 = store.add_approval("bbws", "prod", "go_no_go", "alice", "devops", "soak green", T0)
    a2 = store.add_approval("bbws", "prod", "go_no_go", "bob", "tech_lead", None, T0 + timedelta(minutes=1),
                            rehearsal=True)
    store.add_approval("bbws", "prod", "signoff", "carol", None, None, T0)
    store.add_approval("bbws", "sit", "go_no_go", "dave", "devops", None, T0)
    got = store.approvals("bbws", "prod", "go_no_go")
    assert [(a.id, a.by, a.role, a.note, a.rehearsal) for a in got] == [
        (a1, "alice", "devops", "soak green", False), (a2, "bob", "tech_lead", None, True)]
    assert got[1].at == T0 + timedelta(minutes=1)
    assert {a.gate for a in store.approvals("bbws", "prod")} == {"go_no_go", "signoff"}
    assert [a.by for a in store.approvals("bbws", "sit")] == ["dave"]


def test_incidents_open_and_resolve(store: Store) -> None:
    p0 = store.open_incident("bbws", "prod", "P0", "orders failing", T0, scope="apis", opened_by="pager",
                             source="opsgenie")
    p2 = store.open_incident("bbws", None, "P2", "slow site", T0)
    assert [i.id for i in store.incidents("bbws", open_only=True)] == [p0, p2]
    assert store.resolve_incident(p0, T0 + timedelta(minutes=30)) is True
    assert store.resolve_incident(p0, T0 + timedelta(hours=1)) is False  # already resolved: not reopened, not moved
    assert [i.id for i in store.incidents("bbws", open_only=True)] == [p2]
    first = store.incidents("bbws")[0]
    assert (first.status, first.resolved_at, first.scope, first.opened_by, first.source) == (
        "resolved", T0 + timedelta(minutes=30), "apis", "pager", "opsgenie")
    assert store.incidents("other") == []


def test_datetimes_round_trip_timezone_aware(store: Store) -> None:
    sast = timezone(timedelta(hours=2))
    local = datetime(2026, 1, 10, 12, 0, 0, 654321, tzinfo=sast)
    run = store.create_run("bbws", "prod", "release", "a" * 64, specs(1), local)
    (step,) = store.steps(run.id)
    store.update_step(step.id, due_at=local + timedelta(hours=2))
    got = store.get_run(run.id).created_at
    assert got == local
    assert got.utcoffset() == timedelta(0)
    assert got.hour == 10 and got.microsecond == 654321
    due = store.steps(run.id)[0].due_at
    assert due is not None and due.tzinfo is not None and due == datetime(2026, 1, 10, 12, 0, 0, 654321, tzinfo=UTC)
    store.append_event(release="bbws", env="prod", kind="x", subject="y", at=local)
    assert store.events(release="bbws", since=local - timedelta(microseconds=1))[0].at == local
    assert store.events(release="bbws", since=local + timedelta(microseconds=1)) == []


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"):
        store.create_run("bbws", "prod", "release", "a" * 64, [], datetime(2026, 1, 10, 12, 0))


def test_active_and_latest_run(store: Store) -> None:
    assert store.active_run("bbws", "prod", "release") is None
    assert store.latest_run("bbws", "prod", "release") is None
    first = store.create_run("bbws", "prod", "release", "a" * 64, specs(1), T0)
    store.set_run(first.id, T0 + timedelta(hours=1), status="succeeded", ended=True, reason="every step done")
    second = store.create_run("bbws", "prod", "release", "a" * 64, specs(1), T0 + timedelta(hours=2))
    store.create_run("bbws", "sit", "release", "a" * 64, specs(1), T0)
    store.create_run("bbws", "prod", "soak", "a" * 64, specs(1), T0)
    ended = store.get_run(first.id)
    assert (ended.status, ended.ended_at, ended.reason, ended.active) == (
        "succeeded", T0 + timedelta(hours=1), "every step done", False)

    for status in ("pending", "running", "waiting", "failing"):
        store.set_run(second.id, T0 + timedelta(hours=3), status=status)
        active = store.active_run("bbws", "prod", "release")
        assert active is not None and active.id == second.id, status
    latest = store.latest_run("bbws", "prod", "release")
    assert latest is not None and latest.id == second.id

    store.set_run(second.id, T0 + timedelta(hours=4), status="rolled_back", ended=True, meta={"why": "canary"})
    assert store.active_run("bbws", "prod", "release") is None
    latest = store.latest_run("bbws", "prod", "release")
    assert latest is not None and (latest.id, latest.status, latest.meta) == (second.id, "rolled_back", {"why": "canary"})
    assert [r.kind for r in store.runs("bbws", "prod")] == ["release", "release", "soak"]
    assert len(store.runs("bbws", kind="release")) == 3


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="bad store URL"):
        Store.open("nonsense://")


def test_unreachable_postgres_is_a_store_error_without_the_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://golive:s3cret-pw@127.0.0.1:{port}/x?connect_timeout=2"
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert "cannot reach the store" in str(info.value) and info.value.exit_code == 3
    assert "s3cret-pw" not in str(info.value)
