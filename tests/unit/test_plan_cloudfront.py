"""A site's CloudFront canary in the plan: its shape, and CloudFront's limits refused where they are written."""

from __future__ import annotations

import re

import pytest

from golive.errors import PlanError
from golive.plan.validate import load_plan_text

SITE = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  web_public:
    repo: owner/site
    kind: site
    deploy: {github_workflow: deploy.yml}
    secrets:
      CLOUDFRONT_DISTRIBUTION_ID_PROD: {cloudfront_comment: PROD Frontend}
    health: ["https://example.com"]
batches:
  - {name: one, projects: [web_public]}
"""
WEB_HEALTH = '    health: ["https://example.com"]\n'


def with_canary(steps: str, extra: str = "") -> str:
    canary = ("    rollout:\n      cloudfront_canary:\n        distribution: CLOUDFRONT_DISTRIBUTION_ID_PROD\n"
              "        origin_path: /releases/{version}\n" + extra + f"        steps: {steps}\n")
    return SITE.replace(WEB_HEALTH, WEB_HEALTH + canary, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_header_smoke_then_5_15_then_promote_loads() -> None:
    plan = load_plan_text(with_canary("[{header: true, bake: 5m}, {weight: 5, bake: 10m}, {weight: 15, bake: 10m}, "
                                      "{weight: 100}]"))
    rollout = plan.projects["web_public"].rollout
    assert rollout is not None and rollout.cloudfront_canary is not None
    canary = rollout.cloudfront_canary
    assert [s.header for s in canary.steps] == [True, False, False, False]
    assert [s.weight for s in canary.steps] == [None, 5, 15, 100]
    assert canary.header.name == "aws-cf-cd-golive"


def test_a_weight_above_15_percent_is_refused_with_the_line_and_cloudfronts_reason() -> None:
    text = with_canary("\n          - {header: true}\n          - {weight: 10}\n          - {weight: 25}\n"
                       "          - {weight: 100}")
    with pytest.raises(PlanError) as caught:
        load_plan_text(text, "site.yaml")
    line = _line_of(text, "{weight: 25}")
    message = str(caught.value)
    assert message.startswith(f"site.yaml:{line} projects.web_public.rollout.cloudfront_canary.steps[2].weight: "), message
    assert re.search(r"25% is above CloudFront's 15%.*SingleWeight 0\.\.0\.15", message)


@pytest.mark.parametrize(("steps", "extra", "why"), [
    ("[{weight: 5}, {header: true}, {weight: 100}]", "", "the header step comes first"),
    ("[{header: true}, {weight: 10}]", "", "the last step must be weight 100"),
    ("[{header: true, weight: 5}, {weight: 100}]", "", "either {header: true} or {weight: N}"),
    ("[{weight: 5}, {weight: 100}]", "        header: {name: x-canary}\n", "String should match pattern"),
])
def test_a_malformed_site_canary_is_one_clear_error(steps: str, extra: str, why: str) -> None:
    with pytest.raises(PlanError, match=re.escape(why)):
        load_plan_text(with_canary(steps, extra))


def test_the_distribution_is_a_secret_of_the_project_or_an_id() -> None:
    text = with_canary("[{weight: 5}, {weight: 100}]").replace("distribution: CLOUDFRONT_DISTRIBUTION_ID_PROD",
                                                                "distribution: CLOUDFRONT_ID")
    with pytest.raises(PlanError, match=r"neither a distribution id .* nor one of the project's secrets"):
        load_plan_text(text)
    load_plan_text(text.replace("distribution: CLOUDFRONT_ID", "distribution: E2QWRUHAPOMQZL"))


def test_a_site_canary_is_not_judged_on_durations_cloudfront_does_not_report() -> None:
    text = with_canary("[{weight: 5}, {weight: 100}]", "        analysis: {judge: {metrics: [errors, p95_duration]}}\n")
    with pytest.raises(PlanError, match="CloudFront reports no per-request duration"):
        load_plan_text(text)
