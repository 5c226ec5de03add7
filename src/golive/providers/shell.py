"""Running a command the plan names (smoke tests, ``terraform destroy``) as data, never through a shell.

Commands are argv lists, so a plan value can never be interpreted by a
shell. A command that runs and fails is an answer (its exit code and
output); a command that cannot be started at all (not found, not
executable, bad working directory) is ``CommandError``. A timeout kills the
whole process group, so a smoke script's children (``curl``, ``sleep``)
cannot keep the pipes open and hang golive after the deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from golive.errors import CommandError

_KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class CommandOutcome:
    """How one command ended: exit code (None if it was killed at the timeout) and its output."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CommandOutcome:
    """Run ``argv`` to completion or until ``timeout`` seconds; ``env`` is added to this process's environment."""
    args = [str(a) for a in argv]
    if not args:
        raise CommandError("empty command: argv needs at least the program")
    full_env = {**os.environ, **env} if env else None
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
    data = stdin.encode() if stdin is not None else None
    try:
        out, err = proc.communicate(data, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        timed_out = True
    duration = time.perf_counter() - started
    return CommandOutcome(
        argv=tuple(args),
        exit_code=None if timed_out else proc.returncode,
        stdout=out.decode(errors="replace"),
        stderr=err.decode(errors="replace"),
        duration_s=duration,
        timed_out=timed_out,
    )
