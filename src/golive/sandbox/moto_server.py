"""The sandbox's AWS endpoint: moto's WSGI app served on a free loopback port, with an off switch.

golive must run its real boto3 code path against the sandbox, so moto is
reached only over HTTP. The server runs in the current process (a thread per
connection, kept alive across requests: HTTP/1.1 with ``Content-Length``),
with the percentile-capable CloudWatch backend installed first
(``golive.sandbox.percentiles``), API Gateway's canary settings (``golive.sandbox.moto_apigw``) and
CloudFront's continuous deployment (``golive.sandbox.cloudfront_cd``).

The ``aws_down`` fault needs AWS to *stop answering*, not to answer 5xx: while
the switch is on, every request's connection is reset before a byte of
answer is written (SO_LINGER 0, then close), including requests on kept-alive
connections, so botocore sees a connection error and golive's ``Aws`` raises
``AwsUnreachable``. moto's state is untouched, so switching back restores the
same world. A detached sandbox is switched over HTTP on the sandbox's own paths, which
are never refused: ``POST /_golive/aws_down`` with body ``on`` or ``off``.

Controls are not for any local process: flipping ``aws_down`` and every
request to moto's own ``/moto-api/`` (reset, state dumps, seeding) need the
sandbox's token in the ``X-Golive-Sandbox-Token`` header (401 without it,
403 with a wrong one). The token is made when the server starts and printed
with the sandbox's export lines (``GOLIVE_SANDBOX_TOKEN``).

``POST /_golive/metrics`` is the other sandbox-only path: the Lambda
emulation (the traffic simulator) stores AWS/Lambda datapoints there in
bulk, as the Lambda service writes its metrics to CloudWatch internally
rather than through PutMetricData. It keeps working while ``aws_down`` is on:
Lambda still runs when golive cannot reach the API.

moto keeps its state in module globals, so every ``SandboxServer`` in one
process serves the same AWS (accounts and regions keep resources apart).
"""

from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from golive.sandbox import cloudfront_cd, moto_apigw, percentiles
from golive.sandbox.blocks import decode

CONTROL_PREFIX = "/_golive/"
CONTROL_PATH = "/_golive/aws_down"
INGEST_PATH = "/_golive/metrics"
MOTO_API_PREFIX = "/moto-api/"
TOKEN_HEADER = "X-Golive-Sandbox-Token"  # noqa: S105  (a header's name)
TOKEN_ENV = "GOLIVE_SANDBOX_TOKEN"  # noqa: S105  (a variable's name)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_refusal(sent: str | None, token: str) -> int | None:
    """None when ``sent`` is the sandbox's token; else the status to answer (401 none sent, 403 a wrong one)."""
    if not sent:
        return 401
    return None if hmac.compare_digest(sent.encode(), token.encode()) else 403

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DownSwitch:
    """Whether the endpoint refuses every request (the ``aws_down`` fault)."""

    def __init__(self) -> None:
        self._down = threading.Event()

    @property
    def down(self) -> bool:
        return self._down.is_set()

    def set(self, down: bool) -> None:
        if down:
            self._down.set()
        else:
            self._down.clear()


def _ingest(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    from moto.cloudwatch.models import cloudwatch_backends

    length = int(environ.get("CONTENT_LENGTH") or 0)
    header, blocks = decode(environ["wsgi.input"].read(length))
    backend = cloudwatch_backends[str(header["account"])][str(header["region"])]
    if not isinstance(backend, percentiles.PercentileCloudWatchBackend):
        start_response("409 Conflict", [("Content-Type", "text/plain")])
        return [b"percentile backend not installed\n"]
    stored = backend.ingest(str(header["namespace"]), blocks)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"stored": stored}).encode()]


def _control_app(inner: WsgiApp, switch: DownSwitch, token: str) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        method = environ.get("REQUEST_METHOD")
        if path == INGEST_PATH and method == "POST":
            return _ingest(environ, start_response)
        guarded = path.startswith(MOTO_API_PREFIX) or (path == CONTROL_PATH and method != "GET")
        if guarded:
            refused = token_refusal(environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_")), token)
            if refused is not None:
                start_response("401 Unauthorized" if refused == 401 else "403 Forbidden",
                               [("Content-Type", "text/plain")])
                return [f"the sandbox's controls need its token in the {TOKEN_HEADER} header\n".encode()]
        if path != CONTROL_PATH:
            return inner(environ, start_response)
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode().strip().lower() if length else ""
            if body not in ("on", "off"):
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"body must be 'on' or 'off'\n"]
            switch.set(body == "on")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"on\n" if switch.down else b"off\n"]

    return app


IDLE_TIMEOUT_S = 30.0
_FRAMING = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def _answer(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: its status, headers and whole body (500 if it raises)."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return written.append

    try:
        result = app(environ, start_response)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:  # what werkzeug does too: the client gets a 500, the server goes on
        return "500 Internal Server Error", [("Content-Type", "text/plain")], b"internal server error\n"
    if not started:
        return "500 Internal Server Error", [("Content-Type", "text/plain")], b"no response\n"
    return str(started[0]), list(started[1]), b"".join(written)


def _dispatcher(create_app: Callable[[Any], Any]) -> Any:
    """moto's dispatcher, with the backend each host names remembered.

    moto's ``get_backend_for_host`` lists moto's package folder (``os.listdir`` and an ``isdir`` for each of
    some 200 entries) on every request, under one lock shared by every server thread; which backend a host
    names never changes, so the answer is kept.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self, create: Callable[[Any], Any]) -> None:
            super().__init__(create)
            self._backends: dict[str, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None:
                return None
            known = self._backends.get(host)
            if known is None:
                known = super().get_backend_for_host(host)
                if known is not None:
                    self._backends[host] = known
            return known

    return Dispatcher(create_app)


def _handler_class(switch: DownSwitch) -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        # werkzeug's own run_wsgi answers ``Connection: close`` to every request, so each boto3 call would
        # open a TCP connection and a server thread; run_wsgi below keeps the connection for the next request.
        protocol_version = "HTTP/1.1"
        # A kept connection meets Nagle's algorithm: headers and body are two writes, and the body would wait
        # for the client's delayed ACK (40 ms on Linux) on every call.
        disable_nagle_algorithm = True
        timeout = IDLE_TIMEOUT_S

        def run_wsgi(self) -> None:
            if self.headers.get("Transfer-Encoding") or self.headers.get("Expect"):
                super().run_wsgi()  # chunked or 100-continue bodies: werkzeug's path, which closes the connection
                return
            environ = self.make_environ()
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
            status, headers, body = _answer(self.server.app, environ)
            code, _, message = status.partition(" ")
            self.send_response(int(code), message)
            for name, value in headers:
                if name.lower() not in _FRAMING:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if environ["REQUEST_METHOD"] != "HEAD":
                self.wfile.write(body)

        def parse_request(self) -> bool:
            ok = bool(super().parse_request())
            if ok and switch.down and not str(self.path).startswith(CONTROL_PREFIX):
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass
                return False
            return ok

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

        def log_error(self, format: str, *args: Any) -> None:
            return None

    return Handler


class SandboxServer:
    """moto over HTTP on 127.0.0.1; ``start()`` returns the endpoint URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None) -> None:
        self._host = host
        self._port = port
        self.token = token or new_token()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.switch = DownSwitch()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("SandboxServer is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        if self._server is not None:
            return self.endpoint
        from moto.moto_server.werkzeug_app import create_backend_app

        # The sandbox launches no instance: moto's catalogue of public AMIs, loaded into every EC2 region a
        # request reaches, is time spent for nothing (an explicit setting is kept).
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        percentiles.install()
        moto_apigw.install()
        cloudfront_cd.install()
        app = _control_app(_dispatcher(create_backend_app), self.switch, self.token)
        server = make_server(self._host, self._port, app, threaded=True, request_handler=_handler_class(self.switch))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="golive-sandbox-aws", daemon=True)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def down(self) -> bool:
        return self.switch.down

    def set_down(self, down: bool) -> None:
        """Make the endpoint stop answering (True) or answer again with its state intact (False)."""
        self.switch.set(down)

    def reset(self) -> None:
        """Empty every moto backend of this process (what ``/moto-api/reset`` does)."""
        from moto.core.base_backend import BackendDict

        BackendDict.reset()


def set_remote_down(endpoint: str, down: bool, *, token: str, timeout: float = 5.0) -> None:
    """Flip the ``aws_down`` switch of a sandbox running in another process."""
    import httpx

    response = httpx.post(f"{endpoint.rstrip('/')}{CONTROL_PATH}", content="on" if down else "off", timeout=timeout,
                          headers={TOKEN_HEADER: token})
    response.raise_for_status()
