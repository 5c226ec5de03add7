"""``golive serve --workers N`` on PostgreSQL: the page's own workers take a submitted release and finish it.

As a team runs it: the sandbox world up, ``golive worker --submit prod`` puts
the release in the store, and ``golive serve --workers 2 --sandbox D`` serves
the page and starts two workers beside it. The release succeeds, the page
says so, each deploy workflow was dispatched once, and stopping the server
stops its workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from cli_user import user_env

from golive.store.store import Store
from loopback import free_port
from serve_helpers import Served
from watch_plan import sandbox_up, write_watch_plan

pytestmark = pytest.mark.postgres


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines (from /proc)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.extended
def test_serve_with_workers_finishes_a_submitted_release_and_stops_its_workers(pg_url: str, tmp_path: Path) -> None:
    plan = write_watch_plan(tmp_path / "plan")
    env = user_env()
    state = tmp_path / "sandbox"
    sandbox_up(plan, state, env)
    server: Served | None = None
    try:
        submitted = subprocess.run([sys.executable, "-m", "golive", "-f", str(plan), "--db", pg_url, "worker",
                                    "--sandbox", str(state), "--submit", "prod", "--json"], capture_output=True,
                                   text=True, env=env, timeout=120, check=False)
        assert submitted.returncode == 0, submitted.stderr
        run_id = json.loads(submitted.stdout)["run"]
        server = Served(plan, pg_url, free_port(), "--workers", "2", "--sandbox", str(state),
                        log=tmp_path / "serve.log", env=env).start()
        assert server.proc is not None
        workers = children(server.proc.pid)
        assert len(workers) == 2 and all(" worker" in c for c in workers.values()), workers
        deadline = time.monotonic() + 600
        status = ""
        while status != "succeeded":
            runs = httpx.get(server.url + "/api/release/bbws", timeout=10).json()["runs"]
            run = next(r for r in runs if r["run"] == run_id)
            status = run["status"]
            assert status not in ("failed", "rolled_back", "no_go"), run.get("reason")
            assert time.monotonic() < deadline, f"still {status} after 600 s: {(tmp_path / 'serve.log').read_text()}"
            time.sleep(0.5)
        store = Store.open(pg_url)
        events = store.events(run_id=run_id)
        store.close()
        moved = Counter((e.step_key, e.outcome, e.data.get("weight")) for e in events
                        if e.kind == "canary" and e.outcome in ("shifted", "promoted"))
        assert moved and all(n == 1 for n in moved.values()), moved
        world = json.loads(subprocess.run([sys.executable, "-m", "golive", "sandbox", "status", "-f", str(plan),
                                           "--state-dir", str(state), "--json"], capture_output=True, text=True,
                                          env=env, timeout=60, check=False).stdout)["services"]["world"]
        dispatches = httpx.get(world + "/_world/counts", timeout=10).json()["dispatches"]
        assert dispatches and all(n == 1 for n in dispatches.values()), dispatches
        server.stop()
        assert server.proc.returncode is not None
        alive = [pid for pid in workers if _running(pid)]
        assert not alive, f"workers outlived golive serve: {alive}"
    finally:
        if server is not None:
            server.stop()
        subprocess.run([sys.executable, "-m", "golive", "sandbox", "down", "-f", str(plan), "--state-dir", str(state)],
                       capture_output=True, env=env, timeout=60, check=False)
