"""``golive plan``: the dry run, every step in order and the call it will make; calls nothing outside.

The lines under a step are its kind's ``describe`` of the very parameters the step runs with.
"""

from __future__ import annotations

import typer

from golive.cli.common import EnvOpt, out, ws
from golive.textout import rich as esc


def plan_cmd(ctx: typer.Context, env: EnvOpt) -> None:
    """Dry run: every step in order, and the call it will make. Calls nothing outside."""
    from golive.steps.planner import build_release
    from golive.steps.registry import calls

    w, o = ws(ctx), out(ctx)
    steps = build_release(w.plan, w.env(env))
    if o.json_mode:
        o.json({"env": env, "steps": [{"key": s.key, "phase": s.phase, "kind": s.kind, "title": s.title,
                                        "group": s.group, "lane": s.lane, "calls": calls(s)}
                                       for s in steps]})
        return
    phase = group = None
    for n, step in enumerate(steps, 1):
        if step.phase != phase:
            phase = step.phase
            o.print(f"\n[bold]{esc(phase)}[/bold]")
        if step.group != group:
            group = step.group
            lanes = {s.lane for s in steps if s.group == group}
            if step.group.startswith(("batch.", "dr.")):
                o.print(f"  [cyan]{esc(group)}[/cyan] ({len(lanes)} projects side by side)")
        o.print(f"  {n:3}. {esc(step.title)}  [dim]({esc(step.kind)})[/dim]")
        for call in calls(step):
            o.print(f"        [dim]→ {esc(call)}[/dim]")


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
