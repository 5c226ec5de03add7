"""Inconclusive is a decision the plan makes: ``analysis.on_inconclusive`` (pause, rollback or promote).

A canary still inconclusive after its extension cap, or whose metrics stopped answering mid-bake (AWS gave no
answer past the retry budget), applies its plan's choice at once, recorded with its reason in words
(``CanaryInconclusive``):

- ``pause`` (the default, as Argo Rollouts pauses): the canary stays at its current weight, the event is sent
  to the ``notify:`` sinks (topic ``canary_step``) and shown on the page, and the canary waits for ``golive
  promote --why`` or ``golive abort`` (or the page's buttons, the same operator events); nobody answering by
  ``pause_timeout`` rolls it back;
- ``rollback``: back to the stable versions now (retrying while AWS does not answer, never forward);
- ``promote``: on to the next step; after an outage only once AWS answers again (never forward blind).

The canary step calls ``apply`` and acts on the ``Action`` it returns, so this module holds the decision
and its words, and the canary its mechanics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from golive.analysis.units import format_duration, parse_duration
from golive.engine.context import StepContext
from golive.evidence.canary import CanaryInconclusive
from golive.steps.canary_state import CanaryState, Phase

Choice = Literal["pause", "rollback", "promote"]
PAUSED = Phase.PAUSED


@dataclass(frozen=True)
class Action:
    """What the canary does now: ``pause`` (wait until ``until``), ``rollback`` or ``promote``, and why."""

    kind: Literal["pause", "rollback", "promote", "wait"]
    reason: str
    until: datetime | None = None


def _seconds(value: Any, default: float) -> float:
    if value is None:
        return default
    return float(value) if isinstance(value, int | float) else parse_duration(str(value)).total_seconds()


def choice(analysis: dict[str, Any]) -> Choice:
    found = str(analysis.get("on_inconclusive", "pause"))
    return found if found in ("pause", "rollback", "promote") else "pause"  # type: ignore[return-value]


def _save(ctx: StepContext, state: CanaryState) -> None:
    state.store(ctx.state)
    ctx.save()


def apply(ctx: StepContext, state: CanaryState, project: str, analysis: dict[str, Any], why: str, *,
          outage: bool = False) -> Action:
    """Apply the plan's ``on_inconclusive`` to a canary that could not decide (``why``), and record it.

    ``outage``: the metrics did not answer; a ``promote`` then waits until they answer again.
    """
    chosen = choice(analysis)
    weight = state.weight
    if outage and chosen == "promote":
        state.outage = why
        _save(ctx, state)
        return Action("wait", f"{why}; on_inconclusive: promote goes on only once AWS answers again")
    reason = f"{why}; the plan says on_inconclusive: {chosen}"
    until = None
    if chosen == "pause":
        until = ctx.now + timedelta(seconds=_seconds(analysis.get("pause_timeout"), 1800.0))
        reason = (f"{why}; paused at {weight:g}% (on_inconclusive: pause): waiting for golive promote --why or "
                  f"golive abort until {until:%H:%M %Z}, then rolling back")
        state.phase, state.paused_at, state.pause_until, state.pause_reason = Phase.PAUSED, ctx.now, until, why
    if state.outage is not None:
        state.outage = None
        state.model_fields_set.discard("outage")
    _save(ctx, state)
    ctx.record(CanaryInconclusive(subject=project, project=project, weight=weight, choice=chosen, reason=reason,
                                  until=until.isoformat() if until else None))
    return Action(chosen, reason, until)


def paused(ctx: StepContext, state: CanaryState, analysis: dict[str, Any]) -> Action:
    """A paused canary at this wake: still waiting for an operator, or rolling back after ``pause_timeout``."""
    assert state.pause_until is not None
    until = state.pause_until
    weight = state.weight
    if ctx.now >= until:
        waited = format_duration(timedelta(seconds=_seconds(analysis.get("pause_timeout"), 1800.0)))
        return Action("rollback", f"paused at {weight:g}% for {waited} and nobody answered (golive promote --why or "
                                  f"golive abort): {state.pause_reason}")
    return Action("pause", f"paused at {weight:g}%: waiting for golive promote --why or golive abort until "
                           f"{until:%H:%M %Z} ({state.pause_reason})", until)
