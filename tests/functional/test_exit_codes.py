"""An outside system that does not answer after retries exits 3, from every kind of command.

Each command runs as its own ``golive`` process against endpoints that do not answer: a closed port on
127.0.0.1 for AWS (``AWS_ENDPOINT_URL``), GitHub (``GOLIVE_GITHUB_API``) and the plan's webhook, and a
PostgreSQL URL on a closed port for the store. The plan's retry budget is cut to 2 tries 1 s apart so the
engine gives up quickly (the budget, not the exit code, is what the plan sets). Every case must end with
one ``golive: error:`` line on stderr, exit 3 and no traceback, and never show the token or webhook URL;
the processes run side by side.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loopback import free_port

GOLIVE = str(Path(sys.executable).with_name("golive"))

# command kind → argv after ``golive -f PLAN``; "{store}" is a store URL that does not answer
CASES: dict[str, list[str]] = {
    "read-only checks (preflight)": ["preflight", "--env", "prod"],
    "engine run (run)": ["run", "--env", "prod", "--yes"],
    "engine run (deploy)": ["deploy", "--env", "prod", "--yes", "--skip-gate", "--why", "exit code test"],
    "engine run (tag)": ["tag", "--env", "prod", "--yes"],
    "direct AWS change (rollback)": ["rollback", "order_lambda", "--env", "prod", "--yes"],
    "direct GitHub change (secrets set)": ["secrets", "set", "AWS_ROLE_PROD", "--repo",
                                           "BigBeardWebSolutions/2_1_bbws_dynamodb_schemas", "--value-from", "env:HOME",
                                           "--yes"],
    "delivery (notify test)": ["notify", "test"],
    "store reader (status)": ["--db", "{store}", "status"],
    "store reader (report)": ["--db", "{store}", "report"],
    "store reader (gate)": ["--db", "{store}", "gate", "go_no_go", "--env", "prod"],
    "validation checks (verify)": ["verify", "--env", "prod"],
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("exit3")
    plan_path = folder / "golive.yaml"
    subprocess.run([GOLIVE, "-f", str(plan_path), "init"], check=True, capture_output=True, timeout=120)
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    for env in plan["environments"].values():
        env["retry"] = {"attempts": 2, "every": "1s"}
    plan["notify"] = {"team": {"type": "webhook", "url_env": "EXIT3_HOOK_URL"}}
    plan_path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    closed = f"http://127.0.0.1:{free_port()}"
    store = f"postgresql://127.0.0.1:{free_port()}/test"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "GITHUB_"))}
    env.update(AWS_ENDPOINT_URL=closed, GOLIVE_GITHUB_API=closed, GITHUB_TOKEN="not-a-real-token",
               EXIT3_HOOK_URL=f"{closed}/hook-not-a-real-token",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", HOME=str(folder))
    procs = {}
    for n, (name, argv) in enumerate(CASES.items()):
        case_env = {**env, "GOLIVE_DB": f"sqlite:///{folder / f'state{n}.db'}"}  # one store each: no lease contention
        args = [GOLIVE, "-f", str(plan_path), *(a.format(store=store) for a in argv)]
        procs[name] = subprocess.Popen(args, cwd=folder, env=case_env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def _assert_exit_3(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("golive: error: ")]
    assert len(errors) == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1] == errors[0]
    assert r.returncode == 3, (r.returncode, r.stderr[-2000:])
    assert "not-a-real-token" not in r.stdout + r.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_no_answer_after_retries_exits_3(ran: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    _assert_exit_3(ran[name])

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("exit_codes")
