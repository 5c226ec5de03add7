"""How every rendering of a report writes instants, durations, shares and outcomes.

Markdown, HTML and JUnit show the same numbers; writing them in one place
keeps "06:00 UTC", "2 h 5 min" and "99.8%" identical across formats.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from golive.analysis.units import human_duration
from golive.report.model import FAILED, Cell, Checkpoint, Report, Soak

OUTCOME_MARK = {"Successful": "✓", "Failed": "✗", "Inconclusive": "?", "Error": "!"}


def when(at: datetime | None) -> str:
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def clock(at: datetime | None) -> str:
    """A short instant for table cells: ``Mon 06:00``."""
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%a %H:%M")


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
