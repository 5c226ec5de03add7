"""One look of a canary's rollback triggers over the step's own traffic, each window grown to the calls it needs.

A trigger reads complete minutes of the current step only (from the step's first complete minute: a window
straddling two weights judges neither), and needs ``min_calls`` calls in its window for every function it
tests; when its window holds fewer, the window grows back, minute by minute, until it does (as the judge's
window grows with the bake). Until a trigger has judged a window of the step's traffic it is waiting, never
quiet: a step is not promoted on a trigger that has not looked.

A sustained trigger (``for 15m``) fires when the metric held in every minute of its window (grown, if its
calls needed more minutes). While the step has had fewer minutes than its ``for``, it cannot fire yet: it is
quiet as soon as a minute of the step did not breach, and waiting (the bake grows) while every minute so far
did. So a healthy canary is not held for a window longer than its bake, and a breach that lasts is not
promoted past.

Every per-minute series the triggers read (calls, errors, per-minute percentiles of sustained triggers) is
fetched once per look over the step's minutes, one ``GetMetricData`` for up to 500 series; each trigger's
window is a slice of it. Only a percentile over a whole window (an ``immediately`` latency trigger) is asked
for on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from golive.analysis.criteria import format_duration
from golive.analysis.evaluate import CriterionSpec, Evaluation, evaluate, requests_for
from golive.analysis.measurement import Measurement, MeasurementOutcome
from golive.analysis.metrics import Fetch, MetricSource, Scope, Series, SeriesRequest

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class TriggerLook:
    """One trigger at one look: its evaluation over the window it was judged on, or why it is still waiting."""

    spec: CriterionSpec
    start: datetime
    end: datetime
    evaluation: Evaluation | None = None
    waiting: str = ""  # the words of a trigger that could not judge yet
    error: str | None = None
    calls: float | None = None  # a waiting trigger's calls in its window (the quietest function's)

    @property
    def name(self) -> str:
        return f"trigger {self.spec.criterion.text}"

    def measurement(self) -> Measurement | None:
        """What the look measured: the evaluation's, an Inconclusive one naming the calls a trigger lacks, or None
        (waiting for the step's first minute, or for a sustained window longer than the step so far)."""
        if self.evaluation is not None:
            return self.evaluation.overall
        if self.calls is None or self.spec.min_calls is None:
            return None
        criterion = self.spec.criterion
        grows = self.waiting.rsplit("(", 1)[-1].rstrip(")")
        return Measurement(criterion=criterion.text, scope="", start=self.start, end=self.end,
                           outcome=MeasurementOutcome.INCONCLUSIVE, raw={"invocations": self.calls},
                           message=f"{criterion.metric}: {self.calls:.0f} calls in the window, fewer than the "
                                   f"{self.spec.min_calls} it needs ({grows})")

class _Minutes:
    """A look's per-minute series, fetched once over the step's minutes; a trigger's window is a slice of them.

    A request it did not fetch (a percentile over a whole window, which minutes cannot make) goes to the source.
    """

    def __init__(self, source: MetricSource, fetched: Fetch, asked: set[SeriesRequest]) -> None:
        self.source = source
        self.fetched = fetched
        self.asked = asked

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        if not all(r in self.asked for r in requests):
            return self.source.fetch(requests, start, end)
        series = {r: Series(r, tuple((t, v) for t, v in self.fetched.get(r).points if start <= t < end))
                  for r in dict.fromkeys(requests)}
        return Fetch(series=series, queries=self.fetched.queries)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        return self.source.window(length)


def _minutes(source: MetricSource, specs: Sequence[CriterionSpec], scopes: Sequence[Scope], first: datetime,
             end: datetime) -> tuple[_Minutes, dict[Scope, dict[datetime, float]], str | None]:
    """Every per-minute series the look's triggers read, in one fetch, and each scope's calls per minute."""
    calls = [SeriesRequest(scope, "invocations", "Sum") for scope in scopes]
    wanted = list(dict.fromkeys([*calls, *(r for r in requests_for(specs, scopes, first, end) if r.period == 60)]))
    fetched = source.fetch(wanted, first, end)
    cached = _Minutes(source, fetched, set(wanted))
    if fetched.error:
        return cached, {}, fetched.error
    return cached, {r.scope: fetched.get(r).values() for r in calls}, None


def _calls(per_scope: dict[Scope, dict[datetime, float]], start: datetime, end: datetime) -> tuple[float, Scope | None]:
    """The fewest calls any scope had in [start, end), and that scope."""
    totals = {scope: sum(v for t, v in minutes.items() if start <= t < end) for scope, minutes in per_scope.items()}
    if not totals:
        return 0.0, None
    scope = min(totals, key=lambda s: (totals[s], s))
    return totals[scope], scope


def look(specs: Sequence[CriterionSpec], source: MetricSource, scopes: Sequence[Scope], first: datetime,
         end: datetime) -> list[TriggerLook]:
    """Every trigger over its window of [first, end): the step's complete minutes up to the metric delay."""
    if not specs:
        return []
    have = end - first
    if have < MINUTE:
        return [TriggerLook(spec, first, end, waiting=f"trigger {spec.criterion.text}: waiting for the step's first "
                                                        f"complete minute") for spec in specs]
    cached, per_scope, error = _minutes(source, specs, scopes, first, end)
    if error:
        return [TriggerLook(spec, first, end, error=error) for spec in specs]
    planned: list[TriggerLook] = []
    for spec in specs:
        own = spec.criterion.window or MINUTE
        text = spec.criterion.text
        need = spec.min_calls or 1
        start = max(first, end - own)
        while start > first and _calls(per_scope, start, end)[0] < need:
            start -= MINUTE
        calls, scope = _calls(per_scope, start, end)
        if calls < need:
            rate = calls / max((end - start) / MINUTE, 1)
            grows = f"window grows to {math.ceil(need / rate)}m" if rate > 0 else "no calls yet"
            where = f" on {scope.label}" if scope is not None and len(scopes) > 1 else ""
            planned.append(TriggerLook(spec, start, end, waiting=f"trigger {text} has {calls:.0f} of {need} calls"
                                                                 f"{where} ({grows})", calls=calls))
            continue
        grown = replace(spec, criterion=replace(spec.criterion, window=end - start)) \
            if spec.criterion.window is not None else spec
        planned.append(TriggerLook(grown, start, end))
    out: list[TriggerLook] = []
    by_start: dict[datetime, list[int]] = {}
    for i, item in enumerate(planned):
        if not item.waiting:
            by_start.setdefault(item.start, []).append(i)
    evaluated: dict[int, Evaluation] = {}
    for start, indexes in by_start.items():
        for i, evaluation in zip(indexes, evaluate([planned[i].spec for i in indexes], cached, scopes, start, end),
                                 strict=True):
            evaluated[i] = evaluation
    for i, item in enumerate(planned):
        found = evaluated.get(i)
        judged, original = item.spec.criterion.window, specs[i].criterion.window
        if found is not None and original is not None and judged is not None and judged < original \
                and found.outcome is MeasurementOutcome.FAILED:
            # Breached in every minute of the step so far, but the step is shorter than the trigger's window.
            out.append(replace(item, spec=specs[i], waiting=f"trigger {specs[i].criterion.text}: breached in every "
                                                            f"minute of this step so far ({format_duration(judged)} of "
                                                            f"its {format_duration(original)}); the bake grows"))
            continue
        out.append(replace(item, spec=specs[i], evaluation=found))
    return out
