"""``golive deploy``: the batches in order (projects of a batch side by side), verified, rolled out.

Also where a doubtful dispatch is settled (``--confirm-run ID`` or ``--redispatch --why``) before the run
goes on, so a workflow is never dispatched twice by accident.
"""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import AcceptPlanChangeOpt, EnvOpt, accepted_change, exit_for, out, render_driven, ws
from golive.cli.output import progress
from golive.cli.prompt import confirm, where
from golive.errors import UsageError
from golive.plan.model import Plan


def deploy(
    ctx: typer.Context,
    env: EnvOpt,
    batch: Annotated[str | None, typer.Option("--batch", help="only this batch")] = None,
    project: Annotated[str | None, typer.Option("--project", help="only this project")] = None,
    skip_gate: Annotated[bool, typer.Option("--skip-gate", help="deploy without a GO (needs --why)")] = False,
    override_freeze: Annotated[bool, typer.Option("--override-freeze", help="deploy in a freeze (needs --why)")] = False,
    why: Annotated[str | None, typer.Option("--why", help="the reason, recorded")] = None,
    restart: Annotated[bool, typer.Option("--restart")] = False,
    confirm_run: Annotated[int | None, typer.Option(
        "--confirm-run", help="the run of --project's doubtful dispatch (golive named the candidates)")] = None,
    redispatch: Annotated[bool, typer.Option(
        "--redispatch", help="dispatch --project's workflow anew after a doubtful dispatch (needs --why)")] = False,
    accept_plan_change: AcceptPlanChangeOpt = False,
) -> None:
    """Deploy the batches in order (projects of a batch side by side), verify, roll out."""
    from golive.runs import session

    w, o = ws(ctx), out(ctx)
    if (skip_gate or override_freeze or redispatch) and not why:
        raise UsageError("--skip-gate, --override-freeze and --redispatch need --why \"...\" (it is recorded)")
    accept = accepted_change(accept_plan_change, why)
    if (confirm_run is not None or redispatch) and project is None:
        raise UsageError("--confirm-run and --redispatch need --project (the deploy whose dispatch is in doubt)")
    confirm(w.yes, "deploy", where(w.plan, w.env(env), with_dr=True),
            _deploy_changes(w.plan, batch, project, skip_gate, override_freeze, why))
    services = w.services()
    if confirm_run is not None or redispatch:
        from golive.steps.dispatch_doubt import settle_dispatch

        assert project is not None
        settle_dispatch(w.store, services.require_github(), w.plan.release, w.env(env), project, w.clock.now(),
                        confirm_run=confirm_run, redispatch_why=why if redispatch else None)
    services.notify = progress(o, w.clock)
    driven = session.deploy(services, w.env(env), batch, project, restart=restart,
                            skip_gate_why=why if skip_gate else None, override_freeze_why=why if override_freeze else None,
                            accept_change=accept)
    render_driven(o, driven, w)
    exit_for(driven)


def _deploy_changes(plan: Plan, batch: str | None, project: str | None, skip_gate: bool, override_freeze: bool,
                    why: str | None) -> list[str]:
    chosen = [b for b in plan.batches if batch in (None, b.name) and (project is None or project in b.projects)]
    lines = [f"batch {b.name}: deploy {', '.join(p for p in b.projects if project in (None, p))} "
             f"({plan.version}), canaries as the plan says" for b in chosen]
    if skip_gate:
        lines.append(f"without a GO decision (--skip-gate: {why})")
    if override_freeze:
        lines.append(f"inside a freeze window (--override-freeze: {why})")
    return lines


def register(app: typer.Typer) -> None:
    app.command()(deploy)
