"""CLI conventions a shell user expects (issue 27): ``--version``, completion, honest help, every typo at once,
names checked before any prompt, ``secrets list``, a quiet piped ``--watch``, Ctrl-C, ticks and counts.

Each runs the real console script as its own process, the boundary a user meets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import typer

from golive import __version__
from golive.cli.main import app

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bbws" / "golive.yaml"
GOLIVE = str(Path(sys.executable).with_name("golive"))


def golive(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOLIVE_")}
    env.update(COLUMNS="200", NO_COLOR="1")
    return subprocess.run([GOLIVE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False,
                          input=stdin)


def test_version_prints_the_version_and_exits_0() -> None:
    done = golive("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"golive {__version__}\n", "")


def test_an_unknown_top_level_option_names_golive_once() -> None:
    done = golive("--bogus")
    assert done.returncode == 2
    assert done.stderr.startswith("golive: error: No such option: --bogus"), done.stderr


def test_completion_scripts_for_bash_zsh_and_fish_call_golive_back() -> None:
    for shell in ("bash", "zsh", "fish"):
        done = golive("completion", shell)
        assert done.returncode == 0, done.stderr
        assert f"_GOLIVE_COMPLETE=complete_{shell}" in done.stdout
    env = {**os.environ, "_GOLIVE_COMPLETE": "complete_bash", "COMP_WORDS": "golive sandbox st", "COMP_CWORD": "2"}
    answer = subprocess.run([GOLIVE], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert answer.stdout.split() == ["status"], answer.stdout + answer.stderr


def _params(command: typer.core.TyperCommand | typer.core.TyperGroup, path: str) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = [(path, p) for p in command.params]
    for name, sub in getattr(command, "commands", {}).items():
        found += _params(sub, f"{path} {name}")
    return found


def test_every_option_and_argument_has_help() -> None:
    root = typer.main.get_command(app)
    missing = [f"{path} {getattr(p, 'name', '?')}" for path, p in _params(root, "golive") if not getattr(p, "help", None)]
    assert missing == []


def test_flags_show_no_bool_metavar_in_help() -> None:
    for argv in (["--help"], ["deploy", "--help"], ["sandbox", "up", "--help"]):
        done = golive(*argv)
        assert done.returncode == 0, done.stderr
        assert "<bool>" not in done.stdout, done.stdout
    assert "--skip-gate" in golive("deploy", "--help").stdout


def test_ctrl_c_on_a_read_only_command_just_exits_130(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    proc = subprocess.Popen([GOLIVE, "status", "--watch", "-f", str(EXAMPLE), "--db", f"sqlite:///{db}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    while "no runs of bbws yet" not in proc.stdout.readline():
        pass
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "resume" not in err and err.strip() == "", err


def test_check_reports_every_typo_at_once_with_did_you_mean(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    plan = tmp_path / "golive.yaml"
    text = text.replace("    every: 2h ", "    evry: 2h ", 1).replace("release: bbws\n", "release: bbws\nreleaze: x\n", 1)
    plan.write_text(text)
    done = golive("check", "-f", str(plan))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == f"golive: error: {plan}: 2 errors", done.stderr
    assert any(line.endswith("releaze: unknown key (did you mean 'release'?)") for line in lines), lines
    assert any(line.endswith("soak.prod.evry: unknown key (did you mean 'every'?)") for line in lines), lines
    assert "Traceback" not in done.stderr


def test_check_suggests_the_project_environment_and_check_meant(tmp_path: Path) -> None:
    plan = tmp_path / "golive.yaml"
    plan.write_text(EXAMPLE.read_text().replace("projects: [web_public]", "projects: [web_publc]", 1)
                    .replace("    env: prod\n", "    env: prd\n", 1).replace("  - github_secrets\n", "  - github_secret\n", 1))
    done = golive("check", "-f", str(plan))
    assert done.returncode == 2
    assert f"{plan}: 3 errors" in done.stderr, done.stderr
    assert "no project 'web_publc' (did you mean 'web_public'?)" in done.stderr
    assert "gates.go_no_go.env: no environment 'prd' (did you mean 'prod'?)" in done.stderr
    assert "unknown check 'github_secret' (did you mean 'github_secrets'?)" in done.stderr
    assert "in no batch" not in done.stderr  # the misspelt project is not reported a second time


def test_names_are_checked_before_any_question(tmp_path: Path) -> None:
    cases = {
        ("deploy", "--env", "prod", "--project", "product"): "unknown project 'product' (did you mean 'product_lambda'?",
        ("deploy", "--env", "prod", "--batch", "api"): "unknown batch 'api' (did you mean 'apis'?",
        ("deploy", "--env", "prod", "--batch", "apis", "--project", "web_public"): "project 'web_public' is not in batch 'apis'",
        ("rollback", "product", "--env", "prod"): "unknown project 'product'",
        ("abort", "order", "--env", "prod"): "unknown project 'order' (did you mean 'order_lambda'?",
        ("deploy", "--env", "prd"): "unknown environment 'prd' (did you mean 'prod'?",
    }
    for argv, said in cases.items():
        done = golive(*argv, "-f", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'state.db'}", cwd=tmp_path, stdin="")
        assert done.returncode == 2, (argv, done.stderr)
        assert said in done.stderr and "--yes" not in done.stderr, (argv, done.stderr)


def test_a_piped_watch_sees_no_change_in_a_ticking_countdown() -> None:
    from datetime import UTC, datetime, timedelta

    from golive.cli.commands.status import _status_lines, settled
    from golive.runs.status import DueItem, _due_text

    due = DueItem("soak.sit.cp2", "sit soak checkpoint 2 of 8", datetime(2026, 1, 8, 14, 0, tzinfo=UTC), "due")
    looks = []
    for now in (datetime(2026, 1, 8, 8, 5, tzinfo=UTC), datetime(2026, 1, 8, 8, 7, tzinfo=UTC)):
        run = {"kind": "release", "env": "sit", "run": 1, "status": "waiting", "steps_done": 3, "steps_total": 9,
               "reason": None, "phases": [], "canaries": [], "due": [_due_text(due, now)]}
        looks.append([settled(line) for line in _status_lines({"release": "bbws", "runs": [run], "open_incidents": []})])
    assert looks[0] == looks[1]
    assert looks[0][-1].endswith("sit soak checkpoint 2 of 8 due 14:00 UTC")
    late = _due_text(due, due.due_at + timedelta(seconds=1))  # passing the due time is a change, said once
    assert settled(late).endswith("(now)")


def test_counts_agree_with_their_number() -> None:
    from golive.analysis.units import counted

    assert [counted(n, "check") for n in (0, 1, 2)] == ["0 checks", "1 check", "2 checks"]
    assert counted(1, "repository", "repositories") == "1 repository"
    assert counted(3, "batch", "batches") == "3 batches"


def test_a_skipped_step_is_not_shown_as_a_pass() -> None:
    from golive.cli.output import Output, Progress
    from golive.engine.outcome import Done

    shown: list[str] = []

    class Lines(Output):
        def info(self, message: str) -> None:
            shown.append(message)

    progress = Progress(Lines(False), live=False)
    skipped = Done("skipped: the soak failed at checkpoint 3", {"skipped": True}, outcome="skip")
    progress("step_done", {"title": "sit soak checkpoint 4 of 8", "outcome": skipped})
    progress("step_done", {"title": "sit soak checkpoint 2 of 8", "outcome": Done("checkpoint 2 of 8: pass")})
    progress.close()
    assert "✓" not in shown[0] and "sit soak checkpoint 4 of 8: skipped" in shown[0]
    assert "[green]✓[/green] sit soak checkpoint 2 of 8" in shown[1]
