"""The shell provider with real subprocesses: argv never meets a shell, timeouts kill the whole group."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from golive.errors import CommandError
from golive.providers import shell


def executable(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_exit_code_and_both_streams_are_returned(tmp_path: Path) -> None:
    path = executable(tmp_path, "s.sh", "echo out\necho err >&2\nexit 3\n")
    outcome = shell.run([str(path)], timeout=10)
    assert (outcome.exit_code, outcome.stdout, outcome.stderr, outcome.timed_out) == (3, "out\n", "err\n", False)
    assert not outcome.ok


def test_arguments_reach_the_program_literally(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    outcome = shell.run(["printf", "%s|", "a b", f"; touch {marker}", "$(id)"], timeout=10)
    assert outcome.stdout == f"a b|; touch {marker}|$(id)|"
    assert not marker.exists()


def test_timeout_kills_the_children_too(tmp_path: Path) -> None:
    # The script's `sleep` holds stdout open; without killing the group, reading the output would wait 60 s.
    path = executable(tmp_path, "hang.sh", "echo before\nsleep 60\necho after\n")
    outcome = shell.run([str(path)], timeout=0.3)
    assert outcome.timed_out
    assert outcome.exit_code is None
    assert outcome.stdout == "before\n"


def test_cwd_env_and_stdin(tmp_path: Path) -> None:
    path = executable(tmp_path, "s.sh", 'pwd\necho "$GOLIVE_ENV"\ncat\n')
    outcome = shell.run(["./s.sh"], timeout=10, cwd=tmp_path, env={"GOLIVE_ENV": "prod"}, stdin="from stdin")
    assert outcome.ok
    assert outcome.stdout.splitlines() == [str(path.parent.resolve()), "prod", "from stdin"]


def test_a_program_that_cannot_start_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not found"):
        shell.run([str(tmp_path / "missing.sh")], timeout=10)
    not_executable = tmp_path / "plain.sh"
    not_executable.write_text("echo hi\n")
    with pytest.raises(CommandError, match="permission denied"):
        shell.run([str(not_executable)], timeout=10)
    with pytest.raises(CommandError, match="nowhere not found"):
        shell.run(["true"], timeout=10, cwd=tmp_path / "nowhere")
    with pytest.raises(CommandError, match="empty command"):
        shell.run([], timeout=10)
