"""Outside text at the command line's doors, through real ``golive`` processes, on SQLite and PostgreSQL.

Markup-like text an operator typed (an incident titled ``5xx on [/checkout] since 09:10``) prints as written
by every command that shows it, with the documented exit code and no traceback. Text golive must not store
(a NUL, a control character, a title over 200 or a note over 2,000 characters, JSON nested 200k deep) is
refused at the door with exit 2 and one line naming the field, in a plan, an option or stdin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from golive.store.store import Store
from golive.textinput import TextRefused

ROOT = Path(__file__).parents[2]
EXAMPLE_DIR = ROOT / "examples" / "bbws"
GOLIVE = str(Path(sys.executable).with_name("golive"))
MARKUP_TITLE = "5xx on [/checkout] since 09:10"

Run = Callable[..., subprocess.CompletedProcess[str]]


def _runner(cwd: Path, db: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "GITHUB_"))}

    def run(*argv: str, stdin: str | None = None, plan: str = "golive.yaml") -> subprocess.CompletedProcess[str]:
        return subprocess.run([GOLIVE, "-f", plan, "--db", db, *argv], check=False, cwd=cwd, env=env, input=stdin or "",
                              capture_output=True, text=True, timeout=120)
    return run


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE_DIR, tmp_path / "plan")
    return tmp_path / "plan"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def golive(request: pytest.FixtureRequest, workdir: Path) -> Run:
    """``golive`` in a copy of the example plan, on each backend (a fresh PostgreSQL schema for the second)."""
    url = f"sqlite:///{workdir / 'state.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    return _runner(workdir, url)


@pytest.fixture
def golive_sqlite(workdir: Path) -> Run:
    """``golive`` for the doors that refuse before the store is written: one backend is enough."""
    return _runner(workdir, f"sqlite:///{workdir / 'state.db'}")


def _refused(r: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(lines) == 1 and lines[0].startswith("golive: error: "), r.stderr
    assert "Traceback" not in r.stderr and "[SQL" not in r.stderr and "parameters" not in r.stderr
    for word in words:
        assert word in lines[0], lines[0]


# -- markup is text ---------------------------------------------------------------------------------------------

def test_an_incident_title_with_markup_prints_as_written_everywhere(golive: Run) -> None:
    opened = golive("incident", "open", "--title", MARKUP_TITLE, "--severity", "P1")
    assert opened.returncode == 0, opened.stderr
    assert f"opened: {MARKUP_TITLE}" in opened.stdout

    status = golive("status")
    listed = golive("incident", "list")
    gate = golive("gate", "go_no_go", "--env", "prod")
    for r, code in ((status, 0), (listed, 0), (gate, 1)):  # gate: NO-GO, the P1 is open (exit 1 as documented)
        assert r.returncode == code, r.stdout + r.stderr
        assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr
    assert f"open incident 1 P1 {MARKUP_TITLE}" in status.stdout
    assert listed.stdout.rstrip().endswith(f" {MARKUP_TITLE}")
    assert f"✗ incidents: open P1 #1: {MARKUP_TITLE}" in gate.stdout


def test_markup_and_emoji_codes_in_every_text_option_print_as_written(golive_sqlite: Run) -> None:
    golive = golive_sqlite
    title = r"[bold]payments [/] degraded[/bold] :warning: [link=https://evil.example]x[/link] C:\\"
    opened = golive("incident", "open", "--title", title, "--severity", "P2")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip().endswith(title)
    approved = golive("approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "[red]mallory[/red]",
                      "--note", "ok [/]")
    assert approved.returncode == 0, approved.stderr
    assert "[red]mallory[/red] as devops approved go_no_go" in approved.stdout


# -- refused at the door ------------------------------------------------------------------------------------------

def test_a_nul_in_incident_json_is_refused_naming_the_field(golive: Run) -> None:
    _refused(golive("incident", "open", stdin=json.dumps({"severity": "P1", "title": "a\x00b"})),
             "incident JSON on stdin: title", "NUL")
    _refused(golive("incident", "open", stdin=json.dumps({"severity": "P1", "title": "ok", "scope": "x\x00"})),
             "scope", "NUL")
    assert golive("incident", "list").stdout.strip() == "no open incidents"


def test_json_nested_200k_deep_is_refused_before_parsing(golive_sqlite: Run) -> None:
    golive = golive_sqlite
    _refused(golive("incident", "open", stdin="[" * 200_000 + "]" * 200_000), "deeper than 64")
    _refused(golive("incident", "open", stdin='{"severity": "P1", "title": "x", "tags": ' + "[" * 100 + "]" * 100 + "}"),
             "deeper than 64")


def test_titles_and_notes_are_capped_saying_the_limit(golive_sqlite: Run) -> None:
    golive = golive_sqlite
    _refused(golive("incident", "open", "--severity", "P1", "--title", "x" * 201), "--title", "at most 200")
    _refused(golive("incident", "open", stdin=json.dumps({"severity": "P1", "title": "x" * 201})), "at most 200")
    _refused(golive("approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "a", "--note", "n" * 2001),
             "--note", "at most 2,000")
    _refused(golive("deploy", "--env", "prod", "--skip-gate", "--why", "w" * 2001, "--yes"), "--why", "at most 2,000")
    assert golive("incident", "list").stdout.strip() == "no open incidents"


@pytest.mark.parametrize("argv, field", [
    (["approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "a", "--note", "x\x01y"], "--note"),
    (["approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "a\x1b[2Jb"], "--by"),
    (["incident", "open", "--severity", "P1", "--title", "a\nb"], "--title"),
    (["deploy", "--env", "prod", "--skip-gate", "--why", "x\x1b]52;c;evil\x07", "--yes"], "--why"),
    (["promote", "order_lambda", "--env", "prod", "--why", "x\x08", "--yes"], "--why"),
    (["abort", "order_lambda", "--env", "prod", "--why", "x\x7f", "--yes"], "--why"),
    (["rollback", "order_lambda", "--env", "prod", "--why", "x\x9b", "--yes"], "--why"),
    (["gate", "go\x1b[31m", "--env", "prod"], "argument"),
])
def test_control_characters_in_an_option_are_refused_naming_it(golive_sqlite: Run, argv: list[str], field: str) -> None:
    _refused(golive_sqlite(*argv), field, "control character")


def test_a_note_may_hold_newlines_and_tabs(golive_sqlite: Run) -> None:
    r = golive_sqlite("approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "alice", "--note", "line 1\n\tline 2")
    assert r.returncode == 0, r.stderr


def test_a_nul_in_the_plan_is_a_plan_error_with_file_line_and_key(golive: Run, workdir: Path) -> None:
    text = (workdir / "golive.yaml").read_text()
    item = "      - PROD account access working\n"
    assert item in text
    (workdir / "bad.yaml").write_text(text.replace(item, '      - "PROD account\\0 access working"\n'))
    line = text[:text.index(item)].count("\n") + 1
    for argv in (["check"], ["gate", "go_no_go", "--env", "prod"]):
        _refused(golive(*argv, plan="bad.yaml"), f"bad.yaml:{line} gates.go_no_go.checklist[0]", "NUL")
    (workdir / "esc.yaml").write_text(text.replace("release: bbws", 'release: "bbws\\e[31m"', 1))
    _refused(golive("check", plan="esc.yaml"), "esc.yaml:", " release:", "U+001B")


@pytest.mark.postgres
def test_a_nul_that_slips_past_the_doors_is_one_line_from_the_store(pg_url: str) -> None:
    from datetime import UTC, datetime

    store = Store.open(pg_url)
    try:
        with pytest.raises(TextRefused, match="NUL byte"):
            store.open_incident("bbws", None, "P1", "a\x00b", datetime.now(UTC))
        with pytest.raises(TextRefused, match="NUL byte"):
            store.add_approval("bbws", "prod", "go_no_go", "alice", None, "note\x00", datetime.now(UTC))
    finally:
        store.close()


@pytest.mark.slow
def test_a_p1_with_markup_is_printed_on_a_rehearsals_no_go_line(tmp_path: Path) -> None:
    """The issue's reproduction: a P1 titled ``payments [/] degraded`` crashed ``rehearse`` as it printed NO-GO."""
    from cli_user import sandbox_down, sandbox_up

    box = sandbox_up(tmp_path / "user")
    try:
        title = "payments [/] degraded"
        opened = box.golive("--db", f"sqlite:///{box.state_dir / 'rehearsal.db'}", "incident", "open",
                            "--severity", "P1", "--title", title)
        assert opened.code == 0, opened.explain()
        rehearsed = box.golive("rehearse", "--sandbox", str(box.state_dir), "--until", "gate", timeout=600)
        assert rehearsed.code == 1, rehearsed.explain()  # NO-GO: exit 1, as documented
        assert "Traceback" not in rehearsed.err and "MarkupError" not in rehearsed.err
        no_go = [line for line in rehearsed.text.splitlines() if "✗ go_no_go" in line]
        assert no_go and f"incidents: open P1 #1: {title}" in no_go[0], rehearsed.explain()
        assert "rehearsal: no_go" in rehearsed.out
    finally:
        sandbox_down(box)


def test_incident_json_checks_the_fields_golive_keeps_and_ignores_the_rest() -> None:
    from golive.runs.incidents import parse_incident_json

    piped = parse_incident_json(json.dumps({"severity": "P1", "title": "5xx on [/checkout]",
                                            "annotations": {"description": "long\n" * 2000}}))
    assert piped.title == "5xx on [/checkout]"  # an alerting tool's other fields are not stored, so not refused
    with pytest.raises(TextRefused, match="incident JSON on stdin: source: contains the control character U\\+001B"):
        parse_incident_json(json.dumps({"severity": "P1", "title": "x", "source": "\x1b[31m"}))
