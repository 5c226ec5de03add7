"""What ``golive rehearse`` prints when a soak checkpoint fails: a ✗ line, and the soak phase as failed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from short_plan import write_short_plan

GOLIVE = Path(sys.executable).with_name("golive")


def test_a_failed_checkpoint_is_marked_and_its_soak_phase_failed(tmp_path: Path) -> None:
    plan = write_short_plan(tmp_path / "plan")  # SIT soak of 12 h, a checkpoint every 3 h
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOLIVE_"))}
    done = subprocess.run([str(GOLIVE), "-f", str(plan), "rehearse", "--until", "soak", "--out", str(tmp_path / "out"),
                           "--inject", "product_lambda:error_rate=2%@4h..5h"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # stopped after the soak, as asked
    lines = (done.stdout + done.stderr).splitlines()
    checkpoint_lines = [line for line in lines if "checkpoint 2 of 4" in line and "FAIL" in line]
    assert checkpoint_lines and all("✗" in line and "✓" not in line for line in checkpoint_lines), lines
    phases = next(line for line in lines if line.startswith("phases:"))
    assert "soak failed" in phases and "soak done" not in phases, phases
