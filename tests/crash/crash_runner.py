"""A golive command that kills itself with SIGKILL at a chosen point, and counts the points it passed.

    GOLIVE_CRASH_AT=commit:N|before:N|after:N|line:REGEX GOLIVE_CRASH_TALLY=FILE \\
        python crash_runner.py MODULE [ARG]...

runs ``python -m MODULE ARG...`` (``golive.rehearsal``, or ``golive`` for the
CLI) in this process after hooking the libraries it talks through, never
golive itself:

- SQLAlchemy: every commit of a store transaction (the ``commit`` event, and
  the ``COMMIT`` statement a PostgreSQL pipelined write sends itself);
  ``commit:N`` dies just before the Nth commit lands, so the process's
  writes up to the (N-1)th are in the store and nothing after;
- botocore and httpx: every side effect in AWS (a call that is not a read,
  STS aside) and at GitHub (a POST, PUT, PATCH or DELETE under ``/repos/``);
  ``before:N`` dies before the Nth is sent, ``after:N`` once it was sent,
  whether or not its answer arrived;
- output: ``line:REGEX`` dies the moment a line matching REGEX is printed
  on stdout or stderr (written and flushed to the pipe): what an operator's
  kill at that line is, without the race of another process reading the pipe.

The death is ``os.kill(os.getpid(), SIGKILL)``: no handler, no ``finally``,
no flush runs, as when the machine or the operator kills golive. With
GOLIVE_CRASH_TALLY, a process that was not killed writes there, at its end,
how many commits it made, which side effects it caused, in order, and which
commit first wrote a step as failed.

    python crash_runner.py --serve

is the same as a fork server, for the harness's hundreds of runs: it imports
golive's runner once, then for each JSON request on stdin (``module``,
``args``, ``env``, ``stdout``, ``stderr``: files) forks a child that sets the
request's environment, runs the command as above and exits; it answers each
with a JSON line holding the child's pid and return code (-9: killed). Each
run is still a process of its own, killed with SIGKILL; only the seconds of
imports are shared.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

import botocore.session
import httpx
import sqlalchemy as sa

from golive.store.statuses import StepStatus

READS = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Query", "Scan", "Filter", "BatchGet", "Select")
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Tally:
    """The points passed so far, and the one to die at."""

    def __init__(self, at: str = "") -> None:
        self.start(at)

    def start(self, at: str) -> None:
        """Count from zero, dying at ``at`` (``commit:N``, ``before:N``, ``after:N``; anything else: never)."""
        kind, _, value = at.partition(":")
        self.kind = kind
        self.target = int(value) if kind in ("commit", "before", "after") else 0
        self.commits = 0
        self.effects: list[tuple[str, int]] = []  # each side effect, with the number of commits before it
        self.failure: int | None = None  # the first commit that wrote a step's "failed"
        self._failing = False

    def commit(self) -> None:
        self.commits += 1
        if self.kind == "commit" and self.commits == self.target:
            die()
        if self._failing and self.failure is None:
            self.failure = self.commits
        self._failing = False

    def wrote(self, statement: str, parameters: Any) -> None:
        """Note a statement of the transaction: one that writes a step as failed makes its commit the failure's."""
        if statement.lstrip()[:6].upper() not in ("UPDATE", "INSERT") or " steps" not in statement:
            return
        rows = parameters if isinstance(parameters, list | tuple) else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row if isinstance(row, list | tuple) else [row]
            if any(value == StepStatus.FAILED for value in values):
                self._failing = True

    def before(self, name: str) -> None:
        self.effects.append((name, self.commits))
        if self.kind == "before" and len(self.effects) == self.target:
            die()

    def after(self, index: int) -> None:
        if self.kind == "after" and index == self.target:
            die()


class KillingStream:
    """sys.stdout or sys.stderr, dying once a complete line matching ``pattern`` has reached the pipe."""

    def __init__(self, inner: TextIO, pattern: re.Pattern[str]) -> None:
        self._inner = inner
        self._pattern = pattern
        self._line = ""

    def write(self, text: str) -> int:
        written = self._inner.write(text)
        self._line += text
        *lines, self._line = self._line.split("\n")
        if any(self._pattern.search(line) for line in lines):
            self._inner.flush()
            die()
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def hook() -> None:
    """Count (and die at) the process's commits and side effects, in ``TALLY`` (set per run)."""
    def on_commit(conn: sa.engine.Connection) -> None:
        TALLY.commit()

    def on_execute(conn: sa.engine.Connection, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.strip().upper() == "COMMIT":
            TALLY.commit()
        else:
            TALLY.wrote(statement, parameters)

    sa.event.listen(sa.engine.Engine, "commit", on_commit)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_execute)

    sent: dict[int, int] = {}  # id of botocore's call context -> index of its effect

    def aws_effect(event_name: str) -> str | None:
        _, service, operation = event_name.split(".", 2)
        return None if service == "sts" or operation.startswith(READS) else f"aws:{service}:{operation}"

    def before_call(**kwargs: Any) -> None:
        name = aws_effect(kwargs["event_name"])
        if name is not None:
            TALLY.before(name)
            sent[id(kwargs["context"])] = len(TALLY.effects)

    def after_call(**kwargs: Any) -> None:
        index = sent.pop(id(kwargs["context"]), None)
        if index is not None:
            TALLY.after(index)

    original_init = botocore.session.Session.__init__

    def session_init(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.register("before-call", before_call, unique_id="golive-crash-before")
        self.register("after-call", after_call, unique_id="golive-crash-after")
        self.register("after-call-error", after_call, unique_id="golive-crash-after-error")

    botocore.session.Session.__init__ = session_init  # type: ignore[method-assign]

    original_send = httpx.HTTPTransport.handle_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        if request.method not in MUTATING or not request.url.path.startswith("/repos/"):
            return original_send(self, request)
        TALLY.before(f"github:{request.method} {request.url.path}")
        index = len(TALLY.effects)
        try:
            return original_send(self, request)
        finally:
            TALLY.after(index)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]


TALLY = Tally()


def run(module: str, args: list[str]) -> int:
    """``python -m module args``, dying where GOLIVE_CRASH_AT says; the exit code."""
    at = os.environ.get("GOLIVE_CRASH_AT", "")
    TALLY.start(at)
    if at.startswith("line:"):
        pattern = re.compile(at.removeprefix("line:"))
        sys.stdout = KillingStream(sys.stdout, pattern)
        sys.stderr = KillingStream(sys.stderr, pattern)
    sys.argv = [f"python -m {module}", *args]
    code: int = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        out = os.environ.get("GOLIVE_CRASH_TALLY")
        if out:
            Path(out).write_text(json.dumps({"commits": TALLY.commits, "effects": TALLY.effects,
                                             "failure": TALLY.failure}), encoding="utf-8")
    return code


def serve() -> int:
    """The fork server: one child per request line, one answer line per child."""
    import golive.rehearsal.remote
    import golive.runs.session  # noqa: F401 - the imports every child shares

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.environ.update(request["env"])
                for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
                    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    os.dup2(target, fd)
                    os.close(target)
                sys.stdin.close()
                code = run(request["module"], request["args"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "returncode": -os.WTERMSIG(status) if os.WIFSIGNALED(status)
                          else os.WEXITSTATUS(status)}), flush=True)
    return 0


def main(argv: list[str]) -> int:
    hook()
    if argv == ["--serve"]:
        return serve()
    module, *args = argv
    return run(module, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
