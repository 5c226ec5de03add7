"""Kill the worker with SIGKILL at random moments, start it again, and the release still happens exactly once.

``chaos_worker.py`` drives a 30-step run whose steps append their key to a
file, guarded by a recorded intent. The test kills it ten times or more
(each time after 0-2 more effects plus a seeded random instant), then lets
it finish, and checks that every effect happened exactly once and the run
succeeded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from golive.store.store import Store

WORKER = Path(__file__).with_name("chaos_worker.py")
KEYS = [f"g{g}.l{lane}" for g in range(10) for lane in range(3)]
MIN_KILLS = 10


def start(url: str, effects: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, str(WORKER), url, str(effects)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        out, err = proc.communicate(timeout=60)
        raise AssertionError(f"worker did not start: {line}{out}{err}")
    return proc


def effects_done(effects: Path) -> int:
    return len(effects.read_text().split()) if effects.exists() else 0


def test_killed_worker_resumes_without_repeating_or_skipping(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(20260110)
    effects = tmp_path / "effects"
    Store.open(store_url).close()  # the schema exists before the first kill
    kills = 0
    progress_at_kills: list[int] = []
    while kills < MIN_KILLS:
        proc = start(store_url, effects)
        # Let it make 0-2 more effects (so every restart has work left), then kill it a random instant later:
        # inside a handler, between intent and effect, between effect and the step's completion, or in between.
        target = effects_done(effects) + rng.randint(0, 2)
        while effects_done(effects) < target and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.025))
        if proc.poll() is not None:
            break  # it finished before the kill landed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        progress_at_kills.append(effects_done(effects))
    proc = start(store_url, effects)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip() == "DONE succeeded", (out, err)
    assert "Traceback" not in err

    assert kills >= MIN_KILLS, f"the run finished after only {kills} kills: {progress_at_kills}"
    assert progress_at_kills[-1] < len(KEYS), "every kill landed after the work was done"
    counts = Counter(effects.read_text().split())
    assert counts == Counter(KEYS), {k: c for k, c in counts.items() if c != 1}

    store = Store.open(store_url)
    try:
        (run,) = store.runs("chaos")
        assert run.status == "succeeded"
        steps = store.steps(run.id)
        assert {s.status for s in steps} == {"done"}
        assert all(s.state.get("intent") is True for s in steps)
        events = store.events(run_id=run.id, kind="step")
        assert Counter(e.step_key for e in events) == Counter(KEYS)  # one completion recorded per step
    finally:
        store.close()
