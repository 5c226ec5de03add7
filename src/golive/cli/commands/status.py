"""``golive status``: where the release stands and what is due when, once or ``--watch``ed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from golive import schedule
from golive.cli.common import out, ws
from golive.cli.output import styled


def status(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="refresh every 2 s until Ctrl-C (piped: print only what changed, with the time)")] = False,
) -> None:
    """Where the release stands, and what is due when."""
    import time

    from golive.runs.status import release_status

    w, o = ws(ctx), out(ctx)
    shown: list[str] = []
    while True:
        data = release_status(w.store, w.plan.release, w.clock.now(), env)
        if o.json_mode:
            o.json(data)
            return
        lines = _status_lines(data)
        if not watch:
            for line in lines:
                o.print(line)
            return
        if o.terminal:
            o.out.clear()
            for line in lines:
                o.print(line)
        elif lines != shown:
            # A log gets only what changed since the last look, under the time it was seen.
            o.print(f"[dim]— {schedule.local(w.clock.now(), fmt='%Y-%m-%d %H:%M:%S')}[/dim]")
            for line in [line for line in lines if line not in shown] or lines:
                o.print(line)
        shown = lines
        time.sleep(2)


def _status_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    if not data["runs"]:
        lines.append(f"no runs of {data['release']} yet (start one with golive run --env ENV)")
    for run in data["runs"]:
        lines.append(f"[bold]{run['kind']} {run['env']}[/bold] run {run['run']}: {styled(run['status'])} "
                     f"({run['steps_done']}/{run['steps_total']} steps)" + (f" — {run['reason']}" if run["reason"] else ""))
        lines += [f"  {phase['phase']:<14} {styled(phase['status'])}" for phase in run["phases"]]
        for c in run["canaries"]:
            verdict = f"last verdict {styled(c['verdict'])}" + (f": {c['reason']}" if c["reason"] else "") \
                if c["verdict"] else "no analysis yet"
            lines.append(f"  canary {c['project']} at {c['weight']:g}%, {verdict}")
        lines += [f"  [yellow]next[/yellow] {due}" for due in run["due"]]
    lines += [f"[red]open incident {inc['id']} {inc['severity']}[/red] {inc['title']}" for inc in data["open_incidents"]]
    return lines


def register(app: typer.Typer) -> None:
    app.command()(status)
