"""Evaluating criteria over scopes and a window: from raw series to measurements.

One evaluation (a soak checkpoint, a canary analysis interval) asks several
criteria about several functions. All the series they need are requested
from the metric source at once, so the source can batch them; then each
criterion is computed per scope:

- by default every function on its own (a 2% error burst in one API must
  not hide in the average of twenty functions), the overall outcome being
  the worst and the overall measurement naming the worst function;
- or, for ``aggregate`` criteria, the functions summed together (for
  percentile, average and maximum statistics, which do not add up, the
  largest per-function value stands for the aggregate: conservative).

Lambda's rules are applied here: error rate is ``Sum(Errors)/Sum(Invocations)``;
a period with invocations and no Errors datapoint had zero errors; no
invocations at all is Inconclusive; a failed fetch makes every measurement
Error. A criterion is either a *requirement* (soak, gate: it must hold) or a
*trigger* (rollback: it must not); ``for 15m`` on a trigger means it held in
every minute of the last 15, so a 3-minute blip does not fire it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive.analysis.criteria import Criterion, Op, format_value
from golive.analysis.measurement import Measurement, MeasurementOutcome, worst
from golive.analysis.metrics import Aggregation, Fetch, MetricDef, MetricSource, Scope, SeriesRequest

AGGREGATE = "aggregate"
_MAX_RAW_PERIODS = 120


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion with its metric definition and how to read it."""

    criterion: Criterion
    metric: MetricDef
    trigger: bool = False
    aggregate: bool = False
    dry_run: bool = False
    min_calls: int | None = None  # fewer invocations in the window: Inconclusive (a trigger on too little data)


@dataclass(frozen=True)
class Evaluation:
    """One criterion evaluated once: the overall measurement and one per scope."""

    spec: CriterionSpec
    overall: Measurement
    per_scope: tuple[Measurement, ...]

    @property
    def outcome(self) -> MeasurementOutcome:
        return self.overall.outcome

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.spec.criterion.to_dict(), "metric": self.spec.metric.to_dict(),
                "trigger": self.spec.trigger, "aggregate": self.spec.aggregate,
                "overall": self.overall.to_dict(), "per_scope": [m.to_dict() for m in self.per_scope]}


@dataclass(frozen=True)
class _Value:
    """A computed value (None: no data), the per-period values for sustained windows, and raw evidence."""

    value: float | None
    periods: tuple[tuple[datetime, float], ...]
    raw: dict[str, Any]
    reason: str = ""


def _whole_period(start: datetime, end: datetime) -> int:
    seconds = int((end - start).total_seconds())
    return max(60, -(-seconds // 60) * 60)


class _Plan:
    """The series one evaluation needs, derived from the specs, scopes and window."""

    def __init__(self, start: datetime, end: datetime, resolution: int | None) -> None:
        self.start = start
        self.end = end
        self.whole = _whole_period(start, end)
        self.sum_period = resolution or self.whole
        self.requests: list[SeriesRequest] = []
        self._queries: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] | None = None

    def queries_of(self, fetched: Fetch, scope: Scope, spec: CriterionSpec) -> list[dict[str, Any]]:
        """The queries (evidence) the source sent about one scope for one spec, indexed once per evaluation."""
        if self._queries is None:
            self._queries = {}
            for query in fetched.queries:
                key = tuple(sorted(query.get("dimensions", {}).items()))
                self._queries.setdefault(key, []).append(query)
        found = self._queries.get(tuple(sorted((d["Name"], d["Value"]) for d in scope.dimensions())), [])
        probe = _Plan(self.start, self.end, self.sum_period)
        probe.needs(spec, scope)
        used = {(r.cloudwatch_name, r.stat, r.period) for r in probe.requests}
        # Evidence without a metric name (another source's shape) cannot be told apart: keep it.
        return [q for q in found if "metric" not in q or (q["metric"], q.get("stat"), q.get("period")) in used]

    def sums(self, scope: Scope, metric: str, sustained: bool) -> SeriesRequest:
        return SeriesRequest(scope, metric, "Sum", 60 if sustained else self.sum_period)

    def stat(self, scope: Scope, definition: MetricDef, sustained: bool) -> SeriesRequest:
        return SeriesRequest(scope, definition.metric, definition.stat, 60 if sustained else self.whole)

    def needs(self, spec: CriterionSpec, scope: Scope) -> None:
        sustained = spec.criterion.window is not None
        definition = spec.metric
        self.requests.append(self.sums(scope, "invocations", sustained))
        if definition.aggregation is Aggregation.RATIO:
            self.requests.append(self.sums(scope, definition.metric, sustained))
            self.requests.append(self.sums(scope, definition.denominator or "invocations", sustained))
        elif definition.aggregation is Aggregation.SUM:
            self.requests.append(self.sums(scope, definition.metric, sustained))
        else:
            self.requests.append(self.stat(scope, definition, sustained))


def requests_for(specs: Sequence[CriterionSpec], scopes: Sequence[Scope], start: datetime, end: datetime, *,
                 resolution: int | None = 60, compare_to: Mapping[Scope, Scope] | None = None) -> list[SeriesRequest]:
    """Every series ``evaluate`` will ask the source for, deduplicated (for ``golive plan`` and benchmarks)."""
    plan = _Plan(start, end, resolution)
    for spec in specs:
        for scope in scopes:
            plan.needs(spec, scope)
            if compare_to and scope in compare_to and spec.criterion.relative:
                plan.needs(spec, compare_to[scope])
    return list(dict.fromkeys(plan.requests))


def evaluate(
    specs: Sequence[CriterionSpec],
    source: MetricSource,
    scopes: Sequence[Scope],
    start: datetime,
    end: datetime,
    *,
    resolution: int | None = 60,
    baselines: Mapping[str, float] | None = None,
    compare_to: Mapping[Scope, Scope] | None = None,
) -> list[Evaluation]:
    """Evaluate every spec over every scope in [start, end), with one fetch from ``source``.

    ``resolution`` is the period of summed series (60: per minute; None: one period for the whole
    window). A relative criterion's baseline is ``baselines[scope.label]`` (or ``baselines["aggregate"]``),
    else the same metric of ``compare_to[scope]`` over the same window (the stable version of a canary).
    """
    if not scopes:
        raise ValueError("nothing to evaluate: no scopes (no functions matched)")
    requests = requests_for(specs, scopes, start, end, resolution=resolution, compare_to=compare_to)
    fetched = source.fetch(requests, start, end)
    plan = _Plan(start, end, resolution)
    return [_evaluate_one(spec, fetched, plan, scopes=scopes, baselines=baselines or {},
                          compare_to=compare_to or {}) for spec in specs]


def _window(spec: CriterionSpec, plan: _Plan) -> tuple[datetime, datetime, int]:
    window = spec.criterion.window
    if window is None:
        return plan.start, plan.end, 1
    start = max(plan.start, plan.end - window)
    return start, plan.end, int(window.total_seconds() // 60)


def _series_in(fetched: Fetch, request: SeriesRequest, start: datetime, end: datetime) -> dict[datetime, float]:
    return {t: v for t, v in fetched.get(request).points if start <= t < end}


def _compute(spec: CriterionSpec, fetched: Fetch, plan: _Plan, scopes: Sequence[Scope]) -> _Value:
    """The metric's value over the window for the scopes taken together (one scope, or an aggregate)."""
    definition = spec.metric
    sustained = spec.criterion.window is not None
    start, end, _ = _window(spec, plan)

    def summed(metric: str) -> dict[datetime, float]:
        total: dict[datetime, float] = {}
        for scope in scopes:
            for t, v in _series_in(fetched, plan.sums(scope, metric, sustained), start, end).items():
                total[t] = total.get(t, 0.0) + v
        return total

    invocations = summed("invocations")
    traffic = sum(invocations.values())
    if definition.aggregation is Aggregation.RATIO:
        numerator = summed(definition.metric)
        denominator = invocations if definition.denominator == "invocations" else summed(definition.denominator or "")
        periods = tuple((t, numerator.get(t, 0.0) / d) for t, d in sorted(denominator.items()) if d > 0)
        num_total, den_total = sum(numerator.get(t, 0.0) for t in denominator), sum(denominator.values())
        raw: dict[str, Any] = {definition.metric: num_total, definition.denominator or "": den_total}
        raw.setdefault("invocations", traffic)
        if len(denominator) <= _MAX_RAW_PERIODS:
            raw["periods"] = [[t.isoformat(), numerator.get(t, 0.0), d] for t, d in sorted(denominator.items())]
        if den_total <= 0:
            return _Value(None, (), raw, f"no {definition.denominator} in the window")
        return _Value(num_total / den_total, periods, raw)
    if definition.aggregation is Aggregation.SUM:
        values = invocations if definition.metric == "invocations" else summed(definition.metric)
        active = sorted(set(values) | set(invocations))
        periods = tuple((t, values.get(t, 0.0) * definition.scale) for t in active)
        total = sum(values.values()) * definition.scale
        raw = {definition.metric: total, "invocations": traffic}
        if len(active) <= _MAX_RAW_PERIODS:
            raw["periods"] = [[t.isoformat(), values.get(t, 0.0)] for t in active]
        if definition.metric != "invocations" and not values and traffic <= 0:
            return _Value(None, (), raw, "no traffic in the window")
        return _Value(total, periods, raw)
    per_scope = [_series_in(fetched, plan.stat(scope, definition, sustained), start, end) for scope in scopes]
    merged: dict[datetime, float] = {}
    for found in per_scope:
        for t, v in found.items():
            merged[t] = max(merged.get(t, v), v)
    periods = tuple((t, v * definition.scale) for t, v in sorted(merged.items()))
    raw = {definition.stat: [[t.isoformat(), v] for t, v in periods][:_MAX_RAW_PERIODS], "invocations": traffic}
    if not periods:
        name = scopes[0].cloudwatch_name(definition.metric) if scopes else definition.cloudwatch_name
        return _Value(None, (), raw, f"no {name} datapoints in the window")
    value = max(v for _, v in periods) if len(periods) > 1 or definition.aggregation is Aggregation.MAX else periods[0][1]
    return _Value(value, periods, raw)


def _against(op: Op, value: float, bound: float) -> float:
    """How far ``value`` is on the wrong side of ``bound`` for ``op`` to hold (positive: it does not hold)."""
    if op in (Op.LT, Op.LE):
        return value - bound
    if op in (Op.GT, Op.GE):
        return bound - value
    if op is Op.EQ:
        return abs(value - bound)
    return -abs(value - bound)


def _measure(spec: CriterionSpec, fetched: Fetch, plan: _Plan, *, scopes: Sequence[Scope], label: str,
             baseline: float | None, baseline_reason: str) -> Measurement:
    criterion, definition = spec.criterion, spec.metric
    start, end, minutes = _window(spec, plan)
    queries = tuple(q for scope in scopes for q in plan.queries_of(fetched, scope, spec))

    def made(outcome: MeasurementOutcome, message: str, value: float | None = None, raw: dict[str, Any] | None = None,
             threshold: float | None = None) -> Measurement:
        return Measurement(criterion=criterion.text, scope=label, start=start, end=end, outcome=outcome, value=value,
                           threshold=threshold, baseline=baseline, message=message, query=queries,
                           raw=raw or {}, dry_run=spec.dry_run)

    if fetched.error is not None:
        return made(MeasurementOutcome.ERROR, f"metrics unavailable: {fetched.error}")
    computed = _compute(spec, fetched, plan, scopes)
    calls = float(computed.raw.get("invocations") or 0.0)
    if spec.min_calls is not None and calls < spec.min_calls:
        return made(MeasurementOutcome.INCONCLUSIVE, f"{criterion.metric} on {label}: {calls:g} calls in the window, "
                                          f"fewer than the {spec.min_calls} it needs", raw=computed.raw)
    if computed.value is None:
        return made(MeasurementOutcome.INCONCLUSIVE, f"{criterion.metric} on {label}: {computed.reason}", raw=computed.raw)
    if criterion.relative and baseline is None:
        return made(MeasurementOutcome.INCONCLUSIVE, f"{criterion.metric} on {label}: no baseline ({baseline_reason})",
                    computed.value, computed.raw)
    bound = criterion.bound(baseline)
    unit = definition.unit
    shown = criterion.describe_threshold(baseline, unit)

    if criterion.window is None:
        holds = criterion.holds(computed.value, baseline)
        failed = holds if spec.trigger else not holds
        verb = "fires" if spec.trigger and holds else ("holds" if holds else "does not hold")
        message = f"{criterion.metric} = {format_value(computed.value, unit)} on {label}, {shown}: {verb}"
        return made(MeasurementOutcome.FAILED if failed else MeasurementOutcome.SUCCESSFUL, message, computed.value,
                    computed.raw, bound)

    periods = computed.periods
    holding = [criterion.holds(v, baseline) for _, v in periods]
    value = max((v for _, v in periods), key=lambda v: _against(criterion.op, v, bound))
    held = sum(holding)
    # A trigger fires only when sustained through every minute; a requirement fails on any bad minute.
    failed = (len(periods) >= minutes and all(holding)) if spec.trigger else not all(holding)
    message = (f"{criterion.metric} on {label} {shown} in {held} of {minutes} minutes "
               f"(worst minute {format_value(value, unit)})" + (": fires" if spec.trigger and failed else ""))
    raw = dict(computed.raw, minutes=[[t.isoformat(), v] for t, v in periods])
    return made(MeasurementOutcome.FAILED if failed else MeasurementOutcome.SUCCESSFUL, message, value, raw, bound)


def _baseline_value(spec: CriterionSpec, fetched: Fetch, plan: _Plan, *, label: str, scopes: Sequence[Scope],
                    baselines: Mapping[str, float], compare_to: Mapping[Scope, Scope]) -> tuple[float | None, str]:
    if not spec.criterion.relative:
        return None, ""
    if label in baselines:
        return baselines[label], ""
    references = [compare_to[s] for s in scopes if s in compare_to]
    if not references:
        return None, f"none given for {label}"
    if fetched.error is not None:
        return None, "metrics unavailable"
    value = _compute(spec, fetched, plan, references)
    if value.value is None:
        return None, f"{', '.join(s.label for s in references)}: {value.reason}"
    return value.value, ""


def _evaluate_one(spec: CriterionSpec, fetched: Fetch, plan: _Plan, *, scopes: Sequence[Scope],
                  baselines: Mapping[str, float], compare_to: Mapping[Scope, Scope]) -> Evaluation:
    if spec.aggregate:
        label = f"{AGGREGATE} of {len(scopes)} functions" if len(scopes) > 1 else scopes[0].label
        key = AGGREGATE if AGGREGATE in baselines else label
        baseline, why = _baseline_value(spec, fetched, plan, label=key, scopes=scopes, baselines=baselines,
                                        compare_to=compare_to)
        overall = _measure(spec, fetched, plan, scopes=scopes, label=label, baseline=baseline, baseline_reason=why)
        return Evaluation(spec, overall, (overall,))
    measurements = []
    for scope in scopes:
        baseline, why = _baseline_value(spec, fetched, plan, label=scope.label, scopes=[scope], baselines=baselines,
                                        compare_to=compare_to)
        measurements.append(_measure(spec, fetched, plan, scopes=[scope], label=scope.label, baseline=baseline,
                                     baseline_reason=why))
    if len(measurements) == 1:
        return Evaluation(spec, measurements[0], tuple(measurements))
    return Evaluation(spec, _summarise(spec, measurements), tuple(measurements))


def _summarise(spec: CriterionSpec, measurements: list[Measurement]) -> Measurement:
    """The overall measurement of a per-function criterion: the worst outcome, naming the worst function."""
    outcome = worst(m.outcome for m in measurements)
    candidates = [m for m in measurements if m.outcome is outcome]
    criterion = spec.criterion

    def badness(m: Measurement) -> float:
        if m.value is None or m.threshold is None:
            return float("-inf")
        against = _against(criterion.op, m.value, m.threshold)
        return -against if spec.trigger else against

    chosen = max(candidates, key=badness)
    counts = {o.value: sum(1 for m in measurements if m.outcome is o) for o in MeasurementOutcome}
    tally = ", ".join(f"{n} {name.lower()}" for name, n in counts.items() if n)
    first = measurements[0]
    return Measurement(
        criterion=criterion.text,
        scope=f"{len(measurements)} functions",
        start=min(m.start for m in measurements),
        end=max(m.end for m in measurements),
        outcome=outcome,
        value=chosen.value,
        threshold=chosen.threshold,
        baseline=chosen.baseline,
        message=f"worst: {chosen.message} ({tally})",
        query=(),
        raw={"worst": chosen.scope, "per_scope": {m.scope: {"value": m.value, "outcome": m.outcome.value}
                                                  for m in measurements}},
        dry_run=first.dry_run,
    )


def window_of(spec: CriterionSpec, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window a spec is judged over inside [start, end): its ``for`` window, or all of it."""
    window: timedelta | None = spec.criterion.window
    return (max(start, end - window), end) if window is not None else (start, end)
