"""Measurements as data, and Argo-style limits over a run of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from golive.analysis.measurement import Limits, Measurement, MeasurementOutcome, assess, worst

MO = MeasurementOutcome

T = datetime(2025, 3, 1, tzinfo=UTC)


def m(outcome: MO, *, dry_run: bool = False, message: str = "") -> Measurement:
    return Measurement("error_rate < 0.1%", "fn-a", T, T + timedelta(minutes=1), outcome, value=0.002,
                       threshold=0.001, message=message, dry_run=dry_run)


def test_round_trips_through_json() -> None:
    original = Measurement("p95_duration < 2s", "fn-a:live@7", T, T + timedelta(hours=6), MO.FAILED, value=2.4,
                           threshold=2.0, message="p95_duration = 2.4s", query=({"stat": "p95", "period": 21600},),
                           raw={"p95": [[T.isoformat(), 2.4]]}, late=True)
    again = Measurement.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original


def test_worst_outcome() -> None:
    assert worst([MO.SUCCESSFUL, MO.INCONCLUSIVE]) is MO.INCONCLUSIVE
    assert worst([MO.ERROR, MO.INCONCLUSIVE, MO.SUCCESSFUL]) is MO.ERROR
    assert worst([MO.ERROR, MO.FAILED]) is MO.FAILED
    assert worst([]) is MO.INCONCLUSIVE


def test_assess_follows_argo_limits() -> None:
    ok, bad, unsure, err = MO.SUCCESSFUL, MO.FAILED, MO.INCONCLUSIVE, MO.ERROR
    assert assess([m(ok), m(ok)]).outcome is ok
    assert assess([m(ok), m(bad, message="2% > 0.1%")]).outcome is bad
    assert "2% > 0.1%" in assess([m(bad, message="2% > 0.1%")]).reason
    assert assess([m(bad), m(ok)], Limits(failure_limit=1)).outcome is ok
    assert assess([m(unsure)]).outcome is unsure
    assert assess([m(unsure)], Limits(inconclusive_limit=1)).outcome is ok
    # errors count only while consecutive: an answer in between resets the run
    assert assess([m(err)] * 4 + [m(ok)] + [m(err)] * 4).outcome is ok
    five = assess([m(err)] * 5)
    assert five.outcome is err and five.consecutive_errors == 5
    assert assess([m(err)] * 2, Limits(consecutive_error_limit=1)).outcome is err


def test_dry_run_measurements_never_decide() -> None:
    assert assess([m(MO.FAILED, dry_run=True), m(MO.SUCCESSFUL)]).outcome is MO.SUCCESSFUL
    assert assess([m(MO.FAILED, dry_run=True)]).outcome is MO.INCONCLUSIVE
