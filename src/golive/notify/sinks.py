"""A plan's notification sinks: their secret URLs, and the message each kind of sink is sent.

A webhook URL is a credential (anyone holding a Slack incoming-webhook URL
may post to the channel), so it is read from the environment or a file when
a message is sent, and never stored, logged or put in an error message: a
failure names the sink and the HTTP status, nothing more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from golive.errors import ConfigError
from golive.plan.model import NotifySink, Plan


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
        text = self.headline() + (f"\nreason: {self.reason}" if self.reason else "")
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


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


def send(client: httpx.Client, name: str, sink: NotifySink, url: str, message: Message) -> str | None:
    """Post the message; None when the sink took it, else one line without the URL."""
    body = message.slack_body() if sink.type == "slack" else message.json_body()
    try:
        response = client.post(url, json=body, headers={"Idempotency-Key": message.key})
    except httpx.HTTPError as exc:
        return f"{name}: {type(exc).__name__}"
    if response.status_code >= 300:
        return f"{name}: HTTP {response.status_code}"
    return None


def subscribed(plan: Plan, topic: str) -> dict[str, NotifySink]:
    return {name: sink for name, sink in plan.notify.items() if topic in sink.events}
