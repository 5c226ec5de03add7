"""One process at a time advances a run: the lease, on SQLite and PostgreSQL, in one process and in two.

The two-process tests run ``lease_worker.py`` as real subprocesses on the
same store and the same run, and read back which process executed each step.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from golive.errors import LeaseHeld
from golive.store.store import StepSpec, Store

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)
WORKER = Path(__file__).with_name("lease_worker.py")
EXIT_LEASE_HELD = 75


def test_acquire_and_renew_by_the_same_holder(store: Store) -> None:
    lease = store.acquire_lease("run:x", "alpha", TTL, T0)
    assert (lease.holder, lease.expires_at) == ("alpha", T0 + TTL)
    renewed = store.acquire_lease("run:x", "alpha", TTL, T0 + timedelta(seconds=30))
    assert renewed.expires_at == T0 + timedelta(seconds=90)
    stored = store.lease("run:x")
    assert stored is not None and (stored.holder, stored.expires_at) == ("alpha", T0 + timedelta(seconds=90))


def test_second_holder_gets_lease_held_naming_the_holder(store: Store) -> None:
    store.acquire_lease("run:x", "alpha", TTL, T0)
    with pytest.raises(LeaseHeld) as info:
        store.acquire_lease("run:x", "beta", TTL, T0 + timedelta(seconds=59))
    assert info.value.holder == "alpha"
    assert info.value.expires_at == T0 + TTL
    assert "alpha" in str(info.value) and "run:x" in str(info.value)
    stored = store.lease("run:x")
    assert stored is not None and stored.holder == "alpha"  # the failed attempt changed nothing
    # Another lease name is independent.
    assert store.acquire_lease("run:y", "beta", TTL, T0).holder == "beta"


def test_expiry_lets_another_take_it(store: Store) -> None:
    store.acquire_lease("run:x", "alpha", TTL, T0)
    taken = store.acquire_lease("run:x", "beta", TTL, T0 + TTL)
    assert (taken.holder, taken.expires_at) == ("beta", T0 + 2 * TTL)
    with pytest.raises(LeaseHeld) as info:
        store.acquire_lease("run:x", "alpha", TTL, T0 + TTL + timedelta(seconds=1))
    assert info.value.holder == "beta"


def test_release_only_by_the_holder(store: Store) -> None:
    store.acquire_lease("run:x", "alpha", TTL, T0)
    store.release_lease("run:x", "beta")
    assert store.lease("run:x") is not None
    store.release_lease("run:x", "alpha")
    assert store.lease("run:x") is None
    assert store.acquire_lease("run:x", "beta", TTL, T0).holder == "beta"


def test_racing_holders_never_both_win(store_url: str) -> None:
    """Two connections take a fresh lease at the same instant, many times: exactly one wins each time."""
    stores = [Store.open(store_url), Store.open(store_url)]
    try:
        for round_ in range(30):
            barrier = threading.Barrier(2)
            outcome: dict[str, str] = {}

            def take(store: Store, holder: str, name: str = f"run:{round_}") -> None:
                barrier.wait()
                try:
                    store.acquire_lease(name, holder, TTL, T0)
                    outcome[holder] = "won"
                except LeaseHeld as err:
                    outcome[holder] = f"held by {err.holder}"

            threads = [threading.Thread(target=take, args=(s, h)) for s, h in zip(stores, ("alpha", "beta"), strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            winners = [h for h, o in outcome.items() if o == "won"]
            assert len(winners) == 1, (round_, outcome)
            loser = "beta" if winners == ["alpha"] else "alpha"
            assert outcome[loser] == f"held by {winners[0]}"
            lease = stores[0].lease(f"run:{round_}")
            assert lease is not None and lease.holder == winners[0]
    finally:
        for s in stores:
            s.close()


def test_postgres_skips_a_locked_lease_row_instead_of_queueing(pg_url: str) -> None:
    """While another transaction has the lease row locked, acquiring says who holds it at once."""
    store = Store.open(pg_url)
    try:
        store.acquire_lease("run:x", "alpha", TTL, T0)
        outcome: list[BaseException | str] = []
        with store.engine.connect() as locker:
            trans = locker.begin()
            locker.execute(sa.text("SELECT * FROM leases WHERE name = 'run:x' FOR UPDATE"))

            def attempt() -> None:
                try:  # expired by then, so only the row lock stands in the way
                    outcome.append(store.acquire_lease("run:x", "beta", TTL, T0 + 2 * TTL).holder)
                except LeaseHeld as err:
                    outcome.append(err)

            thread = threading.Thread(target=attempt)
            thread.start()
            thread.join(timeout=30)  # a hang guard: SKIP LOCKED must not wait for the locker
            blocked = thread.is_alive()
            trans.rollback()
            thread.join()
        assert not blocked, "acquire_lease queued behind the row lock"
        assert len(outcome) == 1 and isinstance(outcome[0], LeaseHeld), outcome
        assert outcome[0].holder == "alpha"
    finally:
        store.close()


# -- two real processes ---------------------------------------------------------

def make_run(url: str, n: int) -> int:
    store = Store.open(url)
    try:
        steps = [StepSpec(key=f"step{i:02d}", phase="deploy", kind="work", title=f"work {i}", group="g",
                          lane="only", params={}) for i in range(n)]
        return store.create_run("leases", "prod", "release", "0" * 64, steps, datetime.now(UTC)).id
    finally:
        store.close()


class Worker:
    def __init__(self, tmp: Path, url: str, run_id: int, name: str, log: Path, go: Path, sleep: float) -> None:
        self.ready = tmp / f"{name}.ready"
        self.go = go
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, str(run_id), name, str(log), str(self.ready), str(go), str(sleep)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def wait_ready(self) -> int:
        while not self.ready.exists():
            assert self.proc.poll() is None, self.proc.communicate()
            time.sleep(0.01)
        return int(self.ready.read_text())

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, out.strip(), err


def executions(log: Path) -> list[tuple[str, int]]:
    return [(key, int(pid)) for key, pid in (line.split() for line in log.read_text().splitlines())]


def check_final(url: str, run_id: int) -> None:
    store = Store.open(url)
    try:
        assert store.get_run(run_id).status == "succeeded"
        assert {s.status for s in store.steps(run_id)} == {"done"}
        assert all(s.attempts == 1 for s in store.steps(run_id))
        assert store.lease("run:leases:prod:release") is None  # the winner let go
    finally:
        store.close()


def test_two_processes_started_together_one_advances(store_url: str, tmp_path: Path) -> None:
    n = 8
    run_id = make_run(store_url, n)
    log, go = tmp_path / "log", tmp_path / "go"
    workers = [Worker(tmp_path, store_url, run_id, name, log, go, 0.15) for name in ("w1", "w2")]
    pids = [w.wait_ready() for w in workers]
    go.touch()
    results = [w.finish() for w in workers]

    done = executions(log)
    assert sorted(key for key, _ in done) == [f"step{i:02d}" for i in range(n)]  # each step exactly once
    (winner_pid,) = {pid for _, pid in done}  # all by one process
    winner = pids.index(winner_pid)
    loser = 1 - winner
    assert results[winner][:2] == (0, "DONE succeeded"), results[winner]
    code, out, err = results[loser]
    assert "Traceback" not in err, err
    # The loser either found the lease held (the expected case) or came after the winner had finished.
    if code == EXIT_LEASE_HELD:
        assert out == f"LEASE_HELD w{winner + 1}:{winner_pid}"
    else:
        assert (code, out) == (0, "DONE succeeded"), results[loser]
    check_final(store_url, run_id)


def test_second_process_arriving_mid_run_reports_the_holder(store_url: str, tmp_path: Path) -> None:
    n = 6
    run_id = make_run(store_url, n)
    log = tmp_path / "log"
    first = Worker(tmp_path, store_url, run_id, "first", log, tmp_path / "go-first", 0.2)
    second = Worker(tmp_path, store_url, run_id, "second", log, tmp_path / "go-second", 0.2)
    first_pid, second_pid = first.wait_ready(), second.wait_ready()
    first.go.touch()
    while not log.exists() or not log.read_text():  # the first one is inside its first step: it holds the lease
        assert first.proc.poll() is None, first.proc.communicate()
        time.sleep(0.01)
    second.go.touch()
    code2, out2, err2 = second.finish()
    code1, out1, _ = first.finish()

    assert (code2, out2) == (EXIT_LEASE_HELD, f"LEASE_HELD first:{first_pid}"), err2
    assert (code1, out1) == (0, "DONE succeeded")
    done = executions(log)
    assert Counter(key for key, _ in done) == Counter(f"step{i:02d}" for i in range(n))
    assert {pid for _, pid in done} == {first_pid}
    assert second_pid not in {pid for _, pid in done}
    check_final(store_url, run_id)


START_WORKER = Path(__file__).with_name("start_worker.py")
START_TRIALS = 20


def test_simultaneous_starts_make_one_run_every_time(store_url: str, tmp_path: Path) -> None:
    """Two real processes start the same release at the same instant, 20 times: one run each time.

    Before the partial unique index (migration 0002) this made two runs in 8 of 8 trials on SQLite.
    """
    Store.open(store_url).close()  # migrated before the race, so neither worker migrates during it
    workers = [subprocess.Popen([sys.executable, str(START_WORKER), store_url, str(tmp_path), str(START_TRIALS)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for i in range(START_TRIALS):
            deadline = time.monotonic() + 120
            while len(list(tmp_path.glob(f"ready-{i}-*"))) < 2:
                assert time.monotonic() < deadline, f"workers not ready for trial {i}"
                assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
                time.sleep(0.005)
            (tmp_path / f"go-{i}").touch()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], outputs
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    store = Store.open(store_url)
    try:
        for i in range(START_TRIALS):
            answers = sorted((verb, int(run_id)) for trial, verb, run_id in lines if int(trial) == i)
            runs = store.runs(f"race-{i}", "prod", "release")
            assert len(runs) == 1, f"trial {i}: {len(runs)} runs, answers {answers}"
            assert answers == [("RESUMED", runs[0].id), ("STARTED", runs[0].id)], f"trial {i}"
            assert len(store.steps(runs[0].id)) == 3  # the loser's steps were never half-written
    finally:
        store.close()
