"""``golive serve`` attacked over real HTTP: guessed passwords, odd and huge bodies, foreign hosts, stream floods,
forged addresses, names and text the plan does not know.

One server (``golive serve`` in a subprocess, as a user starts it) runs on a PostgreSQL schema of its own
for the module, where the issue showed NUL bytes crash a refused action's record; each test attacks it as
a client on 127.0.0.1 would, and reads what the store kept.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from golive.examples import example_path
from golive.store.store import Store
from loopback import free_port
from serve_helpers import Served, login, users_file

PLAN = example_path("bbws")
PG = os.environ.get("GOLIVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("serve_attacks")]  # one server for the module


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    folder = tmp_path_factory.mktemp("serve-attacks")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    Store.open(url).close()
    server = Served(PLAN, url, free_port(), "--users", str(users_file(folder)), "--allowed-host", "golive.example",
                    log=folder / "serve.log").start()
    try:
        yield server, url
    finally:
        server.stop()
        assert "Traceback" not in (folder / "serve.log").read_text()
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def raw(port: int, head: str, body: bytes = b"", then_send: int = 0) -> str:
    """Send a request by hand; read the status line; then go on pushing ``then_send`` bytes if the server lets us."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = conn.recv(65536).decode(errors="replace")
        block = b"x" * 1048576
        try:
            for _ in range(then_send // len(block)):
                conn.sendall(block)
        except OSError:
            pass
    return answer


def test_guessing_a_password_is_answered_429_with_retry_after_even_when_it_is_right(served: tuple[Served, str]) -> None:
    server, _ = served
    answers = [httpx.post(server.url + "/login", json={"user": "tom", "password": f"guess-{i}"}, timeout=30)
               for i in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    right = httpx.post(server.url + "/login", json={"user": "tom", "password": "tom-pw"}, timeout=30)
    assert right.status_code == 429 and "Retry-After" in right.headers
    assert "too many login attempts" in right.json()["error"]
    login(server.url, "dana", "dana-pw")  # another user's name is not slowed by tom's guesser


def test_login_takes_only_a_json_object_sent_as_json(served: tuple[Served, str]) -> None:
    server, _ = served
    form = httpx.post(server.url + "/login", content=b'{"user": "dana", "password": "dana-pw"}',
                      headers={"Content-Type": "text/plain"})
    assert form.status_code == 400 and "application/json" in form.json()["error"]
    assert "set-cookie" not in form.headers
    for body in (b'["dana", "dana-pw"]', b'"dana"', b'{"user": ["dana"], "password": "x"}', b"[" * 3000, b"{nope"):
        answer = httpx.post(server.url + "/login", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (body[:20], answer.text)


def test_a_huge_body_is_refused_before_it_is_read_and_the_server_stays_small(served: tuple[Served, str]) -> None:
    server, _ = served
    assert server.proc is not None
    port = int(server.url.rsplit(":", 1)[1])
    before = rss_mb(server.proc.pid)
    answer = raw(port, f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {300 * 1048576}", then_send=300 * 1048576)
    assert answer.startswith("HTTP/1.1 413"), answer
    chunked = raw(port, "POST /api/actions/approve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked", body=b"".join(b"8000\r\n" + b"x" * 32768 + b"\r\n" for _ in range(4)),
                  then_send=50 * 1048576)
    assert chunked.startswith("HTTP/1.1 413"), chunked
    assert rss_mb(server.proc.pid) - before < 50


def test_a_host_the_server_was_not_started_for_is_400(served: tuple[Served, str]) -> None:
    server, _ = served
    for path in ("/api/release/bbws", "/metrics", "/api/releases", "/"):
        foreign = httpx.get(server.url + path, headers={"Host": "attacker.example"})
        assert foreign.status_code == 400, path
        assert "attacker.example" in foreign.json()["error"]
    assert httpx.get(server.url + "/api/releases", headers={"Host": "golive.example:8377"}).status_code == 200
    assert httpx.get(server.url + "/api/releases", headers={"Host": "localhost"}).status_code == 200


def test_the_page_refuses_names_and_text_the_cli_refuses_and_records_each_refusal(served: tuple[Served, str]) -> None:
    server, url = served
    dana, csrf = login(server.url, "dana", "dana-pw")
    headers = {"X-CSRF-Token": csrf}
    attempts = [
        ("approve", {"gate": "go_no_go", "env": "uat", "role": "devops"}, "unknown environment 'uat'"),
        ("approve", {"gate": "go_no_go", "env": "<b>x</b>", "role": "devops"}, "unknown environment '<b>x</b>'"),
        ("approve", {"gate": "ship_it", "env": "prod", "role": "devops"}, "unknown gate 'ship_it'"),
        ("abort", {"project": "nope", "env": "prod"}, "unknown project 'nope'"),
        ("incident_open", {"severity": "P1", "title": "db\x00down", "env": "prod"}, "title: contains a NUL byte"),
        ("incident_open", {"severity": "P1", "title": "t" * 201, "env": "prod"}, "title: is 201 characters long"),
        ("approve", {"gate": "go_no_go", "env": "prod", "role": "devops", "note": "n" * 2001}, "note: is 2,001 characters"),
        ("approve", {"gate": "go_no_go", "env": "prod", "role": {"a": 1}}, "role: must be a string"),
    ]
    for action, body, error in attempts:
        answer = dana.post(f"/api/actions/{action}", json=body, headers=headers)
        assert answer.status_code == 400, (body, answer.text)
        assert error in answer.json()["error"], answer.text
    deep = dana.post("/api/actions/approve", content=b"[" * 200000, headers={**headers, "Content-Type": "application/json"})
    assert deep.status_code == 413  # 200k brackets are more than an action's body may be
    nested = dana.post("/api/actions/approve", content=b"[" * 5000, headers={**headers, "Content-Type": "application/json"})
    assert nested.status_code == 400 and "deeper than" in nested.json()["error"]
    store = Store.open(url)
    refused = [e for e in store.events(kind="web_action") if e.data["by"] == "dana"]
    store.close()
    assert [e.outcome for e in refused] == ["refused"] * len(attempts)
    assert [e.env for e in refused[:2]] == ["*", "*"], "an environment the plan lacks is not an event's environment"
    assert refused[4].data["title"] == "db\\u0000down"


def test_live_streams_are_capped_with_a_clear_refusal(served: tuple[Served, str]) -> None:
    server, _ = served
    port = int(server.url.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    try:
        for _ in range(8):
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            conn.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
            held.append(conn)
        refused = httpx.get(server.url + "/api/stream", timeout=30)
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert "8 live streams, the limit per user" in refused.json()["error"]
    finally:
        for conn in held:
            conn.close()


def test_one_huge_record_does_not_make_every_release_fetch_huge(served: tuple[Served, str]) -> None:
    server, url = served
    store = Store.open(url)
    from datetime import UTC, datetime

    store.open_incident("bbws", "prod", "P2", "T" * 2_000_000, datetime.now(UTC))  # written before titles were capped
    store.close()
    answer = httpx.get(server.url + "/api/release/bbws", timeout=30)
    assert answer.status_code == 200
    assert len(answer.content) < 200_000
    [incident] = [i for i in answer.json()["incidents"] if i["title"].startswith("TTT")]
    assert incident["title"].endswith("(1,998,000 characters not shown)")


def test_behind_a_proxy_the_address_is_the_entry_the_trusted_proxies_added(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    server = Served(PLAN, url, free_port(), "--users", str(users_file(tmp_path, token="tok-123")), "--behind-proxy",
                    "--proxy-hops", "2", log=tmp_path / "serve.log").start()
    try:
        for forwarded in ("6.6.6.6, 198.51.100.7, 203.0.113.9", "198.51.100.7, 10.0.0.2"):
            ok = httpx.post(server.url + "/api/actions/incident_open", json={"severity": "P3", "title": "x", "env": "prod"},
                            headers={"Authorization": "Bearer tok-123", "X-Forwarded-For": forwarded})
            assert ok.status_code == 200, ok.text
    finally:
        server.stop()
    store = Store.open(url)
    assert [e.data["from"] for e in store.events(kind="web_action")] == ["198.51.100.7"] * 2
    store.close()
    assert json.dumps("6.6.6.6") not in (tmp_path / "serve.log").read_text()


def test_odd_bytes_in_a_path_a_header_or_a_string_are_refused_never_a_500(served: tuple[Served, str]) -> None:
    server, url = served
    nul = httpx.get(server.url + "/api/release/bb%00ws", timeout=30)
    assert nul.status_code == 400 and "release: contains a NUL byte" in nul.json()["error"]
    dana, csrf = login(server.url, "dana", "dana-pw")
    odd = dana.post("/api/actions/approve", json={"gate": "go_no_go", "env": "prod", "role": "devops"},
                    headers={"X-CSRF-Token": "\u00e9t\u00e9".encode()})
    assert odd.status_code == 403
    surrogate = dana.post("/api/actions/incident_open", content=b'{"severity": "P1", "title": "x\\ud800", "env": "prod"}',
                          headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert surrogate.status_code == 400 and "title: contains an unpaired surrogate" in surrogate.json()["error"]
    password = httpx.post(server.url + "/login", content=b'{"user": "dana", "password": "\\udfff"}',
                          headers={"Content-Type": "application/json"})
    assert password.status_code == 400 and "password: contains an unpaired surrogate" in password.json()["error"]
    store = Store.open(url)
    assert store.events(kind="web_action")[-1].data["title"] == "x\\ud800"
    store.close()
