"""A new user's first commands in an empty folder: init, check, rehearse; and ``status --watch`` in a log.

Real ``golive`` processes in a clean shell (nothing of AWS, GitHub or golive
set), stdout a pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_user import GOLIVE, user_env


def golive(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, env=user_env(), cwd=cwd,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def test_init_writes_the_plan_with_its_scripts_and_check_finds_them(tmp_path: Path) -> None:
    r = golive(tmp_path, "init", "-f", "X/golive.yaml")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "X"
    scripts = sorted(p.name for p in (folder / "scripts").iterdir())
    assert scripts == ["smoke_test.sh", "smoke_test_campaigns.sh", "smoke_test_orders.sh", "smoke_test_products.sh"]
    assert all(os.access(folder / "scripts" / name, os.X_OK) for name in scripts)
    assert (folder / "scenarios" / "healthy.yaml").is_file()
    checked = golive(tmp_path, "check", "-f", "X/golive.yaml")
    assert checked.returncode == 0, checked.stderr
    assert "does not exist" not in checked.stdout

    again = golive(tmp_path, "init", "-f", "X/golive.yaml")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == ["golive: error: X/golive.yaml exists (use --force to overwrite)"]


def test_check_warns_about_a_command_path_missing_beside_the_plan(tmp_path: Path) -> None:
    assert golive(tmp_path, "init").returncode == 0
    (tmp_path / "scripts" / "smoke_test_orders.sh").unlink()
    r = golive(tmp_path, "check")
    assert r.returncode == 0, r.stderr
    lint = [line.strip() for line in r.stdout.splitlines() if "does not exist" in line]
    assert lint == [f"lint projects.order_lambda.smoke[0]: ./scripts/smoke_test_orders.sh does not exist "
                    f"(relative to {tmp_path})"]


@pytest.mark.extended
@pytest.mark.slow
def test_init_then_rehearse_exits_0_in_an_empty_folder(tmp_path: Path) -> None:
    assert golive(tmp_path, "init", "-f", "X/golive.yaml").returncode == 0
    r = golive(tmp_path, "rehearse", "-f", "X/golive.yaml", timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "rehearsal: succeeded" in r.stdout


def test_status_watch_in_a_log_prints_only_what_changed(tmp_path: Path) -> None:
    assert golive(tmp_path, "init").returncode == 0
    log = tmp_path / "watch.log"
    with log.open("w") as handle:
        watcher = subprocess.Popen([str(GOLIVE), "status", "--watch"], stdout=handle, stderr=subprocess.STDOUT,
                                   env=user_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while "no runs of bbws yet" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        opened = golive(tmp_path, "incident", "open", "--severity", "P3", "--title", "checkout slow")
        assert opened.returncode == 0, opened.stderr
        while "checkout slow" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(4.5)  # two more refreshes with nothing new
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
    lines = log.read_text().splitlines()
    stamps = [line for line in lines if line.startswith("— ") and line.endswith(" UTC")]
    assert len(stamps) == 2, lines  # the first look, then the one change; quiet refreshes print nothing
    assert lines.count("no runs of bbws yet (start one with golive run --env ENV)") == 1, lines
    assert [line for line in lines if "checkout slow" in line] == ["open incident 1 P3 checkout slow"], lines
