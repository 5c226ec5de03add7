"""How commands show results: Rich for people, JSON for machines, plain lines for logs.

With ``--json`` only JSON goes to stdout (progress and messages go to
stderr or nowhere), so ``golive ... --json | jq`` always works. When a stream
is not a terminal (a CI log, ``| cat``, a file) its console is as wide as a
line needs: a repository, secret, ARN, bucket or URL is never folded or cut
with ``…``, since a log is searched, not looked at. Times always carry their
zone in text; JSON carries ISO 8601 with the offset.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from golive import schedule
from golive.cli.github_actions import GitHubActions
from golive.redact import scrub
from golive.store.statuses import RunStatus, StepStatus
from golive.textout import rich as esc

# Outcomes ("pass", "GO", ...) and the statuses of steps and runs (StrEnums: their keys equal their text).
STATUS_STYLE: dict[str, str] = {
    "pass": "green", StepStatus.DONE: "green", RunStatus.SUCCEEDED: "green", "GO": "bold green",
    "warn": "yellow", StepStatus.WAITING: "yellow", StepStatus.RUNNING: "cyan", StepStatus.PENDING: "dim",
    StepStatus.COMPENSATING: "yellow", RunStatus.FAILING: "red",
    "fail": "red", StepStatus.FAILED: "red", "error": "magenta", "NO-GO": "bold red", RunStatus.ROLLED_BACK: "red",
    StepStatus.CANCELLED: "dim", StepStatus.SKIPPED: "dim", RunStatus.NO_GO: "red", RunStatus.ABORTED: "red",
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
    # No emoji codes: ``:warning:`` in a title is text. Outside text in markup goes through ``esc``.
    if stream.isatty():
        return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False, width=PLAIN_WIDTH)


def when(at: datetime) -> str:
    """A time for people, in the plan's zone with its abbreviation: ``Jan 10 09:00 SAST`` (naive is UTC)."""
    return schedule.local(at)


class Output:
    def __init__(self, json_mode: bool, ci: GitHubActions | None = None) -> None:
        self.json_mode = json_mode
        # In GitHub Actions: the job summary and annotations; with --json the annotations go to stderr (stdout is JSON).
        self.ci = GitHubActions(ci.summary_path, ci.redact, sys.stderr if json_mode else None) if ci else None
        self.out = _console(sys.stdout, stderr=False)
        self.err = _console(sys.stderr, stderr=True)
        self.progress: Progress | None = None  # a live view to end before results are printed

    @property
    def terminal(self) -> bool:
        """Whether stdout is a person's terminal (else a log, a pipe or a file)."""
        return self.out.is_terminal

    def json(self, data: Any) -> None:
        sys.stdout.write(scrub(json.dumps(data, default=_default, indent=2)) + "\n")
        sys.stdout.flush()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.close()
        if not self.json_mode:
            self.out.print(*(scrub(a) if isinstance(a, str) else a for a in args), **kwargs)

    def info(self, message: str) -> None:
        """Progress and notes: stderr, so stdout stays clean."""
        self.err.print(scrub(message))


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{esc(status)}[/{style}]" if style else esc(status)


HEARTBEAT_SECONDS = 60.0


class Progress:
    """Live progress on stderr: each step, each canary shift and analysis, each rollback, as they happen.

    Each line starts with its time: the run's clock when the event carries one (virtual in a rehearsal), else the
    wall clock, so a CI log shows when each thing happened. On a terminal a Rich live
    view sits under the lines: the clock, the current step, each canary's weight and last verdict, and a
    countdown to what the run waits for. Piped, a plain heartbeat line (wall time, what it waits for) comes
    at least every ``heartbeat_s`` of wall time, so a CI log never looks frozen.
    """

    def __init__(self, o: Output, *, clock: Any = None, heartbeat_s: float = HEARTBEAT_SECONDS,
                 live: bool | None = None) -> None:
        self.o = o
        self.clock = clock
        self.heartbeat_s = heartbeat_s
        self.step: str | None = None
        self.virtual_now: datetime | None = None
        self.waiting: tuple[datetime | None, str] | None = None
        self.canaries: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._last_line = time.monotonic()
        self._live: Live | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.live = o.err.is_terminal if live is None else live
        o.progress = self
        atexit.register(self.close)

    # -- what the view knows -------------------------------------------------------------------
    def now(self) -> datetime | None:
        if self.clock is not None:
            now: datetime = self.clock.now()
            return now
        return self.virtual_now

    def countdown(self) -> str:
        if self.waiting is None:
            return "working"
        until, reason = self.waiting
        now = self.now()
        if until is None or now is None:
            return f"waiting: {reason}"
        left = max((until - now).total_seconds(), 0.0)
        return f"waiting: {reason}; next in {_countdown(left)} ({schedule.local(until, fmt='%H:%M')})"

    def __rich__(self) -> Table:
        now = self.now()
        grid = Table.grid(padding=(0, 2))
        grid.add_row("[dim]clock[/dim]", schedule.local(now, fmt="%a %d %b %H:%M:%S") if now else "-")
        grid.add_row("[dim]step[/dim]", esc(self.step or "-"))
        for project, (weight, verdict) in list(self.canaries.items()):
            grid.add_row(f"[dim]canary[/dim] {esc(project)}",
                         f"{weight:g}%  last verdict {styled(verdict) if verdict else '-'}")
        grid.add_row("[dim]next[/dim]", esc(self.countdown()))
        return grid

    # -- events ------------------------------------------------------------------------------------
    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._update(kind, data)
            self._line(kind, data)
            if not kind.startswith("run_"):
                self._start()
        if kind.startswith("run_"):
            self.close()

    def _update(self, kind: str, data: dict[str, Any]) -> None:
        at = data.get("virtual_now")
        if isinstance(at, datetime):
            self.virtual_now = at
        outcome = data.get("outcome")
        if kind == "step_started":
            self.step, self.waiting = str(data.get("title")), None
        elif kind == "step_waiting":
            self.waiting = (getattr(outcome, "until", None), str(getattr(outcome, "reason", "")))
        elif kind in ("step_done", "step_failed"):
            self.waiting = None
        elif kind == "canary" and outcome in ("shifted", "promoted", "analysis"):
            project = str(data.get("project"))
            weight = data.get("weight")
            old_weight, verdict = self.canaries.get(project, (0.0, None))
            self.canaries[project] = (float(weight) if weight is not None else old_weight,
                                      str(data.get("verdict")) if outcome == "analysis" else verdict)
        elif kind == "rollback":
            self.canaries[str(data.get("project"))] = (0.0, "rolled_back")

    def _line(self, kind: str, data: dict[str, Any]) -> None:
        at = data.get("virtual_now")
        shown = schedule.local(at, fmt="%a %d %H:%M") if isinstance(at, datetime) else \
            schedule.local(datetime.now(UTC), fmt="%H:%M:%S")
        stamp = f"[dim]{shown}[/dim] "
        outcome = data.get("outcome")
        title, project = esc(data.get("title")), esc(data.get("project"))
        line: str | None = None
        if kind == "step_started":
            line = f"{stamp}▶ {title}"
        elif kind == "step_failed":
            line = f"{stamp}[red]✗ {title}: {esc(str(getattr(outcome, 'reason', ''))[:300])}[/red]"
        elif kind == "step_done" and getattr(outcome, "outcome", "pass") == "fail":
            # Done on a failing verdict (a soak checkpoint): the step is over, what it found is not good.
            line = f"{stamp}[red]✗ {title}: {esc(str(getattr(outcome, 'summary', ''))[:300])}[/red]"
        elif kind == "step_done":
            # The mark says the outcome: a skipped step (a checkpoint after the soak failed) is not a pass.
            mark = {"skip": "[dim]–[/dim]", "warn": "[yellow]![/yellow]"}.get(getattr(outcome, "outcome", "pass"),
                                                                          "[green]✓[/green]")
            summary = str(getattr(outcome, "summary", ""))
            line = f"{stamp}{mark} {title}: {esc(summary[:200])}"
        elif kind == "deploy" and outcome == "dispatched":
            line = (f"{stamp}  {project}: {esc(data.get('workflow'))} run {esc(data.get('run_id'))} "
                    f"{esc(data.get('url'))}")
        elif kind == "canary" and outcome == "shifted":
            line = f"{stamp}  {project} → {data.get('weight'):g}%"
        elif kind == "canary" and outcome == "sample":
            said = [f"could not look at the stable versions' traffic: {data['error']}"] if data.get("error") else \
                list(data.get("lines") or [])
            line = "\n".join(f"{stamp}  sample: {esc(str(text))}" for text in said) or None
        elif kind == "canary" and outcome == "inconclusive":
            line = f"{stamp}  [yellow]{project}: {esc(str(data.get('reason'))[:400])}[/yellow]"
        elif kind == "canary" and outcome == "analysis" and data.get("line"):
            line = f"{stamp}  {esc(str(data['line'])[:400])}"
        elif kind == "canary" and outcome == "analysis":
            judged = data.get("summary") if data.get("verdict") != "fail" or "judge" in str(data.get("reason")) else None
            line = (f"{stamp}  {project} at {data.get('weight'):g}%: {esc(data.get('verdict'))} — "
                    f"{esc(str(judged or data.get('reason'))[:220])}")
        elif kind == "canary" and outcome == "promoted":
            line = f"{stamp}  [green]{project} promoted to 100%[/green]"
        elif kind == "retry":
            line = f"{stamp}  [yellow]{esc(data.get('line'))}[/yellow]"
        elif kind == "rollback":
            line = (f"{stamp}  [red]{project} ROLLED BACK in {esc(data.get('seconds'))} s: "
                    f"{esc(data.get('reason'))}[/red]")
        if line is not None:
            self.o.info(line)
            self._last_line = time.monotonic()

    # -- the live view and the heartbeat -----------------------------------------------------------
    def _start(self) -> None:
        if self.live and self._live is None:
            self._live = Live(self, console=self.o.err, refresh_per_second=4, transient=True)
            self._live.start()
        elif not self.live and self._beat is None:
            self._stop.clear()
            self._beat = threading.Thread(target=self._heartbeat, name="golive-heartbeat", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(self.heartbeat_s, 1.0)):
            with self._lock:
                if self._stop.is_set() or time.monotonic() - self._last_line < self.heartbeat_s:
                    continue
                now = self.now()
                clock = f"; clock {schedule.local(now, fmt='%a %d %H:%M')}" if now and self.clock is None else ""
                step = f"{self.step}: " if self.step and self.waiting is None else ""
                self.o.info(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} … {esc(step + self.countdown())}{clock}")
                self._last_line = time.monotonic()

    def close(self) -> None:
        """Stop the live view or the heartbeat (at a run's end, and at exit)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._beat is not None:
            self._stop.set()
            if self._beat is not threading.current_thread():
                self._beat.join(timeout=2)
            self._beat = None


def _countdown(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def heartbeat_seconds(environ: Mapping[str, str]) -> float:
    """``GOLIVE_HEARTBEAT_SECONDS`` (how often a piped run says it is alive), default one minute."""
    raw = environ.get("GOLIVE_HEARTBEAT_SECONDS", "")
    try:
        return max(float(raw), 0.1) if raw else HEARTBEAT_SECONDS
    except ValueError:
        return HEARTBEAT_SECONDS


def progress(o: Output, clock: Any = None) -> Progress:
    """The progress renderer a command hands to the engine as its ``notify``."""
    return Progress(o, clock=clock, heartbeat_s=heartbeat_seconds(os.environ))
