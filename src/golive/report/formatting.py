"""How every rendering of a report writes instants, durations, shares and outcomes.

Markdown, HTML and JUnit show the same numbers; writing them in one place
keeps "06:00 UTC", "2 h 5 min" and "99.8%" identical across formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive import schedule
from golive.analysis.units import human_duration
from golive.report.model import FAILED, Canary, CanaryStep, Cell, Checkpoint, Report, Soak

OUTCOME_MARK = {"Successful": "✓", "Failed": "✗", "Inconclusive": "?", "Error": "!"}


def when(at: datetime | None) -> str:
    """An instant in the plan's zone with its abbreviation: ``2026-01-10 09:00 SAST``."""
    if at is None:
        return "—"
    return schedule.local(at, fmt="%Y-%m-%d %H:%M")


def clock(at: datetime | None) -> str:
    """A short instant for table cells, in the plan's zone: ``Mon 06:00``."""
    if at is None:
        return "—"
    return at.astimezone(schedule.shown_zone()).strftime("%a %H:%M")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.3g} s"
    return human_duration(timedelta(seconds=seconds))


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.4g}%"


def weight(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def window(checkpoint: Checkpoint, *, full: bool = False) -> str:
    """``Mon 00:00 → Mon 06:00`` in a table; ``2025-03-03 00:00 UTC → Mon 06:00`` where it stands alone."""
    if checkpoint.window_start is None or checkpoint.window_end is None:
        return "—"
    start = when(checkpoint.window_start) if full else clock(checkpoint.window_start)
    return f"{start} → {clock(checkpoint.window_end)}"


def cell_text(cell: Cell) -> str:
    """``2.1% (< 0.1%) ✗ Failed, worst 2-1-bbws-tf-product-get-sit``."""
    mark = OUTCOME_MARK.get(cell.outcome, "")
    text = f"{cell.value_text} ({cell.threshold_text})" if cell.threshold_text else cell.value_text
    text += f" {mark} {cell.outcome}".rstrip()
    if cell.dry_run:
        text += " (dry run)"
    if cell.outcome != "Successful" and cell.scope:
        text += f", worst {cell.scope}"
    return text


def soak_title(soak: Soak) -> str:
    count = len([c for c in soak.checkpoints if c.outcome in ("pass", "fail")])
    planned = soak.planned or len(soak.checkpoints)
    failed = [c.index for c in soak.checkpoints if c.outcome == "fail"]
    verdict = {"pass": "passed", "fail": "FAILED"}.get(soak.verdict or "", "in progress")
    line = f"{soak.env} soak: {verdict}, {count}/{planned} checkpoints evaluated"
    if failed:
        line += f", failing: #{', #'.join(str(i) for i in failed)}"
    if soak.run_id is not None and not soak.own:
        line += f" (recorded by run {soak.run_id})"
    if soak.superseded_by is not None:
        line += f" (superseded by run {soak.superseded_by})"
    return line


def failing_cells(soak: Soak) -> list[tuple[Checkpoint, Cell]]:
    return [(c, cell) for c in soak.checkpoints for cell in c.cells if cell.outcome == FAILED]


def headline(report: Report) -> str:
    version = f" {report.version}" if report.version else ""
    return f"{report.release}{version} — {report.run_kind} run {report.run_id} in {report.env}: {report.status}"


def judgement_text(judgement: dict[str, Any] | None) -> str:
    """The canary judge's verdict with its numbers: ``judge: Failed; errors pooled: Failed (p=1e-06, effect=8.2)``."""
    if not judgement:
        return ""
    parts = [f"judge: {judgement.get('outcome', '?')}"]
    if judgement.get("reason"):
        parts.append(str(judgement["reason"]))
    for result in judgement.get("results") or []:
        if not isinstance(result, dict):
            continue
        numbers = []
        for key, label in (("p_value", "p"), ("alpha", "alpha"), ("effect", "effect"),
                           ("n_canary", "n canary"), ("n_stable", "n stable")):
            value = result.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers.append(f"{label}={value:,.0f}" if key.startswith("n_") else f"{label}={value:.3g}")
        parts.append(f"{result.get('metric')} {result.get('scope')}: {result.get('outcome')}"
                     + (f" ({', '.join(numbers)})" if numbers else ""))
    return "; ".join(parts)


def late_note(checkpoint: Checkpoint) -> str:
    """``late, evaluated Tue 13:00`` for a checkpoint evaluated after its due time; empty otherwise."""
    if not checkpoint.late:
        return ""
    return f"late, evaluated {clock(checkpoint.evaluated_at)}" if checkpoint.evaluated_at else "late"


def checkpoint_outcome(checkpoint: Checkpoint) -> str:
    """``✓ pass``, ``✗ fail``, or the outcome as recorded (``skip`` after the soak failed)."""
    return {"pass": "✓ pass", "fail": "✗ fail"}.get(checkpoint.outcome, checkpoint.outcome)


@dataclass(frozen=True)
class AnalysisRow:
    """One look of the canary judge, compact: its verdict and the result that decided it (or came closest)."""

    at: datetime
    minute: float  # since the canary's first event
    weight: float | None
    verdict: str
    final: bool
    metric: str
    scope: str
    p_value: float | None
    boundary: float | None
    reason: str

    @property
    def p_text(self) -> str:
        """``p=2.5e-06 < 2.5e-05`` (crossed the boundary), ``p=0.05 ≥ 0.00075``, or empty without a p-value."""
        if self.p_value is None:
            return self.reason if self.verdict == "Inconclusive" else ""
        if self.boundary is None:
            return f"p={self.p_value:.2g}"
        return f"p={self.p_value:.2g} {'<' if self.p_value < self.boundary else '≥'} {self.boundary:.2g}"

    @property
    def worst(self) -> str:
        return f"{self.metric} on {self.scope}" if self.metric and self.scope else self.metric


def number(value: Any) -> float | None:
    """A finite number from loosely typed evidence, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def boundary_of(result: dict[str, Any]) -> float | None:
    """The level a result's p-value was compared with: ``boundary`` where the judge records it, else ``alpha``."""
    return number(result.get("boundary", result.get("alpha")))


def results_of(step: CanaryStep) -> list[dict[str, Any]]:
    return [r for r in (step.judgement or {}).get("results") or [] if isinstance(r, dict)]


def _closeness(verdict: str, result: dict[str, Any]) -> tuple[int, float]:
    """Sort key: results with the look's verdict first (failed or inconclusive), then p nearest its boundary."""
    p, boundary = number(result.get("p_value")), boundary_of(result)
    ratio = p / boundary if p is not None and boundary else math.inf
    return (0 if result.get("outcome") == verdict else 1, ratio)


def canary_start(canary: Canary) -> datetime | None:
    return canary.steps[0].at if canary.steps else None


def minutes_since(start: datetime, at: datetime) -> float:
    return round((at - start).total_seconds() / 60.0, 2)


def _verdict_without_judge(reason: str) -> str:
    if reason.startswith("trigger:") or (reason.startswith("trigger ") and "fail" in reason.lower()):
        return FAILED
    if reason.startswith(("metrics unavailable", "fail safe")):
        return "Error"
    return "Inconclusive" if reason else "?"


def analysis_rows(canary: Canary) -> list[AnalysisRow]:
    """One row per analysis of the canary, in order."""
    start = canary_start(canary)
    rows: list[AnalysisRow] = []
    for step in canary.steps:
        if step.outcome != "analysis" or start is None:
            continue
        judgement = step.judgement or {}
        verdict = str(judgement.get("outcome") or _verdict_without_judge(step.reason))
        results = sorted(results_of(step), key=lambda r: _closeness(verdict if verdict != "Successful" else FAILED, r))
        worst = results[0] if results else {}
        rows.append(AnalysisRow(at=step.at, minute=minutes_since(start, step.at), weight=step.weight, verdict=verdict,
                                final=bool(judgement.get("final")), metric=str(worst.get("metric") or ""),
                                scope=str(worst.get("scope") or ""), p_value=number(worst.get("p_value")),
                                boundary=boundary_of(worst) if worst else None,
                                reason=str(worst.get("message") or step.reason) if verdict == "Inconclusive"
                                else step.reason))
    return rows
