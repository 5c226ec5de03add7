"""What a signed-in person may do from the page: record intent, through the functions the CLI calls.

No action touches AWS or GitHub: an approval, a sign-off, an incident, an
abort or a promote is written to the store, and the engine (a worker, a
``golive run``) acts on it on its next pass, exactly as if typed in a
terminal. An approval for a role is only taken from a user who holds that
role. Every action, taken or refused, is recorded with who and from where.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from golive.clock import Clock
from golive.engine.context import Services
from golive.errors import UsageError
from golive.evidence.runs import WebAction
from golive.plan.model import Plan
from golive.runs.incidents import IncidentInput, open_incident, resolve_incident
from golive.serve.auth import User
from golive.steps.gate import record_approval
from golive.steps.rollback import operator
from golive.store.store import Store

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
    if action not in ACTIONS:
        raise UsageError(f"unknown action '{action}' (actions: {', '.join(ACTIONS)})")
    env = str(body.get("env") or "prod")
    try:
        result = _perform(store, plan, clock, actor, action, env, body)
    except UsageError as exc:
        _record(store, plan, clock, actor, action, env, "refused", {"why": str(exc), **_safe(body)})
        raise
    _record(store, plan, clock, actor, action, env, "recorded", {**result, **_safe(body)})
    return result


def _perform(store: Store, plan: Plan, clock: Clock, actor: Actor, action: str, env: str,
             body: dict[str, Any]) -> dict[str, Any]:
    user = actor.user
    if action in ("approve", "signoff"):
        gate = "signoff" if action == "signoff" else str(_text(body, "gate"))
        role = _text(body, "role")
        if role not in user.roles:
            raise Forbidden(f"{user.name} does not hold the role '{role}' (holds: {', '.join(sorted(user.roles)) or 'none'})")
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
    if raw is None or not raw.isdigit():
        raise UsageError("incident_resolve needs the incident number")
    resolved = resolve_incident(store, plan, int(raw), clock.now())
    return {"incident": resolved.id}


def _safe(body: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v)[:500] for k, v in body.items() if k in ("gate", "role", "project", "why", "note", "severity",
                                                               "title", "incident", "env")}


def _record(store: Store, plan: Plan, clock: Clock, actor: Actor, action: str, env: str, outcome: str,
            data: dict[str, Any]) -> None:
    store.append_record(WebAction(subject=action, outcome=outcome, by=actor.user.name, source=actor.source, extra=data),
                        release=plan.release, env=env, at=clock.now())
