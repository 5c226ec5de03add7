"""Plans AWS would reject, or that would drive one alias twice, fail to load; likely mistakes are lint."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.examples import example_plan
from golive.plan.summary import lint
from golive.plan.validate import load_plan_text

EXAMPLE = example_plan("bbws")
ORDER = "functions: {prefix: 2-1-bbws-tf-order-, suffix: \"-{env}\", count: 10}"
PRODUCT = "functions: {prefix: 2-1-bbws-tf-product-, suffix: \"-{env}\", count: 5}"


def edit(old: str, new: str, text: str = EXAMPLE) -> str:
    assert old in text, f"the example no longer contains {old!r}"
    return text.replace(old, new, 1)


def refused(text: str) -> str:
    with pytest.raises(PlanError) as info:
        load_plan_text(text)
    lines = [str(one) for one in getattr(info.value, "errors", [info.value])]  # several faults: one line each
    assert all("\n" not in line and line.startswith("golive.yaml:") for line in lines), lines
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("functions", "named"),
    [
        ("functions: {names: [ordér-api]}", "'ordér-api' (sit) is not a Lambda function name"),
        ("functions: {names: [" + "o" * 65 + "]}", "is not a Lambda function name: 1-64 characters"),
        ("functions: {names: [order.api]}", "'order.api' (sit)"),
        ("functions: {prefix: \"" + "p" * 60 + "\", suffix: \"-{env}\"}", "cannot be part of a Lambda function name"),
    ],
)
def test_function_names_follow_aws_rules(functions: str, named: str) -> None:
    message = refused(edit(ORDER, functions))
    assert named in message and "projects.order_lambda.rollout.lambda_canary.functions" in message


def test_suffix_with_names_is_refused_with_a_message() -> None:
    message = refused(edit(ORDER, "functions: {names: [order-api], suffix: \"-{env}\"}"))
    assert "suffix applies to prefix only" in message


@pytest.mark.parametrize(
    ("order", "product", "shared"),
    [
        ("functions: {names: [order-api-prod]}", "functions: {names: [order-api-prod, product-api-prod]}",
         "function order-api-prod"),
        ("functions: {names: [2-1-bbws-tf-product-get-prod]}", PRODUCT, "function 2-1-bbws-tf-product-get-prod"),
        ("functions: {prefix: 2-1-bbws-tf-, suffix: \"-{env}\"}", PRODUCT, "functions named 2-1-bbws-tf-product-*-sit in sit"),
    ],
)
def test_a_function_owned_by_two_projects_is_refused(order: str, product: str, shared: str) -> None:
    message = refused(edit(PRODUCT, product, edit(ORDER, order)))
    assert "both select" in message and shared in message and "two canaries would drive one alias" in message


def test_distinct_selectors_load() -> None:
    load_plan_text(edit(ORDER, "functions: {names: [order-api-prod, order-worker_prod]}"))


def test_two_environments_on_one_account_and_region_are_a_warning() -> None:
    plan = load_plan_text(EXAMPLE)
    assert not any("same account and region" in w for w in lint(plan))
    sit = plan.environments["sit"]
    prod = plan.environments["prod"].model_copy(update={"account": sit.account, "region": sit.region})
    shared = plan.model_copy(update={"environments": {**plan.environments, "prod": prod}})
    assert any(w.startswith("environments.prod: same account and region as sit") for w in lint(shared))
