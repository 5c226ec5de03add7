"""Issue 24's ``on_inconclusive: pause``, end to end in a rehearsal as a user runs it.

``golive rehearse --pause-speed N`` in one process (a real subprocess): campaigns_lambda gets 6 calls a minute, so
its triggers never hold their 300 calls, its bake extends 2 minutes and it pauses at 10%. While it is paused the
rehearsal's virtual time runs at N virtual seconds per wall second, so a second terminal can answer: ``golive notify
deliver`` brings the pause to a webhook, ``golive promote campaigns_lambda --why`` (on the rehearsal's store) sends
the release on. Nobody answering, the canary rolls back after ``pause_timeout``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from webhook_receiver import Receiver

from golive.store.store import Event, Store
from watch_plan import write_watch_plan

pytestmark = pytest.mark.xdist_group("rehearse_pause")

PROJECT = "campaigns_lambda"
WHY = "6 calls a minute: its triggers never hold 300 calls; the judge says no worse than stable"


def _plan(folder: Path, *, pause_timeout: str, url_file: Path) -> Path:
    path = write_watch_plan(folder)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sandbox"]["function_traffic"] = {PROJECT: {"rpm": 6}}
    data["environments"]["prod"].pop("dr_region", None)  # one canary of the project to answer (no DR phase)
    canary = data["projects"][PROJECT]["rollout"]["lambda_canary"]
    canary["analysis"] = {"max_extension": "2m", "pause_timeout": pause_timeout}
    data["notify"] = {"ops": {"type": "webhook", "url_file": str(url_file), "events": ["canary_step"]}}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _golive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golive", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ), timeout=300, check=False)


def _start(plan: Path, out: Path, speed: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "golive", "-f", str(plan), "rehearse", "--out", str(out),
                             "--pause-speed", speed], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=plan.parent, env=dict(os.environ))


def _events(db: Path, kind: str, outcome: str | None = None) -> list[Event]:
    if not db.exists():
        return []
    store = Store.open(f"sqlite:///{db}")
    try:
        return [e for e in store.events(kind=kind) if e.subject == PROJECT and outcome in (None, e.outcome)]
    finally:
        store.close()


def _wait_for_pause(rehearsal: subprocess.Popen[str], db: Path) -> Event:
    deadline = time.monotonic() + 400  # a hang, not a duration: the rehearsal reaches the batch in well under this
    while time.monotonic() < deadline:
        paused = _events(db, "canary", "inconclusive")
        if paused:
            return paused[0]
        assert rehearsal.poll() is None, rehearsal.communicate()[0][-3000:]
        time.sleep(0.5)
    raise AssertionError("the canary never paused")


def test_a_paused_rehearsal_notifies_and_goes_on_when_golive_promote_answers(tmp_path: Path) -> None:
    receiver = Receiver()
    url_file = tmp_path / "ops-url"
    url_file.write_text(receiver.url + "/ops\n", encoding="utf-8")
    plan = _plan(tmp_path / "plan", pause_timeout="30m", url_file=url_file)
    out = tmp_path / "out"
    db = out / "rehearsal.db"
    rehearsal = _start(plan, out, "10")
    assert rehearsal.stdout is not None
    lines = rehearsal.stdout
    (tmp_path / "plan" / "elsewhere").mkdir()
    try:
        paused = _wait_for_pause(rehearsal, db)
        assert paused.data["choice"] == "pause" and paused.data["weight"] == 10.0, paused.data
        assert "waiting for golive promote --why or golive abort" in paused.data["reason"]

        # A second terminal: the notification reaches the team's webhook, then an operator answers.
        delivered = _golive("-f", str(plan), "--db", f"sqlite:///{db}", "notify", "deliver", "--json", cwd=tmp_path)
        assert delivered.returncode == 0, delivered.stderr
        told = [r["body"] for r in receiver.at("/ops") if r["body"].get("outcome") == "inconclusive"]
        assert told and told[0]["subject"] == PROJECT and "paused at 10%" in told[0]["reason"], receiver.received
        # The command the rehearsal printed for it, pasted (the project and the reason filled in).
        hint = next(line for line in iter(lines.readline, "") if "a paused canary waits for an answer" in line)
        argv = shlex.split(hint.split(": ", 1)[1].removesuffix("(or abort)\n"))
        assert argv[0] == "golive" and argv[argv.index("--env") + 1] == "prod", argv
        answer = ["--yes", *[PROJECT if a == "PROJECT" else WHY if a == "..." else a for a in argv[1:]], "--by", "ana"]
        promoted = _golive(*answer, cwd=tmp_path / "plan" / "elsewhere")
        assert promoted.returncode == 0, promoted.stderr
        assert rehearsal.wait(timeout=400) == 0, rehearsal.communicate()[0][-3000:]
    finally:
        if rehearsal.poll() is None:
            rehearsal.kill()
            rehearsal.wait()
        receiver.close()

    (forced,) = _events(db, "canary", "promote_forced")
    assert forced.data["why"] == WHY and forced.data["by"] == "ana"
    assert not _events(db, "rollback")
    assert _events(db, "canary", "promoted")
    store = Store.open(f"sqlite:///{db}")
    try:
        (run,) = store.runs("bbws", "prod", "release")
        assert run.status == "succeeded", run.reason
    finally:
        store.close()


def test_a_paused_rehearsal_nobody_answers_rolls_back_after_the_pause_timeout(tmp_path: Path) -> None:
    url_file = tmp_path / "ops-url"
    url_file.write_text("http://127.0.0.1:9/never-used\n", encoding="utf-8")
    plan = _plan(tmp_path / "plan", pause_timeout="3m", url_file=url_file)
    out = tmp_path / "out"
    rehearsal = _start(plan, out, "60")
    try:
        printed, _ = rehearsal.communicate(timeout=600)
    finally:
        if rehearsal.poll() is None:
            rehearsal.kill()
            rehearsal.wait()
    assert rehearsal.returncode == 1, printed[-3000:]
    db = out / "rehearsal.db"
    (paused,) = _events(db, "canary", "inconclusive")
    rolled = [e for e in _events(db, "rollback") if e.outcome == "rolled_back"]
    assert rolled, printed[-3000:]
    reason = rolled[0].data["reason"]
    assert reason.startswith("fail safe: paused at 10% for 3m and nobody answered"), reason
    assert rolled[0].at - paused.at >= timedelta(minutes=3)
    assert not _events(db, "canary", "promote_forced")
