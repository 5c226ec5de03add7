"""``golive soak start|checkpoint|status``: soak checkpoints on a schedule, with evidence."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import AcceptPlanChangeOpt, EnvOpt, accepted_change, exit_for, out, ws
from golive.cli.output import Output, styled, when
from golive.clock import parse_instant
from golive.workspace import Workspace

WhyOpt = Annotated[str | None, typer.Option("--why", help="why the plan change is accepted (recorded)")]

soak_app = typer.Typer(help="Soak tests: checkpoints on a schedule, with evidence.", no_args_is_help=True)


@soak_app.command("start")
def soak_start(
    ctx: typer.Context, env: EnvOpt,
    restart: Annotated[bool, typer.Option("--restart", help="begin a new soak; the old one's evidence is kept")] = False,
    accept_plan_change: AcceptPlanChangeOpt = False, why: WhyOpt = None,
) -> None:
    """Lay out the checkpoints at fixed due times."""
    from golive.runs import session

    accept = accepted_change(accept_plan_change, why)
    w, o = ws(ctx), out(ctx)
    driven = session.soak_start(w.services(), w.env(env), restart=restart, accept_change=accept)
    _soak_status(o, w, env)
    exit_for(driven)


@soak_app.command("checkpoint")
def soak_checkpoint(ctx: typer.Context, env: EnvOpt, accept_plan_change: AcceptPlanChangeOpt = False,
                    why: WhyOpt = None) -> None:
    """Evaluate every checkpoint that is due (late ones over their own windows)."""
    from golive.runs import session

    accept = accepted_change(accept_plan_change, why)
    w, o = ws(ctx), out(ctx)
    driven = session.soak_checkpoint(w.services(), w.env(env), accept_change=accept)
    _soak_status(o, w, env)
    exit_for(driven)


@soak_app.command("status")
def soak_status(ctx: typer.Context, env: EnvOpt) -> None:
    """Checkpoints done and passing, the next one due, when the soak ends."""
    w, o = ws(ctx), out(ctx)
    _soak_status(o, w, w.env(env))


def _soak_status(o: Output, w: Workspace, env: str) -> None:
    from golive.runs.soak_status import soak_summary

    summary = soak_summary(w.store, w.plan, env, w.clock.now())
    if o.json_mode:
        o.json(summary)
    else:
        o.print(summary["text"])
        for cp in summary["checkpoints"]:
            late = " (late)" if cp.get("late") else ""
            due = when(parse_instant(cp["due"])) if cp.get("due") else "-"
            o.print(f"  #{cp['index']} {due}{late}: {styled(cp['status'])} {cp.get('detail', '')}")


def register(app: typer.Typer) -> None:
    app.add_typer(soak_app, name="soak")
