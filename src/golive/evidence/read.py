"""Stored events as typed records, with where and when they were written.

Readers (the report, ``status``, the dashboard, notifications) ask for the
records of a class, ``read(store.events(run_id=...), of=CanaryAnalysis)``,
and never look inside an event's ``data`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from golive.evidence.base import Record
from golive.evidence.registry import from_event

R = TypeVar("R", bound=Record)


class StoredEvent(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def run_id(self) -> int | None: ...
    @property
    def release(self) -> str: ...
    @property
    def env(self) -> str: ...
    @property
    def step_key(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Evidence(Generic[R]):
    """A record as stored: which event, run, step and instant it belongs to."""

    id: int
    run_id: int | None
    release: str
    env: str
    step_key: str | None
    at: datetime
    record: R


def typed(event: StoredEvent) -> Evidence[Record]:
    return Evidence(event.id, event.run_id, event.release, event.env, event.step_key, event.at,
                    from_event(event.kind, event.outcome, event.subject, event.data))


def read(events: Iterable[StoredEvent], of: type[R]) -> list[Evidence[R]]:
    """The events that are records of ``of`` (or of its subclasses), in their order."""
    return select((typed(event) for event in events), of)


def select(evidence: Iterable[Evidence[Record]], of: type[R]) -> list[Evidence[R]]:
    """The already-typed evidence that is of ``of``: a reader asking for several classes types each event once."""
    found: list[Evidence[R]] = []
    for item in evidence:
        if isinstance(item.record, of):
            found.append(Evidence(item.id, item.run_id, item.release, item.env, item.step_key, item.at, item.record))
    return found
