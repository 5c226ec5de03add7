"""Benchmark: the bbws release rehearsed end to end at a 1% baseline error rate, seed after seed.

Issue 11's done-when line: a plan with a 1% baseline error rate (600 calls a minute per function, no
fault) and the runbook's rollback triggers (``error_rate > 5% immediately``, ``p95_duration > 5s for
15m``, the data-corruption alarm, ``incident P0``) rehearses green for 20 seeds. The plan is the shipped
bbws plan with its ``sandbox.traffic.error_rate`` at 1%; its soak criteria (``error_rate < 0.1%``, the
runbook's SIT target) would rightly fail such a world, so they read ``error_rate < 2%`` here. Prints
each seed's outcome, its rollbacks with their reasons, and the tally.

    python bench/baseline_rehearse.py [--seeds 20] [--first 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse


def baseline_plan(folder: Path, error_rate: str = "1%") -> Path:
    """The bbws plan beside its scripts, with the sandbox's baseline errors at ``error_rate``."""
    source = example_path("bbws")
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["sandbox"]["traffic"].update(error_rate=error_rate, rpm=600)
    for soak in data["soak"].values():
        soak["criteria"] = ["error_rate < 2%" if str(c).startswith("error_rate") else c for c in soak["criteria"]]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "golive.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scripts = folder / "scripts"
    if not scripts.exists():
        scripts.symlink_to(source.parent / "scripts", target_is_directory=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    green = 0
    with tempfile.TemporaryDirectory(prefix="golive-baseline-") as tmp:
        path = baseline_plan(Path(tmp) / "plan")
        plan = load_plan(path)
        for seed in range(args.first, args.first + args.seeds):
            t0 = time.perf_counter()
            result = rehearse(plan, path.parent, "prod", seed=seed, out_dir=Path(tmp) / f"seed-{seed}")
            rollbacks = result.summary.get("rollbacks", [])
            green += result.status == "succeeded"
            print(f"seed {seed:3d}: {result.status:<12} {len(rollbacks)} rollbacks "
                  f"({time.perf_counter() - t0:.0f} s)" + (f": {result.reason}" if result.status != "succeeded" else ""))
            for r in rollbacks:
                print(f"          {r.get('project')}: {r.get('reason')}")
    print(f"\n{green} of {args.seeds} seeds green at a 1% baseline, 600 calls/min/function "
          f"(rehearsed in {time.perf_counter() - started:.0f} s)")
    return 0 if green == args.seeds else 1


if __name__ == "__main__":
    sys.exit(main())
