"""The outbox: events waiting to be delivered, written in the same transaction as the event itself.

The engine never waits on a webhook: ``enqueue`` only inserts a row, and a
separate loop (``golive serve``, ``golive worker`` or ``golive notify
deliver``) claims due rows, sends them, and records per sink what was
delivered as soon as that sink answers, so a retry never sends a sink the
same event twice. Claiming is a
conditional update on ``attempts``, so two delivery loops never both send a
row. Times here are wall-clock: delivery happens in the real world even when
a rehearsal's clock is virtual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from golive.store import tables as t

MAX_ATTEMPTS = 12
CLAIM = timedelta(seconds=60)


@dataclass(frozen=True)
class Pending:
    id: int
    event_id: int
    topic: str
    release: str
    env: str
    deliveries: dict[str, str]
    attempts: int


def wall_now() -> datetime:
    return datetime.now(UTC)


def enqueue(conn: Connection, event_id: int, event: dict[str, Any], topic: str) -> None:
    """Called by the store, in the event's own transaction, for each event it writes that has a topic."""
    now = wall_now()
    conn.execute(t.outbox.insert().values(event_id=event_id, topic=topic, release=event["release"], env=event["env"],
                                          created_at=now, status="pending", deliveries={}, attempts=0, next_at=now))


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 5 minutes."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 300))


def claim_due(conn: Connection, now: datetime, limit: int = 50) -> list[Pending]:
    rows = conn.execute(sa.select(t.outbox).where(t.outbox.c.status == "pending", t.outbox.c.next_at <= now)
                        .order_by(t.outbox.c.id).limit(limit)).all()
    claimed: list[Pending] = []
    for row in rows:
        won = conn.execute(t.outbox.update().where(t.outbox.c.id == row.id, t.outbox.c.attempts == row.attempts,
                                                   t.outbox.c.status == "pending")
                           .values(attempts=row.attempts + 1, next_at=now + CLAIM))
        if won.rowcount == 1:
            claimed.append(Pending(row.id, row.event_id, row.topic, row.release, row.env, dict(row.deliveries or {}),
                                   row.attempts + 1))
    return claimed


def record_sink(conn: Connection, item_id: int, sink: str, result: str) -> None:
    """One sink's answer to one row, written the moment it answered (``delivered``, or ``failed: why``), so a
    deliverer killed while another sink is in flight never sends this one the event again."""
    current = conn.execute(sa.select(t.outbox.c.deliveries).where(t.outbox.c.id == item_id)).scalar_one()
    conn.execute(t.outbox.update().where(t.outbox.c.id == item_id)
                 .values(deliveries={**dict(current or {}), sink: result}))


def settle(conn: Connection, item: Pending, deliveries: dict[str, str], error: str | None, now: datetime) -> str:
    """Record what was delivered; schedule a retry with backoff while a sink still failed."""
    if error is None:
        status, next_at = "delivered", now
    elif item.attempts >= MAX_ATTEMPTS:
        status, next_at = "dead", now
    else:
        status, next_at = "pending", now + backoff(item.attempts)
    conn.execute(t.outbox.update().where(t.outbox.c.id == item.id)
                 .values(status=status, deliveries=deliveries, next_at=next_at, last_error=error))
    return status


def backlog(conn: Connection) -> int:
    """Rows not yet delivered (and not given up on)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.outbox)
                            .where(t.outbox.c.status == "pending")).scalar_one())


def rows(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id))]
