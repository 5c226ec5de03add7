"""The outbox on both store backends: enqueued with the event, claimed by one loop only, retried with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from webhook_receiver import Receiver

from golive.notify.deliver import deliver_due
from golive.plan.validate import load_plan_text
from golive.store import outbox
from golive.store.store import Store

PLAN = """\
release: rel
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
notify:
  hook: {type: webhook, url_env: GOLIVE_TEST_HOOK}
"""


def test_only_events_with_a_topic_enter_the_outbox_and_one_loop_claims_each(store: Store) -> None:
    now = datetime.now(UTC)
    store.append_event(release="rel", env="prod", kind="check", subject="x", outcome="pass", at=now)
    store.append_event(release="rel", env="prod", kind="rollback", subject="a", outcome="rolled_back", at=now,
                       data={"reason": "error_rate > 5%", "ratio": float("inf")})
    with store.tx() as conn:
        assert [r["topic"] for r in outbox.rows(conn)] == ["rollback"]
        assert outbox.backlog(conn) == 1
        first = outbox.claim_due(conn, outbox.wall_now())
        second = outbox.claim_due(conn, outbox.wall_now())
    assert len(first) == 1 and second == [], "a claimed row is not handed to a second loop"


def test_a_failing_sink_is_retried_with_backoff_and_never_sent_twice(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver(fail_first=1)
    monkeypatch.setenv("GOLIVE_TEST_HOOK", receiver.url + "/hook")
    plan = load_plan_text(PLAN)
    store.append_event(release="rel", env="prod", kind="run", subject="release", outcome="failed",
                       at=datetime.now(UTC), data={"reason": "deploy a failed"})
    client = httpx.Client(timeout=5)
    try:
        report = deliver_due(store, plan, plan_dir=Path("."), client=client)
        assert (report.sent, report.failed, report.errors) == (0, 1, ["hook: HTTP 500"])
        assert deliver_due(store, plan, Path("."), client).sent == 0, "backing off"
        with store.tx() as conn:
            row = outbox.rows(conn)[0]
            assert row["status"] == "pending" and row["next_at"] > datetime.now(UTC)
            conn.execute(outbox.t.outbox.update().values(next_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert deliver_due(store, plan, Path("."), client).sent == 1
        assert deliver_due(store, plan, Path("."), client).sent == 0
    finally:
        client.close()
        receiver.close()
    assert [r["body"]["reason"] for r in receiver.received] == ["deploy a failed"]
    assert receiver.received[0]["key"].startswith("golive-rel-prod-")
    with store.tx() as conn:
        assert outbox.rows(conn)[0]["status"] == "delivered"
        assert outbox.backlog(conn) == 0
