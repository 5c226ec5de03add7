"""Long work shows life: the live view on a real pseudo-terminal, a heartbeat when piped, canary weights and verdicts in
``golive status``, and the Ctrl-C message saying where the state is kept never showing a password."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from golive.runs.status import release_status
from golive.store.store import StepSpec, Store
from golive.workspace import Workspace

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bbws" / "golive.yaml"
GOLIVE = Path(sys.executable).with_name("golive")
T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

# Feeds the progress renderer what the engine sends during a canary's bake, then waits as the engine would.
FEED = """
import sys, time
from datetime import datetime, timedelta, UTC
from golive.cli.output import Output, progress
from golive.engine.outcome import Wait
t0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
notify = progress(Output(False))
notify("step_started", {"title": "canary product_lambda", "virtual_now": t0})
notify("canary", {"outcome": "shifted", "project": "product_lambda", "weight": 10.0, "virtual_now": t0})
notify("canary", {"outcome": "analysis", "project": "product_lambda", "weight": 10.0, "verdict": "ok",
                  "reason": "error rate within bounds", "virtual_now": t0 + timedelta(minutes=1)})
notify("step_waiting", {"title": "canary product_lambda", "virtual_now": t0 + timedelta(minutes=1),
                        "outcome": Wait(t0 + timedelta(minutes=3, seconds=30), "product_lambda at 10%, next analysis 14:03")})
time.sleep(float(sys.argv[1]))
notify("run_succeeded", {"reason": ""})
print("END", flush=True)
"""


def test_the_live_view_on_a_terminal_shows_clock_step_canaries_and_countdown() -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal on stdin/stdout/stderr
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
        os.execv(sys.executable, [sys.executable, "-c", FEED, "1.5"])
    screen = b""
    deadline = time.monotonic() + 60
    while b"END" not in screen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                screen += os.read(fd, 65536)
            except OSError:
                break
    os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    assert "clock" in text and "Tue 01 Dec 14:01:00" in text
    assert "step" in text and "canary product_lambda" in text
    assert re.search(r"canary product_lambda\s+10%\s+last verdict ok", text), text
    assert "next in 2 min 30 s (14:03 UTC)" in text  # the countdown: due 14:03:30, clock at 14:01
    assert "\x1b[?25l" in screen.decode(errors="replace")  # Rich's live display hid the cursor: a live view, not lines


def test_piped_progress_prints_a_heartbeat_with_the_time_and_the_wait() -> None:
    env = {**os.environ, "GOLIVE_HEARTBEAT_SECONDS": "0.3"}
    proc = subprocess.run([sys.executable, "-c", FEED, "2"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    beats = [line for line in proc.stderr.splitlines() if " … " in line]
    assert len(beats) >= 2, proc.stderr
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ … waiting: product_lambda at 10%, next analysis 14:03; "
                        r"next in 2 min 30 s \(14:03 UTC\); clock Tue 01 14:01 UTC", beats[0]), beats[0]
    assert "\x1b[" not in proc.stderr  # plain text for a log


def test_piped_progress_without_a_pause_prints_no_heartbeat() -> None:
    proc = subprocess.run([sys.executable, "-c", FEED, "0"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert " … " not in proc.stderr
    assert "product_lambda at 10%: ok" in proc.stderr


def _run_with_canary(store: Store) -> int:
    spec = StepSpec(key="canary.product_lambda", phase="deploy", kind="canary", title="canary product_lambda",
                    group="batch.apis", lane="product_lambda", params={})
    run = store.create_run("bbws", "prod", "release", "digest", [spec], T0)
    for minutes, kind, outcome, data in [
        (0, "canary", "shifted", {"project": "product_lambda", "weight": 10.0}),
        (0, "canary", "shifted", {"project": "order_lambda", "weight": 10.0}),
        (2, "canary", "analysis", {"project": "product_lambda", "weight": 10.0, "verdict": "ok", "reason": "within bounds"}),
        (5, "canary", "shifted", {"project": "product_lambda", "weight": 50.0}),
        (6, "canary", "analysis", {"project": "order_lambda", "weight": 10.0, "verdict": "fail", "reason": "error rate 8%"}),
        (6, "rollback", "rolled_back", {"project": "order_lambda", "reason": "error rate 8%"}),
    ]:
        store.append_event(release="bbws", env="prod", kind=kind, subject=str(data["project"]), outcome=outcome,
                           data=data, run_id=run.id, at=T0 + timedelta(minutes=minutes))
    return run.id


def test_status_shows_each_canarys_weight_and_last_verdict(store: Store) -> None:
    _run_with_canary(store)
    (run,) = release_status(store, "bbws", T0 + timedelta(minutes=10))["runs"]
    by_project = {c["project"]: c for c in run["canaries"]}
    assert (by_project["product_lambda"]["weight"], by_project["product_lambda"]["verdict"]) == (50.0, "ok")
    assert by_project["product_lambda"]["verdict_at"] == (T0 + timedelta(minutes=2)).isoformat()
    assert (by_project["order_lambda"]["weight"], by_project["order_lambda"]["verdict"]) == (0.0, "rolled_back")


def test_status_command_prints_weights_and_verdicts_as_text_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    _run_with_canary(store)
    store.close()
    env = {**os.environ, "COLUMNS": "200"}
    text = subprocess.run([str(GOLIVE), "status", "-f", str(EXAMPLE), "--db", url], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    assert text.returncode == 0, text.stderr
    assert "canary product_lambda at 50%, last verdict ok: within bounds" in text.stdout
    assert "canary order_lambda at 0%, last verdict rolled_back: error rate 8%" in text.stdout
    js = subprocess.run([str(GOLIVE), "status", "-f", str(EXAMPLE), "--db", url, "--json"], capture_output=True,
                        text=True, env=env, timeout=60, check=False)
    canaries = json.loads(js.stdout)["runs"][0]["canaries"]
    assert [(c["project"], c["weight"], c["verdict"]) for c in canaries] == [
        ("product_lambda", 50.0, "ok"), ("order_lambda", 0.0, "rolled_back")]


def test_the_stopped_message_never_shows_a_database_password(tmp_path: Path) -> None:
    w = Workspace(plan_path=tmp_path / "golive.yaml", db_url="postgresql+psycopg://golive:s3cret@db.internal:5432/golive")
    assert w.store_location() == "postgresql+psycopg://golive:***@db.internal:5432/golive"
    assert Workspace(plan_path=tmp_path / "golive.yaml").store_location() == str(tmp_path / ".golive" / "state.db")
