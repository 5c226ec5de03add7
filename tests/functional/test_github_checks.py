"""The GitHub checks against the local GitHub seeded as the runbook found things on January 8."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from test_github_support import *  # noqa: F403  (the shared fixtures)

from golive.checks.base import CheckContext, CheckResult, Status
from golive.checks.github import (
    CHECK_TYPES,
    GithubSecretsParams,
    GithubTagParams,
    GithubWorkflowParams,
    run_secrets,
    run_tag,
    run_workflow,
)
from golive.providers.github import GitHub
from golive.sandbox.github_server import GitHubServer

ORG = "BigBeardWebSolutions"
ROLE = "arn:aws:iam::093646564004:role/2-1-bbws-tf-github-actions-prod"


def workflow(name: str, role_line: str, extra_step: str = "") -> str:
    return f"""\
name: {name}
run-name: ${{{{ inputs.golive_id || github.ref_name }}}}
on:
  workflow_dispatch:
    inputs:
      golive_id: {{required: false}}
  push:
    tags: ['v*']
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: prod
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      # the old secrets.AWS_ROLE_DEV is gone
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: {role_line}
          aws-region: af-south-1
      - run: ./deploy.sh
        env:
          GH: ${{{{ secrets.GITHUB_TOKEN }}}}
{extra_step}"""


@pytest.fixture
def bbws(server: GitHubServer) -> dict[str, str]:
    """The January 8 state of the runbook's six repositories: (repo -> workflow file)."""
    repos = {
        "2_1_bbws_dynamodb_schemas": ("deploy-prod.yml", "Deploy to PROD", "${{ secrets.AWS_ROLE_PROD }}", set()),
        "2_1_bbws_s3_schemas": ("deploy-prod.yml", "Deploy to PROD", "${{ secrets.AWS_ROLE_PROD }}", set()),
        "2_1_bbws_web_public": ("deploy-application.yml", "Deploy Application", "${{ secrets['AWS_ROLE_ARN_PROD'] }}",
                                {"AWS_ROLE_ARN_PROD"}),
        "2_bbws_campaigns_lambda": ("promote-prod.yml", "Promote to PROD", "${{ secrets.AWS_ROLE_ARN_PROD }}", set()),
        "2_bbws_product_lambda": ("deploy-prod.yml", "Deploy to PROD", ROLE, set()),
        "2_bbws_order_lambda": ("terraform-prod.yml", "Terraform Deploy - PROD", ROLE, set()),
    }
    out = {}
    for name, (file, title, role, secrets) in repos.items():
        server.add_repo(f"{ORG}/{name}", {f".github/workflows/{file}": workflow(title, role), "README.md": name},
                        secrets, {"prod": set()})
        out[f"{ORG}/{name}"] = file
    return out


def ctx(github: GitHub, **kw: Any) -> CheckContext:
    return CheckContext(env="prod", github=github, **kw)


def secrets_row(result: CheckResult) -> dict[str, Any]:
    answered: dict[str, Any] = result.evidence[-1].answered
    return answered


def test_secret_status_table_of_the_runbook(github: GitHub, bbws: dict[str, str]) -> None:
    table = {}
    for repo, file in bbws.items():
        extra = ("CLOUDFRONT_DISTRIBUTION_ID_PROD",) if repo.endswith("web_public") else ()
        result = run_secrets(ctx(github), GithubSecretsParams(repo=repo, workflow=file, extra=extra))
        ev = secrets_row(result)
        table[repo.split("/")[1]] = (
            result.status,
            sorted((r["name"], r["status"]) for r in ev["secrets"]),
            [a["arn"] for a in ev["hardcoded_role_arns"]],
        )
    assert table == {
        "2_1_bbws_dynamodb_schemas": (Status.FAIL, [("AWS_ROLE_PROD", "missing")], []),
        "2_1_bbws_s3_schemas": (Status.FAIL, [("AWS_ROLE_PROD", "missing")], []),
        "2_1_bbws_web_public": (Status.FAIL, [("AWS_ROLE_ARN_PROD", "configured"),
                                              ("CLOUDFRONT_DISTRIBUTION_ID_PROD", "missing")], []),
        "2_bbws_campaigns_lambda": (Status.FAIL, [("AWS_ROLE_ARN_PROD", "missing")], []),
        "2_bbws_product_lambda": (Status.PASS, [], [ROLE]),
        "2_bbws_order_lambda": (Status.PASS, [], [ROLE]),
    }


def test_missing_secret_summary_and_fix(github: GitHub, bbws: dict[str, str]) -> None:
    repo = f"{ORG}/2_1_bbws_dynamodb_schemas"
    params = GithubSecretsParams(repo=repo, workflow="deploy-prod.yml")
    before = run_secrets(ctx(github), params)
    assert before.status == Status.FAIL and "missing: AWS_ROLE_PROD" in before.summary
    assert secrets_row(before)["secrets"][0]["lines"] == [20]
    github.put_secret(repo, "AWS_ROLE_PROD", ROLE)
    after = run_secrets(ctx(github), params)
    assert after.status == Status.PASS
    assert secrets_row(after)["secrets"][0]["scope"] == "repository"


def test_environment_secret_counts_for_a_job_in_that_environment(github: GitHub, server: GitHubServer,
                                                                 bbws: dict[str, str]) -> None:
    repo = f"{ORG}/2_bbws_campaigns_lambda"
    github.put_secret(repo, "AWS_ROLE_ARN_PROD", ROLE, environment="prod")
    result = run_secrets(ctx(github), GithubSecretsParams(repo=repo, workflow="promote-prod.yml"))
    assert result.status == Status.PASS
    assert secrets_row(result)["secrets"][0]["scope"] == "environment:prod"


def test_hard_coded_arn_in_another_account_warns(github: GitHub, bbws: dict[str, str]) -> None:
    params = GithubSecretsParams(repo=f"{ORG}/2_bbws_product_lambda", workflow="deploy-prod.yml", account="111122223333")
    result = run_secrets(ctx(github), params)
    assert result.status == Status.WARN
    assert "not in account 111122223333" in result.summary
    same = run_secrets(ctx(github, variables={"aws_account": "093646564004"}),
                       GithubSecretsParams(repo=f"{ORG}/2_bbws_product_lambda", workflow="deploy-prod.yml"))
    assert same.status == Status.PASS and "hard-coded" in same.summary


def test_secrets_are_read_at_the_release_ref(github: GitHub, server: GitHubServer, bbws: dict[str, str]) -> None:
    repo = f"{ORG}/2_bbws_product_lambda"
    sha = github.resolve_commit(repo, "main")
    github.create_annotated_tag(repo, "v1.0.0-prod", sha, "release")
    server.commit(repo, {".github/workflows/deploy-prod.yml": workflow("Deploy to PROD", "${{ secrets.NEW_ROLE }}")})
    at_tag = run_secrets(ctx(github), GithubSecretsParams(repo=repo, workflow="deploy-prod.yml", ref="v1.0.0-prod"))
    at_main = run_secrets(ctx(github), GithubSecretsParams(repo=repo, workflow="deploy-prod.yml"))
    assert at_tag.status == Status.PASS
    assert at_main.status == Status.FAIL and "NEW_ROLE" in at_main.summary


def test_workflow_check_catches_the_runbooks_wrong_file_name(github: GitHub, bbws: dict[str, str]) -> None:
    wrong = run_workflow(ctx(github), GithubWorkflowParams(repo=f"{ORG}/2_1_bbws_web_public", workflow="deploy-prod.yml"))
    assert wrong.status == Status.FAIL
    assert "deploy-application.yml" in wrong.summary
    right = run_workflow(ctx(github), GithubWorkflowParams(repo=f"{ORG}/2_1_bbws_web_public",
                                                           workflow="deploy-application.yml"))
    assert right.status == Status.PASS and "Deploy Application" in right.summary


def test_workflow_check_without_dispatch_trigger_or_disabled(github: GitHub, server: GitHubServer) -> None:
    server.add_repo("acme/ci", {".github/workflows/ci.yml": "name: CI\n'on': [push, pull_request]\njobs: {}\n",
                                ".github/workflows/off.yml": "name: Off\non: workflow_dispatch\njobs: {}\n"})
    no_trigger = run_workflow(ctx(github), GithubWorkflowParams(repo="acme/ci", workflow="ci.yml"))
    assert no_trigger.status == Status.FAIL and "no workflow_dispatch trigger (on: pull_request, push)" in no_trigger.summary
    server.disable_workflow("acme/ci", "off.yml")
    disabled = run_workflow(ctx(github), GithubWorkflowParams(repo="acme/ci", workflow="off.yml"))
    assert disabled.status == Status.FAIL and "disabled_manually" in disabled.summary


def test_workflow_check_warns_when_runs_do_not_show_the_correlation_id(github: GitHub, server: GitHubServer) -> None:
    hidden = "name: D\nrun-name: deploy ${{ github.ref_name || inputs.golive_id }}\non:\n  workflow_dispatch:\n" \
             "    inputs:\n      golive_id: {required: false}\njobs: {}\n"
    server.add_repo("acme/d", {".github/workflows/hidden.yml": hidden,
                               ".github/workflows/bare.yml": "name: B\non: workflow_dispatch\njobs: {}\n"})
    warned = run_workflow(ctx(github), GithubWorkflowParams(repo="acme/d", workflow="hidden.yml"))
    assert warned.status == Status.WARN and warned.ok
    assert warned.summary.endswith("add the line 'run-name: ${{ inputs.golive_id || github.ref_name }}'")
    bare = run_workflow(ctx(github), GithubWorkflowParams(repo="acme/d", workflow="bare.yml"))
    assert bare.status == Status.WARN
    assert "an input 'golive_id' under on.workflow_dispatch.inputs and the line 'run-name:" in bare.summary


def test_project_name_maps_to_its_repository(github: GitHub, bbws: dict[str, str]) -> None:
    c = ctx(github, repos={"product": f"{ORG}/2_bbws_product_lambda"})
    assert run_workflow(c, GithubWorkflowParams(repo="product", workflow="deploy-prod.yml")).status == Status.PASS


def test_tag_check(github: GitHub, server: GitHubServer, bbws: dict[str, str]) -> None:
    repo = f"{ORG}/2_bbws_order_lambda"
    absent = run_tag(ctx(github), GithubTagParams(repo=repo, tag="v1.0.0-prod"))
    assert absent.status == Status.FAIL and "does not exist" in absent.summary
    sha = github.resolve_commit(repo, "main")
    github.create_annotated_tag(repo, "v1.0.0-prod", sha, "release")
    assert run_tag(ctx(github), GithubTagParams(repo=repo, tag="v1.0.0-prod", ref="main")).status == Status.PASS
    newer = server.commit(repo, {"README.md": "newer"})
    moved = run_tag(ctx(github), GithubTagParams(repo=repo, tag="v1.0.0-prod", commit=newer))
    assert moved.status == Status.FAIL and sha in moved.summary and newer in moved.summary


def test_unreachable_github_is_error_not_fail(clock: Any) -> None:
    gh = GitHub("http://127.0.0.1:9", "t", clock=clock, sleep=lambda s: None, max_attempts=1)
    result = run_secrets(ctx(gh), GithubSecretsParams(repo="a/b", workflow="x.yml"))
    assert result.status == Status.ERROR
    assert run_tag(CheckContext(env="prod"), GithubTagParams(repo="a/b", tag="v")).status == Status.ERROR


def test_check_types_are_declared_with_strict_params() -> None:
    assert [t.name for t in CHECK_TYPES] == ["github_workflow", "github_secrets", "github_tag"]
    with pytest.raises(ValidationError):
        GithubSecretsParams.model_validate({"repo": "a/b", "workflow": "x.yml", "extras": ["TYPO"]})
    assert "CLOUDFRONT" in CHECK_TYPES[1].describe(
        GithubSecretsParams(repo="a/b", workflow="x.yml", extra=("CLOUDFRONT_DISTRIBUTION_ID_PROD",)))
