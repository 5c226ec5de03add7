"""The delivery loop: claim due outbox rows, send each to the plan's sinks, record each sink's answer.

``deliver_due`` is one pass (``golive notify deliver``); ``DeliveryLoop`` runs
passes on a thread beside ``golive serve`` or ``golive worker``. Each sink is
served by its own thread, in the order the events were recorded, so a slow or
broken sink delays only itself; each answer is written to the row as soon as
it comes (a sink that took an event is never sent it again, even when the
deliverer is killed while another sink is still in flight). A sink that
failed is retried with backoff; a sink that fails in a pass is not tried
again for later events of that pass; no pass runs longer than ``PASS_SECONDS``
(well inside the claim), so a claimed row is settled before anyone may claim
it again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from golive.errors import ConfigError, GoliveError
from golive.notify.destinations import Destinations
from golive.notify.sinks import DEADLINE, Message, send, sink_url, subscribed
from golive.plan.model import NotifySink, Plan
from golive.store import outbox
from golive.store import tables as t
from golive.store.store import Store

PASS_SECONDS = 40.0  # the claim lasts outbox.CLAIM (60 s); a sink's attempt may take DEADLINE more
DELIVERED = "delivered"

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class _Answer:
    item: outbox.Pending
    sink: str
    error: str | None


def deliver_due(store: Store, plan: Plan, plan_dir: Path, client: httpx.Client, *, deadline: float = DEADLINE,
                destinations: Destinations | None = None) -> DeliveryReport:
    report = DeliveryReport()
    with store.tx() as conn:
        claimed = outbox.claim_due(conn, outbox.wall_now())
    if not claimed:
        return report
    policy = destinations if destinations is not None else Destinations.from_environment()
    messages = {item.id: message_for(store, item) for item in claimed}
    owed: dict[int, set[str]] = {}  # per row, the sinks still to answer in this pass
    work: dict[str, list[outbox.Pending]] = {}
    for item in claimed:
        owed[item.id] = set()
        for name in subscribed(plan, item.topic):
            if item.deliveries.get(name) != DELIVERED:
                owed[item.id].add(name)
                work.setdefault(name, []).append(item)
    answers: queue.Queue[_Answer] = queue.Queue()
    stop_at = time.monotonic() + PASS_SECONDS
    for name, items in work.items():
        threading.Thread(target=_serve_sink, name=f"golive-notify-{name}", daemon=True,
                         args=(client, name, plan.notify[name], plan_dir, items, messages, answers, stop_at, deadline,
                               policy)).start()
    errors: dict[int, list[str]] = {item.id: [] for item in claimed}
    for item in claimed:
        if not owed[item.id]:
            _settle(store, item, errors[item.id])
    while any(owed.values()):
        answer = answers.get()
        item = answer.item
        result = DELIVERED if answer.error is None else f"failed: {answer.error}"
        with store.tx() as conn:
            outbox.record_sink(conn, item.id, answer.sink, result)
        if answer.error is None:
            report.sent += 1
        else:
            report.failed += 1
            report.errors.append(answer.error)
            errors[item.id].append(answer.error)
        owed[item.id].discard(answer.sink)
        if not owed[item.id]:
            _settle(store, item, errors[item.id])
    return report


def _settle(store: Store, item: outbox.Pending, errors: list[str]) -> None:
    with store.tx() as conn:
        current = conn.execute(sa.select(t.outbox.c.deliveries).where(t.outbox.c.id == item.id)).scalar_one()
        outbox.settle(conn, item, dict(current or {}), "; ".join(errors) or None, outbox.wall_now())


def _serve_sink(client: httpx.Client, name: str, sink: NotifySink, plan_dir: Path, items: list[outbox.Pending],
                messages: dict[int, Message], answers: queue.Queue[_Answer], stop_at: float, deadline: float,
                policy: Destinations) -> None:
    """One sink's events in order; after its first failure (or past the pass's time) the rest wait for a retry."""
    failed = False
    for item in items:
        if failed or time.monotonic() > stop_at:
            why = "an earlier event failed" if failed else "the pass ran out of time"
            answers.put(_Answer(item, name, f"{name}: not tried in this pass ({why})"))
            continue
        try:
            error = send(client, name, sink, sink_url(name, sink, plan_dir), messages[item.id], deadline=deadline,
                         destinations=policy)
        except GoliveError as exc:
            error = str(exc)
        except Exception as exc:  # a sink's thread never dies with its answer unsaid
            error = f"{name}: {type(exc).__name__}"
        answers.put(_Answer(item, name, error))
        failed = error is not None


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
        self._thread.join(timeout=PASS_SECONDS + DEADLINE)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due(self.store, self.plan, self.plan_dir, self.client)
            except Exception:  # the loop outlives any pass: the next one tries again
                log.exception("notification delivery pass failed")
            self._stop.wait(self.every)


def send_test(plan: Plan, plan_dir: Path, client: httpx.Client, now_iso: str, *,
              deadline: float = DEADLINE) -> dict[str, str | None]:
    """One test message straight to every sink at once (no outbox): each sink's error line, or None when it took it."""
    if not plan.notify:
        raise ConfigError("the plan has no notify: sinks to test")
    message = Message(key=f"golive-{plan.release}-test-{now_iso}", topic="test", release=plan.release, env="-",
                      kind="test", subject="notification test", outcome="test", at=now_iso,
                      reason="golive notify test", data={})
    policy = Destinations.from_environment()
    results: dict[str, str | None] = {}
    misconfigured: list[ConfigError] = []

    def one(name: str, sink: NotifySink) -> None:
        try:
            results[name] = send(client, name, sink, sink_url(name, sink, plan_dir), message, deadline=deadline,
                                 destinations=policy)
        except ConfigError as exc:  # the plan or this machine's setting is wrong: the user's to fix (exit 2)
            results[name] = str(exc)
            misconfigured.append(exc)
        except GoliveError as exc:
            results[name] = str(exc)

    threads = [threading.Thread(target=one, args=(name, sink), daemon=True) for name, sink in plan.notify.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if misconfigured:
        raise misconfigured[0]  # the other sinks were tried; what must change comes first
    return {name: results.get(name, f"{name}: no answer") for name in plan.notify}
