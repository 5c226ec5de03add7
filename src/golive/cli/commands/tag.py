"""``golive tag``: annotated release tags in every repository of the plan (idempotent)."""

from __future__ import annotations

import typer

from golive.analysis.units import counted
from golive.cli.common import EnvOpt, exit_for, out, ws
from golive.cli.output import progress
from golive.cli.prompt import confirm, where
from golive.textout import rich as esc


def tag(ctx: typer.Context, env: EnvOpt) -> None:
    """Annotated release tags in every repository (idempotent)."""
    from golive.runs import session

    w, o = ws(ctx), out(ctx)
    repos = sorted({p.repo for p in w.plan.projects.values()})
    confirm(w.yes, "tag", where(w.plan, w.env(env)),
            [f"create the annotated tag {w.plan.version} in {counted(len(repos), 'repository', 'repositories')}: "
             f"{', '.join(repos)}"])
    services = w.services()
    services.notify = progress(o, w.clock)
    driven = session.tag(services, w.env(env))
    step = w.store.steps(driven.run.id)[0]
    if o.json_mode:
        o.json({"status": driven.run.status, **(step.result or {})})
    else:
        for item in (step.result or {}).get("tagged", []):
            what = "created" if item["created"] else "already there"
            o.print(esc(f"  {item['repo']} {item['tag']} → {item['commit'][:12]} ({what})"))
        if driven.run.reason:
            o.print(f"[red]{esc(driven.run.reason)}[/red]")
    exit_for(driven)


def register(app: typer.Typer) -> None:
    app.command()(tag)
