"""Benchmark: ``golive serve`` under a login storm, huge bodies and a flood of live streams.

Issue 28's benchmark. It starts ``golive serve`` (a subprocess on 127.0.0.1, the bundled bbws plan, a
SQLite store, two users) and, one phase after another:

- logins: N clients log in as fast as they can for S seconds (right passwords, so every attempt that is
  let in costs an Argon2 hash), while a prober asks ``/api/me`` every 0.1 s;
- bodies: B clients each announce a 300 MB ``/login`` body and push up to 50 MB of it;
- streams: C clients open ``/api/stream`` at once and hold it while the prober asks ``/api/me``.

First it probes the server at rest for 5 s (the figures to compare with: on a shared machine its latency is
the machine's). For each phase it prints the server's peak RSS (sampled every 0.1 s from /proc), the answers by status and
``/api/me``'s p50/p99 latency. All traffic goes to 127.0.0.1, bounded in count and time.

    python bench/serve_load.py [--logins 50] [--seconds 20] [--bodies 10] [--streams 400] [--nice]

The issue's figures before this change, on the same kind of machine: the login storm took the server to
about 2 GB and ``/api/me`` from 0.07 s to 6.8 s; a 300 MB body took it from 320 MB to 1.55 GB; 400 streams
were all accepted.
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from golive.examples import example_path  # noqa: E402
from loopback import free_port  # noqa: E402
from serve_helpers import Served, users_file  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


PROBE = """
import sys, time, httpx
with httpx.Client(base_url=sys.argv[1], timeout=30) as client:
    while True:
        started = time.perf_counter()
        try:
            client.get('/api/me')
            print(time.perf_counter() - started, flush=True)
        except httpx.HTTPError:
            print('inf', flush=True)
        time.sleep(0.1)
"""


@contextmanager
def watching(pid: int, base: str) -> Iterator[dict[str, list[float]]]:
    """Sample the server's RSS every 0.1 s, and /api/me's latency from a process of its own (so the load's
    client threads do not slow the probe), while the block runs and a second after."""
    seen: dict[str, list[float]] = {"rss": [], "me": []}
    stop = threading.Event()
    prober = subprocess.Popen([sys.executable, "-c", PROBE, base], stdout=subprocess.PIPE, text=True)
    assert prober.stdout is not None
    first = prober.stdout.readline()  # the probe runs before the load begins

    def sample() -> None:
        while not stop.wait(0.1):
            seen["rss"].append(rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
        prober.terminate()
        out, _ = prober.communicate()
        seen["me"] = [float(line) for line in [first, *out.split()]]


def report(phase: str, seen: dict[str, list[float]], answers: collections.Counter[str], before: float) -> None:
    me = sorted(seen["me"]) or [0.0]
    p99 = me[min(len(me) - 1, int(len(me) * 0.99))]
    print(f"{phase}: RSS {before:.0f} MB before, peak {max(seen['rss'] or [0]):.0f} MB; "
          f"/api/me p50 {statistics.median(me) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms ({len(me)} probes); "
          f"answers {dict(sorted(answers.items()))}")


def in_parallel(count: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def logins(server: Served, pid: int, clients: int, seconds: float, nice: bool) -> None:
    answers: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def storm(i: int) -> None:
        if nice:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while time.monotonic() < until:
                user = ("dana", "tom")[i % 2]
                status = client.post("/login", json={"user": user, "password": f"{user}-pw"}).status_code
                with lock:
                    answers[str(status)] += 1
                if status in (429, 503):
                    time.sleep(0.05)

    before = rss_mb(pid)
    with watching(pid, server.url) as seen:
        in_parallel(clients, storm)
    report(f"logins ({clients} clients{', niced' if nice else ''}, {seconds:g} s)", seen, answers, before)


def bodies(server: Served, pid: int, clients: int) -> None:
    answers: collections.Counter[str] = collections.Counter()
    port = int(server.url.rsplit(":", 1)[1])

    def huge(_i: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {300 * 1048576}\r\n\r\n".encode())
            block = b"x" * 1048576
            try:
                for _ in range(50):
                    conn.sendall(block)
            except OSError:
                pass
            try:
                answers[conn.recv(64).decode(errors="replace")[9:12] or "closed"] += 1
            except OSError:
                answers["reset"] += 1

    before = rss_mb(pid)
    with watching(pid, server.url) as seen:
        in_parallel(clients, huge)
    report(f"bodies ({clients} x 300 MB announced, up to 50 MB pushed)", seen, answers, before)


def streams(server: Served, pid: int, clients: int) -> None:
    answers: collections.Counter[str] = collections.Counter()
    port = int(server.url.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    before = rss_mb(pid)
    with watching(pid, server.url) as seen:
        for _ in range(clients):
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            conn.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answers[conn.recv(64).decode(errors="replace")[9:12]] += 1
            held.append(conn)
        time.sleep(3)
        for conn in held:
            conn.close()
    report(f"streams ({clients} opened at once, held 3 s)", seen, answers, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--bodies", type=int, default=10)
    parser.add_argument("--streams", type=int, default=400)
    parser.add_argument("--nice", action="store_true",
                        help="run the login storm's clients at a lower priority (an attacker on another machine)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        server = Served(example_path("bbws"), f"sqlite:///{folder}/state.db", free_port(), "--users",
                        str(users_file(Path(folder))), log=Path(folder) / "serve.log", env=env).start()
        try:
            assert server.proc is not None
            pid = server.proc.pid
            before = rss_mb(pid)
            with watching(pid, server.url) as seen:
                time.sleep(5)
            report("at rest (5 s)", seen, collections.Counter(), before)
            logins(server, pid, args.logins, args.seconds, args.nice)
            bodies(server, pid, args.bodies)
            streams(server, pid, args.streams)
        finally:
            server.stop()
            errors = [line for line in (Path(folder) / "serve.log").read_text().splitlines() if "Traceback" in line]
            print(f"tracebacks in the server's log: {len(errors)}")


if __name__ == "__main__":
    main()
