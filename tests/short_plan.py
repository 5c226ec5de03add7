"""The bundled bbws plan on a shorter timeline, for tests that rehearse it end to end many times.

Same projects, batches, checks, gate and triggers; only the soaks and the
canary bakes are shorter (SIT soak 12 h every 3 h, PROD soak 4 h every 2 h,
bakes of 3 minutes: the judge needs three complete minutes). The plan is
written beside a link to the example's ``scripts/`` so the smoke tests run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from golive.examples import example_path


def write_short_plan(folder: Path) -> Path:
    source = example_path("bbws")
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["soak"]["sit"].update(duration="12h", every="3h")
    data["soak"]["prod"].update(duration="4h", every="2h", smoke_every="4h")
    for project in data["projects"].values():
        canary = (project.get("rollout") or {}).get("lambda_canary")
        if canary:
            canary["steps"] = [{"weight": 10, "bake": "3m"}, {"weight": 50, "bake": "3m"}, {"weight": 100}]
        site = (project.get("rollout") or {}).get("cloudfront_canary")
        if site:
            site["steps"] = [{**step, "bake": "3m"} if "bake" in step else step for step in site["steps"]]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "golive.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scripts = folder / "scripts"
    if not scripts.exists():
        scripts.symlink_to(source.parent / "scripts", target_is_directory=True)
    return path
