"""A sandbox world that outlives the runner killed in it, and starts afresh on request, for the crash-point harness.

    python crash_world.py STATE_DIR PLAN ENV SEED [FAULT]...

The sandbox daemon (``golive.sandbox.daemon``) hosts one world for its
lifetime, and starting one costs seconds of imports and provisioning: too
slow for a fresh world at every crash point. This process hosts a
``SandboxWorld`` the same way (the runner finds it through STATE_DIR's
``sandbox.json`` and drives it over HTTP, as it drives the daemon's), and
replaces it with a fresh one each time it reads ``reset`` on stdin: the old
world is stopped, moto's backends emptied, a new world (new ports, new
GitHub, new virtual clock) started and its ``sandbox.json`` written.
It prints ``READY`` once each world answers, and ends at the end of stdin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from golive.plan.validate import load_plan
from golive.sandbox.daemon import INFO_FILE, SandboxInfo
from golive.sandbox.world import SandboxWorld


def start(state_dir: Path, plan_path: Path, env: str, seed: int, faults: list[str]) -> SandboxWorld:
    world = SandboxWorld(load_plan(plan_path), env, seed_value=seed, faults=faults, follow_release=True).start()
    assert world.github_server is not None
    info = SandboxInfo(os.getpid(), world.moto.endpoint, state_dir, (),
                       {"github": world.github_server.url, "world": world.world_server.url}, world.moto.token)
    # Readable by its owner only, as the daemon writes it: it holds the world's control token.
    tmp = state_dir / (INFO_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(info.to_dict()))
    tmp.replace(state_dir / INFO_FILE)
    return world


def main(argv: list[str]) -> int:
    state_dir, plan_path, env, seed, faults = Path(argv[0]).resolve(), Path(argv[1]), argv[2], int(argv[3]), argv[4:]
    state_dir.mkdir(parents=True, exist_ok=True)
    world = start(state_dir, plan_path, env, seed, faults)
    print("READY", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() != "reset":
                continue
            world.stop()
            world.moto.reset()
            world = start(state_dir, plan_path, env, seed, faults)
            print("READY", flush=True)
    finally:
        world.stop()
        (state_dir / INFO_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
