"""Workers on PostgreSQL: one killed while it advances a canary, another finishes the release.

As a team runs it: ``golive sandbox up --detach`` (the world: AWS, GitHub,
the virtual clock), ``golive worker --submit prod`` puts the release in the
store, and ``golive worker`` processes take it. The first is killed with
SIGKILL as soon as a canary has shifted; two more start. The release
succeeds, the local GitHub saw each deploy workflow dispatched once, and no
alias is left carrying weights.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from cli_user import PROD_ACCOUNT, PROD_REGION, user_env

from golive.providers.lambdas import LambdaClient
from golive.sandbox import daemon
from golive.sandbox.accounts import sandbox_aws
from golive.store.store import Store
from watch_plan import sandbox_up, write_watch_plan

pytestmark = pytest.mark.postgres


def golive(*args: str, log: Path | None = None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "golive", *args], stdout=out, stderr=out, env=env)


def shifted(url: str) -> bool:
    store = Store.open(url)
    try:
        return any(e.outcome == "shifted" for e in store.events(kind="canary"))
    finally:
        store.close()


@pytest.mark.extended
def test_a_worker_killed_mid_canary_is_replaced_and_nothing_happens_twice(pg_url: str, tmp_path: Path) -> None:
    plan = write_watch_plan(tmp_path / "plan")
    env = user_env()
    state = tmp_path / "sandbox"
    sandbox_up(plan, state, env)
    base = ("-f", str(plan), "--db", pg_url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        submitted = subprocess.run([sys.executable, "-m", "golive", *base, "worker", "--sandbox", str(state),
                                    "--submit", "prod", "--json"], capture_output=True, text=True, env=env, timeout=120,
                                   check=False)
        assert submitted.returncode == 0, submitted.stderr
        run_id = json.loads(submitted.stdout)["run"]
        worker = ("worker", "--sandbox", str(state), "--lease-ttl", "5", "--exit-when-idle")
        first = golive(*base, *worker, log=tmp_path / "w1.log", env=env)
        deadline = time.monotonic() + 300
        while not shifted(pg_url):
            assert first.poll() is None, (tmp_path / "w1.log").read_text()
            assert time.monotonic() < deadline, "no canary shifted in 300 s"
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        workers = [golive(*base, *worker, log=tmp_path / f"w{i}.log", env=env) for i in (2, 3)]
        for proc in workers:
            assert proc.wait(timeout=600) == 0, (tmp_path / "w2.log").read_text() + (tmp_path / "w3.log").read_text()
        store = Store.open(pg_url)
        run = store.get_run(run_id)
        events = store.events(run_id=run_id)
        store.close()
        assert run.status == "succeeded", run.reason
        moved = [e for e in events if e.kind == "canary" and e.outcome in ("shifted", "promoted")]
        assert {e.subject for e in moved} == {"product_lambda", "order_lambda", "campaigns_lambda"}
        each = Counter((e.step_key, e.outcome, e.data.get("weight")) for e in moved)
        assert all(n == 1 for n in each.values()), f"a shift recorded twice: {each}"
        status = json.loads(subprocess.run([sys.executable, "-m", "golive", "sandbox", "status", "-f", str(plan),
                                            "--state-dir", str(state), "--json"], capture_output=True, text=True,
                                           env=env, timeout=60, check=False).stdout)
        counts = httpx.get(status["services"]["world"] + "/_world/counts", timeout=10).json()
        dispatches = counts["dispatches"]
        assert dispatches and all(n == 1 for n in dispatches.values()), dispatches
        steps = [s for s in Store.open(pg_url).steps(run_id) if s.kind == "canary"]
        assert steps and all(s.status == "done" and s.state.get("phase") == "promoted" for s in steps)
        info = daemon.status(state)
        assert info is not None
        for step in steps:
            aws = sandbox_aws(info.endpoint, PROD_ACCOUNT, step.params.get("region") or PROD_REGION)
            for fn in step.state["versions"]:
                assert LambdaClient(aws).get_alias_routing(fn, step.params["alias"]).weights == {}, f"{fn} left weighted"
        print(f"replaced and finished {time.monotonic() - killed_at:.1f} s after the kill")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
        subprocess.run([sys.executable, "-m", "golive", "sandbox", "down", "-f", str(plan), "--state-dir", str(state)],
                       capture_output=True, env=env, timeout=60, check=False)
