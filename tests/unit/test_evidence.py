"""Typed evidence: each stored shape reads as its record and writes back the same dict; unknowns read safely."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from evidence_shapes import STORED
from golive.engine.context import StepContext
from golive.evidence import UnknownRecord, classes, from_event
from golive.evidence.base import VERSION_KEY
from golive.evidence.canary import CanaryAnalysis, CanaryShifted, CanaryVersions
from golive.evidence.checks import CheckRecord, Preflight, check_record
from golive.evidence.rollback import RolledBack
from golive.evidence.runs import RunNote, SecretSet

SRC = Path(__file__).resolve().parents[2] / "src" / "golive"


@pytest.mark.parametrize(("kind", "outcome", "subject", "data"), STORED,
                         ids=[f"{k}-{o}-{i}" for i, (k, o, _, _) in enumerate(STORED)])
def test_each_stored_shape_reads_as_its_record_and_writes_back_the_same_dict(
        kind: str, outcome: str | None, subject: str, data: dict[str, Any]) -> None:
    record = from_event(kind, outcome, subject, data)
    assert not isinstance(record, UnknownRecord), record
    assert (record.stored_kind, record.outcome, record.subject) == (kind, outcome, subject)
    assert record.to_data() == data
    assert from_event(kind, outcome, subject, record.to_data()) == record


def test_every_record_class_has_a_stored_shape() -> None:
    read = {type(from_event(k, o, s, d)) for k, o, s, d in STORED}
    assert set(classes()) - read == set()


def test_a_record_built_in_code_round_trips() -> None:
    shifted = CanaryShifted(subject="orders", project="orders", weight=25.0, bake_s=60.0,
                            versions={"fn": {"stable": "1", "canary": "2"}})
    assert shifted.outcome == "shifted"
    assert shifted.to_data() == {"project": "orders", "weight": 25.0, "bake_s": 60.0,
                                 "versions": {"fn": {"stable": "1", "canary": "2"}}}
    assert from_event("canary", "shifted", "orders", shifted.to_data()) == shifted
    secret = SecretSet(subject="org/r KEY", repo="org/r", name="KEY", origin="env:KEY")
    assert secret.to_data()["from"] == "env:KEY"
    note = RunNote(subject="release", outcome="started", plan_version="1.2.0", steps=3)
    assert note.to_data() == {"version": "1.2.0", "steps": 3}


def test_named_fields_are_typed_and_the_rest_is_kept() -> None:
    analysis = from_event("canary", "analysis", "orders", {"project": "orders", "weight": "12.5", "verdict": "ok",
                                                           "triggers": [{"criterion": "alarm"}], "window": {"a": 1}})
    assert isinstance(analysis, CanaryAnalysis)
    assert analysis.weight == 12.5
    assert analysis.measured == ({"criterion": "alarm"},)
    assert analysis.extra == {"window": {"a": 1}}


def test_wrongly_typed_values_fall_back_to_defaults_rather_than_crash() -> None:
    record = from_event("canary", "versions", "orders", {"project": None, "versions": ["not", "a", "map"],
                                                         "region": 7})
    assert isinstance(record, CanaryVersions)
    assert (record.project, dict(record.versions), record.region) == ("", {}, "7")
    shifted = from_event("canary", "shifted", "orders", {"weight": "heavy", "bake_s": float("nan")})
    assert isinstance(shifted, CanaryShifted)
    assert (shifted.weight, shifted.bake_s) == (None, None)


def test_an_unknown_kind_reads_as_an_unknown_record() -> None:
    record = from_event("teleport", "done", "orders", {"to": "mars"})
    assert isinstance(record, UnknownRecord)
    assert record.stored_kind == "teleport"
    assert record.to_data() == {"to": "mars"}
    assert "teleport" in record.why


def test_a_newer_version_than_golive_reads_is_unknown_not_misread() -> None:
    data = {"project": "orders", "weight": 10.0, VERSION_KEY: 2}
    record = from_event("canary", "shifted", "orders", data)
    assert isinstance(record, UnknownRecord)
    assert "newer" in record.why and record.to_data() == data
    assert isinstance(from_event("canary", "shifted", "orders", {**data, VERSION_KEY: 1}), CanaryShifted)


def test_typed_readers_replace_digging() -> None:
    failed = check_record({"check": "github_secrets", "target": "org/r", "status": "fail", "summary": "",
                           "evidence": [{"answered": {"secrets": [{"name": "A", "status": "missing"},
                                                                  {"name": "B", "status": "present"}]}}]}, "orders")
    assert isinstance(failed, CheckRecord)
    assert failed.subject == "github_secrets org/r" and failed.outcome == "fail"
    assert failed.missing_secrets() == ["A"]
    assert failed.to_data()["project"] == "orders"
    preflight = Preflight(subject="preflight prod", results=(failed.to_data(),))
    assert preflight.secret_rows() == [{"repo": "org/r", "name": "A", "status": "missing"},
                                       {"repo": "org/r", "name": "B", "status": "present"}]
    rollback = from_event("rollback", "rolled_back", "orders", {"project": "orders", "functions": [{"function": "f"}]})
    assert isinstance(rollback, RolledBack) and rollback.functions == ({"function": "f"},)


def test_handlers_write_no_raw_dict_events() -> None:
    """Evidence goes through ctx.record(Record): StepContext has no event(), and nothing outside the store and the
    runner's own context calls append_event."""
    assert not hasattr(StepContext, "event")
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name == "event" or (name == "append_event" and path.name not in ("store.py", "runner.py")):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert offenders == []
