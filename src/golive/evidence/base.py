"""What a record is: a frozen piece of evidence with a kind, a schema version and its stored shape.

The engine writes evidence as events (kind, subject, outcome, a JSON
``data`` dict); before records existed every writer built that dict by hand
and every reader guessed at it. A record class names the keys once:
``to_data()`` writes the very dict the event stores, ``from_data()`` reads it
back, tolerantly (a missing key takes the field's default, a wrongly typed
value is coerced or dropped), and keys the class does not name are kept in
``extra`` so nothing written is lost on a read-and-write.

Version 1 is the shape stored before records were versioned, so it writes no
version key; a later version writes ``record_version``. A stored version
newer than the class knows reads as an ``UnknownRecord`` (see registry.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import UnionType
from typing import Any, ClassVar, Self, get_type_hints

VERSION_KEY = "record_version"


OMIT: Mapping[str, Any] = {"omit_none": True}  # field metadata: left out of the stored dict when None;
# ``{"key": "from"}``: stored under another key than the field's name (``from`` is a Python keyword)


@dataclass(frozen=True, kw_only=True)
class Record:
    """One piece of evidence. ``kind`` and ``outcomes`` say which stored events it reads."""

    kind: ClassVar[str] = ""
    outcomes: ClassVar[tuple[str, ...]] = ()  # the outcomes this class reads; () means any outcome of its kind
    version: ClassVar[int] = 1

    subject: str
    outcome: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # stored keys this class does not name

    @property
    def stored_kind(self) -> str:
        return type(self).kind

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _BASE:
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            data[f.metadata.get("key", f.name)] = _plain(value)
        data.update(self.extra)
        if type(self).version > 1:
            data[VERSION_KEY] = type(self).version
        return data

    @classmethod
    def from_data(cls, subject: str, outcome: str | None, data: Mapping[str, Any]) -> Self:
        hints = _hints(cls)
        values: dict[str, Any] = {}
        named = {VERSION_KEY}
        for f in fields(cls):
            if f.name in _BASE:
                continue
            stored = f.metadata.get("key", f.name)
            named.add(stored)
            if stored in data:
                coerced = _coerce(hints[f.name], data[stored])
                if coerced is not _DROP:
                    values[f.name] = coerced
        extra = {k: v for k, v in data.items() if k not in named}
        return cls(subject=subject, outcome=outcome, extra=extra, **values)


_BASE = frozenset({"subject", "outcome", "extra"})
_DROP = object()
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A record class's resolved field types, once: resolving them costs more than reading a record."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _number(value: Any, cast: type[float] | type[int]) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = cast(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _coerce(hint: Any, value: Any) -> Any:
    """A stored JSON value as the field's type; ``_DROP`` (the default stays) when it cannot be one."""
    optional_ = isinstance(hint, UnionType) and type(None) in hint.__args__
    if optional_:
        args = [a for a in hint.__args__ if a is not type(None)]
        if value is None:
            return None
        hint = args[0] if len(args) == 1 else Any
    if hint is Any:
        return value
    if hint is str:
        return _DROP if value is None else str(value)
    if hint is bool:
        return bool(value)
    if hint is float or hint is int:
        number = _number(value, hint)
        return _DROP if number is None and not optional_ else number
    if hint is datetime:
        return value
    origin = getattr(hint, "__origin__", None)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return _DROP
        inner = hint.__args__[0]
        if inner is str:
            return tuple(str(v) for v in value)
        return tuple(dict(v) if isinstance(v, Mapping) else v for v in value)
    if origin is Mapping or origin is dict or hint is Mapping:
        return dict(value) if isinstance(value, Mapping) else _DROP
    return value


@dataclass(frozen=True, kw_only=True)
class UnknownRecord(Record):
    """A stored event no record class reads (an unknown kind, or a version newer than golive knows).

    Reports show it as it was stored rather than fail: a newer writer must not break an older reader.
    """

    event_kind: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""

    @property
    def stored_kind(self) -> str:
        return self.event_kind

    def to_data(self) -> dict[str, Any]:
        return dict(self.data)
