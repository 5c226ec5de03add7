"""Incidents: opened by people or piped in by an alerting tool.

An incident has a severity P0-P3, a title, and optionally the environment
and the batch or project it concerns. Open P0/P1 incidents fail soak
checkpoints and the go/no-go gate; an open P0 is a rollback trigger for a
canary in progress. Every open and resolve is also an event, so the report
shows when each was known.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from golive.errors import UsageError
from golive.evidence.runs import IncidentNote
from golive.plan.model import Plan
from golive.store.store import Incident, Store
from golive.textinput import check_title, load_json


class IncidentInput(BaseModel):
    """The JSON an alerting tool may pipe into ``golive incident open``."""

    model_config = ConfigDict(extra="ignore")
    severity: Literal["P0", "P1", "P2", "P3"]
    title: str = Field(min_length=1)
    env: str | None = None
    scope: str | None = None
    source: str | None = None


STDIN = "incident JSON on stdin"


def parse_incident_json(text: str) -> IncidentInput:
    """The incident an alerting tool piped in: its size and depth checked before parsing, then each field it
    gives golive (other fields of the document are ignored, never stored)."""
    try:
        incident = IncidentInput.model_validate(load_json(STDIN, text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise UsageError(f"{STDIN}: {where}: {first['msg']}") from None
    _check_fields(incident, f"{STDIN}: ")
    return incident


def _check_fields(incident: IncidentInput, prefix: str) -> None:
    for field, value in incident.model_dump().items():
        if isinstance(value, str):
            check_title(prefix + field, value)


def open_incident(store: Store, plan: Plan, incident: IncidentInput, now: datetime, by: str | None = None) -> int:
    _check_fields(incident, "incident ")
    if by is not None:
        check_title("opened by", by)
    if incident.env is not None and incident.env not in plan.environments:
        raise UsageError(f"unknown environment '{incident.env}' (known: {', '.join(plan.environments)})")
    scopes = {b.name for b in plan.batches} | set(plan.projects)
    if incident.scope is not None and incident.scope not in scopes:
        raise UsageError(f"unknown scope '{incident.scope}': use a batch or project name")
    incident_id = store.open_incident(plan.release, incident.env, incident.severity, incident.title, now,
                                      scope=incident.scope, opened_by=by, source=incident.source)
    store.append_record(IncidentNote.from_data(incident.title, "opened", {"id": incident_id, **incident.model_dump()}),
                        release=plan.release, env=incident.env or "*", at=now)
    return incident_id


def resolve_incident(store: Store, plan: Plan, incident_id: int, now: datetime) -> Incident:
    found = [i for i in store.incidents(plan.release) if i.id == incident_id]
    if not found:
        raise UsageError(f"no incident #{incident_id} in release {plan.release}")
    if not store.resolve_incident(incident_id, now):
        raise UsageError(f"incident #{incident_id} is already resolved")
    incident = found[0]
    store.append_record(IncidentNote(subject=incident.title, outcome="resolved", id=incident_id,
                                     severity=incident.severity), release=plan.release, env=incident.env or "*", at=now)
    return incident
