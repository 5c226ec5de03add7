"""The ``http`` check against a real HTTP server on 127.0.0.1, and the ``command`` check with real subprocesses."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from golive.checks import command, http
from golive.checks.base import CheckContext, CheckResult, Status
from golive.redact import Redactor

SLOW_S = 0.3


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes: dict[str, tuple[int, str]] = {
            "/products/health": (200, '{"status": "healthy", "service": "products"}'),
            "/orders/health": (401, '{"message": "Unauthorized"}'),
            "/campaigns/health": (503, "upstream unavailable"),
            "/": (200, '<html><div id="root"></div></html>'),
        }
        if self.path == "/slow":
            time.sleep(SLOW_S)
            status, body = 200, "late but fine"
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/products/health")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            status, body = routes.get(self.path, (404, "not found"))
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow route's client gave up on purpose (the latency-budget test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def ctx(server: str) -> Iterator[CheckContext]:
    client = httpx.Client(timeout=5.0)
    try:
        yield CheckContext(
            env="prod",
            http=client,
            variables={"api_base": server, "env": "prod"},
            http_ok=frozenset({200, 401, 403}),
            redact=Redactor(["s3cr3t-deploy-token"]),
        )
    finally:
        client.close()


def run_http(ctx: CheckContext, raw: Any) -> CheckResult:
    params = http.HttpParams.model_validate(raw)
    assert http.describe(params)
    return http.run(ctx, params)


def run_command(ctx: CheckContext, raw: Any) -> CheckResult:
    params = command.CommandParams.model_validate(raw)
    assert command.describe(params)
    return command.run(ctx, params)


# --- http ------------------------------------------------------------------------------------------------------------


def test_health_200_passes_with_evidence(ctx: CheckContext, server: str) -> None:
    result = run_http(ctx, "{api_base}/products/health")
    assert result.status is Status.PASS
    assert result.target == f"{server}/products/health"
    assert result.evidence[0].asked == f"GET {server}/products/health"
    assert result.evidence[0].answered["status"] == 200
    assert "healthy" in result.evidence[0].answered["body"]


def test_401_counts_as_up_when_in_the_set_503_is_down(ctx: CheckContext) -> None:
    assert run_http(ctx, "{api_base}/orders/health").status is Status.PASS  # the plan's http_ok
    only_200 = run_http(ctx, {"url": "{api_base}/orders/health", "status": [200]})
    assert only_200.status is Status.FAIL
    assert "status 401, allowed [200]" in only_200.summary
    down = run_http(ctx, {"url": "{api_base}/campaigns/health", "status": [200, 401, 403]})
    assert down.status is Status.FAIL
    assert "status 503" in down.summary
    assert down.evidence[0].answered["body"] == "upstream unavailable"


def test_slow_answer_over_budget_fails_naming_the_budget(ctx: CheckContext) -> None:
    result = run_http(ctx, {"url": "{api_base}/slow", "max_latency": "100ms"})
    assert result.status is Status.FAIL
    assert "budget 100ms" in result.summary
    assert result.evidence[0].answered["latency_ms"] >= SLOW_S * 1000
    assert run_http(ctx, {"url": "{api_base}/slow", "max_latency": "30s"}).status is Status.PASS


def test_timeout_is_no_answer(ctx: CheckContext) -> None:
    result = run_http(ctx, {"url": "{api_base}/slow", "timeout": "50ms"})
    assert result.status is Status.FAIL
    assert "no answer (timed out" in result.summary


def test_body_text_required(ctx: CheckContext) -> None:
    assert run_http(ctx, {"url": "{api_base}/", "status": [200], "contains": '<div id="root">'}).status is Status.PASS
    missing = run_http(ctx, {"url": "{api_base}/products/health", "contains": "<div id=\"root\">"})
    assert missing.status is Status.FAIL
    assert "body does not contain" in missing.summary
    assert missing.evidence[0].answered["text_found"] is False


def test_redirects_are_not_followed_unless_told(ctx: CheckContext) -> None:
    moved = run_http(ctx, "{api_base}/moved")
    assert moved.status is Status.FAIL
    assert moved.evidence[0].answered["status"] == 302
    assert moved.evidence[0].answered["location"] == "/products/health"
    assert run_http(ctx, {"url": "{api_base}/moved", "follow_redirects": True}).status is Status.PASS


def test_connection_refused_is_a_failure_with_the_error(ctx: CheckContext) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/health"
        result = run_http(ctx, url)
    assert result.status is Status.FAIL
    assert result.evidence[0].answered["status"] is None
    assert "ConnectError" in result.evidence[0].answered["error"]


def test_http_params_validate() -> None:
    params = http.HttpParams.model_validate({"url": "x", "max_latency": "2s", "timeout": 3})
    assert params.max_latency is not None and params.max_latency.total_seconds() == 2
    assert params.timeout is not None and params.timeout.total_seconds() == 3
    with pytest.raises(ValidationError):
        http.HttpParams.model_validate({"url": "x", "max_latency": "two seconds"})
    with pytest.raises(ValidationError):
        http.HttpParams.model_validate({"url": "x", "status": []})
    with pytest.raises(ValidationError):
        http.HttpParams.model_validate({"url": "x", "method": "POST"})


# --- command ---------------------------------------------------------------------------------------------------------


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_exit_0_passes_and_keeps_output(ctx: CheckContext, tmp_path: Path) -> None:
    script(tmp_path, "smoke_test_products.sh", 'echo "smoke tests for $1: 14 passed"\n')
    result = run_command(ctx, {"argv": ["./smoke_test_products.sh", "{env}"], "cwd": str(tmp_path), "timeout": "30s"})
    assert result.status is Status.PASS
    assert result.target == "./smoke_test_products.sh prod"
    assert result.evidence[0].answered["exit_code"] == 0
    assert result.evidence[0].answered["stdout"] == "smoke tests for prod: 14 passed\n"


def test_exit_1_fails_with_its_output(ctx: CheckContext, tmp_path: Path) -> None:
    path = script(tmp_path, "smoke.sh", 'echo "GET /orders: ok"\necho "POST /orders: expected 401, got 500" >&2\nexit 1\n')
    result = run_command(ctx, [str(path), "prod"])
    assert result.status is Status.FAIL
    assert result.summary == f"{path} prod: exit 1: POST /orders: expected 401, got 500"
    answered = result.evidence[0].answered
    assert answered["stdout"] == "GET /orders: ok\n"
    assert "expected 401, got 500" in answered["stderr"]


def test_timeout_fails_naming_it(ctx: CheckContext, tmp_path: Path) -> None:
    path = script(tmp_path, "hang.sh", "echo started\nsleep 30\necho never\n")
    result = run_command(ctx, {"argv": [str(path)], "timeout": "500ms"})
    assert result.status is Status.FAIL
    assert result.summary == f"{path}: timed out after 500ms (killed)"
    assert result.evidence[0].answered["timed_out"] is True
    assert result.evidence[0].answered["stdout"] == "started\n"


def test_missing_binary_is_an_error(ctx: CheckContext, tmp_path: Path) -> None:
    result = run_command(ctx, [str(tmp_path / "smoke_test_nothing.sh"), "prod"])
    assert result.status is Status.ERROR
    assert "not found" in result.summary


def test_secrets_in_output_are_redacted(ctx: CheckContext, tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    path = script(tmp_path, "leaky.sh", f'echo "using token {token}"\necho "deploy key s3cr3t-deploy-token" >&2\nexit 2\n')
    result = run_command(ctx, [str(path), "s3cr3t-deploy-token"])
    text = json.dumps(result.to_dict())
    assert result.status is Status.FAIL
    assert token not in text
    assert "s3cr3t-deploy-token" not in text
    assert "using token ***" in result.evidence[0].answered["stdout"]


def test_long_output_keeps_its_end(ctx: CheckContext, tmp_path: Path) -> None:
    loop = 'i=0\nwhile [ $i -lt 2000 ]; do echo "line $i of noise"; i=$((i+1)); done\n'
    path = script(tmp_path, "noisy.sh", loop + 'echo "FINAL: 3 failed"\nexit 1\n')
    result = run_command(ctx, [str(path)])
    stdout = result.evidence[0].answered["stdout"]
    assert stdout.startswith("[… ")
    assert stdout.endswith("FINAL: 3 failed\n")
    assert len(stdout) < command.OUTPUT_TAIL + 100
    assert result.summary.endswith("exit 1: FINAL: 3 failed")


def test_command_params_validate() -> None:
    assert command.CommandParams.model_validate(["a", "b"]).timeout.total_seconds() == 300
    assert command.CommandParams.model_validate({"argv": ["a"], "timeout": "5m"}).timeout.total_seconds() == 300
    with pytest.raises(ValidationError):
        command.CommandParams.model_validate({"argv": []})
    with pytest.raises(ValidationError):
        command.CommandParams.model_validate("./smoke.sh prod")  # a shell string is refused: argv only

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("checks_http_command")
