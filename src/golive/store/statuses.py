"""Every status a run or a step can have, in two enums, with the exit code each run status ends a command with.

Runs and steps are stored with their status as text; the engine, the CLI, notifications, reports and the
rehearsal all decide from these enums (which statuses are still active, which are finished, which count as
a failure), so a new status is added in one place and no other module spells one as a string.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    FAILING = "failing"  # a step failed; the group's compensations are running
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    NO_GO = "no_go"
    STOPPED = "stopped"  # a rehearsal stopped where --until said (never stored)

    @property
    def active(self) -> bool:
        return self in _ACTIVE

    @property
    def failed(self) -> bool:
        return self in _FAILED

    @property
    def exit_code(self) -> int:
        """DESIGN §2: 1 when the run ended failed, rolled back, NO-GO or aborted; 0 otherwise."""
        return 1 if self.failed else 0


_ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.FAILING})
_FAILED = frozenset({RunStatus.FAILED, RunStatus.ROLLED_BACK, RunStatus.ABORTED, RunStatus.NO_GO})

class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPENSATING = "compensating"  # its group failed; the undo it owes (a rollback) is recorded, not yet done
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def open(self) -> bool:
        """Not yet finished: the engine may still run it (or, compensating, owes its undo)."""
        return self in _STEP_OPEN

    @property
    def finished(self) -> bool:
        return not self.open


_STEP_OPEN = frozenset({StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING, StepStatus.COMPENSATING})

RUN_ACTIVE: tuple[str, ...] = tuple(s.value for s in RunStatus if s.active)
RUN_FAILED: tuple[str, ...] = tuple(s.value for s in RunStatus if s.failed)
RUN_FINISHED: tuple[str, ...] = (RunStatus.SUCCEEDED.value, *RUN_FAILED)
STEP_OPEN: tuple[str, ...] = (StepStatus.PENDING.value, StepStatus.RUNNING.value, StepStatus.WAITING.value)
STEP_FINISHED: tuple[str, ...] = tuple(s.value for s in StepStatus if s.finished)


def exit_code_of(status: str) -> int:
    """The exit code a command ends with after a run (or rehearsal) of ``status``; 1 for a status unknown here."""
    try:
        return RunStatus(status).exit_code
    except ValueError:
        return 1
