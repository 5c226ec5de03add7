"""What a signed-in person may do from the page: record intent, through the functions the CLI calls.

No action touches AWS or GitHub: an approval, a sign-off, an incident, an
abort or a promote is written to the store, and the engine (a worker, a
``golive run``) acts on it on its next pass, exactly as if typed in a
terminal. An approval for a role is only taken from a user who holds that
role. Every field is checked at the door (``golive.textinput``: no control
characters, titles 200 and notes 2,000 characters) and every name (the
environment, project, gate, role) against the plan, as the CLI checks them.
Every action, taken or refused, is recorded with who and from where; a
refused field is recorded with its control characters spelled out and its
length cut, so the refusal itself can always be stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from golive.clock import Clock
from golive.engine.context import Services
from golive.errors import UnknownNameError, UsageError
from golive.evidence.runs import WebAction
from golive.plan.model import Plan
from golive.runs.incidents import IncidentInput, open_incident, resolve_incident
from golive.serve.auth import User
from golive.steps.gate import record_approval
from golive.steps.rollback import operator
from golive.steps.terraform_gate import record_plan_approval
from golive.store.store import Store
from golive.textinput import TextRefused, check_note, check_title

NOTES = ("note", "why")  # free text: line breaks allowed, NOTE_MAX characters; every other field is a one-line title
FIELDS = ("gate", "role", "project", "why", "note", "severity", "title", "incident", "env", "scope")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

ACTIONS = ("approve", "signoff", "abort", "promote", "incident_open", "incident_resolve")


class Forbidden(UsageError):
    """The user is signed in but does not hold the role the action needs."""


@dataclass(frozen=True)
class Actor:
    user: User
    source: str  # the client address (and the proxy's forwarded-for, when trusted)


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise UsageError(f"the action needs '{key}'")
        return None
    return str(value)


def perform(store: Store, plan: Plan, clock: Clock, actor: Actor, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """Do one action; raises Forbidden or UsageError (recorded as refused) when it cannot be taken."""
    env = body.get("env") or "prod"
    known_env = env if isinstance(env, str) and env in plan.environments else "*"
    try:
        if action not in ACTIONS:
            raise UsageError(f"unknown action '{_printable(action)}' (actions: {', '.join(ACTIONS)})")
        _check_fields(body)
        if known_env == "*" and action != "incident_resolve":
            raise UnknownNameError("environment", str(env), list(plan.environments))
        result = _perform(store, plan, clock, actor, action, str(env), body)
    except UsageError as exc:
        _record(store, plan, clock, actor, action, known_env, "refused", {"why": _printable(str(exc)), **_safe(body)})
        raise
    _record(store, plan, clock, actor, action, known_env, "recorded", {**result, **_safe(body)})
    return result


def _check_fields(body: dict[str, Any]) -> None:
    for key in FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise UsageError(f"{key}: must be a string")
        (check_note if key in NOTES else check_title)(key, encodable(key, str(value)))


def encodable(field: str, value: str) -> str:
    """``value`` unchanged if it is text UTF-8 can hold; JSON's ``"\\ud800"`` (a lone surrogate) is not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TextRefused(field, f"contains an unpaired surrogate at character {exc.start + 1}; "
                                 "send text as UTF-8") from None
    return value


def _perform(store: Store, plan: Plan, clock: Clock, actor: Actor, action: str, env: str,
             body: dict[str, Any]) -> dict[str, Any]:
    user = actor.user
    if action in ("approve", "signoff"):
        gate = "signoff" if action == "signoff" else str(_text(body, "gate"))
        role = _text(body, "role")
        if role not in user.roles:
            raise Forbidden(f"{user.name} does not hold the role '{role}' (holds: {', '.join(sorted(user.roles)) or 'none'})")
        sha = _text(body, "plan_sha", required=False) if action == "approve" else None
        if sha:
            # A Terraform plan's approval: of its hash, by its approver's role (as golive approve --plan-sha).
            approved = record_plan_approval(store, plan, gate, env, user.name, role, sha,
                                            _text(body, "note", required=False), clock.now())
            return {"gate": gate, "role": role, "plan_sha": approved.sha256, "project": approved.subject}
        approval = record_approval(store, plan, gate, env, user.name, role, _text(body, "note", required=False),
                                   clock.now())
        return {"approval": approval, "gate": gate, "role": role}
    if action in ("abort", "promote"):
        services = Services(plan=plan, store=store, clock=clock)
        event = operator(services, env, str(_text(body, "project")), action, user.name,
                         _text(body, "why", required=action == "promote"))
        return {"event": event}
    if action == "incident_open":
        try:
            incident = IncidentInput.model_validate({"severity": _text(body, "severity"), "title": _text(body, "title"),
                                                     "env": _text(body, "env", required=False),
                                                     "scope": _text(body, "scope", required=False),
                                                     "source": "golive serve"})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise UsageError(f"incident: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        return {"incident": open_incident(store, plan, incident, clock.now(), user.name)}
    raw = _text(body, "incident")
    if raw is None or not (raw.isascii() and raw.isdigit()):
        raise UsageError("incident_resolve needs the incident number")
    resolved = resolve_incident(store, plan, int(raw), clock.now())
    return {"incident": resolved.id}


def _safe(body: dict[str, Any]) -> dict[str, Any]:
    return {k: _printable(str(v)) for k, v in body.items() if k in FIELDS}


def _printable(text: str, limit: int = 500) -> str:
    """Text that can always be stored and shown: control characters spelled out, cut to ``limit``."""
    cut = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate spelled out too
    shown = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", cut)
    return shown if len(text) <= limit else shown + "…"


def _record(store: Store, plan: Plan, clock: Clock, actor: Actor, action: str, env: str, outcome: str,
            data: dict[str, Any]) -> None:
    record = WebAction(subject=_printable(action, 100), outcome=outcome, by=actor.user.name, source=actor.source,
                       extra=data)
    store.append_record(record, release=plan.release, env=env, at=clock.now())
