"""From a stored event to its record class: by kind and outcome, as events are stored.

A class registers the (kind, outcome) pairs it reads; a class with no
outcomes reads every outcome of its kind not claimed by a more specific one.
An event nobody reads, or of a version newer than its class, becomes an
``UnknownRecord`` so a report on a store written by a newer golive still
renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from golive.evidence.base import VERSION_KEY, Record, UnknownRecord

R = TypeVar("R", bound=type[Record])

_EXACT: dict[tuple[str, str], type[Record]] = {}
_ANY: dict[str, type[Record]] = {}


def register(cls: R) -> R:
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no kind")
    for outcome in cls.outcomes:
        if (cls.kind, outcome) in _EXACT:
            raise TypeError(f"{cls.kind}/{outcome} is read by {_EXACT[cls.kind, outcome].__name__} already")
        _EXACT[cls.kind, outcome] = cls
    if not cls.outcomes:
        if cls.kind in _ANY:
            raise TypeError(f"kind {cls.kind} is read by {_ANY[cls.kind].__name__} already")
        _ANY[cls.kind] = cls
    return cls


def record_class(kind: str, outcome: str | None) -> type[Record] | None:
    return _EXACT.get((kind, outcome or "")) or _ANY.get(kind)


def classes() -> list[type[Record]]:
    return sorted({*_EXACT.values(), *_ANY.values()}, key=lambda c: (c.kind, c.__name__))


def from_event(kind: str, outcome: str | None, subject: str, data: Mapping[str, Any]) -> Record:
    """The record a stored event holds; an ``UnknownRecord`` when golive cannot read it."""
    cls = record_class(kind, outcome)
    if cls is None:
        return UnknownRecord(subject=subject, outcome=outcome, event_kind=kind, data=dict(data),
                             why=f"no record class reads kind '{kind}'")
    version = data.get(VERSION_KEY, 1)
    if not isinstance(version, int) or version > cls.version:
        return UnknownRecord(subject=subject, outcome=outcome, event_kind=kind, data=dict(data),
                             why=f"{cls.__name__} version {version!r} is newer than this golive reads ({cls.version})")
    return cls.from_data(subject, outcome, data)
