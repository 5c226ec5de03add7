"""``golive approve``: record a person's approval for a gate (or the sign-off), or of a Terraform plan by its hash."""

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
    plan_sha: Annotated[str | None, typer.Option(
        "--plan-sha", help="approve the recorded Terraform plan with this SHA-256 (the hash a NO-GO named) for a gate "
                           "that requires terraform", callback=title_text)] = None,
) -> None:
    """Record an approval for a gate (or, with --plan-sha, of one Terraform plan)."""
    from golive.runs.identity import acting
    from golive.steps.gate import record_approval
    from golive.steps.terraform_gate import record_plan_approval

    w, o = ws(ctx), out(ctx)
    by = acting(w.services(), w.env(env), by)
    assert by is not None
    if plan_sha is not None:
        approval = record_plan_approval(w.store, w.plan, gate, w.env(env), by, role, plan_sha, note, w.clock.now())
        if o.json_mode:
            o.json({"plan_sha256": approval.sha256, "project": approval.subject, "gate": gate, "env": env, "by": by,
                    "role": role})
        else:
            o.print(f"{esc(by)} as {esc(role)} approved the Terraform plan of {esc(approval.subject)} "
                    f"(sha256 {esc(approval.sha256)}) for {esc(gate)} in {esc(env)}")
        return
    approval_id = record_approval(w.store, w.plan, gate, w.env(env), by, role, note, w.clock.now())
    if o.json_mode:
        o.json({"approval": approval_id, "gate": gate, "env": env, "by": by, "role": role})
    else:
        o.print(f"approval {approval_id}: {esc(by)}{' as ' + esc(role) if role else ''} approved {esc(gate)} for {esc(env)}")


def register(app: typer.Typer) -> None:
    app.command()(approve)
