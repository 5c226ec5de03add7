"""How commands show results: Rich for people, JSON for machines.

With ``--json`` only JSON goes to stdout (progress and messages go to
stderr or nowhere), so ``golive ... --json | jq`` always works.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console

STATUS_STYLE = {
    "pass": "green", "done": "green", "succeeded": "green", "GO": "bold green",
    "warn": "yellow", "waiting": "yellow", "running": "cyan", "pending": "dim",
    "fail": "red", "failed": "red", "error": "magenta", "NO-GO": "bold red", "rolled_back": "red",
    "cancelled": "dim", "no_go": "red", "aborted": "red",
}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")
        sys.stdout.flush()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if not self.json_mode:
            self.out.print(*args, **kwargs)

    def info(self, message: str) -> None:
        """Progress and notes: stderr, so stdout stays clean."""
        self.err.print(message)


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status


def progress(o: Output) -> Any:
    """Live progress on stderr: each step, each canary shift and analysis, each rollback, as they happen.

    Times are the run's clock (virtual in a rehearsal), when the event carries one.
    """

    def notify(kind: str, data: dict[str, Any]) -> None:
        at = data.get("virtual_now")
        stamp = f"[dim]{at:%a %d %H:%M}[/dim] " if isinstance(at, datetime) else ""
        outcome = data.get("outcome")
        if kind == "step_started":
            o.info(f"{stamp}▶ {data.get('title')}")
        elif kind == "step_failed":
            o.info(f"{stamp}[red]✗ {data.get('title')}: {str(getattr(outcome, 'reason', ''))[:300]}[/red]")
        elif kind == "step_done":
            summary = str(getattr(outcome, "summary", ""))
            o.info(f"{stamp}[green]✓[/green] {data.get('title')}: {summary[:200]}")
        elif kind == "deploy" and outcome == "dispatched":
            o.info(f"{stamp}  {data.get('project')}: {data.get('workflow')} run {data.get('run_id')} {data.get('url')}")
        elif kind == "canary" and outcome == "shifted":
            o.info(f"{stamp}  {data.get('project')} → {data.get('weight'):g}%")
        elif kind == "canary" and outcome == "analysis":
            o.info(f"{stamp}  {data.get('project')} at {data.get('weight'):g}%: {data.get('verdict')} — "
                   f"{str(data.get('reason'))[:140]}")
        elif kind == "canary" and outcome == "promoted":
            o.info(f"{stamp}  [green]{data.get('project')} promoted to 100%[/green]")
        elif kind == "retry":
            o.info(f"{stamp}  [yellow]{data.get('line')}[/yellow]")
        elif kind == "rollback":
            o.info(f"{stamp}  [red]{data.get('project')} ROLLED BACK in {data.get('seconds')} s: "
                   f"{data.get('reason')}[/red]")

    return notify
