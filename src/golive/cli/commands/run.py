"""``golive run``: drive the whole release to its end; resumable (run it again to continue)."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import AcceptPlanChangeOpt, EnvOpt, accepted_change, exit_for, out, render_driven, ws
from golive.cli.output import progress
from golive.cli.prompt import confirm, where
from golive.errors import UsageError


def run_cmd(
    ctx: typer.Context,
    env: EnvOpt,
    restart: Annotated[bool, typer.Option("--restart", help="abandon the active run and start again")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="return at the first wait for a time or an approval, "
                                          "printing what is due when")] = False,
    until: Annotated[str | None, typer.Option("--until", help="stop before the phase after this one")] = None,
    accept_plan_change: AcceptPlanChangeOpt = False,
    override_window: Annotated[bool, typer.Option("--override-window", help="start a batch (or prep, sign-off) "
                                                  "whose window has ended (needs --why; recorded)")] = False,
    why: Annotated[str | None, typer.Option("--why", help="why the plan change is accepted or the window "
                                            "overridden (recorded)")] = None,
) -> None:
    """Drive the whole release to its end; resumable (run it again to continue)."""
    from golive.runs import session

    accept = accepted_change(accept_plan_change, why)
    w, o = ws(ctx), out(ctx)
    if override_window and not why:
        raise UsageError("--override-window needs --why \"...\" (it is recorded)")
    confirm(w.yes, "run", where(w.plan, w.env(env), with_dr=True),
            [f"drive the release {w.plan.release} {w.plan.version} " + (f"up to the phase {until}" if until else "to its end")
             + ": deploys, canary shifts and rollbacks as the plan says" + (" (a new run)" if restart else "")])
    services = w.services()
    services.notify = progress(o, w.clock)
    driven = session.release(services, w.env(env), restart=restart, wait_external=not no_wait, until_phase=until,
                             no_wait=no_wait, accept_change=accept, override_window_why=why if override_window else None)
    render_driven(o, driven, w)
    exit_for(driven)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
