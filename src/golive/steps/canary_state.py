"""A canary's saved state, typed: its phase, its weight, its variants, its bake's timing and the rollback it owes.

The canary (``steps/canary.py``) is a reconcile loop over this state: every pass loads it from the step's
saved JSON (``load``), acts on it, and writes it back (``store``) before each ``ctx.save()`` and as it returns.
The JSON keeps the names the canary always wrote (``phase``, ``versions``, ``shift_intent``, ``bake_until``...),
so a run stored before this module resumes, and the views and ``golive rollback`` that read a canary's stored
state (``serve/records.py``, ``steps/rollback.py``) read what they always read. Only the keys a canary set
are written (``exclude_unset``), as the dict it replaced wrote only the keys it had set.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from golive.clock import parse_instant
from golive.routers.base import Variants


def _instant(value: Any) -> Any:
    return parse_instant(value) if isinstance(value, str) else value


# The canary always wrote instants with ``isoformat()`` (``+00:00``, not pydantic's ``Z``) and read them with
# ``parse_instant``: kept so.
Instant = Annotated[datetime, BeforeValidator(_instant), PlainSerializer(lambda when: when.isoformat(), return_type=str)]


class Phase(StrEnum):
    SHIFT = "shift"  # the next weight change is due (gated first)
    BAKE = "bake"  # at a weight, looking every interval
    PAUSED = "paused"  # inconclusive, waiting for an operator (``on_inconclusive: pause``)
    ROLLING_BACK = "rolling_back"  # the rollback's intent is saved; restoring until confirmed
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    PROMOTED = "promoted"


class Tally(BaseModel):
    """One health URL's probes over the current bake, and how many were up."""

    probes: int = 0
    up: int = 0


class CanaryState(BaseModel):
    """Everything a canary must know on its next pass, as its step saves it."""

    model_config = ConfigDict(extra="allow", validate_assignment=False)

    phase: Phase | None = None  # None: nothing discovered yet
    versions: dict[str, dict[str, str]] | None = None  # target -> {"stable", "canary"}, recorded before traffic moves
    unchanged: dict[str, str] = Field(default_factory=dict)  # target -> the version the deploy left it on
    moved: str | None = None  # the deploy moved the traffic itself: the line that says so (watched at 100%)
    index: int = 0  # the plan step being shifted to, or baked at
    weight: float = 0.0  # the canary's weight now
    last_weight: float | None = None  # the last weight set
    shift_intent: float | None = None  # the weight about to be set, saved before the call (a crash may leave it)
    shifted: bool = False
    started_at: Instant | None = None
    consumed: list[int] = Field(default_factory=list)  # operator events (abort, promote) already acted on
    alarms_at_start: list[str] = Field(default_factory=list)
    bake_started: Instant | None = None
    bake_until: Instant | None = None
    next_analysis: Instant | None = None
    extended_s: float = 0.0  # the bake's extension so far, while inconclusive
    health: dict[str, Tally] = Field(default_factory=dict)
    last_verdict: str | None = None  # ok, fail, inconclusive, error
    forced: bool = False  # promoted by an operator or by on_inconclusive: the next gate does not ask for an ok
    metric_errors: dict[str, int] = Field(default_factory=dict)  # a judge metric's consecutive failures to answer
    history: dict[str, dict[str, float]] | None = None  # the stable versions' hour before the first shift
    outage: str | None = None  # AWS stopped answering mid-bake (on_inconclusive: promote waits for it)
    paused_at: Instant | None = None
    pause_until: Instant | None = None
    pause_reason: str | None = None
    rollback_reason: str | None = None
    rollback_asked_at: Instant | None = None

    @classmethod
    def load(cls, saved: dict[str, Any]) -> CanaryState:
        return cls.model_validate(saved)

    def store(self, into: dict[str, Any]) -> None:
        """Write this state into the step's dict (the same object, which the engine persists)."""
        dumped = self.model_dump(mode="json", exclude_unset=True)
        into.clear()
        into.update(dumped)

    def touch(self, *names: str) -> None:
        """Mark fields changed in place (a tally, a dict) as set, so ``store`` writes them."""
        self.model_fields_set.update(names)

    @property
    def started(self) -> bool:
        return self.versions is not None

    @property
    def variants(self) -> tuple[Variants, ...]:
        return tuple(Variants(t, str(v["stable"]), str(v["canary"])) for t, v in (self.versions or {}).items())

    @property
    def may_have_moved(self) -> bool:
        """Traffic may have moved: a shift was made, or only intended (a crash between the router's write and the
        next save leaves the intent alone; the restore reads the split back either way)."""
        return self.shifted or self.shift_intent is not None

    @property
    def from_weight(self) -> float | None:
        """The weight the new variants had, or were about to have: what a rollback comes back from."""
        return self.shift_intent if self.shift_intent is not None else self.last_weight
