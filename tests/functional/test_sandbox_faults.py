"""Faults are held against the plan before a rehearsal starts anything: a typo is exit 2, not a silent no-op."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from golive.examples import example_path

GOLIVE = Path(sys.executable).with_name("golive")


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("ordr_lambda:error_rate=8%@deploy", "unknown target 'ordr_lambda'"),
        ("order_lambda:error_rate=8%@apii", "unknown anchor '@apii'"),
        ("incident=P0@nosuchbatch", "unknown group 'nosuchbatch'"),
        ("incident=P4@apis", "expected a severity P0..P3: 'P4'"),
    ],
)
def test_rehearse_refuses_a_fault_the_bbws_plan_cannot_fire(tmp_path: Path, fault: str, named: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOLIVE_"))}
    done = subprocess.run([str(GOLIVE), "rehearse", "--inject", fault], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("golive: error")]
    assert len(errors) == 1 and fault in errors[0] and named in errors[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "golive-rehearsal").exists()  # nothing started, nothing written


def test_sandbox_up_refuses_a_fault_the_plan_cannot_fire_before_starting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOLIVE_"))}
    done = subprocess.run([str(GOLIVE), "-f", str(example_path("bbws")), "sandbox", "up", "--detach",
                           "--state-dir", str(tmp_path / "sandbox"), "--inject", "product_lambda:latency=6s@apii"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "unknown anchor '@apii'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "sandbox").exists() or not any((tmp_path / "sandbox").iterdir())
