"""Usage errors through the real console script: one line on stderr, exit 2, never a traceback.

Each command runs as its own ``golive`` process (the boundary a user and a CI
job meet), all started at once since they are independent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = str(ROOT / "examples" / "bbws" / "golive.yaml")
GOLIVE = str(Path(sys.executable).with_name("golive"))

CASES: dict[str, tuple[list[str], str]] = {
    "plan without --env": (["plan", "-f", EXAMPLE], "golive plan: Missing option '--env'"),
    "unknown option": (["check", "--bogus", "-f", EXAMPLE], "golive check: No such option: --bogus"),
    "unknown command": (["nosuch", "-f", EXAMPLE], "No such command 'nosuch'"),
    "a value given to a flag": (["--json", "true", "check", "-f", EXAMPLE], "No such command 'true'"),
    "option without its value": (["plan", "-f", EXAMPLE, "--env"], "Option '--env' requires an argument"),
    "missing required option": (["promote", "product_lambda", "--env", "prod", "-f", EXAMPLE],
                                "golive promote: Missing option '--why'"),
    "not a number": (["incident", "resolve", "abc", "-f", EXAMPLE], "Invalid value for 'incident_id'"),
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("errors")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    procs = {name: subprocess.Popen([GOLIVE, *argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for name, (argv, _) in CASES.items()}
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("name", list(CASES))
def test_usage_error_is_one_line_and_exit_2(ran: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    r = ran[name]
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("golive: error: ")
    assert CASES[name][1] in lines[0]
    if "--json" in CASES[name][0]:
        assert json.loads(r.stdout)["exit_code"] == 2
    else:
        assert r.stdout == ""


def test_bare_group_prints_its_help_and_exits_2(tmp_path: Path) -> None:
    r = subprocess.run([GOLIVE, "soak"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2
    text = r.stdout + r.stderr  # typer's Rich help prints itself on stdout
    assert "Traceback" not in text
    assert "checkpoint" in text and "Usage: golive soak" in text

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("cli_errors")
