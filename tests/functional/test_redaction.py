"""Credentials inside URLs never reach output or the store; a response body in a reason is one short line.

The real console script runs a preflight whose every outside system is
addressed through a URL holding a password: the AWS endpoint
(``AWS_ENDPOINT_URL``, nothing listens there), the GitHub API
(``GOLIVE_GITHUB_API``, nothing listens there) and a health URL served by a
real HTTP server on 127.0.0.1 that answers 503 with a page of HTML. Then
the output and every byte of the store are searched for the passwords.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from golive.redact import MASK, Redactor, body_line, scrub

GOLIVE = Path(sys.executable).with_name("golive")
PASSWORDS = ("awsPa55word", "ghPa55word", "healthPa55word", "hookPa55word")
ERROR_PAGE = ("<!DOCTYPE html><html><head><style>body{font:12px}</style><title>503 Service Temporarily Unavailable"
              "</title></head><body><h1>Service Temporarily Unavailable</h1><p>" + "The upstream is overloaded. " * 40
              + "</p></body></html>")


class _Down(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = ERROR_PAGE.encode()
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def down_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_url_credentials_are_masked_in_output_and_store(tmp_path: Path, down_server: str) -> None:
    plan = f"""\
release: masked
version: v1
environments:
  prod: {{account: "123456789012", region: eu-west-1, api_base: "http://probe:healthPa55word@{down_server}"}}
projects:
  a:
    repo: owner/a
    deploy: {{github_workflow: deploy.yml}}
batches:
  - {{name: one, projects: [a]}}
preflight:
  - aws_account
  - github_workflow
  - http: "{{api_base}}/health"
  - command: [echo, "https://hooks.slack.com/services/T01/B02/hookPa55word"]
"""
    (tmp_path / "golive.yaml").write_text(plan)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_", "GITHUB_", "GH_"))}
    env.update(AWS_ENDPOINT_URL=f"http://admin:awsPa55word@127.0.0.1:{_closed_port()}",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_MAX_ATTEMPTS="1", GOLIVE_GITHUB_API=f"http://bot:ghPa55word@127.0.0.1:{_closed_port()}",
               GITHUB_TOKEN="ghp_" + "a" * 36)
    runs = [subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=300, check=False)
            for args in (["preflight", "--env", "prod"], ["--json", "preflight", "--env", "prod"],
                         ["report"], ["report", "--format", "html"], ["plan", "--env", "prod"],
                         ["--json", "plan", "--env", "prod"])]
    output = "".join(r.stdout + r.stderr for r in runs)
    assert runs[0].returncode != 0, output
    assert "Traceback" not in output, output
    stored = b"".join(bytes(str(row), "utf-8") for row in _dump(tmp_path / ".golive" / "state.db"))
    assert b"masked" in stored, "the preflight left nothing in the store"
    for password in PASSWORDS:
        assert password not in output, f"{password} printed:\n{output}"
        at = stored.find(password.encode())
        assert at < 0, f"{password} stored: {stored[max(0, at - 300):at + 40]!r}"
    assert f"http://{MASK}@{down_server}/health" in output, output
    results = json.loads(runs[1].stdout)["results"]
    http_summary = next(r["summary"] for r in results if r["check"] == "http")
    assert "503 Service Temporarily Unavailable" in http_summary
    assert "<" not in http_summary and "upstream is overloaded" not in http_summary


def _dump(db: Path) -> Iterator[tuple[Any, ...]]:
    """Every row; of the steps, all but ``params``: the plan's own URL, which the step needs to run (not yet masked)."""
    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("select name from sqlite_master where type='table'").fetchall():
            columns = [row[1] for row in conn.execute(f'pragma table_info("{table}")')]
            shown = [f'"{c}"' for c in columns if not (table == "steps" and c == "params")]
            yield from conn.execute(f'select {", ".join(shown)} from "{table}"')


@pytest.mark.parametrize(("text", "masked"), [
    ("http://user:pass@host:5000/x", f"http://{MASK}@host:5000/x"),
    ("postgresql://postgres:pw@127.0.0.1/test", f"postgresql://{MASK}@127.0.0.1/test"),
    ("https://ghp_token@github.com/o/r.git", f"https://{MASK}@github.com/o/r.git"),
    ("https://x.io/hook?a=1&token=abc123&b=2", f"https://x.io/hook?a=1&token={MASK}&b=2"),
    ("https://hooks.slack.com/services/T1/B2/xyz done", f"https://hooks.slack.com/services/{MASK} done"),
    ("http://127.0.0.1:8080/health?page=2", "http://127.0.0.1:8080/health?page=2"),
    ("mail ops@example.com at http://host/a@b", "mail ops@example.com at http://host/a@b"),
])
def test_url_shapes(text: str, masked: str) -> None:
    assert scrub(text) == masked
    assert Redactor(["unrelated"])(text) == masked


def test_body_line_is_one_line_of_at_most_200_characters_cut_on_a_word() -> None:
    assert body_line(503, ERROR_PAGE, "Service Unavailable") == \
        "503 Service Unavailable: 503 Service Temporarily Unavailable"
    untitled = ERROR_PAGE.replace("<title>503 Service Temporarily Unavailable</title>", "")
    line = body_line(502, untitled, "Bad Gateway")
    assert line.startswith("502 Bad Gateway: Service Temporarily Unavailable The upstream is overloaded.")
    assert len(line) <= 200 and "\n" not in line and "<" not in line and "font" not in line
    assert line.endswith("…") and line[:-1].endswith(("overloaded", "The", "upstream", "is"))
    assert body_line(None, '{"message": "Bad credentials"}\n') == '{"message": "Bad credentials"}'
    assert body_line(500, "", "Internal Server Error") == "500 Internal Server Error"
