"""The bbws plan cut down for watching a rehearsal in a browser: no soaks, canaries baking 3 minutes a step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from short_plan import write_short_plan


def write_watch_plan(folder: Path) -> Path:
    path = write_short_plan(folder)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["soak"] = {}
    data["gates"]["go_no_go"]["requires"] = ["preflight"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def sandbox_up(plan: Path, state: Path, env: dict[str, str]) -> None:
    """``golive sandbox up --detach`` for the watch plan's prod, as a user starts it in a first terminal."""
    up = subprocess.run([sys.executable, "-m", "golive", "sandbox", "up", "-f", str(plan), "--env", "prod", "--detach",
                         "--state-dir", str(state)], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert up.returncode == 0, up.stderr
