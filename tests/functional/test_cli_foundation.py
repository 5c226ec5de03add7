"""The foundation's command line: check, schema, plan, status, and clean errors.

The main commands run as real processes, all started at once by one fixture
(they are independent), and each test reads the answers it is about. Option
variants run in-process through ``golive.cli.main.main``, the same boundary
the console script calls.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bbws" / "golive.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")
GOLIVE = Path(sys.executable).with_name("golive")
LAMBDAS = ("product_lambda", "order_lambda", "campaigns_lambda")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def broken(tmp: Path, name: str, old: str, new: str) -> str:
    assert old in TEXT
    path = tmp / name / "golive.yaml"
    path.parent.mkdir()
    path.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Result], Path]]:
    tmp = tmp_path_factory.mktemp("cli")
    ex = str(EXAMPLE)
    own = tmp / "own" / "golive.yaml"
    own.parent.mkdir()
    shutil.copy(EXAMPLE, own)
    unknown = broken(tmp, "unknown", "        alias: live\n", "        alias: live\n        aliaz: x\n")
    dangling = broken(tmp, "dangling", "projects: [web_public]", "projects: [web_publik]")
    yaml_broken = broken(tmp, "yaml", "batches:\n", "batches: [\n")
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "check": ([str(GOLIVE), "check", "-f", ex], {}),
        "check_json": ([sys.executable, "-m", "golive", "check", "-f", ex, "--json"], {}),
        "plan": ([str(GOLIVE), "plan", "--env", "prod", "-f", ex], {}),
        "plan_nope": ([str(GOLIVE), "plan", "--env", "nope", "-f", ex], {}),
        "schema": ([str(GOLIVE), "schema"], {}),
        "unknown": ([str(GOLIVE), "check", "-f", unknown], {}),
        "dangling": ([sys.executable, "-m", "golive", "check", "-f", dangling], {}),
        "yaml": ([str(GOLIVE), "plan", "--env", "prod", "-f", yaml_broken], {}),
        "status": ([str(GOLIVE), "status", "-f", str(own)], {}),
    }
    base_env = {k: v for k, v in os.environ.items() if k not in ("GOLIVE_DB", "GOLIVE_PLAN")}
    procs = {
        name: subprocess.Popen(argv, cwd=tmp, env={**base_env, **extra, "COLUMNS": "200"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name, (argv, extra) in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[name] = Result(proc.returncode, out, err)
    yield results, tmp


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Result:
    from golive.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    code = info.value.code
    return Result(code if isinstance(code, int) else 1, out, err)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.out + result.err, result.err


def test_check_summarises_the_example(cli: tuple[dict[str, Result], Path]) -> None:
    r = cli[0]["check"]
    assert r.code == 0, r.err
    assert "6 projects in 3 batches" in r.out
    batches = re.findall(r"batch (\d) (\w+): (.*)", r.out)
    assert [(n, name) for n, name, _ in batches] == [("1", "foundation"), ("2", "backend"), ("3", "apis")]
    assert "product_lambda (canary 10%→50%→100%)" in batches[2][2]
    assert re.search(r"soak sit: .*8 checkpoints every 6h", r.out)
    assert "gate go_no_go" in r.out
    no_traceback(r)


def test_check_json_is_only_json_with_the_same_content(cli: tuple[dict[str, Result], Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    results = cli[0]
    text = results["check"].out
    globals_first = run_main(["--json", "-f", str(EXAMPLE), "check"], capsys)
    for r in (results["check_json"], globals_first):
        assert r.code == 0, r.err
        data = json.loads(r.out)  # the whole of stdout is one JSON document
        assert data["valid"] is True
        assert data["projects"] == 6
        assert [b["name"] for b in data["batches"]] == ["foundation", "backend", "apis"]
        for i, batch in enumerate(data["batches"], 1):
            names = [p["name"] for p in batch["projects"]]
            line = re.search(rf"batch {i} {batch['name']}: (.*)", text)
            assert line is not None
            assert [re.sub(r" \(.*", "", part) for part in line.group(1).split(", ")] == names
        canaries = {p["name"]: p["canary"] for b in data["batches"] for p in b["projects"]}
        assert {n: c for n, c in canaries.items() if c} == {name: [10, 50, 100] for name in LAMBDAS}
        assert data["soaks"]["sit"]["checkpoints"] == 8
        assert set(data["environments"]) == {"sit", "prod"}


def test_plan_lists_batches_in_order_with_canary_steps(cli: tuple[dict[str, Result], Path]) -> None:
    r = cli[0]["plan"]
    assert r.code == 0, r.err
    out = r.out
    foundation, backend, apis = (out.index(f"batch.{b}") for b in ("foundation", "backend", "apis"))
    assert foundation < backend < apis
    assert out.index("deploy dynamodb_schemas") < out.index("deploy web_public") < out.index("deploy product_lambda")
    for name in LAMBDAS:
        assert f"canary {name}: 10% → 50% → 100%" in out
        assert f"canary {name} in eu-west-1: 10% → 50% → 100%" in out  # the DR region, after the primary
        assert out.index(f"canary {name}:") < out.index(f"canary {name} in eu-west-1")
    assert out.count("AdditionalVersionWeights={NEW: 0.10}") == 6
    assert out.count("AdditionalVersionWeights={NEW: 0.50}") == 6
    assert "POST /repos/BigBeardWebSolutions/2_bbws_order_lambda/actions/workflows/terraform-prod.yml/dispatches" in out
    assert "(3 projects side by side)" in out


def test_plan_json_steps_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_main(["plan", "--json", "--env", "prod", f"--plan={EXAMPLE}"], capsys)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["env"] == "prod"
    groups = list(dict.fromkeys(s["group"] for s in data["steps"] if s["group"].startswith("batch.")))
    assert groups == ["batch.foundation", "batch.backend", "batch.apis"]
    canary = next(s for s in data["steps"] if s["key"] == "canary.order_lambda")
    assert canary["lane"] == "order_lambda" and canary["group"] == "batch.apis"
    assert sum("bake 10m" in c for c in canary["calls"]) == 1
    phases = list(dict.fromkeys(s["phase"] for s in data["steps"]))
    assert phases == ["prerequisites", "soak", "gate", "prep", "checklist", "deploy", "dr", "validation", "prod_soak",
                      "signoff"]


def test_plan_unknown_environment_exits_2(cli: tuple[dict[str, Result], Path]) -> None:
    r = cli[0]["plan_nope"]
    assert r.code == 2
    assert r.err_lines == ["golive: error: unknown environment 'nope' (known: prod, sit)"]
    assert r.out == ""


def test_schema_is_a_json_schema_of_the_plan(cli: tuple[dict[str, Result], Path]) -> None:
    from jsonschema.validators import validator_for  # type: ignore[import-untyped]

    r = cli[0]["schema"]
    assert r.code == 0, r.err
    schema = json.loads(r.out)
    validator_for(schema).check_schema(schema)
    assert {"projects", "batches", "environments", "soak", "gates", "rollback"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"release", "version", "environments", "projects", "batches"}
    assert schema["additionalProperties"] is False
    validator = validator_for(schema)(schema)
    step = {"$ref": "#/$defs/CanaryStep", "$defs": schema["$defs"]}
    assert validator_for(step)(step).is_valid({"weight": 10, "bake": "10m"})
    assert not validator_for(step)(step).is_valid({"weight": 10, "bake": "10 minutes"})
    assert not validator_for(step)(step).is_valid({"weight": 150})
    assert not validator.is_valid({"release": "x"})


def test_schema_defaults_match_their_own_patterns(cli: tuple[dict[str, Result], Path]) -> None:
    """A default shown by an editor must be a value the plan accepts (durations as 10m, not PT10M)."""
    schema = json.loads(cli[0]["schema"].out)
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "pattern" in node and isinstance(node.get("default"), str):
                found.append((node["default"], node["pattern"]))
            for key, value in node.items():
                if key == "anyOf" and isinstance(value, list) and "default" in node:
                    for option in value:
                        if isinstance(option, dict) and "pattern" in option and isinstance(node["default"], str):
                            found.append((node["default"], option["pattern"]))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found
    assert [(d, p) for d, p in found if not re.search(p, d)] == []


@pytest.mark.parametrize(("name", "marker", "path"), [
    ("unknown", "aliaz: x", "projects.product_lambda.rollout.lambda_canary.aliaz: unknown key"),
    ("dangling", "web_publik", "batches[1].projects[0]: no project 'web_publik'"),
    ("yaml", None, ": YAML syntax:"),
])
def test_broken_plans_exit_2_with_one_line(cli: tuple[dict[str, Result], Path], name: str, marker: str | None,
                                           path: str) -> None:
    results, tmp = cli
    r = results[name]
    assert r.code == 2
    no_traceback(r)
    assert len(r.err_lines) == 1, r.err
    plan_file = tmp / name / "golive.yaml"
    text = plan_file.read_text()
    line = text[: text.index(marker)].count("\n") + 1 if marker else text[: text.index("batches: [")].count("\n") + 2
    assert re.match(rf"golive: error: {re.escape(str(plan_file))}:{line}[ :]", r.err_lines[0]), r.err
    assert path in r.err_lines[0]
    assert r.out == ""


def test_broken_plan_with_json_reports_json(cli: tuple[dict[str, Result], Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    r = run_main(["check", "-f", str(cli[1] / "unknown" / "golive.yaml"), "--json"], capsys)
    assert r.code == 2
    data = json.loads(r.out)
    assert (data["type"], data["exit_code"]) == ("PlanError", 2)
    assert "aliaz: unknown key" in data["error"]


def test_missing_plan_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run_main(["check", "-f", str(tmp_path / "nowhere.yaml")], capsys)
    assert r.code == 2
    assert r.err_lines == [f"golive: error: {tmp_path / 'nowhere.yaml'}: no such plan file (use -f PATH, or golive init)"]


def test_status_on_an_empty_store(cli: tuple[dict[str, Result], Path]) -> None:
    results, tmp = cli
    r = results["status"]
    assert r.code == 0, r.err
    assert r.out.strip() == "no runs of bbws yet (start one with golive run --env ENV)"
    assert (tmp / "own" / ".golive" / "state.db").is_file()  # the default store, beside the plan


def test_status_json_and_store_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    plan = tmp_path / "golive.yaml"
    shutil.copy(EXAMPLE, plan)
    monkeypatch.delenv("GOLIVE_DB", raising=False)
    r = run_main(["status", "--json", "-f", str(plan), "--db", f"sqlite:///{tmp_path / 'other.db'}"], capsys)
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["release"], data["runs"], data["open_incidents"]) == ("bbws", [], [])
    assert (tmp_path / "other.db").is_file()

    monkeypatch.setenv("GOLIVE_DB", f"sqlite:///{tmp_path / 'from-env.db'}")
    r = run_main(["status", "-f", str(plan)], capsys)
    assert r.code == 0, r.err
    assert "no runs of bbws" in r.out
    assert (tmp_path / "from-env.db").is_file()
    assert not (tmp_path / ".golive").exists()

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("cli_foundation")
