"""Benchmark: how a rehearsal's cost grows with the number of Lambda functions in the release.

Generates plans from the bbws plan whose Lambda projects are replaced by
N/5 projects of 5 functions each (canaries 10 % -> 50 % -> 100 %), in batches
of 5 projects, and rehearses each end to end (``golive.rehearsal.local.rehearse``,
seed 7), each size in its own subprocess so peak memory is that size's own.
Prints wall time, CPU time (all threads), peak RSS and CPU per function, and
the memory and CPU growth per function between the smallest and each larger
size (what one more function costs, without the world's fixed start-up).
By default the soaks and bakes are those of ``tests/short_plan.py`` (12 h SIT
soak, 4 h PROD soak, 3-minute bakes); ``--full`` keeps the bbws timeline.

    python bench/rehearse_scale.py [--sizes 20 100 200] [--full] [--bbws]

Targets (issue 14): at most 0.3 s CPU per function, 200 functions in at most
60 s of wall time, memory growth at most 5 MB per function. Wall time on a
shared machine is noisy: compare CPU seconds, and ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from golive.examples import example_path

PER_PROJECT = 5
PROJECTS_PER_BATCH = 5
LAMBDA_PROJECTS = ("product_lambda", "order_lambda", "campaigns_lambda")


def generated_plan(functions: int, folder: Path, *, full: bool) -> Path:
    """The bbws plan with ``functions`` Lambda functions in projects of 5, batches of 5 projects."""
    source = example_path("bbws")
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not full:
        data["soak"]["sit"].update(duration="12h", every="3h")
        data["soak"]["prod"].update(duration="4h", every="2h", smoke_every="4h")
    steps = ([{"weight": 10, "bake": "10m"}, {"weight": 50, "bake": "5m"}, {"weight": 100}] if full else
             [{"weight": 10, "bake": "3m"}, {"weight": 50, "bake": "3m"}, {"weight": 100}])
    for name in LAMBDA_PROJECTS:
        del data["projects"][name]
    data["projects"]["web_public"].pop("depends_on", None)  # the APIs it named are replaced by generated ones
    data["sandbox"]["missing_secrets"].pop("campaigns_lambda", None)
    names = [f"api{i:03d}" for i in range(max(1, functions // PER_PROJECT))]
    for name in names:
        selector = {"prefix": f"2-1-bbws-tf-{name}-", "suffix": "-{env}", "count": PER_PROJECT}
        data["projects"][name] = {
            "repo": f"BigBeardWebSolutions/2_bbws_{name}", "kind": "api",
            "deploy": {"github_workflow": "deploy-prod.yml"}, "role_arn_in_workflow": True,
            "verify": [{"lambda_active": dict(selector)}],
            "rollout": {"lambda_canary": {"functions": dict(selector), "alias": "live", "steps": steps}},
        }
    batches = [b for b in data["batches"] if b["name"] != "apis"]
    for k in range(0, len(names), PROJECTS_PER_BATCH):
        batches.append({"name": f"apis{k // PROJECTS_PER_BATCH + 1}", "projects": names[k:k + PROJECTS_PER_BATCH],
                        "rollback_shifted": True})
    data["batches"] = batches
    total = len(names) * PER_PROJECT
    for where in (data["soak"]["sit"]["checks"], data["soak"]["prod"]["checks"], data["validation"]):
        for check in where:
            if isinstance(check, dict) and "lambda_active" in check:
                check["lambda_active"]["count"] = total
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "golive.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scripts = folder / "scripts"
    if not scripts.exists():
        scripts.symlink_to(source.parent / "scripts", target_is_directory=True)
    return path


def one(functions: int, full: bool) -> dict[str, Any]:
    """Rehearse one generated plan (0 functions: the bundled bbws plan as shipped) in this process; its figures."""
    from golive.plan.validate import load_plan
    from golive.rehearsal.local import rehearse

    folder = Path(tempfile.mkdtemp(prefix=f"golive-scale-{functions}-"))
    plan_path = generated_plan(functions, folder / "plan", full=full) if functions else example_path("bbws")
    plan = load_plan(plan_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    result = rehearse(plan, plan_path.parent, "prod", seed=7, out_dir=folder / "out")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    functions = functions or 20
    return {"functions": functions, "status": result.status, "virtual_hours": result.summary["virtual"]["hours"],
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "cpu_per_function_s": round(cpu / functions, 3),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "start_mb": round(before)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 200])
    parser.add_argument("--full", action="store_true", help="the bbws timeline (48 h SIT soak, 24 h PROD soak)")
    parser.add_argument("--bbws", action="store_true", help="also rehearse the bundled bbws plan as shipped")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.full)))
        return
    rows: list[dict[str, Any]] = []
    print(f"{'functions':>9} {'status':>10} {'virtual h':>9} {'wall s':>7} {'cpu s':>7} {'cpu/fn s':>8} "
          f"{'peak MB':>8} {'MB/fn growth':>12} {'cpu/fn growth':>13}")
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size)] + (["--full"] if args.full else [])
        answer = subprocess.run(command, capture_output=True, text=True, check=False)
        if answer.returncode != 0:
            print(f"{size:>9} failed: {answer.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(answer.stdout.strip().splitlines()[-1])
        rows.append(row)
        more = size - rows[0]["functions"]
        growth = (row["peak_mb"] - rows[0]["peak_mb"]) / more if more else float("nan")
        cpu_growth = (row["cpu_s"] - rows[0]["cpu_s"]) / more if more else float("nan")
        print(f"{size:>9} {row['status']:>10} {row['virtual_hours']:>9} {row['wall_s']:>7} {row['cpu_s']:>7} "
              f"{row['cpu_per_function_s']:>8} {row['peak_mb']:>8} {growth:>12.2f} {cpu_growth:>13.3f}", flush=True)
    if args.bbws:
        answer = subprocess.run([sys.executable, __file__, "--one", "0"], capture_output=True, text=True, check=False)
        if answer.returncode != 0:
            print(f"bbws failed: {answer.stderr.strip().splitlines()[-1:]}")
        else:
            row = json.loads(answer.stdout.strip().splitlines()[-1])
            print(f"bbws plan as shipped: {row['status']}, {row['virtual_hours']} virtual h, {row['wall_s']} s wall, "
                  f"{row['cpu_s']} s CPU, peak {row['peak_mb']} MB (target: at most 20 s wall on a quiet machine)")
    print("targets: cpu/fn <= 0.3 s, 200 functions <= 60 s wall, memory growth <= 5 MB per function")


if __name__ == "__main__":
    main()
