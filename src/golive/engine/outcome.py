"""What a step handler answers, and what a step handler is.

A handler looks at the stored state of its step (and the world, where it
must) and takes the next due action, then answers with one of three
outcomes: ``Done`` (the step is over), ``Wait`` (come back at ``until``, or
when something outside changes if ``until`` is None: an approval), or
``Fail`` (the step, and so the run, failed, with the reason said). Waiting
is therefore stored state, never a sleep inside a handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from golive.store.statuses import RunStatus

if TYPE_CHECKING:
    from golive.engine.context import StepContext


@dataclass(frozen=True)
class Done:
    """The step is over. Its evidence is written as an event of ``kind`` (default ``step``) in the same
    transaction that marks the step done, so evidence is never recorded twice nor lost."""

    summary: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    outcome: str = "pass"
    kind: str = "step"
    subject: str | None = None


@dataclass(frozen=True)
class Wait:
    until: datetime | None
    reason: str


@dataclass(frozen=True)
class Fail:
    """The step failed. ``rolled_back``: the handler already undid what it changed (its canary is back on the
    stable version). ``ends_as``: the run's final status when nothing had to be rolled back (a gate says
    ``RunStatus.NO_GO``); by default ``failed``. ``undo_self``: the handler saved its intent to undo and left
    the undo to the engine, which runs the step's compensation after the undos of the projects that depend on
    it (``rollback_dependents``). The engine knows no step kind: the outcome says it."""

    reason: str
    result: dict[str, Any] = field(default_factory=dict)
    rolled_back: bool = False
    ends_as: RunStatus = RunStatus.FAILED
    undo_self: bool = False


Outcome = Done | Wait | Fail


@dataclass(frozen=True)
class Handler:
    """How one kind of step is executed, and undone when its batch fails."""

    kind: str
    run: Callable[[StepContext], Outcome]
    compensate: Callable[[StepContext, str], None] | None = None
    # Whether a started step (its stored parameters) owes an undo for this reason ("batch", "dependency",
    # "self"); None: whenever it has a compensation.
    owes: Callable[[Mapping[str, Any], str], bool] | None = None

    def owes_undo(self, params: Mapping[str, Any], why: str) -> bool:
        """A started step of this kind owes an undo when its batch fails (``why``: see ``StepContext.owed_for``)."""
        return self.compensate is not None and (self.owes is None or self.owes(params, why))
