"""The HTML report's canary section: a view a person reads in a minute, with the full numbers folded away.

Per canary (a project in one region; a DR canary is its own section): the
weight over time, the canary's error rate against the stable version's, and
the canary's p95 against the stable's, each with its threshold drawn and the
rollback marked; then one row per analysis (verdict, the metric and
function that decided it, its p-value against the boundary); then, inside
``<details>``, every result of every look and the canary's event timeline.

What the evidence holds, and so what is drawn: each analysis records the
judge's results over the bake so far (cumulative counts), not per-minute
series. The error-rate lines are the differences between consecutive looks
of a bake (the calls and errors of the minutes a look added), pooled over
the project's functions; the stable version's errors come from the result's
``stable_events`` where recorded, else from its message. Per-minute p95
values of either version are not recorded at all: the p95 chart shows
canary p95 ÷ stable p95 over the bake so far at each look (recorded with
the latency tail test; a rank test's Hodges-Lehmann shift in older
stores), for the function that slowed most, against the tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from golive.report import formatting as f
from golive.report.charts import Chart, Marker, Series, Threshold, svg
from golive.report.model import FAILED, Canary, CanaryStep
from golive.textout import html_text

CANARY = "#c2571a"
STABLE = "#3b6fd8"
_STABLE_COUNTS = re.compile(r"vs stable (\d+(?:\.\d+)?) in (\d+(?:\.\d+)?)")
_TOLERANCE = re.compile(r"tolerance \+(\d+(?:\.\d+)?)%")
_RATE_THRESHOLD = re.compile(r"error_rate\s*(?:>|>=)\s*(\d+(?:\.\d+)?)%")


def _e(text: object) -> str:
    return html_text(text)


@dataclass(frozen=True)
class Look:
    """The pooled error counts of one analysis, cumulative over its bake."""

    minute: float
    bake: int
    canary_events: float
    canary_calls: float
    stable_events: float | None
    stable_calls: float


def _stable_events(result: dict[str, Any]) -> float | None:
    recorded = f.number(result.get("stable_events"))
    if recorded is not None:
        return recorded
    found = _STABLE_COUNTS.search(str(result.get("message") or ""))
    return float(found.group(1)) if found else None


def _error_look(step: CanaryStep, minute: float, bake: int) -> Look | None:
    """The pooled errors of a look: the judge's pooled result, else the sum of its per-function results."""
    errors = [r for r in f.results_of(step) if r.get("metric") == "errors"]
    pooled = [r for r in errors if str(r.get("scope", "")).startswith("pooled")]
    chosen = pooled[:1] or errors
    if not chosen:
        return None
    canary_events = [f.number(r.get("canary_events", r.get("statistic"))) for r in chosen]
    if any(v is None for v in canary_events):
        return None  # too little data: the judge recorded no count (a later look of the bake covers these minutes)
    stable = [_stable_events(r) for r in chosen]
    return Look(minute=minute, bake=bake, canary_events=sum(v or 0.0 for v in canary_events),
                canary_calls=sum(f.number(r.get("n_canary")) or 0.0 for r in chosen),
                stable_events=None if any(v is None for v in stable) else sum(v or 0.0 for v in stable),
                stable_calls=sum(f.number(r.get("n_stable")) or 0.0 for r in chosen))


def error_rates(canary: Canary) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(canary, stable) error rate per look: the calls and errors each look added to its bake's cumulative counts."""
    start = f.canary_start(canary)
    if start is None:
        return [], []
    looks: list[Look] = []
    bake = 0
    for step in canary.steps:
        if step.outcome == "shifted":
            bake += 1
        elif step.outcome == "analysis":
            look = _error_look(step, f.minutes_since(start, step.at), bake)
            if look is not None:
                looks.append(look)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    previous: Look | None = None
    for look in looks:
        same = previous is not None and previous.bake == look.bake and look.canary_calls >= previous.canary_calls
        base = previous if same and previous is not None else None
        calls = look.canary_calls - (base.canary_calls if base else 0.0)
        if calls > 0:
            ours.append((look.minute, (look.canary_events - (base.canary_events if base else 0.0)) / calls))
        stable_calls = look.stable_calls - (base.stable_calls if base else 0.0)
        if look.stable_events is not None and stable_calls > 0 and (base is None or base.stable_events is not None):
            events = look.stable_events - (base.stable_events or 0.0 if base else 0.0)
            theirs.append((look.minute, events / stable_calls))
        previous = look
    return ours, theirs


def p95_ratios(canary: Canary) -> tuple[list[tuple[float, float]], float | None]:
    """Canary p95 ÷ stable p95 per look (the function that shifted most), and the tolerance as a ratio."""
    start = f.canary_start(canary)
    points: list[tuple[float, float]] = []
    tolerance: float | None = None
    if start is None:
        return points, tolerance
    for step in canary.steps:
        shifts = [(r, _p95_ratio(r)) for r in f.results_of(step) if r.get("metric") == "p95_duration"]
        shifts = [(r, ratio) for r, ratio in shifts if ratio is not None]
        if not shifts:
            continue
        worst, ratio = max(shifts, key=lambda found: found[1] or 0.0)
        points.append((f.minutes_since(start, step.at), ratio or 1.0))
        recorded = f.number(worst.get("tolerance"))  # a relative tolerance; "threshold" may be an absolute x
        found = _TOLERANCE.search(str(worst.get("message") or ""))
        if recorded is not None:
            tolerance = 1.0 + recorded
        elif found:
            tolerance = 1.0 + float(found.group(1)) / 100
    return points, tolerance


def _p95_ratio(result: dict[str, Any]) -> float | None:
    """Canary p95 ÷ stable p95 of one result: a tail test's recorded ratio (p95 only), a rank test's 1 + shift."""
    if result.get("quantile") is not None:
        return f.number(result.get("ratio")) if f.number(result.get("quantile")) == 0.95 else None
    effect = f.number(result.get("effect"))
    return None if effect is None else 1.0 + effect


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


def charts(canary: Canary) -> list[Chart]:
    """The three charts of a canary: weight, error rate, p95 ratio, each with the rollback marked."""
    rollback = rollback_minute(canary)
    markers = [Marker(f"rollback at +{rollback:g} min", rollback, kind="rollback")] if rollback is not None else []
    weight = weights(canary)
    ours, theirs = error_rates(canary)
    ratios, tolerance = p95_ratios(canary)
    xs = [x for x, _ in [*weight, *ours, *theirs, *ratios]] + [m.x for m in markers]
    span = (0.0, max([*xs, 1.0]) + 0.5)
    rate = _rate_threshold(canary)

    def ratio_text(v: float) -> str:
        return f"×{v:.2f}"

    name = canary.title
    return [
        Chart(f"{name}: canary weight", [Series("weight", weight, CANARY, steps=True)], heading="weight",
              y_format=lambda v: f"{v:g}%", markers=markers, x_range=span, y_max=100.0,
              css_class="canary-chart weight"),
        Chart(f"{name}: error rate, canary vs stable",
              [Series("canary", ours, CANARY), Series("stable", theirs, STABLE, dashed=True)],
              heading="error rate per look", y_format=_percent,
              thresholds=[Threshold("trigger", rate)] if rate is not None else [], markers=markers, x_range=span,
              css_class="canary-chart errors", note="no error counts recorded"),
        Chart(f"{name}: p95, canary ÷ stable", [Series("canary ÷ stable (worst function)", ratios, CANARY)],
              heading="p95, canary ÷ stable", y_format=ratio_text,
              thresholds=[Threshold("tolerance", tolerance)] if tolerance is not None else [],
              markers=markers, x_range=span, css_class="canary-chart p95", note="no p95 comparison recorded"),
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
            '<div class="charts">' + "".join(f'<div class="chart">{svg(c)}</div>' for c in charts(canary)) + "</div>"
            + _analyses(canary) + _details(canary, minute) + "</section>")


def render_canaries(canaries: Sequence[Canary]) -> str:
    if not canaries:
        return '<p class="muted">No canary recorded.</p>'
    note = ('<p class="muted">Error rates are per look (the calls a look added to its bake), pooled over the '
            "project's functions; p95 is the judge's canary ÷ stable estimate for the function that shifted most "
            "(per-minute p95 values are not recorded).</p>")
    return note + "".join(section(c) for c in canaries)

