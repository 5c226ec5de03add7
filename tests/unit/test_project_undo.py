"""Issue 26: each project's undo (plan/undo.py), the previous release tag, and what counts as deleting data."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.examples import example_path
from golive.plan.commands import destroys
from golive.plan.undo import CommandUndo, NoUndo, RedeployUndo, RouterUndo, previous_tag, undo_of
from golive.plan.validate import load_plan, load_plan_text

TAGS = ["v1.0.0-prod", "v0.9.0-prod", "v0.10.0-prod", "v0.9.5-sit", "v1.0.1-prod", "nightly", "v0.2-prod", "0.9.9-prod"]


def test_the_previous_tag_is_the_newest_older_one_of_the_same_shape() -> None:
    assert previous_tag("v1.0.0-prod", TAGS) == "v0.10.0-prod"  # numbers, not text: 10 > 9
    assert previous_tag("v0.10.0-prod", TAGS) == "v0.9.0-prod"
    assert previous_tag("v0.2-prod", TAGS) is None  # v0.2 is v0.2.0: nothing of its shape is older
    assert previous_tag("v1.0.0", ["v0.9.0-prod", "v0.9.0", "v1.0.0"]) == "v0.9.0"  # a suffix is another series
    assert previous_tag("release-candidate", TAGS) is None  # no version in the release's tag: golive cannot order


@pytest.mark.parametrize(("argv", "found"), [
    (["terraform", "destroy", "-target={resource}"], "-target deletion"),
    (["terraform", "-chdir=infra", "destroy", "-auto-approve"], "deletion"),
    (["/usr/local/bin/tofu", "apply", "-destroy"], "apply -destroy"),
    (["bash", "-c", "cd tf && terraform apply --destroy -auto-approve"], "apply -destroy"),
    (["terraform", "apply", "-replace=aws_dynamodb_table.tenants"], "-replace"),
    (["terragrunt", "run-all", "destroy"], "deletion"),
])
def test_commands_that_delete_resources(argv: list[str], found: str) -> None:
    said = destroys(argv)
    assert said is not None and found in said


@pytest.mark.parametrize("argv", [
    ["terraform", "apply", "-auto-approve"], ["terraform", "plan", "-destroy"], ["./rollback.sh", "destroy"],
    ["bash", "-c", "terraform init && echo destroy"], ["terraform", "state", "rm", "aws_s3_bucket.x"],
])
def test_commands_that_do_not(argv: list[str]) -> None:
    assert destroys(argv) is None


def test_every_project_of_the_example_has_its_undo() -> None:
    plan = load_plan(example_path("bbws"))
    undos = {name: undo_of(plan, "prod", name) for name in plan.projects}
    assert {n for n, u in undos.items() if isinstance(u, RouterUndo)} == {"product_lambda", "order_lambda",
                                                                          "campaigns_lambda"}
    site = undos["web_public"]
    assert isinstance(site, RedeployUndo) and site.tag is None and site.release_tag == "v1.0.0-prod"
    assert site.workflow == "deploy-application.yml" and site.verify == 1
    assert all(u.reversible for u in undos.values())
    assert "2-1-bbws-tf-order-*-prod" in undos["order_lambda"].line()


PLAN = """\
release: r
version: v2.0.0
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  site:
    repo: o/site
    deploy: {github_workflow: deploy.yml}
    undo: {tag: v1.4.2}
  db:
    repo: o/db
    deploy: {command: [./migrate.sh, "{env}"]}
    undo: {command: [./restore.sh, "{env}"], allow_data_loss: {why: "rows written since are replayed"}}
  job:
    repo: o/job
    deploy: {command: [./job.sh]}
batches:
  - {name: one, projects: [site, db, job]}
"""


def test_a_pinned_tag_a_command_and_none() -> None:
    plan = load_plan_text(PLAN)
    site, db, job = (undo_of(plan, "prod", n) for n in ("site", "db", "job"))
    assert isinstance(site, RedeployUndo) and site.tag == "v1.4.2" and "at v1.4.2" in site.line()
    assert isinstance(db, CommandUndo) and db.argv == ("./restore.sh", "prod") and not db.reversible
    assert "loses data: rows written since are replayed" in db.line()
    assert isinstance(job, NoUndo) and not job.reversible


@pytest.mark.parametrize(("old", "new", "where", "said"), [
    ("undo: {tag: v1.4.2}", "undo: {tag: v1.4.2, command: [x]}", "projects.site.undo", "exactly one of tag or command"),
    ("deploy: {command: [./job.sh]}", "deploy: {command: [./job.sh]}\n    undo: {tag: v1}", "projects.job.undo.tag",
     "deployed by a command"),
])
def test_an_undo_that_does_not_fit_its_project_is_a_plan_error(old: str, new: str, where: str, said: str) -> None:
    with pytest.raises(PlanError) as raised:
        load_plan_text(PLAN.replace(old, new))
    assert where in str(raised.value) and said in str(raised.value)


def test_a_placeholder_defined_in_one_environment_only_names_the_other() -> None:
    text = PLAN.replace('  prod: {account: "123456789012", region: eu-west-1}\n',
                        '  prod: {account: "123456789012", region: eu-west-1, variables: {stack: s1}}\n'
                        '  sit: {account: "123456789013", region: eu-west-1}\n') \
        .replace('[./migrate.sh, "{env}"]', '[./migrate.sh, "{stack}", "${HOME}", "{{ literal }}", "{{name}}"]')
    with pytest.raises(PlanError) as raised:
        load_plan_text(text)
    said = str(raised.value)
    assert "projects.db.deploy.command[1]: unknown placeholder {stack} in sit (the variables:" in said
    assert "HOME" not in said and "literal" not in said and "{name}" not in said
