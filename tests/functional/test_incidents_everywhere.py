"""The ``incidents`` check fails wherever it runs: an open P0 fails ``golive preflight`` (before, the
preflight's check context said "no incidents" whatever the store held).
Real ``golive`` processes on a SQLite store; the check needs no outside system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GOLIVE = str(Path(sys.executable).with_name("golive"))

PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a:
    repo: owner/a
    deploy: {command: [make, deploy]}
batches:
  - {name: one, projects: [a]}
preflight: [incidents: {fail_at: P1}]
"""


def _golive(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "GITHUB_"))}
    env.update(GOLIVE_DB=f"sqlite:///{folder / 'state.db'}", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", HOME=str(folder))
    return subprocess.run([GOLIVE, "-f", str(folder / "golive.yaml"), *argv], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_an_open_p0_fails_the_preflight(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(PLAN, encoding="utf-8")
    assert _golive(tmp_path, "preflight", "--env", "prod").returncode == 0

    opened = _golive(tmp_path, "incident", "open", "--severity", "P0", "--title", "orders down", "--env", "prod")
    assert opened.returncode == 0, opened.stderr
    failed = _golive(tmp_path, "--json", "preflight", "--env", "prod")
    assert failed.returncode == 1, failed.stderr
    (result,) = json.loads(failed.stdout)["results"]
    assert (result["check"], result["status"]) == ("incidents", "fail")
    assert "P0 orders down" in result["summary"]
