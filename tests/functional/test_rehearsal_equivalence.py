"""A faster rehearsal is the same rehearsal: its report on a fixed seed equals the one the reference code wrote.

The fixtures were first written by the code as it was before issue 14's speed work (the sandbox reading
routing in process, kept connections, ...), and re-recorded (``GOLIVE_RECORD_EQUIVALENCE=1``) only where a
rehearsal was meant to decide differently: last for issues 23, 24 and 27 (a failure's one write, triggers
judged over each step's own minutes with the sample recorded at each shift, times with their zone, the
prober's evidence kept, overrides and plan changes in the report), then for issue 24's close (the sample's
rate over the minutes that had traffic, no longer "cannot decide" on a PROD world 10 minutes old; the judge
recording the stable's counts and the error test's tolerance; verdicts and p-values unchanged), then for the
bbws plan's dependencies (issue 26: the failed order canary holds the site, a "holds" section with its
siblings' undos; the same rollbacks in the same order), then for issue 24's one call a look (the latency tail's
lines from the stable's hour before the shift, errors judged with a +10% tolerance at the final level 0.01: the
same verdict at every look, p-values and messages changed; then the history read with the first shift's
sample, its hour ending a minute earlier: the same verdicts again; then a line from before the shift checked
against the window's stable and a count test with too little data keeping the stable's counts: the same verdicts).
The cases: the
bbws plan as shipped (healthy) and the short plan with the order canary failing (a rollback). Everything is
compared except what the wall clock decides: the loopback ports the sandbox picked, the milliseconds an
HTTP probe took (and a rollback or an owed undo), and the folder the plan lives in. Floats are equal to a
billionth (the last bit is the numerical library's, not the rehearsal's).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest

from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse
from short_plan import write_short_plan

FIXTURES = Path(__file__).parent / "fixtures"
# numpy's and scipy's builds may round a sum's last bit differently (1.0541801324503313 against ...315): a float
# within a billionth of the recorded one is the same number; every other value must be equal.
FLOAT_REL, FLOAT_ABS = 1e-9, 1e-12
CASES = {
    "healthy": [],
    "order-canary-errors": ["order_lambda:error_rate=8%@deploy"],
}


def normalized(text: str, plan_dir: Path) -> Any:
    text = text.replace(str(plan_dir), "PLAN_DIR")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    # A slow probe reads in seconds, one under half a millisecond "0s".
    text = re.sub(r"\b(\d{3} in )(?:\d+ms|\d+(?:\.\d+)?s)\b", r"\1Nms", text)
    text = re.sub(r'"latency_ms": [0-9.]+', '"latency_ms": null', text)
    # Identifiers moto draws at random when the world is provisioned.
    text = re.sub(r"\b(vpc|subnet|sg|igw|rtb|acl|nat|eni)-[0-9a-f]{8,17}\b", r"\1-ID", text)
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "UUID", text)
    text = re.sub(r"\b(?=[A-Z0-9]*[0-9])(?=[A-Z0-9]*[A-Z])[A-Z0-9]{13,32}\b", "ID", text)
    text = re.sub(r"\b(exit -?\d+ in )[0-9.]+m?s\b", r"\1T", text)  # how long a command check ran
    text = re.sub(r'"NotAfter": "[^"]*"', '"NotAfter": "WALL"', text)  # moto dates certificates by the wall clock
    # Times in texts carry their zone now (issue 27); the fixtures were written before, in UTC without it.
    text = re.sub(r"(\b[A-Z][a-z]{2} \d{2} \d{2}:\d{2}) UTC\b", r"\1", text)
    report = json.loads(text)
    if report.get("plan_changes") == []:
        del report["plan_changes"]  # a section added after the fixtures were written (issue 23): none was accepted
    if report.get("holds") == []:
        del report["holds"]  # a section added after the fixtures were written (issue 26): no project depends on another
    for rollback in report.get("rollbacks", []):
        rollback["seconds"] = None  # how long the rollback took in wall time
    for hold in report.get("holds", []):
        for undo in hold.get("undone", []):
            undo["seconds"] = None  # how long each owed undo took in wall time
    for check in report.get("checks", []):
        for evidence in check.get("evidence", []):
            answered = evidence.get("answered")
            if isinstance(answered, dict) and "duration_s" in answered:
                answered["duration_s"] = None  # how long a command check ran
    return report


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            found = first_difference(a.get(key), b.get(key), f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return f"{where}: {len(a)} items, was {len(b)}" if len(a) != len(b) else None
    if isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=FLOAT_REL, abs_tol=FLOAT_ABS):
        return None
    return None if a == b else f"{where}: {a!r}, was {b!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rehearsal_report_is_what_the_old_code_path_wrote(name: str, tmp_path: Path) -> None:
    plan_path = example_path("bbws") if name == "healthy" else write_short_plan(tmp_path / "plan")
    out = tmp_path / "out"
    result = rehearse(load_plan(plan_path), plan_path.parent, "prod", faults=CASES[name], seed=7, out_dir=out)
    assert result.status == ("succeeded" if name == "healthy" else "rolled_back"), result.reason

    now = normalized((out / "report.json").read_text(encoding="utf-8"), plan_path.parent)
    fixture = FIXTURES / f"rehearsal_{name}.json.gz"
    if os.environ.get("GOLIVE_RECORD_EQUIVALENCE") == "1":  # a deliberate change of what a rehearsal decides
        fixture.write_bytes(gzip.compress(json.dumps(now, sort_keys=True).encode("utf-8"), mtime=0))
    before = json.loads(gzip.decompress(fixture.read_bytes()))
    assert (now["overrides"], now["rehearsal"]) == ([], True)
    # A rolled-back rehearsal keeps what the prober saw (issue 27).
    assert now["availability"] and all(r["probes"] > 0 for r in now["availability"]), now["availability"]
    assert first_difference(now, before) is None
