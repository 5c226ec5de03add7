"""Two ``golive rehearse --sandbox D`` on one sandbox: one advances the release, the other exits 1 naming it.

Before the lease holder was unique per process, every runner of a sandbox
held the lease under one name, so both advanced: every checkpoint evaluated
twice, every workflow dispatched twice. Real processes, a real detached
sandbox, the store beside it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.sandbox import daemon
from golive.sandbox.daemon import SandboxInfo
from golive.store.store import Store
from short_plan import write_short_plan

GOLIVE = Path(sys.executable).with_name("golive")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, SandboxInfo]]:
    plan = write_short_plan(tmp_path / "plan")
    info = daemon.start_world_detached(tmp_path / "sandbox", plan, "prod", seed=7, realtime=False,
                                       follow_release=True)
    try:
        yield plan, info
    finally:
        daemon.stop(tmp_path / "sandbox")


def test_second_runner_on_one_sandbox_exits_1_naming_the_holder(world: tuple[Path, SandboxInfo]) -> None:
    plan, info = world
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    argv = [str(GOLIVE), "-f", str(plan), "rehearse", "--sandbox", str(info.state_dir), "--env", "prod"]
    runners = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    try:
        results = [(r.pid, *r.communicate(timeout=300), r.returncode) for r in runners]
    finally:
        for r in runners:
            if r.poll() is None:
                r.kill()
    codes = sorted(code for *_, code in results)
    assert codes == [0, 1], [(code, err[-600:]) for _, _, err, code in results]
    (winner,) = [pid for pid, _, _, code in results if code == 0]
    (_, _, refused_err, _), = [r for r in results if r[3] == 1]
    error = [line for line in refused_err.splitlines() if line.startswith("golive: error:")]
    assert len(error) == 1 and "Traceback" not in refused_err, refused_err
    held = re.search(r"is being advanced by (\S+) \(lease until", error[0])
    assert held is not None, error[0]
    host, pid, _started = held.group(1).rsplit(":", 2)
    assert (host, int(pid)) == (socket.gethostname(), winner)
    store = Store.open(f"sqlite:///{info.state_dir / 'rehearsal.db'}")
    try:
        (run,) = store.runs(kind="release")
        assert run.status == "succeeded"
        dispatched = [e.subject for e in store.events(run_id=run.id, kind="deploy") if e.outcome == "dispatched"]
        assert dispatched and len(dispatched) == len(set(dispatched))  # every workflow dispatched once
    finally:
        store.close()
