"""Notifications: a rehearsal's rollback reaches a Slack-shaped and a JSON webhook, with the reason, once.

The rehearsal runs as a user runs it (``golive rehearse`` in a subprocess,
order_lambda failing 8% of its requests); its store then holds the outbox.
``golive notify deliver`` drains it against a real HTTP receiver that
answers 500 to its first two posts: the failed sink is retried with backoff,
the sink that took the event is not sent it again, and no event arrives twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from webhook_receiver import Receiver

from golive.store import outbox
from golive.store.store import Store
from short_plan import write_short_plan


def golive(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golive", *args], check=False, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


def notifying_plan(folder: Path, url_file: Path) -> Path:
    path = write_short_plan(folder)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["notify"] = {"team-slack": {"type": "slack", "url_env": "GOLIVE_TEST_SLACK_URL"},
                      "audit": {"type": "webhook", "url_file": str(url_file), "events": ["rollback", "release_failed"]}}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("notify")
    url_file = folder / "audit-url"
    plan = notifying_plan(folder / "plan", url_file)
    env = {**os.environ, "GOLIVE_TEST_SLACK_URL": "http://127.0.0.1:9/never-used"}
    done = golive("rehearse", "-f", str(plan), "--inject", "order_lambda:error_rate=8%@deploy", "--out",
                  str(folder / "out"), "--json", env=env, cwd=folder)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["status"] == "rolled_back"
    yield plan, folder / "out" / "rehearsal.db"


def test_rollback_reaches_slack_and_json_webhooks_once_even_after_two_500s(rehearsed: tuple[Path, Path]) -> None:
    plan, db = rehearsed
    receiver = Receiver(fail_first=2)
    try:
        (plan.parent / ".." / "audit-url").resolve().write_text(receiver.url + "/audit\n", encoding="utf-8")
        env = {**os.environ, "GOLIVE_TEST_SLACK_URL": receiver.url + "/slack"}
        store = Store.open(f"sqlite:///{db}")
        with store.tx() as conn:
            queued = outbox.rows(conn)
        assert {"rollback", "release_failed", "canary_step"} <= {r["topic"] for r in queued}
        reports = []
        for _ in range(8):
            done = golive("-f", str(plan), "--db", f"sqlite:///{db}", "notify", "deliver", "--json", env=env,
                          cwd=plan.parent)
            assert done.returncode == 0, done.stderr
            reports.append(json.loads(done.stdout))
            if reports[-1]["backlog"] == 0:
                break
            time.sleep(1.1)
        assert reports[-1]["backlog"] == 0, reports
        assert receiver.refused == 2
        assert any(r["failed"] for r in reports), "the two 500s were seen as failures"
        for line in (done.stdout, done.stderr):
            assert receiver.url not in line, "a webhook URL was printed"
    finally:
        receiver.close()
        store.close()

    keys = [r["key"] + r["path"] for r in receiver.received]
    assert len(keys) == len(set(keys)), "an event arrived twice at one sink"
    audit = receiver.at("/audit")
    rollbacks = [r["body"] for r in audit if r["body"]["topic"] == "rollback"]
    assert rollbacks and {r["subject"] for r in rollbacks} >= {"order_lambda"}
    assert all(r["reason"] for r in rollbacks if r["outcome"] == "rolled_back")
    # The judge's error-count test or the error_rate trigger, whichever decides first, names the errors.
    assert any("error" in (r["reason"] or "") for r in rollbacks)
    assert {r["body"]["topic"] for r in audit} <= {"rollback", "release_failed"}, "a sink got a topic it did not ask for"
    slack = [r["body"] for r in receiver.at("/slack")]
    slack_rollbacks = [b for b in slack if "rollback of order_lambda" in b["text"]]
    assert slack_rollbacks and "reason:" in slack_rollbacks[0]["text"]
    assert any("canary" in b["text"] and "%" in b["text"] for b in slack), "canary steps reach Slack"
    with Store.open(f"sqlite:///{db}").tx() as conn:
        stored = json.dumps(outbox.rows(conn), default=str)
    assert receiver.url not in stored, "a webhook URL reached the store"


def test_notify_test_sends_one_message_and_a_missing_url_is_one_line(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        url_file = tmp_path / "audit-url"
        url_file.write_text(receiver.url + "/audit", encoding="utf-8")
        plan = notifying_plan(tmp_path / "plan", url_file)
        env = {**os.environ, "GOLIVE_TEST_SLACK_URL": receiver.url + "/slack"}
        done = golive("-f", str(plan), "notify", "test", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert len(receiver.at("/slack")) == 1 and len(receiver.at("/audit")) == 1
        assert receiver.url not in done.stdout
        missing = {k: v for k, v in env.items() if k != "GOLIVE_TEST_SLACK_URL"}
        done = golive("-f", str(plan), "notify", "test", env=missing, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "golive: error: notify sink 'team-slack': environment variable GOLIVE_TEST_SLACK_URL is not set"]
    finally:
        receiver.close()

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("notify")
