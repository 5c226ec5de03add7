"""``golive gate``: GO / NO-GO with evidence; the decision is stored (exit 0 for GO, 1 for NO-GO)."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, out, ws
from golive.cli.github_actions import table as gha_table
from golive.cli.output import styled


def gate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="gate name")], env: EnvOpt) -> None:
    """GO / NO-GO with evidence; the decision is stored. Exit 0 for GO, 1 for NO-GO."""
    from golive.steps.gate import evaluate_gate, record_decision

    w, o = ws(ctx), out(ctx)
    decision = evaluate_gate(w.store, w.plan, name, w.env(env), w.clock.now())
    record_decision(w.store, w.plan.release, decision, w.clock.now(), asked_by="golive gate")
    if o.ci is not None:
        o.ci.summary(f"### golive gate {name} for {env}: {decision.verdict}\n\n" + gha_table(
            ["", "item", "detail"], [["✓" if i.ok else "✗", i.name, str(i.detail)] for i in decision.items]))
        for item in decision.items:
            if not item.ok:
                o.ci.error(f"golive gate {name} {env}: {decision.verdict}", f"{item.name}: {item.detail}")
    if o.json_mode:
        o.json(decision.to_dict())
    else:
        o.print(f"{name} for {env}: {styled(decision.verdict)}")
        for item in decision.items:
            mark = "[green]✓[/green]" if item.ok else "[red]✗[/red]"
            o.print(f"  {mark} {item.name}: {item.detail}")
    if not decision.go:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(gate)
