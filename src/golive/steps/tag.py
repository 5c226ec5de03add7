"""The ``tag`` step of the prep phase: the release's annotated tag in every repository.

Tags are annotated, created at each project's ref (its default branch when none), and idempotent: the
same tag on the same commit is fine; on another commit the step fails naming both commits.
"""

from __future__ import annotations

from typing import Any

from golive.analysis.units import counted
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome
from golive.errors import GitHubRequestError
from golive.steps.kind import StepKind, StepParams


class TagRepo(StepParams):
    project: str
    repo: str
    ref: str | None = None


class TagParams(StepParams):
    tag: str
    message: str
    repos: list[TagRepo]


def describe(params: TagParams) -> list[str]:
    return [f"POST /repos/{r.repo}/git/tags + /git/refs refs/tags/{params.tag}" for r in params.repos]


def run(ctx: StepContext, params: TagParams) -> Outcome:
    github = ctx.services.require_github()
    tag, message = params.tag, params.message
    done: list[dict[str, Any]] = []
    for item in params.repos:
        repo = item.repo
        ref = item.ref or github.get_repo(repo).default_branch
        sha = github.resolve_commit(repo, ref)
        try:
            result = github.create_annotated_tag(repo, tag, sha, message)
        except GitHubRequestError as exc:
            return Fail(str(exc), {"tagged": done})
        done.append({"repo": repo, "tag": tag, "commit": sha, "created": result.created})
    created = sum(d["created"] for d in done)
    return Done(f"{tag} in {counted(len(done), 'repository', 'repositories')} "
                f"({created} created, {len(done) - created} already there)", {"tagged": done})



KIND = StepKind("tag", TagParams, run, describe)
