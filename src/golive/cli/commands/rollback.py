"""``golive rollback``: a project's undo, whatever its kind, asked for and recorded with who asked.

A canary's project: every alias back to its previous stable version, measured and confirmed. A workflow's: the
workflow re-dispatched at the previous release tag, once, then the project's verify. A command's: its undo
command (``runs/undo.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from golive.cli.common import EnvOpt, ProjectArg, exit_for, known_names, note_text, out, render_driven, title_text, ws
from golive.cli.output import Output
from golive.cli.prompt import able_to_ask, confirm, where
from golive.errors import UsageError
from golive.store.statuses import RunStatus
from golive.textout import rich as esc


def rollback(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
             full: Annotated[bool, typer.Option("--full", help="also run the plan's full-rollback command")] = False,
             region: Annotated[str | None, typer.Option("--region", help="e.g. the DR region")] = None,
             by: Annotated[str | None, typer.Option("--by", help="who asks (recorded)", callback=title_text)] = None,
             again: Annotated[bool, typer.Option("--again", help="undo anew a project already undone or whose "
                                                                  "undo failed (needs --why)")] = False,
             confirm_run: Annotated[int | None, typer.Option(
                 "--confirm-run", help="the run of the undo's doubtful dispatch (golive named the candidates)")] = None,
             redispatch: Annotated[bool, typer.Option(
                 "--redispatch", help="dispatch the undo's workflow anew after a doubtful dispatch (needs --why)")] = False,
             why: Annotated[str | None, typer.Option("--why", help="the reason, recorded",
                                                     callback=note_text)] = None) -> None:
    """Undo a project: alias back to its stable version, or its workflow re-dispatched at the previous tag."""
    from golive.plan.undo import RouterUndo
    from golive.runs.identity import acting
    from golive.runs.undo import act, ask
    from golive.steps.rollback import rollback as do_rollback

    w, o = ws(ctx), out(ctx)
    known_names(w, project=project)
    if (again or redispatch) and not why:
        raise UsageError("--again and --redispatch need --why \"...\" (it is recorded)")
    reason = why or "golive rollback"
    target = where(w.plan, w.env(env), region)
    able_to_ask(w.yes, "rollback", target)
    services = w.services()
    who = acting(services, w.env(env), by, required=False)
    if confirm_run is not None or redispatch:
        from golive.steps.dispatch_doubt import settle_dispatch

        settle_dispatch(w.store, services.require_github(), w.plan.release, w.env(env), project, w.clock.now(),
                        confirm_run=confirm_run, redispatch_why=why if redispatch else None, by=who)
    asked = ask(services, w.env(env), project, again=again)
    if asked.already is not None:
        run = asked.already
        by = (f"undo run {run.id} ended {run.status}{' (' + run.reason + ')' if run.reason else ''}"
              if run.kind.startswith("undo.") else
              f"release run {run.id} undid it when a project it depends on failed (rollback_dependents)")
        text = (f"{project} was already undone in {run.env}: {by}; nothing dispatched again "
                f"(golive rollback {project} --again --why \"...\" undoes it anew)")
        if o.json_mode:
            o.json({"project": project, "env": run.env, "already": True, "run": run.id, "status": run.status})
        else:
            o.print(esc(text))
        return
    if isinstance(asked.undo, RouterUndo):
        confirm(w.yes, "rollback", target, [f"{project}: every alias back to its previous stable version, routing "
                                            "cleared"] + (["then run the plan's full-rollback command"] if full else []))
        result = do_rollback(services, w.env(env), project, full=full, region=region, why=reason, by=who)
        if o.json_mode:
            o.json(result)
            return
        for f in result.get("functions", []):
            o.print(esc(f"  {f['function']}:{f['alias']} → version {f['version']} (no routing)"))
        _full_line(o, result)
        o.print(esc(f"{project} rolled back in {result['seconds']:.2f} s "
                    f"(alias confirmed in {result.get('alias_seconds', 0):.2f} s)"))
        _full_exit(result)
        return
    confirm(w.yes, "rollback", target, asked.changes() + (["then run the plan's full-rollback command"] if full else []))
    driven = act(services, w.env(env), asked, by=who, why=reason, again=again)
    result = do_rollback(services, w.env(env), project, full=True, region=region, why=reason, by=who) \
        if full and not RunStatus(driven.run.status).failed else {}
    render_driven(o, driven, w, {"full": result["full"]} if "full" in result else None)
    if not o.json_mode:
        _full_line(o, result)
    exit_for(driven)
    _full_exit(result)


def _full_line(o: Output, result: dict[str, Any]) -> None:
    if "full" in result:
        o.print(esc(f"  full rollback {' '.join(result['full']['argv'])}: exit {result['full']['exit_code']}"))


def _full_exit(result: dict[str, Any]) -> None:
    """Exit 1 when the plan's full-rollback command ran and failed (its exit code and output are recorded)."""
    if result.get("full", {}).get("exit_code", 0) != 0:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(rollback)
