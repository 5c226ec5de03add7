"""No command golive starts outlives it: stopped, timed out or killed, its process group is ended.

Real ``golive`` processes run plans whose deploy command hangs (``sh -c 'sleep 3600 & sleep 3600'``, a
shell with two children). Every process of the command is found through /proc by a marker unique to the
test: in the shell's argv, and in the environment golive hands down to the shell's children. After each
test the marked processes are killed whatever happened, so a failing test leaves nothing behind either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from golive.plan.model import Deploy
from golive.providers import shell
from golive.store.store import Store
from short_plan import write_short_plan

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc")

GOLIVE = str(Path(sys.executable).with_name("golive"))
MARK_ENV = "NO_ORPHANS_TEST_MARK"
HANG = "sleep 3600 & sleep 3600"  # a shell and two children: the grandchildren of golive


def marked(mark: str) -> list[int]:
    """The live processes that carry ``mark`` in their argv or their environment (golive's own included)."""
    needle = mark.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in text:
            found.append(int(entry.name))
    return found


@pytest.fixture
def mark() -> Iterator[str]:
    value = f"golive-orphan-{uuid.uuid4().hex[:12]}"
    yield value
    for pid in marked(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def golive(args: list[str], cwd: Path, mark: str) -> subprocess.Popen[str]:
    env = {**os.environ, MARK_ENV: mark, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.Popen([GOLIVE, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_command(proc: subprocess.Popen[str], mark: str) -> list[int]:
    """The command's processes once golive has started them (all three), or the test fails saying why."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        running = [pid for pid in marked(mark) if pid != proc.pid]
        if len(running) >= 3:
            return running
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"golive exited {proc.returncode} before the command ran\n{out}\n{err}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("golive did not start the deploy command within 180 s")


def deploy_state(db: Path, step_key: str) -> dict[str, Any]:
    store = Store.open(f"sqlite:///{db}")
    try:
        run = store.runs()[-1]
        return next(s.state for s in store.steps(run.id) if s.key == step_key)
    finally:
        store.close()


# --- golive stopped by SIGTERM during a rehearsal ---------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_during_a_rehearsed_command_deploy_leaves_no_process_of_it(tmp_path: Path, mark: str) -> None:
    plan_path = write_short_plan(tmp_path / "plan")
    data: dict[str, Any] = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    data["projects"]["dynamodb_schemas"]["deploy"] = {"command": ["sh", "-c", HANG, mark]}  # the first batch's
    plan_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    proc = golive(["-f", str(plan_path), "rehearse", "--out", str(out)], tmp_path, mark)
    wait_for_command(proc, mark)

    proc.send_signal(signal.SIGTERM)  # what `timeout -s TERM 20 golive rehearse` sends
    stdout, stderr = proc.communicate(timeout=60)

    assert marked(mark) == [], f"left behind: {marked(mark)}"
    assert proc.returncode == 143, (stdout, stderr)
    assert "stopped by SIGTERM; the state is kept in" in stderr
    assert "Traceback" not in stderr
    intent = deploy_state(out / "rehearsal.db", "deploy.dynamodb_schemas")["command"]
    assert intent["group_ended"] == "ended by SIGTERM"
    assert "stopped_at" in intent and "exit_code" not in intent


# --- a step's timeout ---------------------------------------------------------------------------------------------


def test_a_timeout_ends_the_commands_group_grandchildren_included(mark: str) -> None:
    outcome = shell.run(["sh", "-c", HANG, mark], timeout=0.5, env={MARK_ENV: mark})
    assert outcome.timed_out and outcome.exit_code is None
    assert outcome.ended == "ended by SIGTERM"
    assert marked(mark) == []


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace(mark: str) -> None:
    outcome = shell.run(["sh", "-c", f"trap '' TERM; {HANG}", mark], timeout=0.5, grace=0.5, env={MARK_ENV: mark})
    assert outcome.timed_out
    assert outcome.ended == "ended by SIGKILL, 0.5 s after SIGTERM"
    assert marked(mark) == []


def test_a_stop_while_any_command_runs_ends_its_group_before_the_stop_goes_on(mark: str) -> None:
    # A command check or a soak's smoke test: any caller of shell.run, stopped the way the CLI stops golive.
    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    started: list[shell.Group] = []

    def arm(group: shell.Group) -> None:  # the stop comes once the command runs
        started.append(group)
        signal.setitimer(signal.ITIMER_REAL, 0.5)

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        with pytest.raises(KeyboardInterrupt):
            shell.run(["sh", "-c", HANG, mark], timeout=60, env={MARK_ENV: mark}, on_start=arm)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert marked(mark) == []
    assert started[0].ended == "ended by SIGTERM"


def test_a_second_stop_during_the_grace_kills_the_group_at_once(mark: str) -> None:
    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    started: list[shell.Group] = []

    def arm(group: shell.Group) -> None:  # a stop once the command runs, and another one half a second later
        started.append(group)
        signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        with pytest.raises(KeyboardInterrupt):  # the group ignores SIGTERM, and the grace is long
            shell.run(["sh", "-c", f"trap '' TERM; {HANG}", mark], timeout=60, grace=600, env={MARK_ENV: mark},
                      on_start=arm)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert marked(mark) == []
    assert started[0].ended is None  # the second stop cut the grace short: nothing to record but the stop


def test_idempotent_is_a_command_deploys_key() -> None:
    assert Deploy(command=["terraform", "apply"], idempotent=True).idempotent
    with pytest.raises(ValidationError, match="idempotent applies to a command"):
        Deploy(github_workflow="deploy.yml", idempotent=True)


# --- `golive deploy` of a one-project plan: the step's timeout, a kill and a resume ------------------------------

PLAN = """\
release: orphans
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  app: {repo: owner/app, deploy: {command: COMMAND EXTRA}}
batches:
  - {name: one, projects: [app]}
"""


def start_deploy(folder: Path, mark: str, command: list[str], extra: str = "") -> subprocess.Popen[str]:
    """``golive deploy`` of a one-project plan deployed by ``command`` (``extra``: more deploy keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = PLAN.replace("COMMAND", yaml.safe_dump(command, default_flow_style=True).strip()).replace("EXTRA", extra)
    (folder / "golive.yaml").write_text(text, encoding="utf-8")
    return golive(["deploy", "--env", "prod", "--yes", "--skip-gate", "--why", "orphan test"], folder, mark)


def test_a_deploy_command_that_times_out_fails_saying_its_group_was_ended(tmp_path: Path, mark: str) -> None:
    proc = start_deploy(tmp_path, mark, ["sh", "-c", HANG, mark], ", timeout: 2s")
    stdout, stderr = proc.communicate(timeout=180)
    assert marked(mark) == []
    assert proc.returncode == 1, stdout + stderr
    assert "timed out (process group ended by SIGTERM)" in stdout + stderr
    intent = deploy_state(tmp_path / ".golive" / "state.db", "deploy.app")["command"]
    assert intent["timed_out"] is True and intent["group_ended"] == "ended by SIGTERM"


def test_killed_golive_resumes_knowing_the_command_did_not_finish_and_ends_it(tmp_path: Path, mark: str) -> None:
    proc = start_deploy(tmp_path, mark, ["sh", "-c", HANG, mark], "")
    command = wait_for_command(proc, mark)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert sorted(marked(mark)) == sorted(command)  # what a killed golive leaves: its command, running

    resumed = golive(["deploy", "--env", "prod", "--yes"], tmp_path, mark)
    stdout, stderr = resumed.communicate(timeout=180)

    assert marked(mark) == [], f"left behind: {marked(mark)}"
    text = stdout + stderr
    assert resumed.returncode == 1, text
    assert "did not finish (golive was killed); ended 3 of its processes still running" in text
    assert "not run again, as it may have done part of its work" in text
    assert "Traceback" not in text


def test_a_command_declared_idempotent_runs_again_after_a_stop(tmp_path: Path, mark: str) -> None:
    # The first run hangs; any later run finds its mark and succeeds at once.
    script = f"if [ -e ran-once ]; then echo deployed; else touch ran-once; {HANG}; fi"
    proc = start_deploy(tmp_path, mark, ["sh", "-c", script, mark], ", idempotent: true")
    wait_for_command(proc, mark)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert marked(mark) == []

    resumed = golive(["deploy", "--env", "prod", "--yes"], tmp_path, mark)
    stdout, stderr = resumed.communicate(timeout=180)

    text = stdout + stderr
    assert resumed.returncode == 0, text
    assert ("did not finish (golive was stopped; process group ended by SIGTERM); none of it is left; "
            "run again (idempotent): succeeded") in text
    assert marked(mark) == []


def test_a_command_that_ran_on_another_host_is_never_run_again_from_here(tmp_path: Path, mark: str) -> None:
    # A PostgreSQL worker on another machine started it and died: nothing here can tell whether it still runs.
    proc = start_deploy(tmp_path, mark, ["sh", "-c", HANG, mark], ", idempotent: true")
    command = wait_for_command(proc, mark)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    store = Store.open(f"sqlite:///{tmp_path / '.golive' / 'state.db'}")
    try:
        step = next(s for s in store.steps(store.runs()[-1].id) if s.key == "deploy.app")
        store.update_step(step.id, state={**step.state, "command": {**step.state["command"], "host": "build-7"}})
    finally:
        store.close()

    resumed = golive(["deploy", "--env", "prod", "--yes"], tmp_path, mark)
    stdout, stderr = resumed.communicate(timeout=180)

    text = stdout + stderr
    assert resumed.returncode == 1, text
    assert "did not finish (golive was killed); it ran on build-7, where golive cannot look from here; " \
           "not run again while it may still be running" in text
    assert sorted(marked(mark)) == sorted(command)  # not this host's to end: the fixture cleans up
