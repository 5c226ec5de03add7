"""What every check is: typed parameters in, a result with evidence out.

A check asks the outside world one question (does this VPC exist with this
CIDR? are these 20 functions Active?) and answers ``pass``, ``fail``,
``warn`` or ``error`` with the evidence: what was asked and what came back.
A check never raises for an answer it does not like; ``error`` means it
could not get an answer (the API was unreachable after retries).

Each check module declares ``CheckType`` values: a name (the key used in the
plan), a pydantic model for its parameters (the plan validates against it,
so a misspelt parameter is a plan error with a line number), a ``describe``
that says what it will call (for ``golive plan``'s dry run), and ``run``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from golive.clock import Clock, SystemClock
from golive.errors import ExternalError
from golive.expansion import expand
from golive.redact import Redactor

if TYPE_CHECKING:
    from golive.providers.aws import Aws
    from golive.providers.github import GitHub


class Status(StrEnum):
    PASS = "pass"  # noqa: S105
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True)
class Evidence:
    """One question put to the outside world and its answer (JSON-able)."""

    asked: str
    answered: Any

    def to_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "answered": self.answered}


@dataclass(frozen=True)
class CheckResult:
    check: str
    target: str
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()
    # The error when no answer came (an outside system unreachable after retries); kept in memory, not stored:
    # a gate-mode step raises it so the runner retries and, after the budget, the command exits 3.
    unanswered: ExternalError | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status in (Status.PASS, Status.WARN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "target": self.target,
            "status": self.status.value,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
        }


class CheckParams(BaseModel):
    """Base for check parameters: strict, like the rest of the plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class CheckContext:
    """Everything a check may use, passed in (nothing is looked up globally)."""

    env: str
    aws: Aws | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    github: GitHub | None = None
    clock: Clock = field(default_factory=SystemClock)
    redact: Redactor = field(default_factory=Redactor)
    variables: dict[str, str] = field(default_factory=dict)
    http_ok: frozenset[int] = frozenset({200})
    alarms_at_start: frozenset[str] = frozenset()
    repos: dict[str, str] = field(default_factory=dict)
    open_incidents: Callable[[], list[dict[str, Any]]] = lambda: []
    workdir: str | None = None
    # True when the planner already filled the plan's variables into every parameter (the engine's checks):
    # filling them a second time could change what ``golive plan`` showed (a value holding ``{env}``).
    params_expanded: bool = False

    def expand(self, text: str) -> str:
        """Fill ``{api_base}``, ``{env}`` and the other plan variables into a string, exactly once."""
        return text if self.params_expanded else str(expand(text, self.variables))


P = TypeVar("P", bound=CheckParams)


@dataclass(frozen=True)
class CheckType(Generic[P]):
    name: str
    params: type[P]
    run: Callable[[CheckContext, P], CheckResult]
    describe: Callable[[P], str]
    doc: str = ""
