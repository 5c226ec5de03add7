"""A store golive cannot use is one line and the right exit code, from a real ``golive`` process.

Each case builds the bad store the way a user meets it (a stray file passed as
``--db``, a damaged ``state.db``, a store from a newer golive, a PostgreSQL
server that is down) and runs ``golive status``: exit 2 (3 for the server
that does not answer), one ``golive: error:`` line naming the store's URL with
its password masked, no traceback. The seconds each took are printed (``-s``)
for the report, never asserted: the machine is shared.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from golive.store.store import StepSpec, Store

ROOT = Path(__file__).parents[2]
PLAN = ROOT / "src" / "golive" / "examples" / "bbws" / "golive.yaml"
GOLIVE = Path(sys.executable).with_name("golive")
T0 = datetime(2026, 1, 9, 18, 0, tzinfo=UTC)


def golive_status(tmp_path: Path, db: str) -> tuple[int, str, str, float]:
    plan = tmp_path / "golive.yaml"
    if not plan.exists():
        shutil.copy(PLAN, plan)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    started = time.monotonic()
    ran = subprocess.run([str(GOLIVE), "-f", str(plan), "--db", db, "status", "--env", "prod"], check=False,
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return ran.returncode, ran.stdout, ran.stderr, time.monotonic() - started


def filled_store(path: Path) -> None:
    """A store with some history, large enough to span many pages."""
    store = Store.open(f"sqlite:///{path}")
    try:
        for i in range(40):
            run = store.create_run("bbws", "prod", "release", "a" * 64,
                                   [StepSpec(f"s{j}", "deploy", "noop", f"step {j} " + "x" * 200, "g", "l", {})
                                    for j in range(5)], T0 + timedelta(minutes=i))
            store.set_run(run.id, T0 + timedelta(minutes=i), status="failed", reason="r" * 300, ended=True)
    finally:
        store.close()


def random_bytes(path: Path) -> str:
    path.write_bytes(random.Random(7).randbytes(8192))
    return f"sqlite:///{path}"


def text_file(path: Path) -> str:
    path.write_text("release: not a database\n", encoding="utf-8")
    return f"sqlite:///{path}"


def corrupt_early(path: Path) -> str:
    """Page 2 (the first table's root) overwritten: found as the store opens."""
    filled_store(path)
    with path.open("r+b") as f:
        f.seek(4096)
        f.write(random.Random(1).randbytes(4096))
    return f"sqlite:///{path}"


def corrupt_late(path: Path) -> str:
    """The second half of the file overwritten: found when ``status`` reads the runs."""
    filled_store(path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(random.Random(2).randbytes(size - size // 2 // 4096 * 4096))
    return f"sqlite:///{path}"


def newer_schema(path: Path) -> str:
    url = f"sqlite:///{path}"
    Store.open(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    return url


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "random bytes": (random_bytes, "is not a database"),
    "a text file": (text_file, "is not a database"),
    "corrupt, found at open": (corrupt_early, "corrupt"),
    "corrupt, found reading": (corrupt_late, "corrupt"),
    "newer schema": (newer_schema, "upgrade golive"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_sqlite_store_is_exit_2_and_one_line(tmp_path: Path, case: str) -> None:
    make, expected = CASES[case]
    url = make(tmp_path / "state.db")
    code, out, err, seconds = golive_status(tmp_path, url)
    print(f"\n{case}: exit {code} in {seconds:.2f} s: {err.strip()}")
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert err.strip().count("\n") == 0 and err.startswith("golive: error: "), err
    assert expected in err and str(tmp_path / "state.db") in err


def test_unreachable_postgres_is_exit_3_with_the_password_masked(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err, seconds = golive_status(tmp_path, f"postgresql+psycopg://golive:s3cret-pw@127.0.0.1:{port}/x")
    print(f"\nunreachable PostgreSQL: exit {code} in {seconds:.2f} s: {err.strip()}")
    assert code == 3, (out, err)
    assert "Traceback" not in out + err and err.strip().count("\n") == 0
    assert "cannot reach the store" in err and f"127.0.0.1:{port}" in err
    assert "s3cret-pw" not in out + err and "://***@127.0.0.1" in err  # the whole user part masked


def test_a_foreign_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    code, _, err, _ = golive_status(tmp_path, f"sqlite:///{path}")
    assert code == 2 and "not a golive store" in err and "customers" in err
    assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names() == ["customers"]  # untouched
