"""Running a command the plan names (smoke tests, a deploy or undo command) as data, never through a shell.

Commands are argv lists, so a plan value can never be interpreted by a
shell. A command that runs and fails is an answer (its exit code and
output); a command that cannot be started at all (not found, not
executable, bad working directory) is ``CommandError``.

Every command runs in a process group of its own, and golive never leaves
that group behind: at the timeout, or when golive itself is stopped (Ctrl-C,
or SIGTERM, which the CLI turns into the same stop) while it waits, the
whole group (children and grandchildren: ``curl``, ``sleep``) gets SIGTERM,
then SIGKILL after a grace period (at once on a second stop), before the
timeout is answered or the stop goes on. A caller that must know after a crash whether its command is
still running passes a ``token``: it is put in the command's environment
(``GOLIVE_COMMAND_ID``), which every descendant inherits, so ``end_survivors``
can find and end what a killed golive left running, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from golive.errors import CommandError

MARK_ENV = "GOLIVE_COMMAND_ID"
TERM_GRACE_S = 5.0  # between SIGTERM and SIGKILL: time for a script to clean up (a lock, a half-written file)
_READ_GRACE_S = 2.0  # for the pipes to close once the group is gone
_POLL_S = 0.05


@dataclass(frozen=True)
class CommandOutcome:
    """How one command ended: exit code (None if it was ended at the timeout) and its output."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    ended: str | None = None  # how golive ended its process group at the timeout

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class Group:
    """A started command's process group (its id is the command's pid), and how golive ended it if it had to."""

    pid: int
    token: str | None
    ended: str | None = None


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the leader, so a dead one does not count as a member
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_group(proc: subprocess.Popen[bytes], grace: float = TERM_GRACE_S) -> str:
    """SIGTERM to the command's whole group, SIGKILL to what is left after ``grace`` seconds; says which it took.

    A second Ctrl-C or SIGTERM during the grace cuts it short: the group gets SIGKILL at once, then the stop
    goes on, so an impatient stop cannot leave the group behind either.
    """
    if not _group_alive(proc):
        return "had already ended"
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _group_alive(proc):
                return "ended by SIGTERM"
            time.sleep(_POLL_S)
    except BaseException:
        _kill_group(proc)
        with contextlib.suppress(BaseException):  # a third stop: the group has its SIGKILL already
            _until_gone(proc)
        raise
    _kill_group(proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_READ_GRACE_S)
    return f"ended by SIGKILL, {grace:g} s after SIGTERM"


def _until_gone(proc: subprocess.Popen[bytes]) -> None:
    """After SIGKILL, which no process can refuse: wait (bounded) until no member of the group is left."""
    deadline = time.monotonic() + _READ_GRACE_S
    while _group_alive(proc) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    token: str | None = None,
    on_start: Callable[[Group], None] | None = None,
    grace: float = TERM_GRACE_S,
) -> CommandOutcome:
    """Run ``argv`` to completion or until ``timeout`` seconds; ``env`` is added to this process's environment.

    ``on_start`` hears of the group as soon as it exists (a caller saves it as its intent); if golive is stopped
    while the command runs, the group is ended, ``Group.ended`` says how, and the stop goes on (re-raised).
    """
    args = [str(a) for a in argv]
    if not args:
        raise CommandError("empty command: argv needs at least the program")
    added = {**(env or {}), **({MARK_ENV: token} if token is not None else {})}
    full_env = {**os.environ, **added} if added else None
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        missing = cwd if cwd is not None and not Path(cwd).is_dir() else args[0]
        raise CommandError(f"cannot run {args[0]}: {missing} not found") from exc
    except PermissionError as exc:
        raise CommandError(f"cannot run {args[0]}: permission denied (is it executable?)") from exc
    except OSError as exc:
        raise CommandError(f"cannot run {args[0]}: {exc.strerror or exc}") from exc
    group = Group(pid=proc.pid, token=token)
    ended: str | None = None
    try:
        if on_start is not None:
            on_start(group)
        out, err = proc.communicate(stdin.encode() if stdin is not None else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        ended = end_group(proc, grace)
        try:
            out, err = proc.communicate(timeout=_READ_GRACE_S)
        except subprocess.TimeoutExpired:  # something outside the group holds the pipes
            out, err = b"", b""
    except BaseException:  # golive is being stopped (or could not save the intent): the group goes first
        group.ended = end_group(proc, grace)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        raise
    duration = time.perf_counter() - started
    return CommandOutcome(
        argv=tuple(args),
        exit_code=None if ended is not None else proc.returncode,
        stdout=out.decode(errors="replace"),
        stderr=err.decode(errors="replace"),
        duration_s=duration,
        timed_out=ended is not None,
        ended=ended,
    )


def _holding(token: str) -> list[int]:
    """The processes whose environment carries ``token`` (readable only for golive's own user's processes)."""
    needle = f"{MARK_ENV}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def can_find_survivors() -> bool:
    """Whether this system lets golive read other processes' environments (Linux's /proc)."""
    return Path("/proc/self/environ").exists()


def end_survivors(token: str, grace: float = TERM_GRACE_S) -> list[int]:
    """End every process still running with ``token`` (a killed golive's command): SIGTERM, then SIGKILL.

    Returns the pids found. Processes are found by the token in their environment, never by a saved pid or
    group id, which the system may have given to an unrelated process since.
    """
    if not can_find_survivors():
        return []
    found = _holding(token)
    if not found:
        return []
    seen, termed = set(found), set[int]()
    deadline = time.monotonic() + grace
    while found and time.monotonic() < deadline:
        for pid in set(found) - termed:  # once each: a script that traps SIGTERM hears it once
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
            termed.add(pid)
        time.sleep(_POLL_S)
        found = _holding(token)  # a dying script may have started another child meanwhile
        seen.update(found)
    for _ in range(20):  # SIGKILL cannot be refused: a round or two; a cap in case something keeps forking
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(_POLL_S)
        found = _holding(token)  # a killed process is a zombie at most, whose environment reads empty
        seen.update(found)
    return sorted(seen)
