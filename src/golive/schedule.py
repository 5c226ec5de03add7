"""Time as the team lives it: the plan's time zone, deploy windows, and freezes that recur.

The runbook says "Batch 1 on Jan 10, 09:00-10:00" in the team's zone, not in UTC. A plan names its zone
(``timezone: Africa/Johannesburg``) and its windows in that zone's wall-clock time; this module turns them
into instants (``resolve``), says whether an instant is inside one, and prints instants back in the zone
with its abbreviation (``local``). Everything is pure: the engine, the planner and the printers pass the
instant and the zone in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(name: str | None) -> tzinfo:
    """The zone a plan names (IANA), UTC when it names none; ``ValueError`` for a name that does not exist."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Africa/Johannesburg or UTC)") from None


_shown_in: list[tzinfo] = [UTC]


def show_in(tz: tzinfo) -> None:
    """The zone this process prints times in: the loaded plan's (the CLI and a rehearsal set it once)."""
    _shown_in[0] = tz


def shown_zone() -> tzinfo:
    return _shown_in[0]


def local(at: datetime, tz: tzinfo | None = None, *, fmt: str = "%b %d %H:%M") -> str:
    """``at`` in ``tz`` (default: the zone times are shown in) with its abbreviation: ``Jan 10 09:00 SAST``.

    A naive time is UTC, as golive stores it. ``--json`` keeps ISO 8601 in UTC and never comes here.
    """
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    shown = aware.astimezone(tz or _shown_in[0])
    return f"{shown.strftime(fmt)} {shown.tzname() or 'UTC'}"


def parse_clock(text: str) -> time:
    """``09:00`` or ``9:00`` as a wall-clock time; ``24:00`` is not a time (say ``23:59``)."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)") from None


def parse_local(text: str) -> tuple[date | None, time]:
    """``2026-01-10 09:00`` (a date and a time) or ``09:00`` (a time alone)."""
    text = text.strip()
    if " " in text or "T" in text:
        day, _, clock = text.replace("T", " ").partition(" ")
        try:
            return date.fromisoformat(day), parse_clock(clock)
        except ValueError:
            raise ValueError(f"{text!r} is not a local date and time (YYYY-MM-DD HH:MM)") from None
    return None, parse_clock(text)


@dataclass(frozen=True)
class Span:
    """An interval of instants, [start, end)."""

    start: datetime
    end: datetime

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def fixed_span(start: str, end: str, tz: tzinfo) -> Span:
    """A window on a date: ``start`` has a date, ``end`` a date or a time on the start's day (or the next, if
    earlier: ``22:00`` to ``02:00`` crosses midnight)."""
    day, begins = parse_local(start)
    if day is None:
        raise ValueError(f"window start {start!r} needs a date (YYYY-MM-DD HH:MM), or give days: for a weekly window")
    end_day, ends = parse_local(end)
    if end_day is None:
        end_day = day if ends > begins else day + timedelta(days=1)
    span = Span(_at(day, begins, tz), _at(end_day, ends, tz))
    if span.end <= span.start:
        raise ValueError(f"window end {end!r} is not after its start {start!r}")
    return span


def weekly_spans(days: list[str], start: str, end: str, tz: tzinfo, around: datetime) -> list[Span]:
    """The occurrences of a weekly window from the day before ``around`` to a week after it, in order."""
    begins, ends = parse_clock(start), parse_clock(end)
    wanted = {WEEKDAYS.index(d) for d in days}
    today = around.astimezone(tz).date()
    spans = []
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.weekday() in wanted:
            end_day = day if ends > begins else day + timedelta(days=1)
            spans.append(Span(_at(day, begins, tz), _at(end_day, ends, tz)))
    return spans


def holiday_span(day: date, tz: tzinfo) -> Span:
    """A public holiday: the whole day, midnight to midnight in the plan's zone."""
    return Span(_at(day, time(0, 0), tz), _at(day + timedelta(days=1), time(0, 0), tz))
