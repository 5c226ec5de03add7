"""The door of ``golive serve``: which ``Host`` it answers for, and how large a request body may be.

Both are decided before the application sees the request. A name the server was not started for is
refused (400), so a web page that rebinds its own DNS name to 127.0.0.1 cannot read a loopback server's
releases. A body larger than its route allows is refused (413) from its ``Content-Length`` before a byte
of it is read, and a body sent without a length is cut off as soon as it passes the limit.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port, lower case (``[::1]:80`` -> ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def allowed_hosts(listen_host: str, extra: Iterable[str]) -> frozenset[str]:
    """Loopback names always; the listening address when it is a name or a specific address; ``extra``."""
    names = set(LOOPBACK_NAMES) | {host_name(h) for h in extra if h.strip()}
    try:
        if not ipaddress.ip_address(listen_host).is_unspecified:
            names.add(listen_host.lower())
    except ValueError:
        names.add(listen_host.lower())
    return frozenset(names)


class Guard:
    """ASGI middleware: refuse foreign hosts and over-large bodies, for every HTTP route."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str], body_limit: Callable[[str], int]) -> None:
        self.app, self.hosts, self.body_limit = app, hosts, body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        name = host_name(headers.get("host", ""))
        if name not in self.hosts:
            shown = json.dumps(name[:100])
            await _answer(send, 400, f"Host {shown} is not a name this server answers for "
                                     "(start it with --allowed-host NAME)")
            return
        limit = self.body_limit(scope["path"])
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _answer(send, 413, f"the body is larger than this route takes ({limit:,} bytes)")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending its body
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _answer(send, 413, f"the body is larger than this route takes ({limit:,} bytes)")
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
