"""The sandbox's own HTTP server: the release's public endpoints, and the world's controls.

Two things a rehearsal needs over real HTTP on 127.0.0.1:

- the URLs the plan probes: each environment's site (``/ENV/site``, the
  React SPA's ``<div id="root">``) and APIs (``/ENV/api/NAME/health``,
  answering 401 as the real APIs do without a token, so the plan's
  ``http_ok: [200, 401, 403]`` is exercised; 503 while an ``api_down``
  fault is active for that project);
- the world's controls, for a rehearsal runner in another process:
  ``GET /_world/clock`` (virtual now), ``POST /_world/clock`` (advance to an
  instant; the world simulates what happened in between), ``POST
  /_world/anchor`` (a phase or batch started: faults anchored there can be
  placed), ``GET /_world/counts`` (workflow dispatches and Lambda publishes,
  for the chaos test's "nothing twice").

Every write (``POST``) needs the sandbox's token in the
``X-Golive-Sandbox-Token`` header, as the AWS endpoint's controls do: any
local process can read the clock, only the sandbox's owner can move it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from golive.clock import parse_instant
from golive.sandbox.moto_server import TOKEN_HEADER, token_refusal

SITE_HTML = "<!doctype html><html><head><title>BBWS</title></head><body><div id=\"root\"></div></body></html>"


class WorldControls:
    """What the server asks of the world; implemented by ``SandboxWorld``."""

    def now(self) -> datetime:
        raise NotImplementedError

    def advance_to(self, when: datetime) -> datetime:
        raise NotImplementedError

    def anchor(self, name: str, at: datetime) -> None:
        raise NotImplementedError

    def counts(self) -> dict[str, Any]:
        raise NotImplementedError

    def api_down(self, env: str, api: str) -> bool:
        raise NotImplementedError


class WorldServer:
    def __init__(self, controls: WorldControls, *, token: str, port: int = 0) -> None:
        self.controls = controls
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(controls, token))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, name="golive-world", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(controls: WorldControls, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without this each GET waits ~40 ms

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            value = json.loads(raw or b"{}")
            return value if isinstance(value, dict) else {}

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/_world/clock":
                self._send(200, json.dumps({"now": controls.now().isoformat()}))
                return
            if path == "/_world/counts":
                self._send(200, json.dumps(controls.counts()))
                return
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[1] == "site":
                self._send(200, SITE_HTML, "text/html")
                return
            if len(parts) == 4 and parts[1] == "api" and parts[3] == "health":
                if controls.api_down(parts[0], parts[2]):
                    self._send(503, json.dumps({"message": "Service Unavailable"}))
                else:
                    self._send(401, json.dumps({"message": "Unauthorized"}))
                return
            self._send(404, json.dumps({"message": "Not Found"}))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            refused = token_refusal(self.headers.get(TOKEN_HEADER), token)
            if refused is not None:
                self.close_connection = True  # the unread body must not be taken for the next request
                self._send(refused, json.dumps({"message": f"the sandbox's controls need its token in {TOKEN_HEADER}"}))
                return
            try:
                body = self._json()
                if path == "/_world/clock":
                    now = controls.advance_to(parse_instant(str(body["until"])))
                    self._send(200, json.dumps({"now": now.isoformat()}))
                elif path == "/_world/anchor":
                    controls.anchor(str(body["name"]), parse_instant(str(body["at"])))
                    self._send(200, json.dumps({"ok": True}))
                else:
                    self._send(404, json.dumps({"message": "Not Found"}))
            except (KeyError, ValueError) as exc:
                self._send(400, json.dumps({"message": str(exc)}))

    return Handler


Anchor = Callable[[str, datetime], None]
