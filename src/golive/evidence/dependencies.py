"""What a failure held and undid because of ``depends_on``: the projects held, and each undo in its order.

A failed canary holds every project that depends on its project (``plan/dependencies.py``). The engine
writes ``DependentsHeld`` in the failure's own write: the projects held, the steps whose undos are owed
and the order they run in (dependents first, then the project). Each owed undo, once done, is an
``UndoDone`` written with the step's end: its place in that order, why it was owed and how long it took,
so a report shows the order and each undo's time whatever the undone step's kind recorded itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive.evidence.base import Record
from golive.evidence.registry import register

# Why an undo was owed: the project depends on the failed one (and the plan says rollback_dependents), it
# shared the failed step's batch (rollback_shifted), or it is the failed step's own, run after its dependents'.
UNDO_FOR = ("dependency", "batch", "self")


@register
@dataclass(frozen=True, kw_only=True)
class DependentsHeld(Record):
    """The failed project's dependents, held (undo order), and the owed undos in the order they will run."""

    kind = "dependents"
    outcomes = ("held",)
    outcome: str | None = "held"
    failed: str = ""  # the project whose step failed
    step: str = ""  # that step's key
    held: tuple[str, ...] = ()  # every project depending on it, directly or not, in undo order
    undo: tuple[str, ...] = ()  # step keys whose undos are owed, in the order they run
    rollback_dependents: bool = False


@register
@dataclass(frozen=True, kw_only=True)
class UndoDone(Record):
    """One owed undo, done: its place in the order, why it was owed, and the seconds it took."""

    kind = "dependents"
    outcomes = ("undone",)
    outcome: str | None = "undone"
    step: str = ""
    project: str = ""
    position: int = 0  # 1-based, in DependentsHeld.undo
    of: int = 0
    owed_for: str = ""  # one of UNDO_FOR
    seconds: float = 0.0
