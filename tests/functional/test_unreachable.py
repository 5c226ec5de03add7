"""An unreachable GitHub, as a new user meets it: ``golive tag`` says each retry, then exits 3 within the budget.

Real ``golive`` processes on a copy of the example plan whose prod
environment has a small ``retry`` budget, GitHub pointed at a port nothing
listens on. A runner killed mid-wait leaves a lease behind; the next command
takes it at once (its holder is gone) instead of waiting for it to expire.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
PLAN = ROOT / "src" / "golive" / "examples" / "bbws" / "golive.yaml"
GOLIVE = Path(sys.executable).with_name("golive")
TOKEN = "ghp_" + "f4ke" * 9
DR_LINE = "    dr_region: eu-west-1"


def plan_with_budget(folder: Path, attempts: int, every: str) -> Path:
    plan = folder / "golive.yaml"
    shutil.copy(PLAN, plan)
    text = plan.read_text(encoding="utf-8")
    assert text.count(DR_LINE) == 1
    plan.write_text(text.replace(DR_LINE, f"    retry: {{attempts: {attempts}, every: {every}}}\n{DR_LINE}"),
                    encoding="utf-8")
    return plan


def user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "GH_", "GITHUB_"))}
    return {**env, "GOLIVE_GITHUB_API": "http://127.0.0.1:1", "GITHUB_TOKEN": TOKEN, "COLUMNS": "250"}


def tag(plan: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    ran = subprocess.run([str(GOLIVE), "-f", str(plan), "tag", "--env", "prod", "--yes"], check=False, cwd=plan.parent,
                         env=user_env(), capture_output=True, text=True, timeout=300)
    assert "Traceback" not in ran.stdout + ran.stderr and TOKEN not in ran.stdout + ran.stderr
    return ran.returncode, ran.stderr, time.monotonic() - started


def test_tag_with_github_unreachable_prints_each_retry_and_exits_3(tmp_path: Path) -> None:
    code, err, seconds = tag(plan_with_budget(tmp_path, 3, "1s"))
    print(f"\ngolive tag, GitHub unreachable, budget 3 x 1 s: exit {code} in {seconds:.1f} s\n{err}")
    assert code == 3, err
    retries = [line.strip() for line in err.splitlines() if ": attempt " in line and not line.startswith("golive:")]
    assert [r.split(": attempt ")[1] for r in retries] == ["1 of 3, next in 1 s", "2 of 3, next in 1 s"], err
    # Each progress line starts with its time (HH:MM:SS UTC) outside a rehearsal.
    assert all(re.match(r"^\d\d:\d\d:\d\d UTC +GitHub unreachable at http://127\.0\.0\.1:1/repos/", r) for r in retries), retries
    (error,) = [line for line in err.splitlines() if line.startswith("golive: error:")]
    assert "GitHub unreachable at http://127.0.0.1:1/" in error and "after 3 attempts while annotated tag" in error


def test_a_killed_runners_lease_does_not_block_the_next_command(tmp_path: Path) -> None:
    plan = plan_with_budget(tmp_path, 10, "30s")
    first = subprocess.Popen([str(GOLIVE), "-f", str(plan), "tag", "--env", "prod", "--yes"], cwd=tmp_path, env=user_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None
        for line in first.stderr:  # the first retry line: it holds the lease and waits 30 s
            if "attempt 1 of 10" in line:
                break
        else:
            raise AssertionError("no retry line from the first golive tag")
        first.kill()  # SIGKILL, not reaped yet: a zombie still holds the pid
        plan_with_budget(tmp_path, 2, "1s")
        code, err, seconds = tag(plan)
    finally:
        first.kill()
        first.wait()
    print(f"\nsecond golive tag after a SIGKILL: exit {code} in {seconds:.1f} s")
    assert "is being advanced by" not in err, err
    assert code == 3 and "attempt 1 of 2" in err, err
