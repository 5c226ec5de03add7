"""``golive verify``: each deployed project's own checks and the post-deploy validation; names what is not deployed."""

from __future__ import annotations

import typer

from golive.cli.common import EnvOpt, exit_for, out, ws
from golive.textout import rich as esc


def verify(ctx: typer.Context, env: EnvOpt) -> None:
    """Post-deploy validation: each deployed project's own verify:, health, smoke tests, alarms.

    Fails naming any project with no successful deploy recorded in ENV."""
    from golive.runs import session

    w, o = ws(ctx), out(ctx)
    driven = session.verify(w.services(), w.env(env))
    events = w.store.events(run_id=driven.run.id, kind="check")
    coverage = next((s.params for s in w.store.steps(driven.run.id) if s.key == "verify.deployed"), {})
    skipped = list(coverage.get("not_deployed", []))
    if o.json_mode:
        o.json({"status": driven.run.status, "checks": [e.data for e in events], "not_deployed": skipped})
    else:
        for e in events:
            o.print(esc(f"  {e.outcome:<5} {e.data.get('check')} {e.data.get('target')}: {e.data.get('summary')}"))
        if skipped:
            o.print(esc(f"  skipped (not deployed, their own verify: not run): {', '.join(skipped)}"))
        o.print(esc(f"verify {env}: {driven.run.status}" + (f" — {driven.run.reason}" if driven.run.reason else "")))
    exit_for(driven)


def register(app: typer.Typer) -> None:
    app.command()(verify)
