"""``golive plan``: the dry run, every step in order and the call it will make; changes nothing outside.

The lines under a step are its kind's ``describe`` of the very parameters the step runs with. Under a canary
step, when AWS answers, the sample each of its criteria will get at each step (``analysis.canary_sample``:
the stable versions' last hour, read only); when it does not, a line saying golive could not look
(``--offline`` skips the look).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from golive.cli.common import EnvOpt, out, ws
from golive.textout import rich as esc
from golive.workspace import Workspace

OfflineOpt = Annotated[bool, typer.Option("--offline", help="do not read the canaries' traffic from AWS")]


def _sample(w: Workspace, env: str, params: dict[str, Any]) -> dict[str, Any]:
    """What a canary's criteria will get at each step, or why golive could not look."""
    from golive.analysis.canary_sample import read_sample
    from golive.errors import GoliveError

    try:
        if params.get("apigw_stage"):
            from golive.routers.apigw_stage import stage_sample

            samples, error = stage_sample(w.aws_for(env, params.get("region")), w.clock, params)
        else:
            samples, error = read_sample(w.aws_for(env, params.get("region")), w.clock, params)
    except GoliveError as exc:
        samples, error = [], str(exc)
    if error:
        return {"error": error, "lines": [f"sample: could not look at the stable versions' traffic: {error}"]}
    return {"lines": [f"sample: {s.line()}" for s in samples],
            "cannot_decide": [s.line() for s in samples if not s.decides]}


_METHODS = {"RouterUndo": "router", "RedeployUndo": "redeploy", "CommandUndo": "command", "NoUndo": "none"}


def plan_cmd(ctx: typer.Context, env: EnvOpt, offline: OfflineOpt = False) -> None:
    """Dry run: every step in order, the call it will make, and each canary's expected sample. Changes nothing."""
    from golive.plan.dependencies import of_plan
    from golive.plan.undo import undo_of
    from golive.steps.planner import build_release
    from golive.steps.registry import calls

    w, o = ws(ctx), out(ctx)
    steps = build_release(w.plan, w.env(env))
    # A site's canary has no stable version to read before its staging copy exists (discover makes it): no sample.
    samples = {s.key: _sample(w, env, s.params) for s in steps
               if s.kind == "canary" and not offline and not s.params.get("cloudfront")}
    graph = of_plan(w.plan)
    undos = {name: undo_of(w.plan, w.env(env), name) for name in w.plan.projects}
    if o.json_mode:
        o.json({"env": env, "dependencies": {**graph.to_data(), "undo_order": graph.undo_order(graph.projects),
                                             "rollback_dependents": w.plan.rollback.rollback_dependents},
                "steps": [{"key": s.key, "phase": s.phase, "kind": s.kind, "title": s.title,
                                        "group": s.group, "lane": s.lane, "calls": calls(s),
                                        **({"sample": samples[s.key]} if s.key in samples else {})}
                                       for s in steps],
                "undo": {name: {"method": _METHODS[type(u).__name__], "reversible": u.reversible, "undo": u.line()}
                         for name, u in undos.items()}})
        return
    if not graph.empty:
        undo = "undone first" if w.plan.rollback.rollback_dependents else "held, not undone"
        o.print(f"[bold]dependencies[/bold] (a failed canary's dependents are {undo})")
        for line in graph.lines():
            o.print(f"  {esc(line)}")
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
        for line in samples.get(step.key, {}).get("lines", []):
            o.print(f"        {esc(line)}")
        if step.kind == "deploy" and step.params.get("project") in undos:
            u = undos[step.params["project"]]
            mark = "[green]reversible[/green]" if u.reversible else "[yellow]not reversible[/yellow]"
            o.print(f"        ↶ undo ({mark}): {esc(u.line())}")


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
