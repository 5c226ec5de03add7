"""``golive approve``: record a person's approval for a gate (or the sign-off)."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, note_text, out, title_text, ws
from golive.textout import rich as esc


def approve(
    ctx: typer.Context,
    gate: Annotated[str, typer.Argument(help="gate name (or signoff)")],
    env: EnvOpt,
    by: Annotated[str | None, typer.Option(
        "--by", help="who approves (with the plan's identity: github or aws, it must be whose token or credentials "
                     "are in use; default: that identity)", callback=title_text)] = None,
    role: Annotated[str | None, typer.Option("--role", help="the role approving", callback=title_text)] = None,
    note: Annotated[str | None, typer.Option("--note", help="a note kept with the approval", callback=note_text)] = None,
) -> None:
    """Record an approval for a gate."""
    from golive.runs.identity import acting
    from golive.steps.gate import record_approval

    w, o = ws(ctx), out(ctx)
    by = acting(w.services(), w.env(env), by)
    assert by is not None
    approval_id = record_approval(w.store, w.plan, gate, w.env(env), by, role, note, w.clock.now())
    if o.json_mode:
        o.json({"approval": approval_id, "gate": gate, "env": env, "by": by, "role": role})
    else:
        o.print(f"approval {approval_id}: {esc(by)}{' as ' + esc(role) if role else ''} approved {esc(gate)} for {esc(env)}")


def register(app: typer.Typer) -> None:
    app.command()(approve)
