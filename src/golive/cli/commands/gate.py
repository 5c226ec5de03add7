"""``golive gate``: GO / NO-GO with evidence; the decision is stored (exit 0 for GO, 1 for NO-GO)."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, out, ws
from golive.cli.github_actions import table as gha_table
from golive.cli.output import progress, styled
from golive.store.statuses import RunStatus
from golive.textout import markdown
from golive.textout import rich as esc


def gate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="gate name")], env: EnvOpt,
         plan_terraform: Annotated[bool, typer.Option(
             "--plan-terraform", help="first make each Terraform project's plan at the release tag (once per tag; "
                                      "waits for the plan workflows) for the terraform requirement")] = False) -> None:
    """GO / NO-GO with evidence; the decision is stored. Exit 0 for GO, 1 for NO-GO.

    It reads the store; with --plan-terraform a gate that requires terraform first has each Terraform project's plan
    made at the release tag (a plan already made there is weighed again, never made again)."""
    from golive.evidence.gates import GateItem
    from golive.runs import session
    from golive.steps.gate import by_hand, evaluate_gate, record_decision

    w, o = ws(ctx), out(ctx)
    live: list[GateItem] = []
    if plan_terraform and name in w.plan.gates and "terraform" in w.plan.gates[name].requires:
        services = w.services()
        services.notify = progress(o, w.clock)
        planned = session.terraform_plans(services, w.env(env))
        if planned is not None and planned.run.status != RunStatus.SUCCEEDED:
            live.append(GateItem("terraform plans", False, f"the Terraform plans were not made: {planned.run.reason}"))
    decision = by_hand(evaluate_gate(w.store, w.plan, name, w.env(env), w.clock.now(), live_items=live))
    record_decision(w.store, w.plan.release, decision, w.clock.now(), asked_by="golive gate")
    if o.ci is not None:
        o.ci.summary(f"### golive gate {markdown(name)} for {markdown(env)}: {decision.verdict}\n\n" + gha_table(
            ["", "item", "detail"], [["✓" if i.ok else "✗", i.name, str(i.detail)] for i in decision.items]))
        for item in decision.items:
            if not item.ok:
                o.ci.error(f"golive gate {name} {env}: {decision.verdict}", f"{item.name}: {item.detail}")
    if o.json_mode:
        o.json(decision.to_dict())
    else:
        o.print(f"{esc(name)} for {esc(env)}: {styled(decision.verdict)}")
        for item in decision.items:
            mark = "[green]✓[/green]" if item.ok else "[red]✗[/red]"
            o.print(f"  {mark} {esc(item.name)}: {esc(item.detail)}")
    if not decision.go:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(gate)
