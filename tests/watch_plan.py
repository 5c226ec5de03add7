"""The bbws plan cut down for watching a rehearsal in a browser: no soaks, canaries baking 3 minutes a step."""

from __future__ import annotations

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
