"""A hostile or unreadable plan file: ``golive check`` exits 2 with one line, no traceback, and does not hang.

Each case runs the real console script on a file made in the test's folder.
The subprocess timeout only stops a hung run from stalling the suite; the
test asserts the outcome, never the time taken.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from golive.plan.loader import MAX_DEPTH

GOLIVE = Path(sys.executable).with_name("golive")


def alias_bomb() -> str:
    """The 342-byte "billion laughs": nine levels of nine aliases stand for 9**9 strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def check(plan: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([str(GOLIVE), "check", "-f", str(plan)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=60, check=False)


def assert_one_line(done: subprocess.CompletedProcess[str], plan: Path, *words: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"golive: error: {plan}"), output
    for word in words:
        assert word in lines[0], output


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text) == 342
    plan = tmp_path / "bomb.yaml"
    plan.write_text(text)
    assert_one_line(check(plan, tmp_path), plan, "expands to more than", "aliases")


def test_a_few_aliases_still_load(tmp_path: Path) -> None:
    """The cap is on expansion, not on aliases: a plan that reuses an anchor gets past reading."""
    plan = tmp_path / "aliases.yaml"
    plan.write_text("release: r\nx: &x [1, 2]\ny: *x\n")
    done = check(plan, tmp_path)
    assert "expands to more than" not in done.stderr, done.stderr
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    plan = tmp_path / "deep.yaml"
    plan.write_text("release: " + opening * 100_000 + closing * 100_000 + "\n")
    assert_one_line(check(plan, tmp_path), plan, f"deeper than {MAX_DEPTH} levels")


def test_nesting_within_the_cap_loads(tmp_path: Path) -> None:
    plan = tmp_path / "nested.yaml"
    plan.write_text("release: r\nx: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n")
    done = check(plan, tmp_path)
    assert "deeper than" not in done.stderr, done.stderr


def test_oversized_plan_names_the_limit(tmp_path: Path) -> None:
    plan = tmp_path / "big.yaml"
    with plan.open("w") as handle:
        handle.write("release: r\n")
        handle.write("# padding\n" * 5_300_000)
    assert_one_line(check(plan, tmp_path), plan, "larger than the 1 MB limit")


def test_proc_self_mem(tmp_path: Path) -> None:
    plan = Path("/proc/self/mem")
    assert_one_line(check(plan, tmp_path), plan, "cannot read the plan")


def test_a_directory(tmp_path: Path) -> None:
    plan = tmp_path / "golive.yaml"
    plan.mkdir()
    assert_one_line(check(plan, tmp_path), plan, "a directory")


def test_a_missing_file(tmp_path: Path) -> None:
    plan = tmp_path / "nowhere.yaml"
    assert_one_line(check(plan, tmp_path), plan, "no such plan file")


def test_a_fifo_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    plan = tmp_path / "fifo.yaml"
    os.mkfifo(plan)
    assert_one_line(check(plan, tmp_path), plan, "not a regular file")


# Root reads any file through two capabilities; without them it is held to a file's mode like anyone. Root stays
# root (not `nobody`), so golive runs from wherever the checkout and its venv live, a private folder included.
AS_A_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def test_no_permission(tmp_path: Path) -> None:
    plan = tmp_path / "secret.yaml"
    plan.write_text("release: r\n")
    plan.chmod(0)
    held = AS_A_USER if os.geteuid() == 0 else []
    done = subprocess.run([*held, str(GOLIVE), "check", "-f", str(plan)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, check=False)
    assert_one_line(done, plan, "Permission denied")


def test_not_utf8(tmp_path: Path) -> None:
    plan = tmp_path / "latin1.yaml"
    plan.write_bytes(b"release: caf\xe9\n")
    assert_one_line(check(plan, tmp_path), plan, "not UTF-8")
