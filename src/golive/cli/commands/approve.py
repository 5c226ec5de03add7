"""``golive approve``: record a person's approval for a gate (or the sign-off)."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, out, ws


def approve(
    ctx: typer.Context,
    gate: Annotated[str, typer.Argument(help="gate name (or signoff)")],
    by: Annotated[str, typer.Option("--by", help="who approves")],
    env: EnvOpt,
    role: Annotated[str | None, typer.Option("--role", help="the role approving")] = None,
    note: Annotated[str | None, typer.Option("--note", help="a note kept with the approval")] = None,
) -> None:
    """Record an approval for a gate."""
    from golive.steps.gate import record_approval

    w, o = ws(ctx), out(ctx)
    approval_id = record_approval(w.store, w.plan, gate, w.env(env), by, role, note, w.clock.now())
    if o.json_mode:
        o.json({"approval": approval_id, "gate": gate, "env": env, "by": by, "role": role})
    else:
        o.print(f"approval {approval_id}: {by}{' as ' + role if role else ''} approved {gate} for {env}")


def register(app: typer.Typer) -> None:
    app.command()(approve)
