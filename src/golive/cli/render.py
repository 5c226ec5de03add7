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
