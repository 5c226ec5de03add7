"""How commands show results: Rich for people, JSON for machines, plain lines for logs.

With ``--json`` only JSON goes to stdout (progress and messages go to
stderr or nowhere), so ``golive ... --json | jq`` always works. When a stream
is not a terminal (a CI log, ``| cat``, a file) its console is as wide as a
line needs: a repository, secret, ARN, bucket or URL is never folded or cut
with ``…``, since a log is searched, not looked at. Times always carry their
zone in text; JSON carries ISO 8601 with the offset.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from rich.console import Console

from golive.cli.github_actions import GitHubActions
from golive.redact import scrub

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


# A log line has no right margin: wide enough that no table column ever has to fold or truncate.
PLAIN_WIDTH = 4000


def _console(stream: TextIO, *, stderr: bool) -> Console:
    if stream.isatty():
        return Console(stderr=stderr, highlight=False, soft_wrap=True)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=PLAIN_WIDTH)


def when(at: datetime) -> str:
    """A time for people, with its zone: ``Dec 02 00:27 UTC`` (a naive time is golive's UTC)."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{aware:%b %d %H:%M %Z}"


class Output:
    def __init__(self, json_mode: bool, ci: GitHubActions | None = None) -> None:
        self.json_mode = json_mode
        # In GitHub Actions: the job summary and annotations; with --json the annotations go to stderr (stdout is JSON).
        self.ci = GitHubActions(ci.summary_path, ci.redact, sys.stderr if json_mode else None) if ci else None
        self.out = _console(sys.stdout, stderr=False)
        self.err = _console(sys.stderr, stderr=True)

    @property
    def terminal(self) -> bool:
        """Whether stdout is a person's terminal (else a log, a pipe or a file)."""
        return self.out.is_terminal

    def json(self, data: Any) -> None:
        sys.stdout.write(scrub(json.dumps(data, default=_default, indent=2)) + "\n")
        sys.stdout.flush()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if not self.json_mode:
            self.out.print(*(scrub(a) if isinstance(a, str) else a for a in args), **kwargs)

    def info(self, message: str) -> None:
        """Progress and notes: stderr, so stdout stays clean."""
        self.err.print(scrub(message))


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status


def progress(o: Output) -> Any:
    """Live progress on stderr: each step, each canary shift and analysis, each rollback, as they happen.

    Each line starts with its time: the run's clock when the event carries one (virtual in a rehearsal), else the
    wall clock, so a CI log shows when each thing happened.
    """

    def notify(kind: str, data: dict[str, Any]) -> None:
        at = data.get("virtual_now")
        stamp = f"[dim]{at:%a %d %H:%M %Z}[/dim] " if isinstance(at, datetime) else f"[dim]{datetime.now(UTC):%H:%M:%S %Z}[/dim] "
        outcome = data.get("outcome")
        if kind == "step_started":
            o.info(f"{stamp}▶ {data.get('title')}")
        elif kind == "step_failed":
            o.info(f"{stamp}[red]✗ {data.get('title')}: {str(getattr(outcome, 'reason', ''))[:300]}[/red]")
        elif kind == "step_done" and getattr(outcome, "outcome", "pass") == "fail":
            # Done on a failing verdict (a soak checkpoint): the step is over, what it found is not good.
            o.info(f"{stamp}[red]✗ {data.get('title')}: {str(getattr(outcome, 'summary', ''))[:300]}[/red]")
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
        elif kind == "rollback":
            o.info(f"{stamp}  [red]{data.get('project')} ROLLED BACK in {data.get('seconds')} s: "
                   f"{data.get('reason')}[/red]")

    return notify
