"""Plan variants of the bbws example for the soak and gate tests.

The sandbox simulates every function of every environment minute by
minute, so a 48-hour soak over the example's 60 functions (SIT, PROD and
PROD's DR region) is the slow part of these tests. A variant with two
functions per API project and no DR region keeps every rule of the plan
(criteria, checks, allow-list, gate) while simulating a fifth of the traffic.

The variant lives in other AWS accounts (and other S3 bucket names, which
are global): moto keeps one state per process, so a world of the variant
and a world of the example can run side by side without seeing each
other's functions, alarms and metrics.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from golive.plan.model import Plan
from golive.plan.validate import load_plan_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bbws" / "golive.yaml"
EXAMPLE_DIR = EXAMPLE.parent
SMALL_ACCOUNTS = {"815856636111": "815856636222", "093646564004": "093646564222"}


def example_text() -> str:
    return EXAMPLE.read_text()


def small_text(per_project: int = 2) -> str:
    """The example with ``per_project`` functions in each API project, the soak counts to match, no DR region."""
    text = example_text()
    text = re.sub(r"(prefix: 2-1-bbws-tf-(?:product|order|campaigns)-, suffix: \"-\{env\}\", count: )\d+",
                  rf"\g<1>{per_project}", text)
    text = text.replace('prefix: 2-1-bbws-tf-, suffix: "-{env}", count: 20', f'prefix: 2-1-bbws-tf-, suffix: "-{{env}}", '
                        f"count: {3 * per_project}")
    text = re.sub(r"\n\s*dr_region: .*", "", text)
    for account, other in SMALL_ACCOUNTS.items():
        text = text.replace(account, other)
    return text.replace("bbws-terraform-state-", "bbws-small-state-").replace("bbws-templates-", "bbws-small-templates-")


def with_freeze(text: str, start: datetime, end: datetime, reason: str) -> str:
    return text + (f"\nfreeze:\n  - {{start: {start.isoformat()}, end: {end.isoformat()}, reason: \"{reason}\"}}\n")


def load(text: str) -> Plan:
    return load_plan_text(text, str(EXAMPLE))
