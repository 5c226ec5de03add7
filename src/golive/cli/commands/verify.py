"""``golive verify``: post-deploy validation (health URLs, smoke tests, alarms, function counts)."""

from __future__ import annotations

import typer

from golive.cli.common import EnvOpt, exit_for, out, ws
from golive.textout import rich as esc


def verify(ctx: typer.Context, env: EnvOpt) -> None:
    """Post-deploy validation: health URLs, smoke tests, alarms, function counts."""
    from golive.runs import session

    w, o = ws(ctx), out(ctx)
    driven = session.verify(w.services(), w.env(env))
    events = w.store.events(run_id=driven.run.id, kind="check")
    if o.json_mode:
        o.json({"status": driven.run.status, "checks": [e.data for e in events]})
    else:
        for e in events:
            o.print(esc(f"  {e.outcome:<5} {e.data.get('check')} {e.data.get('target')}: {e.data.get('summary')}"))
        o.print(esc(f"verify {env}: {driven.run.status}" + (f" — {driven.run.reason}" if driven.run.reason else "")))
    exit_for(driven)


def register(app: typer.Typer) -> None:
    app.command()(verify)
