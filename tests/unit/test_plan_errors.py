"""A plan that does not load says where and why in one line: ``FILE:LINE KEY.PATH: reason``.

Broken plans are made from the reference plan's text (one string replaced) and
from small minimal plans; the expected line is found in the broken text itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from golive.errors import PlanError
from golive.examples import example_plan
from golive.plan.validate import load_plan, load_plan_text

EXAMPLE = example_plan("bbws")

MINIMAL = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a:
    repo: owner/a
    deploy: {github_workflow: deploy.yml}
  b:
    repo: owner/b
    deploy: {command: [make, deploy]}
batches:
  - {name: one, projects: [a]}
  - {name: two, projects: [b]}
"""

ORDER_STEPS = 'steps: [{weight: 10, bake: 10m}, {weight: 50, bake: 5m}, {weight: 100}]\n    health: ["{api_base}/orders'


def edit(old: str, new: str, text: str = EXAMPLE) -> str:
    assert text.count(old) >= 1, f"the example no longer contains {old!r}"
    return text.replace(old, new, 1)


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """The 1-based line of the nth occurrence of ``marker``."""
    start = -1
    for _ in range(nth):
        start = text.index(marker, start + 1)
    return text.count("\n", 0, start) + 1


def plan_error(text: str, file: str = "golive.yaml") -> PlanError:
    with pytest.raises(PlanError) as info:
        load_plan_text(text, file)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(file + ":"), message
    return info.value


def assert_error(err: PlanError, line: int | None, path: str, reason_part: str) -> None:
    assert (err.line, err.path) == (line, path), str(err)
    assert reason_part in err.reason, str(err)
    where = f"golive.yaml:{line}" if line is not None else "golive.yaml"
    assert str(err) == f"{where} {path}: {err.reason}" if path else f"{where}: {err.reason}"


def test_the_example_plan_loads() -> None:
    plan = load_plan_text(EXAMPLE)
    assert len(plan.projects) == 6
    assert [b.name for b in plan.batches] == ["foundation", "backend", "apis"]
    assert plan.batches[2].projects == ["product_lambda", "order_lambda", "campaigns_lambda"]
    assert plan.soak["sit"].checkpoints == 8
    assert plan.soak["prod"].checkpoints == 12
    assert set(plan.environments) == {"sit", "prod"}
    canary = plan.projects["order_lambda"].rollout
    assert canary is not None and canary.lambda_canary is not None
    assert [s.weight for s in canary.lambda_canary.steps] == [10, 50, 100]


def test_the_example_file_loads_from_disk() -> None:
    path = Path(__file__).parents[2] / "examples" / "bbws" / "golive.yaml"
    assert load_plan(path).release == "bbws"


def test_minimal_plan_loads() -> None:
    plan = load_plan_text(MINIMAL)
    assert [b.projects for b in plan.batches] == [["a"], ["b"]]


def test_unknown_key_at_top_level() -> None:
    text = edit("release: bbws\n", "release: bbws\nreleaze: bbws\n")
    assert_error(plan_error(text), line_of(text, "releaze:"), "releaze", "unknown key")


def test_unknown_key_nested_wins_over_the_key_it_misspells() -> None:
    text = edit(ORDER_STEPS, ORDER_STEPS.replace("steps:", "stepz:"))
    err = plan_error(text)
    assert_error(err, line_of(text, "stepz:"), "projects.order_lambda.rollout.lambda_canary.stepz", "unknown key")


def test_unknown_key_in_minimal_plan_environment() -> None:
    text = edit('region: eu-west-1}', 'region: eu-west-1, regoin: x}', MINIMAL)
    assert_error(plan_error(text), 4, "environments.prod.regoin", "unknown key")


def test_canary_weight_out_of_range() -> None:
    text = edit(ORDER_STEPS, ORDER_STEPS.replace("weight: 50", "weight: 150"))
    err = plan_error(text)
    line = line_of(text, "weight: 150")
    assert str(err) == (f"golive.yaml:{line} projects.order_lambda.rollout.lambda_canary.steps[1].weight: "
                        "must be between 0 and 100")


def test_canary_weights_must_increase() -> None:
    text = edit(ORDER_STEPS, ORDER_STEPS.replace("weight: 50", "weight: 5"))
    err = plan_error(text)
    assert err.path == "projects.order_lambda.rollout.lambda_canary"
    assert "increase" in err.reason
    assert err.line == line_of(text, "lambda_canary:", 2)


def test_bad_duration() -> None:
    text = edit("{weight: 10, bake: 10m}", "{weight: 10, bake: 10 minutes}")
    err = plan_error(text)
    assert_error(err, line_of(text, "10 minutes"), "projects.product_lambda.rollout.lambda_canary.steps[0].bake",
                 "10 minutes")


def test_duration_without_unit() -> None:
    text = edit("duration: 48h", "duration: 48")
    assert_error(plan_error(text), line_of(text, "duration: 48\n"), "soak.sit.duration", "no unit")


@pytest.mark.parametrize("bad", ["0.1%%", "abc%", "%5"])
def test_bad_percentage_in_criterion(bad: str) -> None:
    text = edit("- error_rate < 0.1%\n      - p95_duration < 2s", f"- error_rate < {bad}\n      - p95_duration < 2s")
    err = plan_error(text)
    assert err.path == "soak.sit.criteria[0]"
    assert err.line == line_of(text, f"error_rate < {bad}")
    assert "percentage" in err.reason or "invalid" in err.reason, str(err)


def test_criterion_names_undefined_metric() -> None:
    text = edit("- throttles == 0", "- throttlez == 0")
    assert_error(plan_error(text), line_of(text, "throttlez"), "soak.sit.criteria[2]", "no metric 'throttlez'")


def test_rollback_trigger_names_undefined_metric() -> None:
    text = edit("- error_rate > 5% immediately", "- erorr_rate > 5% immediately")
    assert_error(plan_error(text), line_of(text, "erorr_rate"), "rollback.triggers[0]", "no metric 'erorr_rate'")


def test_batch_names_missing_project() -> None:
    text = edit("projects: [web_public]", "projects: [web_publik]")
    assert_error(plan_error(text), line_of(text, "web_publik"), "batches[1].projects[0]", "no project 'web_publik'")


def test_project_in_two_batches() -> None:
    text = edit("projects: [web_public]", "projects: [web_public, s3_schemas]")
    err = plan_error(text)
    assert_error(err, line_of(text, "web_public, s3_schemas"), "batches[1].projects[1]", "'s3_schemas'")
    assert "foundation" in err.reason


def test_project_in_no_batch() -> None:
    text = edit("  - {name: two, projects: [b]}\n", "", MINIMAL)
    assert_error(plan_error(text), line_of(text, "  b:"), "projects.b", "no batch")


def test_project_in_no_batch_example() -> None:
    text = edit("  - {name: backend, projects: [web_public]}", "")
    assert_error(plan_error(text), line_of(text, "  web_public:"), "projects.web_public", "no batch")


def test_yaml_syntax_error_gives_the_line_of_the_error() -> None:
    text = edit("batches:\n", "batches: [\n")
    err = plan_error(text)
    assert err.line == line_of(text, "batches: [") + 1  # the parser trips on the first item after the '['
    assert err.path == ""
    assert err.reason.startswith("YAML syntax")


def test_yaml_tab_indentation_error() -> None:
    text = edit("    kind: schema\n", "\tkind: schema\n")
    err = plan_error(text)
    assert err.line == line_of(text, "\tkind")
    assert "YAML syntax" in err.reason


def test_unclosed_quote() -> None:
    text = edit('version: v1\n', 'version: "v1\n', MINIMAL)
    err = plan_error(text)
    assert err.reason.startswith("YAML syntax")
    assert err.line is not None and err.line >= 2


def test_duplicate_key() -> None:
    text = edit("release: bbws\n", "release: bbws\nrelease: other\n")
    assert_error(plan_error(text), line_of(text, "release: other"), "release", "duplicate key")


def test_duplicate_nested_key() -> None:
    text = edit("    kind: api\n", "    kind: api\n    kind: api\n")
    assert_error(plan_error(text), line_of(text, "kind: api", 2), "projects.product_lambda.kind", "duplicate key")


def test_account_as_unquoted_number() -> None:
    text = edit('account: "815856636111"', "account: 815856636111")
    err = plan_error(text)
    assert_error(err, line_of(text, "account: 815856636111"), "environments.sit.account", "quote the account id")


ORDER_SMOKE = re.search(r'smoke: \[\["\./scripts/smoke_test_orders\.sh"[^\n]*', EXAMPLE)


def test_smoke_given_as_a_string() -> None:
    assert ORDER_SMOKE is not None
    text = edit(ORDER_SMOKE.group(0), 'smoke: ["./scripts/smoke_test_orders.sh {env}"]')
    err = plan_error(text)
    assert_error(err, line_of(text, "smoke: [\"./scripts/smoke_test_orders.sh {env}"), "projects.order_lambda.smoke", "argv list")


def test_smoke_given_as_a_bare_string() -> None:
    assert ORDER_SMOKE is not None
    text = edit(ORDER_SMOKE.group(0), "smoke: ./scripts/smoke_test_orders.sh")
    err = plan_error(text)
    assert err.path == "projects.order_lambda.smoke"
    assert err.line == line_of(text, "smoke: ./scripts")


def test_missing_required_key() -> None:
    text = edit("    repo: owner/b\n", "", MINIMAL)
    assert_error(plan_error(text), line_of(text, "  b:"), "projects.b.repo", "required key is missing")


def test_wrong_type() -> None:
    text = edit("http_ok: [200, 401, 403]", "http_ok: [200, lots]")
    err = plan_error(text)
    assert err.path == "http_ok[1]"
    assert err.line == line_of(text, "http_ok:")


def test_deploy_needs_exactly_one_method() -> None:
    text = edit("deploy: {command: [make, deploy]}", "deploy: {command: [make], github_workflow: x.yml}", MINIMAL)
    assert_error(plan_error(text), line_of(text, "deploy: {command"), "projects.b.deploy", "exactly one")


def test_unknown_check_type() -> None:
    text = edit("- aws_account\n", "- aws_acount\n")
    err = plan_error(text)
    assert err.path == "preflight[0].aws_acount"
    assert err.line == line_of(text, "aws_acount")
    assert "unknown check" in err.reason


def test_empty_plan_and_non_mapping() -> None:
    assert plan_error("").reason == "the plan is empty"
    err = plan_error("- just\n- a list\n")
    assert err.line == 1
    assert "mapping" in err.reason


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "nope.yaml")
    assert str(info.value).startswith(str(tmp_path / "nope.yaml"))
    assert "no such plan file" in str(info.value)


def test_file_name_is_the_path_given(tmp_path: Path) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(edit("release: bbws\n", "release: bbws\nreleaze: x\n"))
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert str(info.value) == f"{path}:6 releaze: unknown key (did you mean 'release'?)"
