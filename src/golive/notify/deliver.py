"""The delivery loop: claim due outbox rows, send each to the plan's sinks, record the result.

``deliver_due`` is one pass (``golive notify deliver``); ``DeliveryLoop`` runs
passes on a thread beside ``golive serve`` or ``golive worker``. A sink
that failed is retried with backoff; one that took the event is never sent
it again.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from golive.errors import GoliveError
from golive.notify.sinks import Message, send, sink_url, subscribed
from golive.plan.model import Plan
from golive.store import outbox
from golive.store import tables as t
from golive.store.store import Store


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def message_for(store: Store, item: outbox.Pending) -> Message:
    with store.tx() as conn:
        row = conn.execute(sa.select(t.events).where(t.events.c.id == item.event_id)).one()
    data = dict(row.data or {})
    reason = data.get("reason")
    return Message(key=f"golive-{item.release}-{item.env}-{item.event_id}", topic=item.topic, release=item.release,
                   env=item.env, kind=row.kind, subject=row.subject, outcome=row.outcome, at=row.at.isoformat(),
                   reason=str(reason) if reason is not None else None, data=data)


def deliver_due(store: Store, plan: Plan, plan_dir: Path, client: httpx.Client) -> DeliveryReport:
    report = DeliveryReport()
    with store.tx() as conn:
        claimed = outbox.claim_due(conn, outbox.wall_now())
    for item in claimed:
        message = message_for(store, item)
        deliveries = dict(item.deliveries)
        errors: list[str] = []
        for name, sink in subscribed(plan, item.topic).items():
            if deliveries.get(name) == "delivered":
                continue
            try:
                error = send(client, name, sink, sink_url(name, sink, plan_dir), message)
            except GoliveError as exc:
                error = str(exc)
            if error is None:
                deliveries[name] = "delivered"
                report.sent += 1
            else:
                errors.append(error)
                report.failed += 1
        with store.tx() as conn:
            outbox.settle(conn, item, deliveries, "; ".join(errors) or None, outbox.wall_now())
        report.errors += errors
    return report


class DeliveryLoop:
    """Deliver the outbox every ``every`` seconds on a daemon thread until ``stop``."""

    def __init__(self, store: Store, plan: Plan, plan_dir: Path, client: httpx.Client, every: float = 1.0) -> None:
        self.store, self.plan, self.plan_dir, self.client, self.every = store, plan, plan_dir, client, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="golive-outbox", daemon=True)

    def start(self) -> DeliveryLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(GoliveError, sa.exc.SQLAlchemyError):  # the next pass tries again
                deliver_due(self.store, self.plan, self.plan_dir, self.client)
            self._stop.wait(self.every)


def send_test(plan: Plan, plan_dir: Path, client: httpx.Client, now_iso: str) -> dict[str, str | None]:
    """One test message straight to every sink (no outbox): each sink's error line, or None when it took it."""
    if not plan.notify:
        from golive.errors import ConfigError

        raise ConfigError("the plan has no notify: sinks to test")
    message = Message(key=f"golive-{plan.release}-test-{now_iso}", topic="test", release=plan.release, env="-",
                      kind="test", subject="notification test", outcome="test", at=now_iso,
                      reason="golive notify test", data={})
    results: dict[str, str | None] = {}
    for name, sink in plan.notify.items():
        results[name] = send(client, name, sink, sink_url(name, sink, plan_dir), message)
    return results
