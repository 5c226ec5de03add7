"""Notifications against sinks that break: a bad URL, a trickle, a 200 MB answer, a metadata address, a kill.

Every test runs golive as a user does (``golive notify test``, ``notify deliver``, ``worker`` in
subprocesses) against real sockets on 127.0.0.1 (``hostile_sinks``), and reads the outbox the store kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hostile_sinks import HostileSink

from golive.store import outbox
from golive.store.store import Store

PLAN: dict[str, object] = {
    "release": "rel", "version": "v1",
    "environments": {"prod": {"account": "123456789012", "region": "eu-west-1"}},
    "projects": {"a": {"repo": "owner/a", "deploy": {"command": ["true"]}}},
    "batches": [{"name": "one", "projects": ["a"]}],
}


def plan_with(folder: Path, sinks: dict[str, str], kinds: dict[str, str] | None = None) -> tuple[Path, dict[str, str]]:
    """A plan whose sinks read their URLs from the environment; the environment to run golive with."""
    data = {**PLAN, "notify": {name: {"type": (kinds or {}).get(name, "webhook"), "url_env": f"GOLIVE_T_{name.upper()}"}
                               for name in sinks}}
    path = folder / "golive.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {**os.environ, **{f"GOLIVE_T_{name.upper()}": url for name, url in sinks.items()}}
    return path, env


def golive(plan: Path, db: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golive", "-f", str(plan), "--db", db, *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def failed_release(url: str, reason: str = "deploy a failed") -> None:
    store = Store.open(url)
    store.append_event(release="rel", env="prod", kind="run", subject="release", outcome="failed",
                       at=datetime.now(UTC), data={"reason": reason})
    store.close()


def outbox_rows(url: str) -> list[dict[str, object]]:
    store = Store.open(url)
    with store.tx() as conn:
        rows = outbox.rows(conn)
    store.close()
    return rows


@pytest.fixture
def sinks() -> Iterator[dict[str, HostileSink]]:
    made: dict[str, HostileSink] = {}
    yield made
    for sink in made.values():
        sink.close()


def test_notify_test_is_not_held_by_a_trickling_or_huge_sink_and_a_bad_url_is_one_line(
        tmp_path: Path, sinks: dict[str, HostileSink]) -> None:
    for mode in ("ok", "trickle", "huge"):
        sinks[mode] = HostileSink(mode)
    plan, env = plan_with(tmp_path, {"good": sinks["ok"].url, "slow": sinks["trickle"].url, "huge": sinks["huge"].url,
                                     "broken": "http://[::1"})
    done = golive(plan, f"sqlite:///{tmp_path / 's.db'}", "notify", "test", env=env)
    assert done.returncode != 0
    lines = done.stdout + done.stderr
    assert "good: delivered" in lines
    assert "slow: no answer within 10 s" in lines, lines
    assert "broken: its URL is not a valid URL" in lines
    assert "huge: delivered" in lines, "a 200 answer's body is not read, however large"
    assert "Traceback" not in lines and "[::1" not in lines
    assert len(sinks["ok"].received) == 1


@pytest.mark.postgres
def test_a_bad_url_is_recorded_on_its_own_sink_and_the_good_sink_gets_the_event(
        pg_url: str, tmp_path: Path, sinks: dict[str, HostileSink]) -> None:
    sinks["ok"] = HostileSink("ok")
    plan, env = plan_with(tmp_path, {"good": sinks["ok"].url, "broken": "http://[::1", "metadata": "http://169.254.169.254/x"})
    failed_release(pg_url)
    done = golive(plan, pg_url, "notify", "deliver", env=env)
    assert done.returncode == 0, done.stderr
    assert [m["reason"] for m in sinks["ok"].received] == ["deploy a failed"]
    [row] = outbox_rows(pg_url)
    deliveries = row["deliveries"]
    assert isinstance(deliveries, dict)
    assert deliveries["good"] == "delivered"
    assert deliveries["broken"] == "failed: broken: its URL is not a valid URL"
    assert deliveries["metadata"].startswith("failed: metadata: refused to send: its address is link-local")
    assert row["status"] == "pending", "the failed sinks are retried later"


@pytest.mark.postgres
def test_a_deliverer_killed_while_a_sink_hangs_never_sends_the_sink_that_answered_again(
        pg_url: str, tmp_path: Path, sinks: dict[str, HostileSink]) -> None:
    sinks["ok"], sinks["hang"] = HostileSink("ok"), HostileSink("hang")
    plan, env = plan_with(tmp_path, {"a-stuck": sinks["hang"].url, "good": sinks["ok"].url})
    failed_release(pg_url)
    deliverer = subprocess.Popen([sys.executable, "-m", "golive", "-f", str(plan), "--db", pg_url, "notify", "deliver"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (row := outbox_rows(pg_url)[0])["deliveries"] != {"good": "delivered"}:
            assert time.monotonic() < deadline, "the good sink's answer is written"
            time.sleep(0.1)
        assert row["last_error"] is None and deliverer.poll() is None, "... while the other sink is still in flight"
        assert sinks["hang"].connections == 1
        deliverer.send_signal(signal.SIGKILL)
    finally:
        deliverer.kill()
        deliverer.wait()
    store = Store.open(pg_url)
    with store.tx() as conn:  # the dead deliverer's claim is over
        conn.execute(outbox.t.outbox.update().values(next_at=datetime.now(UTC) - timedelta(seconds=1)))
    store.close()
    sinks["hang"].mode = "ok"
    done = golive(plan, pg_url, "notify", "deliver", env=env)
    assert done.returncode == 0, done.stderr
    assert len(sinks["ok"].received) == 1, "the sink that answered 200 is not sent the event again"
    assert len(sinks["hang"].received) == 1
    assert outbox_rows(pg_url)[0]["status"] == "delivered"


def test_slack_is_sent_outside_text_escaped_for_its_mrkdwn(tmp_path: Path, sinks: dict[str, HostileSink]) -> None:
    sinks["ok"] = HostileSink("ok")
    plan, env = plan_with(tmp_path, {"slack": sinks["ok"].url}, kinds={"slack": "slack"})
    url = f"sqlite:///{tmp_path / 's.db'}"
    failed_release(url, reason="<!channel> see <http://evil.example|the fix> & more")
    done = golive(plan, url, "notify", "deliver", env=env)
    assert done.returncode == 0, done.stderr
    [message] = sinks["ok"].received
    assert "reason: &lt;!channel&gt; see &lt;http://evil.example|the fix&gt; &amp; more" in message["text"]
    assert "<" not in message["blocks"][0]["text"]["text"]


def test_a_worker_delivers_the_outbox(tmp_path: Path, sinks: dict[str, HostileSink]) -> None:
    sinks["ok"] = HostileSink("ok")
    plan, env = plan_with(tmp_path, {"good": sinks["ok"].url})
    url = f"sqlite:///{tmp_path / 's.db'}"
    failed_release(url)
    done = golive(plan, url, "worker", "--exit-when-idle", env=env)
    assert done.returncode == 0, done.stderr
    assert [m["reason"] for m in sinks["ok"].received] == ["deploy a failed"]
    assert outbox_rows(url)[0]["status"] == "delivered"
