"""Checks on GitHub: the deploy workflow, the secrets it needs, the release tag.

The runbook kept a hand-written "Secret Status" table and still got it
wrong (it names ``deploy-prod.yml`` for repositories whose workflow is
``deploy-application.yml``, and only suspected web_public's missing
CloudFront secret). These checks derive the same facts from GitHub itself:

- ``github_workflow``: the plan's workflow file is a workflow GitHub knows
  (its file is on the default branch), it is active, and it has a
  ``workflow_dispatch`` trigger, so golive can start it, declaring every input
  golive sends (``inputs``: the deploy's, and a Terraform project's plan hash
  ``tfplan_sha256``), which GitHub would refuse otherwise. It warns when the
  file's ``run-name`` does not show golive's correlation input
  (``golive_id``), and prints the one line to add: without it, a lost
  dispatch answer can only be matched to its run by elimination, and golive
  stops and asks rather than guess between several.
- ``github_secrets``: every ``secrets.NAME`` the workflow uses at the
  release ref, plus the plan's ``extra`` names, exists as a repository
  secret or a secret of an environment the workflow's jobs use. A missing
  one fails. A role ARN written into the workflow is reported as
  information (pass): the runbook accepts it for product and order; it
  warns only when the ARN's account is not the environment's account.
  ``extra`` exists for secrets a deploy needs that the workflow does not
  name literally (reusable workflows, scripts reading the environment):
  a missing extra secret fails like a used one.
- ``github_tag``: the release tag exists and points at the expected commit.

The evidence of ``github_secrets`` is structured (one row per secret, and
the hard-coded ARNs) so ``golive preflight`` can print the Secret Status
table from it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType, Evidence, Status
from golive.errors import ExternalError, GitHubError, GitHubRequestError
from golive.providers.github import GitHub
from golive.providers.github_yaml import (
    CORRELATION_INPUT,
    WorkflowFileError,
    correlation_line,
    parse_workflow,
    role_arns,
    run_name_shows,
    secrets_used,
)

WORKFLOWS_DIR = ".github/workflows/"


class GithubWorkflowParams(CheckParams):
    repo: str = Field(description="owner/name, or a project name the plan maps to its repository")
    workflow: str = Field(description="the workflow file name, e.g. deploy-prod.yml")
    inputs: tuple[str, ...] = Field(default=(), description="inputs golive sends that the workflow must declare "
                                                            "(the deploy's inputs, the Terraform plan's sha_input)")


class GithubSecretsParams(CheckParams):
    repo: str
    workflow: str
    ref: str | None = Field(default=None, description="the release ref to read the workflow at; default branch if unset")
    environments: tuple[str, ...] = Field(default=(), description="GitHub environments whose secrets count, besides "
                                          "those the workflow's jobs name")
    extra: tuple[str, ...] = Field(default=(), description="secrets that must exist even if the workflow does not name them")
    account: str | None = Field(default=None, description="the AWS account a hard-coded role ARN must belong to")


class GithubTagParams(CheckParams):
    repo: str
    tag: str
    commit: str | None = Field(default=None, description="the commit sha the tag must point at")
    ref: str | None = Field(default=None, description="a branch or sha whose commit the tag must point at")


def _repo(ctx: CheckContext, name: str) -> str:
    name = ctx.expand(name)
    return ctx.repos.get(name, name)


def _path(workflow: str) -> str:
    return workflow if "/" in workflow else WORKFLOWS_DIR + workflow


def _no_client(check: str, target: str) -> CheckResult:
    return CheckResult(check, target, Status.ERROR, "no GitHub client configured (token, GOLIVE_GITHUB_API)")


def _error(check: str, target: str, exc: GitHubError | GitHubRequestError, evidence: list[Evidence]) -> CheckResult:
    failed = Evidence(f"{exc.method} {exc.path}", {"error": type(exc).__name__, "message": str(exc)})
    return CheckResult(check, target, Status.ERROR, f"could not ask GitHub: {exc}", (*evidence, failed),
                       unanswered=exc if isinstance(exc, ExternalError) else None)


# -- github_workflow -------------------------------------------------------------------------------------------


def run_workflow(ctx: CheckContext, p: GithubWorkflowParams) -> CheckResult:
    repo = _repo(ctx, p.repo)
    target = f"{repo}:{p.workflow}"
    gh: GitHub | None = ctx.github
    if gh is None:
        return _no_client("github_workflow", target)
    evidence: list[Evidence] = []
    try:
        info = gh.get_repo(repo)
        evidence.append(Evidence(f"GET /repos/{repo}", {"default_branch": info.default_branch}))
        try:
            wf = gh.get_workflow(repo, p.workflow)
        except GitHubRequestError as exc:
            if exc.status != 404:
                raise
            known = [w.path.removeprefix(WORKFLOWS_DIR) for w in gh.list_workflows(repo)]
            evidence.append(Evidence(f"GET /repos/{repo}/actions/workflows", {"workflows": known}))
            hint = f" (workflows there: {', '.join(known)})" if known else " (the repository has no workflows)"
            return CheckResult("github_workflow", target, Status.FAIL,
                               f"{p.workflow} is not a workflow on the default branch {info.default_branch}{hint}",
                               tuple(evidence))
        evidence.append(Evidence(f"GET /repos/{repo}/actions/workflows/{p.workflow}",
                                 {"id": wf.id, "name": wf.name, "path": wf.path, "state": wf.state}))
        if wf.state != "active":
            return CheckResult("github_workflow", target, Status.FAIL, f"{p.workflow} is {wf.state}, not active",
                               tuple(evidence))
        text = gh.get_file(repo, wf.path, info.default_branch)
    except (GitHubError, GitHubRequestError) as exc:
        return _error("github_workflow", target, exc, evidence)
    try:
        parsed = parse_workflow(text)
    except WorkflowFileError as exc:
        return CheckResult("github_workflow", target, Status.FAIL, f"{wf.path} does not parse: {exc}", tuple(evidence))
    evidence.append(Evidence(f"{wf.path}@{info.default_branch} triggers", sorted(parsed.triggers)))
    if not parsed.dispatchable:
        on = ", ".join(sorted(parsed.triggers)) or "nothing"
        return CheckResult("github_workflow", target, Status.FAIL,
                           f"{p.workflow} has no workflow_dispatch trigger (on: {on})", tuple(evidence))
    undeclared = [name for name in p.inputs if name not in parsed.dispatch_inputs]
    if undeclared:
        # GitHub refuses a dispatch with an input the workflow does not declare ("Unexpected inputs provided").
        return CheckResult("github_workflow", target, Status.FAIL,
                           f"{p.workflow} does not declare the input{'s' if len(undeclared) > 1 else ''} golive sends: "
                           f"{', '.join(undeclared)} (add under on.workflow_dispatch.inputs)", tuple(evidence))
    shows = CORRELATION_INPUT in parsed.dispatch_inputs and run_name_shows(parsed.run_name, CORRELATION_INPUT)
    evidence.append(Evidence(f"{wf.path}@{info.default_branch} run-name",
                             {"run_name": parsed.run_name, "shows_correlation_id": shows}))
    if not shows:
        missing = [] if CORRELATION_INPUT in parsed.dispatch_inputs else [
            f"an input '{CORRELATION_INPUT}' under on.workflow_dispatch.inputs"]
        if not run_name_shows(parsed.run_name, CORRELATION_INPUT):
            missing.append(f"the line '{correlation_line(CORRELATION_INPUT)}'")
        return CheckResult("github_workflow", target, Status.WARN,
                           f"{p.workflow} can be dispatched, but its runs do not show golive's correlation id: add "
                           + " and ".join(missing), tuple(evidence))
    return CheckResult("github_workflow", target, Status.PASS,
                       f"{p.workflow} ('{wf.name}') is active on {info.default_branch} and can be dispatched",
                       tuple(evidence))


def describe_workflow(p: GithubWorkflowParams) -> str:
    return (f"GET /repos/{p.repo}/actions/workflows/{p.workflow}: on the default branch, active, "
            "with a workflow_dispatch trigger" + (f" declaring the inputs {', '.join(p.inputs)}" if p.inputs else ""))


# -- github_secrets -----------------------------------------------------------------------------------------------


def run_secrets(ctx: CheckContext, p: GithubSecretsParams) -> CheckResult:
    repo = _repo(ctx, p.repo)
    target = f"{repo}:{p.workflow}"
    gh = ctx.github
    if gh is None:
        return _no_client("github_secrets", target)
    evidence: list[Evidence] = []
    ref = ctx.expand(p.ref) if p.ref else None
    try:
        ref = ref or gh.get_repo(repo).default_branch
        try:
            text = gh.get_file(repo, _path(p.workflow), ref)
        except GitHubRequestError as exc:
            if exc.status != 404:
                raise
            return CheckResult("github_secrets", target, Status.FAIL, f"{_path(p.workflow)} does not exist at {ref}")
        try:
            parsed = parse_workflow(text)
        except WorkflowFileError as exc:
            return CheckResult("github_secrets", target, Status.FAIL, f"{_path(p.workflow)} does not parse: {exc}")
        repo_secrets = gh.list_repo_secrets(repo)
        env_secrets: dict[str, set[str]] = {}
        missing_envs: list[str] = []
        for env in sorted(parsed.environments | set(p.environments)):
            try:
                env_secrets[env] = gh.list_environment_secrets(repo, env)
            except GitHubRequestError as exc:
                if exc.status != 404:
                    raise
                missing_envs.append(env)
    except (GitHubError, GitHubRequestError) as exc:
        return _error("github_secrets", target, exc, evidence)

    def scope(name: str) -> str | None:
        if name in repo_secrets:
            return "repository"
        return next((f"environment:{env}" for env, names in env_secrets.items() if name in names), None)

    rows: list[dict[str, Any]] = []
    used = secrets_used(text)
    for use in used:
        rows.append({"name": use.name, "source": "workflow", "lines": list(use.lines), "scope": scope(use.name),
                     "status": "configured" if scope(use.name) else "missing"})
    for name in p.extra:
        if name not in {u.name for u in used}:
            rows.append({"name": name, "source": "extra", "lines": [], "scope": scope(name),
                         "status": "configured" if scope(name) else "missing"})
    arns = role_arns(text)
    account = p.account or ctx.variables.get("aws_account") or ctx.variables.get("account")
    foreign = [a for a in arns if account and a.account != account]
    evidence.append(Evidence(f"secrets named in {_path(p.workflow)}@{ref}, against the repository's and environments' secrets", {
        "workflow": _path(p.workflow), "ref": ref, "secrets": rows,
        "hardcoded_role_arns": [{"arn": a.arn, "account": a.account, "line": a.line} for a in arns],
        "environments": sorted(env_secrets), "environments_not_found": missing_envs,
    }))
    missing = [r["name"] for r in rows if r["status"] == "missing"]
    notes = []
    if missing:
        notes.append("missing: " + ", ".join(missing))
    configured = [r["name"] for r in rows if r["status"] == "configured"]
    if configured:
        notes.append("configured: " + ", ".join(configured))
    if arns:
        notes.append("role ARN hard-coded in the workflow: " + ", ".join(f"{a.arn} (line {a.line})" for a in arns))
    if foreign:
        notes.append(f"not in account {account}: " + ", ".join(a.arn for a in foreign))
    if missing_envs:
        notes.append("environments not found: " + ", ".join(missing_envs))
    summary = "; ".join(notes) or "the workflow uses no secrets"
    status = Status.FAIL if missing else Status.WARN if foreign else Status.PASS
    return CheckResult("github_secrets", target, status, summary, tuple(evidence))


def describe_secrets(p: GithubSecretsParams) -> str:
    extra = f" plus {', '.join(p.extra)}" if p.extra else ""
    return (f"read {_path(p.workflow)} at {p.ref or 'the default branch'} in {p.repo}; every secrets.NAME it uses{extra} "
            "must be a repository or environment secret")


# -- github_tag ---------------------------------------------------------------------------------------------------


def run_tag(ctx: CheckContext, p: GithubTagParams) -> CheckResult:
    repo = _repo(ctx, p.repo)
    tag_name = ctx.expand(p.tag)
    target = f"{repo}@{tag_name}"
    gh = ctx.github
    if gh is None:
        return _no_client("github_tag", target)
    evidence: list[Evidence] = []
    try:
        tag = gh.get_tag(repo, tag_name)
        evidence.append(Evidence(f"GET /repos/{repo}/git/ref/tags/{tag_name}",
                                 None if tag is None else {"commit": tag.commit, "annotated": tag.tag_sha is not None}))
        if tag is None:
            return CheckResult("github_tag", target, Status.FAIL, f"tag {tag_name} does not exist", tuple(evidence))
        expected = p.commit
        if expected is None and p.ref:
            expected = gh.resolve_commit(repo, ctx.expand(p.ref))
            evidence.append(Evidence(f"GET /repos/{repo}/commits/{p.ref}", expected))
    except (GitHubError, GitHubRequestError) as exc:
        return _error("github_tag", target, exc, evidence)
    if expected is not None and not tag.commit.startswith(expected) and not expected.startswith(tag.commit):
        return CheckResult("github_tag", target, Status.FAIL,
                           f"tag {tag_name} points at {tag.commit}, expected {expected}", tuple(evidence))
    return CheckResult("github_tag", target, Status.PASS, f"tag {tag_name} points at {tag.commit}", tuple(evidence))


def describe_tag(p: GithubTagParams) -> str:
    want = f" pointing at {p.commit or p.ref}" if (p.commit or p.ref) else ""
    return f"GET /repos/{p.repo}/git/ref/tags/{p.tag}: the tag exists{want}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType("github_workflow", GithubWorkflowParams, run_workflow, describe_workflow,
              "the workflow is on the default branch, active, and can be dispatched"),
    CheckType("github_secrets", GithubSecretsParams, run_secrets, describe_secrets,
              "every secret the workflow uses (and the plan's extra ones) exists; hard-coded role ARNs reported"),
    CheckType("github_tag", GithubTagParams, run_tag, describe_tag, "the release tag exists on the expected commit"),
]
