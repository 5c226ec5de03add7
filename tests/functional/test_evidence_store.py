"""A store written the way golive wrote events before typed evidence reads back as typed records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evidence_shapes import STORED
from golive.evidence import Record, UnknownRecord, typed
from golive.evidence.canary import CanaryAnalysis, CanaryRecord, CanaryShifted
from golive.evidence.rollback import RollbackRecord
from golive.store.store import Store

T0 = datetime(2026, 1, 9, 18, 40, tzinfo=UTC)


def _write_the_old_way(store: Store) -> int:
    run = store.create_run("bbws", "prod", "release", "digest", [], T0)
    for i, (kind, outcome, subject, data) in enumerate(STORED):
        store.append_event(release="bbws", env="prod", run_id=run.id, step_key="canary.orders", kind=kind,
                           subject=subject, outcome=outcome, at=T0 + timedelta(seconds=i), data=data)
    store.append_event(release="bbws", env="prod", run_id=run.id, kind="from_the_future", subject="x", at=T0,
                       outcome="new", data={"shape": "unknown"})
    return run.id


def test_an_old_store_reads_back_as_the_records_it_held(store: Store) -> None:
    run_id = _write_the_old_way(store)
    records = [typed(e).record for e in store.events(run_id=run_id)]
    expected = [(k, o, s, d) for k, o, s, d in STORED]
    assert [(r.stored_kind, r.outcome, r.subject, r.to_data()) for r in records[:len(expected)]] == expected
    assert not any(isinstance(r, UnknownRecord) for r in records[:len(expected)])
    assert isinstance(records[-1], UnknownRecord) and records[-1].to_data() == {"shape": "unknown"}


def test_records_of_a_class_by_type(store: Store) -> None:
    run_id = _write_the_old_way(store)
    analyses = store.records(CanaryAnalysis, run_id=run_id)
    assert [a.record.verdict for a in analyses] == ["fail", "fail", "inconclusive"]
    assert analyses[0].step_key == "canary.orders" and analyses[0].at == T0 + timedelta(seconds=8)  # 1 s a record
    assert [type(c.record).__name__ for c in store.records(CanaryRecord, run_id=run_id)] == [
        "CanaryVersions", "CanaryGateBlocked", "CanaryShifted", "CanarySample", "CanarySample", "CanaryInconclusive",
        "CanaryInconclusive", "CanaryPromoted", "CanaryAnalysis", "CanaryAnalysis", "CanaryAnalysis",
        "CanaryPromoteForced", "CanaryNote"]
    assert len(store.records(RollbackRecord, run_id=run_id)) == 5
    assert len(store.records(Record, run_id=run_id)) == len(STORED) + 1


def test_a_record_written_now_is_stored_in_the_old_shape(store: Store) -> None:
    run = store.create_run("bbws", "prod", "release", "digest", [], T0)
    shifted = CanaryShifted(subject="orders", project="orders", weight=10.0, bake_s=300.0, versions={"f": {"a": "1"}})
    store.append_record(shifted, release="bbws", env="prod", run_id=run.id, at=T0)
    (event,) = store.events(run_id=run.id)
    assert (event.kind, event.outcome, event.subject) == ("canary", "shifted", "orders")
    assert event.data == {"project": "orders", "weight": 10.0, "bake_s": 300.0, "versions": {"f": {"a": "1"}}}
    assert store.records(CanaryShifted, run_id=run.id)[0].record == shifted
