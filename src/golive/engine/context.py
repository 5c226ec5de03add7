"""What a step handler is given: its step, its saved state, and the services.

Dependencies are passed in here (the store, the clock, AWS per environment,
GitHub, an HTTP client, the redactor, the approver), never looked up, so the same handler
runs against real AWS, the sandbox, or a test's fakes. ``save`` persists the
step's state at once: a handler records its intent (``state["dispatching"]
= id``) before a side effect, so a process killed right after it knows, on
restart, to look before it acts again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from golive.clock import Clock
from golive.engine.approver import Approver, StoreApprover
from golive.evidence.base import Record
from golive.redact import Redactor
from golive.store.store import Run, Step, Store

if TYPE_CHECKING:
    from golive.plan.model import Plan
    from golive.providers.aws import Aws
    from golive.providers.github import GitHub


@dataclass
class Services:
    """The outside world, as the engine's handlers see it."""

    plan: Plan
    store: Store
    clock: Clock
    aws_for: Callable[[str, str | None], Aws] | None = None
    github: GitHub | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))
    redact: Redactor = field(default_factory=Redactor)
    rehearsal: bool = False  # a rehearsal's deploy commands are short and played by the world
    approver: Approver = field(default_factory=StoreApprover)
    notify: Callable[[str, dict[str, Any]], None] = lambda kind, data: None
    extras: dict[str, Any] = field(default_factory=dict)

    def require_github(self) -> GitHub:
        if self.github is None:
            from golive.errors import ConfigError

            raise ConfigError("no GitHub access: set GITHUB_TOKEN (or log in with gh)")
        return self.github

    def aws(self, env: str, region: str | None = None) -> Aws:
        if self.aws_for is None:
            from golive.errors import ConfigError

            raise ConfigError("this command has no AWS access configured")
        return self.aws_for(env, region)


@dataclass
class StepContext:
    run: Run
    step: Step
    state: dict[str, Any]
    services: Services
    _save: Callable[[dict[str, Any]], None]
    _event: Callable[..., None]
    # In a compensation: why the engine owes this undo ("batch": its batch failed; "dependency": a project it
    # depends on failed and the plan says rollback_dependents; "self": the failed step's own, after its dependents').
    owed_for: str = "batch"

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def params(self) -> dict[str, Any]:
        return self.step.params

    @property
    def store(self) -> Store:
        return self.services.store

    def save(self) -> None:
        """Persist ``state`` now (an intent, a recorded id) before doing the next thing."""
        self._save(self.state)

    def save_state(self, state: dict[str, Any]) -> None:
        """``state`` merged into the step's and persisted: the callback ``dispatch_once`` and ``poll`` record with."""
        self.state.update(state)
        self.save()

    def record(self, record: Record) -> None:
        """Append a piece of evidence to the run (its stored shape, secrets redacted), and say so."""
        data = record.to_data()
        kind, subject, outcome = record.stored_kind, record.subject, record.outcome
        self._event(kind=kind, subject=subject, data=self.services.redact.data(data), outcome=outcome)
        self.services.notify(kind, {"subject": subject, "outcome": outcome, "step": self.step.key, **data})

    def part(self, key: str) -> tuple[StepContext, list[dict[str, Any]]]:
        """A context for work this step does through another step kind (an undo, then a verify, inside a
        compensation): its state is ``state[key]``, saved with this step's; its evidence is held in the list
        returned, for the caller to ``emit`` when it records its own (in the same transaction)."""
        held: list[dict[str, Any]] = []
        inner = self.state.setdefault(key, {})

        def event(**kwargs: Any) -> None:
            held.append(kwargs)

        return replace(self, state=inner, _save=lambda _state: self.save(), _event=event), held

    def emit(self, events: Iterable[dict[str, Any]]) -> None:
        """Append evidence held by a ``part`` to this step's (written with its next save)."""
        for event in events:
            self._event(**event)
