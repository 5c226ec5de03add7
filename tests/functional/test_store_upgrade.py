"""The upgrade path: a store at the first schema, filled by a full rehearsal, upgraded to head, reads the same.

A rehearsal of the short plan fills a store; its rows are copied into a
store built at revision 0001 (the first schema, before the one-active-run
index). Every report of every run is rendered from the old store, the store
is opened by golive (which upgrades it to head), and every report must read
byte for byte the same.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse
from golive.report import FORMATS, render
from golive.store import tables as t
from golive.store.store import MIGRATIONS, Store
from short_plan import write_short_plan


def store_at(url: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def reports(store: Store) -> dict[tuple[int, str], str]:
    return {(run.id, fmt): render(store, run.id, run.release, fmt) for run in store.runs() for fmt in FORMATS}


def test_first_schema_store_filled_by_a_rehearsal_upgrades_and_reads_every_report_unchanged(tmp_path: Path) -> None:
    plan_path = write_short_plan(tmp_path / "plan")
    result = rehearse(load_plan(plan_path), plan_path.parent, "prod", out_dir=tmp_path / "rehearsal")
    assert result.exit_code == 0
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store_at(url, "0001")
    source = sa.create_engine(f"sqlite:///{tmp_path / 'rehearsal' / 'rehearsal.db'}")
    old = sa.create_engine(url)
    with source.connect() as src, old.begin() as dst:
        first_schema = set(sa.inspect(dst).get_table_names())
        for table in t.metadata.sorted_tables:
            if table.name not in first_schema:
                continue  # a table a later revision added (the notification outbox): the first schema had none
            rows = [dict(r._mapping) for r in src.execute(sa.select(table))]
            if rows:
                dst.execute(table.insert(), rows)
        assert dst.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        assert "uq_runs_one_active" not in {i["name"] for i in sa.inspect(dst).get_indexes("runs")}
    source.dispose()

    before_store = Store(old)  # read as it is, at 0001, without migrating
    before = reports(before_store)
    runs_before = before_store.runs()
    old.dispose()
    assert [r.kind for r in runs_before] == ["release"] and runs_before[0].status == "succeeded"
    assert len(before) == len(FORMATS) and all(len(text) > 1000 for text in before.values())

    upgraded = Store.open(url)
    try:
        with upgraded.engine.connect() as conn:
            head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
            assert "uq_runs_one_active" in {i["name"] for i in sa.inspect(conn).get_indexes("runs")}
        assert upgraded.runs() == runs_before
        assert reports(upgraded) == before
    finally:
        upgraded.close()


def test_upgrade_ends_all_but_the_newest_of_two_active_runs(store_url: str) -> None:
    """A store of the old race holds two active runs of one release: 0002 keeps the newest, so the index builds."""
    from datetime import UTC, datetime

    store_at(store_url, "0001")
    old = Store(sa.create_engine(store_url))
    at = datetime(2026, 1, 9, 18, 0, tzinfo=UTC)
    first = old.create_run("bbws", "prod", "release", "a" * 64, [], at)
    second = old.create_run("bbws", "prod", "release", "a" * 64, [], at)
    other = old.create_run("bbws", "sit", "release", "a" * 64, [], at)
    old.close()
    store = Store.open(store_url)
    try:
        assert [(r.id, r.status) for r in store.runs("bbws")] == [
            (first.id, "aborted"), (second.id, "pending"), (other.id, "pending")]
        assert store.active_run("bbws", "prod", "release") == store.get_run(second.id)
    finally:
        store.close()
