"""A canary three times slower than stable is rolled back within two minutes of data, and its report says why.

``golive rehearse`` in a subprocess on the short bbws plan with
``order_lambda:latency=3x@deploy``: the fault binds to the new build, so
only the canary version is slow. The judge reads the canary's calls above
the stable version's p95 over the bake (CloudWatch's ``PR(x:)`` from the
sandbox) and tests them exactly; expected values come from the store the
rehearsal wrote: the canary's shift, the first complete minute after it,
the window of the failing look.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from golive.clock import parse_instant
from golive.store.store import Store
from short_plan import write_short_plan

FAULT = "order_lambda:latency=3x@deploy"


@pytest.mark.extended
def test_a_slow_canary_rolls_back_on_its_latency_tail_within_two_minutes(tmp_path: Path) -> None:
    plan = write_short_plan(tmp_path / "plan")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "golive", "rehearse", "-f", str(plan), "--out", str(out),
                           "--inject", FAULT, "--seed", "3"], check=False, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-2000:]
    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    try:
        events = [e for e in store.events() if e.step_key == "canary.order_lambda"]
    finally:
        store.close()
    shifted = next(e for e in events if e.kind == "canary" and e.outcome == "shifted")
    (rollback,) = [e for e in events if e.kind == "rollback"]
    looks = [e for e in events if e.kind == "canary" and e.outcome == "analysis"]
    failing = looks[-1]
    assert failing.data["verdict"] == "fail"
    reason = rollback.data["reason"]
    assert "p95_duration" in reason and "calls above" in reason, reason
    # The first complete minute of canary traffic ends at most two minutes before the failing look's window does.
    first_end = shifted.at.replace(second=0, microsecond=0) + timedelta(minutes=2 if shifted.at.second else 1)
    window_end = parse_instant(failing.data["window"]["end"])
    assert window_end - first_end <= timedelta(minutes=2), (shifted.at, window_end)
    tails = [r for r in failing.data["judgement"]["results"] if r["metric"] == "p95_duration" and r["outcome"] == "Failed"]
    assert tails and all((r["p_value"] < r["alpha"] and r["threshold"] is None) or r["threshold"] > 0 for r in tails)
    worst = min(tails, key=lambda r: r["p_value"])
    assert worst["effect"] > 3  # several times the 5% (1%) the stable's percentile leaves above it
    assert worst["ratio"] is None or worst["ratio"] > 2
    # Other canaries never saw the fault: none of them rolled back on latency.
    html = (out / "report.html").read_text(encoding="utf-8")
    section = re.search(r'<section class="canary" data-project="order_lambda" data-region="af-south-1">(.*?)</section>',
                        html, re.S)
    assert section is not None
    body = section.group(1)
    assert "calls above" in body and "stable p95" in body and re.search(r"p=[0-9.e+-]+ &lt; [0-9.e+-]+", body)
    assert "p95_duration" in (out / "report.md").read_text(encoding="utf-8")
