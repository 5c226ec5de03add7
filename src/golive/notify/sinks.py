"""A plan's notification sinks: their secret URLs, and the message each kind of sink is sent.

A webhook URL is a credential (anyone holding a Slack incoming-webhook URL
may post to the channel), so it is read from the environment or a file when
a message is sent, and never stored, logged or put in an error message: a
failure names the sink and what went wrong (the HTTP status, a timeout, a
refused address), nothing more.

One attempt has a total deadline, whatever the sink does: a watchdog shuts
the socket down when it passes, so a sink that trickles its answer one byte
at a time cannot hold the caller. The answer's body is never read (its
status is all golive needs), so a huge answer costs nothing. Text sent to
Slack is escaped for its mrkdwn (``&``, ``<``, ``>``): a release or an
incident titled ``<!channel>`` is shown as written, never a mention or a link.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from golive.errors import ConfigError
from golive.notify.destinations import DestinationRefused, Destinations
from golive.plan.model import NotifySink, Plan

DEADLINE = 10.0  # seconds for one attempt at one sink: connect, send, and the answer's status line and headers


@dataclass(frozen=True)
class Message:
    """One event, as every sink is told it."""

    key: str  # the idempotency key: the same for every attempt at this event
    topic: str
    release: str
    env: str
    kind: str
    subject: str
    outcome: str | None
    at: str
    reason: str | None
    data: dict[str, Any]

    def headline(self) -> str:
        verb = {"gate": f"gate {self.subject}: {self.outcome}", "checkpoint_failed": f"checkpoint failed: {self.subject}",
                "canary_step": f"canary {self.subject}: paused at {self.data.get('weight', '?')}%, waiting for golive "
                               f"promote --why or abort until {self.data.get('until')}" if self.data.get("choice") == "pause"
                else f"canary {self.subject}: {self.outcome} to {self.data.get('weight', '?')}%",
                "rollback": f"rollback of {self.subject} ({self.outcome})",
                "release_done": f"{self.subject} succeeded", "release_failed": f"{self.subject} {self.outcome}"}
        return f"golive {self.release} {self.env}: {verb.get(self.topic, self.subject)}"

    def json_body(self) -> dict[str, Any]:
        return {"id": self.key, "topic": self.topic, "release": self.release, "env": self.env, "kind": self.kind,
                "subject": self.subject, "outcome": self.outcome, "at": self.at, "reason": self.reason,
                "data": self.data}

    def slack_body(self) -> dict[str, Any]:
        text = slack_escape(self.headline() + (f"\nreason: {self.reason}" if self.reason else ""))
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def slack_escape(text: str) -> str:
    """Text Slack shows as written: its mrkdwn reads ``<...>`` as links and mentions, ``&`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sink_url(name: str, sink: NotifySink, plan_dir: Path) -> str:
    if sink.url_env is not None:
        url = os.environ.get(sink.url_env, "").strip()
        if not url:
            raise ConfigError(f"notify sink '{name}': environment variable {sink.url_env} is not set")
        return url
    path = plan_dir / str(sink.url_file)
    try:
        url = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"notify sink '{name}': cannot read its URL file {path}: {exc.strerror}") from None
    if not url:
        raise ConfigError(f"notify sink '{name}': its URL file {path} is empty")
    return url


def send(client: httpx.Client, name: str, sink: NotifySink, url: str, message: Message, *,
         deadline: float = DEADLINE, destinations: Destinations | None = None) -> str | None:
    """Post the message; None when the sink took it (2xx), else one line without the URL. Never raises."""
    body = message.slack_body() if sink.type == "slack" else message.json_body()
    try:
        policy = destinations if destinations is not None else Destinations.from_environment()
    except ConfigError as exc:
        return f"{name}: {exc}"
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return f"{name}: its URL is not a valid URL"
    if target.scheme not in ("http", "https") or not target.host:
        return f"{name}: its URL must be http:// or https:// with a host"
    try:
        policy.check(target.host)  # an address in the URL is judged before any proxy is asked to reach it
    except ValueError:
        pass  # a name: judged on the address the connection reaches
    except DestinationRefused as exc:
        return f"{name}: refused to send: {exc}"
    watchdog = _Watchdog(policy)
    timer = threading.Timer(deadline, watchdog.expire)
    timer.daemon = True
    timer.start()
    try:
        with client.stream("POST", target, json=body, timeout=deadline,
                           headers={"Idempotency-Key": message.key, "Connection": "close"},
                           extensions={"trace": watchdog.trace}) as response:
            status = response.status_code  # the body is never read: closing drops the connection
    except DestinationRefused as exc:
        return f"{name}: refused to send: {exc}"
    except Exception as exc:  # one sink's failure, of any kind, is that sink's and never its caller's
        if watchdog.expired:
            return f"{name}: no answer within {deadline:g} s"
        return f"{name}: {type(exc).__name__}"
    finally:
        timer.cancel()
    if watchdog.expired:
        return f"{name}: no answer within {deadline:g} s"
    if not 200 <= status < 300:
        return f"{name}: HTTP {status}"
    return None


class _Watchdog:
    """Follows one attempt's connection: judges the address it reached, and cuts it at the deadline."""

    def __init__(self, policy: Destinations) -> None:
        self.policy = policy
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _cut(sock)
        try:
            self.policy.check(str(sock.getpeername()[0]))
        except DestinationRefused:
            _cut(sock)
            raise

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def subscribed(plan: Plan, topic: str) -> dict[str, NotifySink]:
    return {name: sink for name, sink in plan.notify.items() if topic in sink.events}
