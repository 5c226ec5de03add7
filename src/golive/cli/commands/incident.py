"""``golive incident open|resolve|list``: incidents P0-P3; an open P0 triggers rollback."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from golive.cli.common import out, title_text, ws
from golive.cli.output import when
from golive.errors import UsageError
from golive.textinput import JSON_MAX_CHARS
from golive.textout import rich as esc

incident_app = typer.Typer(help="Incidents P0-P3; an open P0 triggers rollback.", no_args_is_help=True)


@incident_app.command("open")
def incident_open(
    ctx: typer.Context,
    severity: Annotated[str | None, typer.Option("--severity", help="P0, P1, P2 or P3")] = None,
    title: Annotated[str | None, typer.Option("--title", help="what is wrong, in one line", callback=title_text)] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="environment it affects")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="batch or project", callback=title_text)] = None,
    by: Annotated[str | None, typer.Option("--by", help="who opens it (recorded)", callback=title_text)] = None,
) -> None:
    """Open an incident (or pipe a JSON document on stdin: {"severity": "P0", "title": ...})."""
    from golive.runs.incidents import IncidentInput, open_incident, parse_incident_json

    w, o = ws(ctx), out(ctx)
    if severity is None and title is None and not sys.stdin.isatty():
        incident = parse_incident_json(sys.stdin.read(JSON_MAX_CHARS + 1))  # longer is refused
    else:
        if severity not in ("P0", "P1", "P2", "P3") or not title:
            raise UsageError("incident open needs --severity P0..P3 and --title (or JSON on stdin)")
        incident = IncidentInput(severity=severity, title=title, env=env, scope=scope)
    incident_id = open_incident(w.store, w.plan, incident, w.clock.now(), by)
    if o.json_mode:
        o.json({"id": incident_id, **incident.model_dump()})
    else:
        o.print(f"incident #{incident_id} {incident.severity} opened: {esc(incident.title)}")


@incident_app.command("resolve")
def incident_resolve(ctx: typer.Context, incident_id: Annotated[int, typer.Argument(help="incident number")]) -> None:
    """Resolve an open incident."""
    from golive.runs.incidents import resolve_incident

    w, o = ws(ctx), out(ctx)
    incident = resolve_incident(w.store, w.plan, incident_id, w.clock.now())
    if o.json_mode:
        o.json({"id": incident.id, "resolved": True})
    else:
        o.print(f"incident #{incident.id} {incident.severity} resolved")


@incident_app.command("list")
def incident_list(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False) -> None:
    """Incidents of the release (open ones by default)."""
    w, o = ws(ctx), out(ctx)
    found = w.store.incidents(w.plan.release, open_only=not all_)
    if o.json_mode:
        o.json([{"id": i.id, "severity": i.severity, "title": i.title, "env": i.env, "scope": i.scope,
                 "status": i.status, "opened_at": i.opened_at.isoformat()} for i in found])
        return
    if not found:
        o.print("no incidents" if all_ else "no open incidents")
    for i in found:
        o.print(f"#{i.id} {esc(i.severity)} {esc(i.status.ljust(8))} {when(i.opened_at)} {esc(i.env or '-')} {esc(i.title)}")


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
