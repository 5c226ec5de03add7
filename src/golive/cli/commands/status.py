"""``golive status``: where the release stands and what is due when, once or ``--watch``ed."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from golive import schedule
from golive.analysis.units import counted
from golive.cli.common import out, ws
from golive.cli.output import styled
from golive.textout import rich as esc


def status(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option("--env", "-e", help="only this environment's runs")] = None,
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
        else:
            # A log gets only what changed since the last look, under the time it was seen; a countdown ticking is
            # no change (each due line keeps its due time).
            lines = [settled(line) for line in lines]
            if lines != shown:
                o.print(f"[dim]— {schedule.local(w.clock.now(), fmt='%Y-%m-%d %H:%M:%S')}[/dim]")
                for line in [line for line in lines if line not in shown] or lines:
                    o.print(line)
        shown = lines
        time.sleep(2)


_COUNTDOWN = re.compile(r", in (\d+ (d|h|min|s) ?)+$")


def settled(line: str) -> str:
    """A status line without its countdown (``… due 14:00 SAST, in 5 h 55 min`` → ``… due 14:00 SAST``)."""
    return _COUNTDOWN.sub("", line)


def _status_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    if not data["runs"]:
        lines.append(f"no runs of {esc(data['release'])} yet (start one with golive run --env ENV)")
    for run in data["runs"]:
        lines.append(f"[bold]{esc(run['kind'])} {esc(run['env'])}[/bold] run {run['run']}: {styled(run['status'])} "
                     f"({run['steps_done']}/{counted(run['steps_total'], 'step')})"
                     + (f" — {esc(run['reason'])}" if run["reason"] else ""))
        lines += [f"  {esc(str(phase['phase']).ljust(14))} {styled(phase['status'])}" for phase in run["phases"]]
        for c in run["canaries"]:
            verdict = f"last verdict {styled(c['verdict'])}" + (f": {esc(c['reason'])}" if c["reason"] else "") \
                if c["verdict"] else "no analysis yet"
            lines.append(f"  canary {esc(c['project'])} at {c['weight']:g}%, {verdict}")
        lines += [f"  [yellow]next[/yellow] {esc(due)}" for due in run["due"]]
    if len(data.get("history", [])) > len(data["runs"]):
        lines.append("every run of the release, in order:")
        lines += [f"  run {r['run']} {esc(r['kind'])} {esc(r['env'])}: {styled(r['status'])}"
                  + (f" — {esc(r['reason'])}" if r["reason"] else "") for r in data["history"]]
    lines += [f"[red]open incident {inc['id']} {esc(inc['severity'])}[/red] {esc(inc['title'])}"
              for inc in data["open_incidents"]]
    return lines


def register(app: typer.Typer) -> None:
    app.command()(status)
