"""The HTML report's canary section: a view a person reads in a minute, with the full numbers folded away.

Per canary (a project in one region; a DR canary is its own section): the weight over time, and for each of
the judge's tests the quantity it decides on, with the value at which it rolls back and a short legend of the
test (``report.decision_bounds`` recomputes that value from the look's recorded counts with the judge's own
statistics): the error rate over the bake so far (canary, stable, and the rate the error test rejects at, with
the fixed error_rate trigger drawn), and the canary calls above the stable's p95 × (1 + tolerance) against the
most the tail test allows; each with the rollback marked. Then one row per analysis (verdict, the metric and
function that decided it, its p-value against the boundary); then, inside ``<details>``, every result of every
look and the canary's event timeline.

Each analysis records the judge's results over the bake so far (cumulative counts), so each point is what that
look decided on; the stable's errors come from the result's ``stable_events`` where recorded, else from its
message. Results recorded before the judge kept the stable's counts draw no bound.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from golive.report import formatting as f
from golive.report.charts import Chart, Marker, Series, Threshold, svg
from golive.report.decision_bounds import error_bound, tail_allowed
from golive.report.model import FAILED, Canary, CanaryStep
from golive.textout import html_text

CANARY = "#c2571a"
STABLE = "#3b6fd8"
BOUND = "#c62828"
_STABLE_COUNTS = re.compile(r"vs stable (\d+(?:\.\d+)?) in (\d+(?:\.\d+)?)")
_RATE_THRESHOLD = re.compile(r"error_rate\s*(?:>|>=)\s*(\d+(?:\.\d+)?)%")


def _e(text: object) -> str:
    return html_text(text)


def _stable_events(result: dict[str, Any]) -> float | None:
    recorded = f.number(result.get("stable_events"))
    if recorded is not None:
        return recorded
    found = _STABLE_COUNTS.search(str(result.get("message") or ""))
    return float(found.group(1)) if found else None


def _decided(results: Sequence[dict[str, Any]], metric: str,
             quantile: float | None = None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The result a look decided ``metric`` on (the project's pooled test, else its one function's, else the function
    nearest rejection) and the look's per-function results of the metric (the strata of a pooled test: every
    function's, a function with too little data of its own too, as the pooled test counts it)."""
    of_metric = [r for r in results if r.get("metric") == metric
                 and (quantile is None or f.number(r.get("quantile")) == quantile)]
    strata = [r for r in of_metric if not str(r.get("scope", "")).startswith("pooled")]
    found = [r for r in of_metric if r.get("statistic") is not None]
    pooled = [r for r in found if str(r.get("scope", "")).startswith("pooled")]
    functions = [r for r in found if r not in pooled]
    if pooled:
        return pooled[0], strata
    if not functions:
        return None, []
    return min(functions, key=lambda r: f.number(r.get("p_value")) or 1.0), []


def error_rates(canary: Canary) -> tuple[list[tuple[float, float]], list[tuple[float, float]], list[tuple[float, float]]]:
    """Per look: the canary error rate over the bake so far, the stable's, and the canary rate the test rejects at."""
    start = f.canary_start(canary)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    bound: list[tuple[float, float]] = []
    if start is None:
        return ours, theirs, bound
    for step in canary.steps:
        if step.outcome != "analysis":
            continue
        chosen, functions = _decided(f.results_of(step), "errors")
        calls = f.number(chosen.get("n_canary")) if chosen else None
        if chosen is None or not calls:
            continue
        minute = f.minutes_since(start, step.at)
        ours.append((minute, (f.number(chosen.get("statistic")) or 0.0) / calls))
        stable_events, stable_calls = _stable_events(chosen), f.number(chosen.get("n_stable"))
        if stable_events is not None and stable_calls:
            theirs.append((minute, stable_events / stable_calls))
        rejects_at = error_bound(chosen, functions)
        if rejects_at is not None:
            bound.append((minute, rejects_at))
    return ours, theirs, bound


def tail_counts(canary: Canary, quantile: float = 0.95) -> tuple[list[tuple[float, float]], list[tuple[float, float]],
                                                                   float | None]:
    """Per look: the canary calls above the stable's pNN x (1 + tolerance) over the bake so far, the most the tail
    test allows, and the tolerance."""
    start = f.canary_start(canary)
    above: list[tuple[float, float]] = []
    allowed: list[tuple[float, float]] = []
    tolerance: float | None = None
    if start is None:
        return above, allowed, tolerance
    for step in canary.steps:
        if step.outcome != "analysis":
            continue
        metric = next((str(r.get("metric")) for r in f.results_of(step)
                       if f.number(r.get("quantile")) == quantile), None)
        chosen, functions = _decided(f.results_of(step), metric or "", quantile) if metric else (None, [])
        if chosen is None:
            continue
        minute = f.minutes_since(start, step.at)
        above.append((minute, f.number(chosen.get("statistic")) or 0.0))
        most = tail_allowed(chosen, functions)
        if most is not None:
            allowed.append((minute, most))
        tolerance = f.number(chosen.get("tolerance"))
    return above, allowed, tolerance


def weights(canary: Canary) -> list[tuple[float, float]]:
    """The canary's weight at each change: shifts, promotion, and 0 at a rollback."""
    start = f.canary_start(canary)
    points: list[tuple[float, float]] = []
    if start is None:
        return points
    for step in canary.steps:
        minute = f.minutes_since(start, step.at)
        if step.outcome in ("rolled_back", "rollback_failed"):
            if step.weight is not None:
                points.append((minute, step.weight))
            if step.outcome == "rolled_back":
                points.append((minute, 0.0))
        elif step.outcome in ("shifted", "promoted", "promote_forced") and step.weight is not None:
            points.append((minute, step.weight))
    return points


def rollback_minute(canary: Canary) -> float | None:
    start = f.canary_start(canary)
    found = next((s for s in canary.steps if s.outcome == "rolled_back"), None)
    return None if start is None or found is None else f.minutes_since(start, found.at)


def _rate_threshold(canary: Canary) -> float | None:
    """The fixed error-rate trigger the canary was held to, from the measurements recorded with its analyses."""
    for step in canary.steps:
        for m in step.measurements:
            text = str(m.get("criterion") or "")
            if not text.startswith("error_rate"):
                continue
            recorded = f.number(m.get("threshold"))
            if recorded is not None:
                return recorded
            found = _RATE_THRESHOLD.search(text)
            if found:
                return float(found.group(1)) / 100
    return None


def _percent(value: float) -> str:
    return f"{value * 100:.3g}%"


ERRORS_LEGEND = ("Canary errors ÷ canary calls over the bake so far (the project's functions pooled), the stable's "
                 "rate (its history joined), and the canary rate at which the judge's test of two Poisson rates "
                 "(canary ≤ stable × (1 + tolerance)) rolls back at that look's α; the red line is the error_rate "
                 "trigger, judged on each minute window.")
TAIL_LEGEND = ("Canary calls slower than the stable's p95 × (1 + tolerance) over the bake so far, against the most the "
               "judge's count test allows at that look's α (a canary no worse than stable has no more of its calls "
               "above that line than the stable has above its p95, about 5%; the p95 is the stable's over its hour "
               "before the shift where it had one); more than allowed rolls back.")


def charts(canary: Canary) -> list[Chart]:
    """The three charts of a canary: weight, the error test's rate and bound, the tail test's count and allowance."""
    rollback = rollback_minute(canary)
    markers = [Marker(f"rollback at +{rollback:g} min", rollback, kind="rollback")] if rollback is not None else []
    weight = weights(canary)
    ours, theirs, bound = error_rates(canary)
    above, allowed, tolerance = tail_counts(canary)
    xs = [x for x, _ in [*weight, *ours, *theirs, *bound, *above, *allowed]] + [m.x for m in markers]
    span = (0.0, max([*xs, 1.0]) + 0.5)
    rate = _rate_threshold(canary)
    over = f"stable p95 ×{1 + tolerance:g}" if tolerance is not None else "stable p95 × (1 + tolerance)"

    name = canary.title
    return [
        Chart(f"{name}: canary weight", [Series("weight", weight, CANARY, steps=True)], heading="weight",
              y_format=lambda v: f"{v:g}%", markers=markers, x_range=span, y_max=100.0,
              css_class="canary-chart weight"),
        Chart(f"{name}: error rate over the bake so far, canary vs stable and the judge's bound",
              [Series("canary", ours, CANARY), Series("stable", theirs, STABLE, dashed=True),
               Series("rolls back above", bound, BOUND, dashed=True)],
              heading="error rate, bake so far", y_format=_percent,
              thresholds=[Threshold("trigger", rate)] if rate is not None else [], markers=markers, x_range=span,
              css_class="canary-chart errors", note="no error counts recorded", legend=ERRORS_LEGEND),
        Chart(f"{name}: canary calls above {over}, and the most the judge allows",
              [Series("canary calls above", above, CANARY), Series("allowed", allowed, BOUND, dashed=True)],
              heading=f"calls above {over}", y_format=lambda v: f"{v:,.0f}", markers=markers, x_range=span,
              css_class="canary-chart p95", note="no latency tail count recorded", legend=TAIL_LEGEND),
    ]


def _badge(text: str, good: Sequence[str], bad: Sequence[str]) -> str:
    tone = "good" if text in good else "bad" if text in bad else "neutral"
    return f'<span class="badge {tone}">{_e(text)}</span>'


_GOOD = ("Successful", "promoted")
_BAD = (FAILED, "Error", "rolled_back", "rollback_failed")


def _number(value: Any, spec: str = ".3g") -> str:
    number = f.number(value)
    return "" if number is None else format(number, spec)


def _history(result: dict[str, Any]) -> str:
    """The stable history's note of a count test (joined, or left out for drift), on its own line."""
    note = str(result.get("history") or "")
    return f'<br><span class="muted">{_e(note)}</span>' if note else ""


def _results_table(step: CanaryStep) -> str:
    rows = []
    for r in f.results_of(step):
        effect = _number(r.get("effect"))
        low, high = _number(r.get("low")), _number(r.get("high"))
        interval = f" [{low}, {high}]" if low or high else ""
        css = ' class="fail"' if r.get("outcome") == FAILED else ""
        rows.append(f"<tr{css}><td>{_e(r.get('metric', ''))}</td><td>{_e(r.get('scope', ''))}</td>"
                    f"<td>{_e(r.get('outcome', ''))}</td><td>{_e(r.get('test', ''))}</td>"
                    f"<td>{_number(r.get('n_canary'), ',.0f')}</td><td>{_number(r.get('n_stable'), ',.0f')}</td>"
                    f"<td>{_number(r.get('p_value'), '.2g')}</td><td>{_number(f.boundary_of(r), '.2g')}</td>"
                    f"<td>{_e(effect + interval)}</td><td>{_e(r.get('message', ''))}{_history(r)}</td></tr>")
    for m in step.measurements:
        rows.append(f"<tr><td>{_e(m.get('criterion', ''))}</td><td>{_e(m.get('scope', ''))}</td>"
                    f"<td>{_e(m.get('outcome', ''))}</td><td>fixed trigger</td><td></td><td></td><td></td><td></td>"
                    f"<td>{_number(m.get('value'), '.4g')}</td><td>{_e(m.get('message', ''))}</td></tr>")
    if not rows:
        return f'<p class="muted">{_e(step.reason or "no numbers recorded")}</p>'
    head = "".join(f"<th>{h}</th>" for h in ("metric", "scope", "outcome", "test", "n canary", "n stable", "p",
                                             "boundary", "effect [interval]", "message"))
    return f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _analyses(canary: Canary) -> str:
    rows = f.analysis_rows(canary)
    if not rows:
        return '<p class="muted">No analysis recorded.</p>'
    body = []
    for row in rows:
        crossed = row.p_value is not None and row.boundary is not None and row.p_value < row.boundary
        p_cell = '<td class="fail">' if crossed else "<td>"
        body.append(f'<tr class="analysis{" fail" if row.verdict == FAILED else ""}">'
                    f"<td>+{row.minute:g} min</td><td>{_e(f.clock(row.at))}</td><td>{_e(f.weight(row.weight))}</td>"
                    f"<td>{_badge(row.verdict, _GOOD, _BAD)}{' (final look)' if row.final else ''}</td>"
                    f"<td>{_e(row.worst)}</td>{p_cell}{_e(row.p_text)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("minute", "at", "weight", "verdict", "worst metric and function",
                                             "p against boundary"))
    return f'<table class="analyses"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _versions(step: CanaryStep) -> str:
    return f"{step.stable or '?'} → {step.canary or '?'}" if step.stable or step.canary else ""


def _details(canary: Canary, start_text: Callable[[CanaryStep], str]) -> str:
    looks = [s for s in canary.steps if s.outcome == "analysis"]
    timeline = "".join(
        f"<tr><td>{_e(start_text(s))}</td><td>{_e(f.clock(s.at))}</td><td>{_badge(s.outcome, _GOOD, _BAD)}</td>"
        f"<td>{_e(f.weight(s.weight))}</td><td>{_e(_versions(s))}</td><td>{_e(s.reason)}</td></tr>"
        for s in canary.steps)
    parts = [f'<details class="canary-numbers"><summary>Full numbers: {len(looks)} analyses, '
             f"{sum(len(f.results_of(s)) for s in looks)} results, {len(canary.steps)} events</summary>",
             '<table class="timeline"><thead><tr><th>minute</th><th>at</th><th>event</th><th>weight</th>'
             f"<th>versions</th><th>reason</th></tr></thead><tbody>{timeline}</tbody></table>"]
    for step in looks:
        parts.append(f"<h4>{_e(start_text(step))} · {_e(f.clock(step.at))} · {_e(step.reason)}</h4>")
        parts.append(_results_table(step))
    parts.append("</details>")
    return "".join(parts)


def section(canary: Canary) -> str:
    """One canary as HTML: heading, charts, one row per analysis, the full numbers folded."""
    start = f.canary_start(canary)

    def minute(step: CanaryStep) -> str:
        return "" if start is None else f"+{f.minutes_since(start, step.at):g} min"

    region = f' data-region="{_e(canary.region)}"' if canary.region else ""
    rollback = rollback_minute(canary)
    summary = f"rolled back at +{rollback:g} min" if rollback is not None else \
        f"final weight {f.weight(canary.final_weight)}"
    return (f'<section class="canary" data-project="{_e(canary.project)}"{region}>'
            f"<h3>{_e(canary.title)} {_badge(canary.outcome, _GOOD, _BAD)} "
            f'<span class="muted">{_e(summary)}</span></h3>'
            '<div class="charts">' + "".join(f'<div class="chart">{svg(c)}'
                                             + (f'<p class="legend">{_e(c.legend)}</p>' if c.legend else "") + "</div>"
                                             for c in charts(canary)) + "</div>"
            + _analyses(canary) + _details(canary, minute) + "</section>")


def render_canaries(canaries: Sequence[Canary]) -> str:
    if not canaries:
        return '<p class="muted">No canary recorded.</p>'
    note = ('<p class="muted">Each chart draws what a test of the judge decides on, over the bake so far, with '
            "the value at which it rolls back at that look.</p>")
    return note + "".join(section(c) for c in canaries)

