"""Whatever is done to a plan file, loading it gives a Plan or one clean PlanError line, never a traceback.

Hypothesis mutates the reference plan's text the ways people break YAML:
a line deleted or duplicated, a key renamed or dropped with its block, a
scalar replaced by another type or by random text, the file cut short, junk
inserted. The CLI is then run on a few mutated plans as a real process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golive.errors import PlanError
from golive.examples import example_plan
from golive.plan.model import Plan
from golive.plan.validate import load_plan_text

EXAMPLE = example_plan("bbws")
FILE = "mutated.yaml"

KEY_LINE = re.compile(r"^(\s*(?:- )?)([A-Za-z_][A-Za-z0-9_]*)(:)(.*)$")
SCALAR = re.compile(r"(?<=: )([^\s{}\[\],#][^{}\[\],#\n]*?)(?=\s*(?:[,}\]]|#|$))")

YAML_VALUES = st.sampled_from([
    "0", "-1", "150", "1e9", "0.5", "true", "no", "null", "~", "[]", "{}", "[1, 2]", "{a: 1}", '""', "''",
    '"multi\\nline"', "2026-01-01", "2026-01-01T00:00:00", "10 minutes", "-5m", "0s", "abc%", "P9",
    "&anchor x", "*nowhere", "!!binary aGVsbG8=", "!!python/object:os.system x", "<<: {}", "|", ">", "'",
    '"', "{", "[", "? x", "@", "`", "%", "!", "0x1F", "0o17", "0b101", ".inf", ".nan", "1_000",
])
JUNK = st.one_of(
    YAML_VALUES,
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
    st.text(alphabet=":-[]{},#&*!|>'\"%@` \t\nabc0123", max_size=30),
)


def key_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if KEY_LINE.match(line.rstrip("\n"))]


def scalar_sites(lines: list[str]) -> list[tuple[int, int, int]]:
    return [(i, m.start(), m.end()) for i, line in enumerate(lines) for m in SCALAR.finditer(line.rstrip("\n"))]


def delete_line(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    i = data.draw(st.integers(0, len(lines) - 1))
    return "".join(lines[:i] + lines[i + 1:])


def duplicate_line(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    i = data.draw(st.integers(0, len(lines) - 1))
    return "".join(lines[:i + 1] + lines[i:])


def delete_key_block(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    keys = key_lines(lines)
    if not keys:
        return text
    i = data.draw(st.sampled_from(keys))
    indent = len(lines[i]) - len(lines[i].lstrip())
    end = i + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return "".join(lines[:i] + lines[end:])


def rename_key(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    keys = key_lines(lines)
    if not keys:
        return text
    i = data.draw(st.sampled_from(keys))
    match = KEY_LINE.match(lines[i].rstrip("\n"))
    assert match is not None
    name = data.draw(st.one_of(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.sampled_from(
        ["steps", "projects", "release", "weight", "bake", "on", "yes", "null", "1", "kind", "lambda"])))
    lines[i] = f"{match.group(1)}{name}{match.group(3)}{match.group(4)}\n"
    return "".join(lines)


def replace_scalar(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    sites = scalar_sites(lines)
    if not sites:
        return text
    i, start, end = data.draw(st.sampled_from(sites))
    value = data.draw(st.one_of(YAML_VALUES, st.from_regex(r"[A-Za-z0-9 %._-]{0,12}", fullmatch=True)))
    lines[i] = lines[i][:start] + value + lines[i][end:]
    return "".join(lines)


def truncate(data: st.DataObject, text: str) -> str:
    return text[:data.draw(st.integers(0, len(text)))]


def insert_junk(data: st.DataObject, text: str) -> str:
    at = data.draw(st.integers(0, len(text)))
    return text[:at] + data.draw(JUNK) + text[at:]


def insert_junk_line(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines)))
    indent = " " * data.draw(st.integers(0, 8))
    line = indent + data.draw(st.one_of(JUNK, st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(
        ["extra", "weight", "bake", "steps", "projects", "account", "- x"]), YAML_VALUES))) + "\n"
    return "".join([*lines[:i], line, *lines[i:]])


MUTATIONS = [delete_line, duplicate_line, delete_key_block, rename_key, replace_scalar, truncate, insert_junk,
             insert_junk_line]


def mutate(data: st.DataObject) -> str:
    text = EXAMPLE
    for _ in range(data.draw(st.integers(1, 3))):
        text = data.draw(st.sampled_from(MUTATIONS))(data, text)
    return text


def assert_clean(text: str) -> None:
    try:
        result = load_plan_text(text, FILE)
    except PlanError as err:
        for one in getattr(err, "errors", [err]):  # PlanErrors: each error found, one line each
            message = str(one)
            assert "\n" not in message and "\r" not in message, repr(message)
            assert message.startswith(FILE), message
            breaks = len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text))  # what YAML counts as a new line
            assert one.line is None or 1 <= one.line <= breaks + 2, message
        return
    assert isinstance(result, Plan)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_plans_load_or_fail_cleanly(data: st.DataObject) -> None:
    assert_clean(mutate(data))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(text: str) -> None:
    assert_clean(text)


CLI_CASES = {
    "unknown_key": EXAMPLE.replace("        alias: live\n", "        alias: live\n        aliaz: x\n", 1),
    "weight": EXAMPLE.replace("{weight: 50, bake: 5m}", "{weight: 150, bake: 5m}", 1),
    "yaml": EXAMPLE.replace("batches:\n", "batches: [\n", 1),
    "truncated": EXAMPLE[: EXAMPLE.index("batches:") + 30],
    "scalar": EXAMPLE.replace("duration: 48h", "duration: [48h]", 1),
    "python_tag": EXAMPLE.replace("version: v1.0.0-prod", "version: !!python/object:os.system x", 1),
}


def test_cli_on_mutated_plans_exits_2_without_traceback(tmp_path: Path) -> None:
    procs = {}
    for name, text in CLI_CASES.items():
        assert text != EXAMPLE, name
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        procs[name] = (path, subprocess.Popen([sys.executable, "-m", "golive", "check", "-f", str(path)], cwd=tmp_path,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (path, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 2, (name, stdout, stderr)
        assert "Traceback" not in stdout + stderr, (name, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, (name, stderr)
        assert lines[0].startswith(f"golive: error: {path}:"), (name, lines[0])
        assert stdout == "", (name, stdout)
