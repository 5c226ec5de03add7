"""``golive rollback``: every alias of a project back to its previous stable version, measured and confirmed."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, ProjectArg, known_names, note_text, out, ws
from golive.cli.prompt import confirm, where
from golive.textout import rich as esc


def rollback(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
             full: Annotated[bool, typer.Option("--full", help="also run the plan's full-rollback command")] = False,
             region: Annotated[str | None, typer.Option("--region", help="e.g. the DR region")] = None,
             why: Annotated[str, typer.Option("--why", help="the reason, recorded",
                                              callback=note_text)] = "golive rollback") -> None:
    """Alias back to the previous stable version, routing cleared; measured and confirmed."""
    from golive.steps.rollback import rollback as do_rollback

    w, o = ws(ctx), out(ctx)
    known_names(w, project=project)
    confirm(w.yes, "rollback", where(w.plan, w.env(env), region),
            [f"{project}: every alias back to its previous stable version, routing cleared"]
            + (["then run the plan's full-rollback command"] if full else []))
    result = do_rollback(w.services(), w.env(env), project, full=full, region=region, why=why)
    if o.json_mode:
        o.json(result)
        return
    for f in result.get("functions", []):
        o.print(esc(f"  {f['function']}:{f['alias']} → version {f['version']} (no routing)"))
    if "full" in result:
        o.print(esc(f"  full rollback {' '.join(result['full']['argv'])}: exit {result['full']['exit_code']}"))
    o.print(esc(f"{project} rolled back in {result['seconds']:.2f} s "
                f"(alias confirmed in {result.get('alias_seconds', 0):.2f} s)"))


def register(app: typer.Typer) -> None:
    app.command()(rollback)
