"""One canary look in one line that says one thing: the decision in words, the reason that decided it, the numbers.

``cart at 10%: waiting for data — trigger p95_duration > 5s for 2m has 128 of 300 calls (window grows to 5m);
judge: no worse than stable (errors 2 of 370, x0.8 the stable's rate)``. The verdict's words never contradict
the judge's (the old line said "inconclusive — Successful" when a trigger was waiting on a judge that passed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

DECISIONS = {"ok": "healthy so far", "fail": "rolling back", "inconclusive": "waiting for data",
             "error": "AWS did not answer"}


def _pooled_first(results: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any] | None:
    found = [r for r in results if r.get("metric") == metric]
    if not found:
        return None
    pooled = [r for r in found if str(r.get("scope", "")).startswith("pooled")]
    return (pooled or found)[0]


def judge_words(judgement: Mapping[str, Any] | None) -> str:
    """The judge's verdict in words with its counts: ``no worse than stable (errors 2 of 370, ...)``."""
    if not judgement:
        return ""
    outcome = str(judgement.get("outcome"))
    results: Sequence[Mapping[str, Any]] = judgement.get("results") or []
    parts = []
    errors = _pooled_first(results, "errors")
    if errors is not None and errors.get("statistic") is not None:
        effect = errors.get("effect")
        ratio = f", x{effect:.2g} the stable's rate" if isinstance(effect, int | float) and math.isfinite(effect) else ""
        parts.append(f"errors {errors['statistic']:.0f} of {errors.get('n_canary', 0):.0f}{ratio}")
    tail = _pooled_first([r for r in results if r.get("quantile") == 0.95], "p95_duration")
    if tail is not None and tail.get("statistic") is not None:
        expected = tail.get("expected")
        # A line read before the shift: what is allowed is the stable's own share above it in the same minutes.
        allowed = f"the stable {expected:.1%} above its p95" if tail.get("before") and \
            isinstance(expected, int | float) else "5% allowed"
        parts.append(f"{tail['statistic']:.0f} of {tail.get('n_canary', 0):.0f} calls above stable p95 "
                     f"x{1 + float(tail.get('tolerance') or 0):g} ({allowed})")
    words = {"Successful": "no worse than stable", "Failed": "worse than stable",
             "Inconclusive": "too little data yet", "Error": "could not read its metrics"}.get(outcome, outcome)
    return f"judge: {words}" + (f" ({'; '.join(parts)})" if parts else "")


def line(project: str, weight: float | None, verdict: str, why: str, judgement: Mapping[str, Any] | None) -> str:
    """The look's line: ``PROJECT at W%: DECISION — REASON; judge: ...`` (the judge's words once)."""
    decision = DECISIONS.get(verdict, verdict)
    judged = judge_words(judgement)
    reason = why
    if why.startswith("judge:"):
        # The judge decided: its words (or, for a rollback, its own reason with the failing test's numbers) once.
        reason = judged if judged and verdict != "fail" else why
        judged = ""
    tail = f"; {judged}" if judged else ""
    at = f" at {weight:g}%" if weight is not None else ""
    return f"{project}{at}: {decision} — {reason}{tail}"
