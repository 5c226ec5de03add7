"""Each project's undo, computed once from the plan: what ``golive rollback PROJECT`` does, and whether it
puts the previous release back (reversible) or cannot.

- A project with a canary (a traffic router: a Lambda alias) restores its stable version: the one restore
  (``steps/restore.py``).
- A project deployed by a workflow re-dispatches the same workflow at the previous release tag: the newest
  tag older than the release's in its repository (``previous_tag``), or the plan's ``undo: {tag: v0.9.0}``;
  then its own ``verify:``.
- A project deployed by a command runs its ``undo: {command: [...]}``; without one it has no undo.

``golive plan`` shows these beside each project; ``golive rollback`` acts on them (``runs/undo.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from golive.analysis.units import counted
from golive.plan.model import Plan, Project
from golive.plan.variables import expand, variables

# A release tag: v1.2.3, 1.2, v1.0.0-prod; versions compare as numbers, among tags of the same suffix.
_RELEASE_TAG = re.compile(r"^(?P<prefix>[A-Za-z_-]*?)(?P<numbers>\d+(?:\.\d+)*)(?P<suffix>[-+._A-Za-z0-9]*)$")


def _version(tag: str) -> tuple[str, tuple[int, ...], str] | None:
    match = _RELEASE_TAG.match(tag)
    if match is None:
        return None
    return match["prefix"], tuple(int(n) for n in match["numbers"].split(".")), match["suffix"]


def previous_tag(release: str, tags: Iterable[str]) -> str | None:
    """The newest tag older than ``release``: same prefix and suffix (``v…-prod``), a lower version; None if none."""
    mine = _version(release)
    if mine is None:
        return None
    prefix, numbers, suffix = mine
    older: list[tuple[tuple[int, ...], str]] = []
    for tag in tags:
        theirs = _version(tag)
        if theirs is None or theirs[0] != prefix or theirs[2] != suffix:
            continue
        width = max(len(numbers), len(theirs[1]))
        padded = theirs[1] + (0,) * (width - len(theirs[1]))
        if padded < numbers + (0,) * (width - len(numbers)):
            older.append((padded, tag))
    return max(older)[1] if older else None


@dataclass(frozen=True)
class RouterUndo:
    """Traffic back on the stable version: the canary's alias, every function of the project."""

    project: str
    alias: str
    functions: str  # the selector, as a person reads it
    reversible: bool = True
    stage: bool = False  # an API Gateway stage canary: ``functions`` names the stage

    def line(self) -> str:
        if self.stage:
            return f"{self.functions}: canary settings removed (back on its previous deployment if promoted)"
        return f"alias {self.alias} of {self.functions} back on its stable version, routing cleared"


@dataclass(frozen=True)
class RedeployUndo:
    """The deploy workflow dispatched again at an earlier tag, once, then the project's own verify."""

    project: str
    repo: str
    workflow: str
    release_tag: str
    tag: str | None  # the plan's undo.tag; None: the previous release tag, looked up when the rollback is asked
    inputs: dict[str, str]
    timeout: timedelta
    verify: int  # how many checks the project's verify has
    reversible: bool = True
    terraform_plan: str | None = None  # a Terraform project: how its plan at the earlier tag is made, approved first

    def line(self) -> str:
        at = self.tag if self.tag is not None else f"the previous release tag (the newest before {self.release_tag})"
        then = f", then its verify ({counted(self.verify, 'check')})" if self.verify else ", unverified (no verify:)"
        after = (f", after its Terraform plan at that tag ({self.terraform_plan}) is approved"
                 if self.terraform_plan else "")
        return f"re-dispatch {self.workflow} in {self.repo} at {at}, once{after}{then}"


@dataclass(frozen=True)
class CommandUndo:
    """The plan's undo command."""

    project: str
    argv: tuple[str, ...]
    cwd: str | None
    timeout: timedelta
    data_loss_why: str | None
    verify: int

    @property
    def reversible(self) -> bool:
        return self.data_loss_why is None

    def line(self) -> str:
        loss = f" (loses data: {self.data_loss_why})" if self.data_loss_why else ""
        then = f", then its verify ({counted(self.verify, 'check')})" if self.verify else ""
        return f"run {' '.join(self.argv)}{loss}{then}"


@dataclass(frozen=True)
class NoUndo:
    project: str
    why: str
    reversible: bool = False

    def line(self) -> str:
        return f"none: {self.why}"


ProjectUndo = RouterUndo | RedeployUndo | CommandUndo | NoUndo


def undo_of(plan: Plan, env: str, name: str) -> ProjectUndo:
    """What undoes project ``name`` in ``env`` (its strings filled with the environment's variables)."""
    vars_ = variables(plan, env)
    project = plan.projects[name]
    canary = project.rollout.lambda_canary if project.rollout else None
    if canary is not None:
        selector = expand(canary.functions.model_dump(exclude_none=True), vars_)
        shown = ", ".join(selector["names"]) if selector.get("names") else \
            f"{selector['prefix']}*{selector.get('suffix', '')}" if selector.get("prefix") is not None else \
            f"the functions tagged {selector.get('tag')}"
        return RouterUndo(name, canary.alias, shown)
    stage = project.rollout.apigw_canary if project.rollout else None
    if stage is not None and project.api is not None:
        rest_api, stage_name = expand(project.api.rest_api, vars_), expand(project.api.stage, vars_)
        return RouterUndo(name, "", f"stage {stage_name} of REST API {rest_api}", stage=True)
    undo = project.undo
    if undo is not None and undo.command is not None:
        return CommandUndo(name, tuple(expand(undo.command, vars_)), undo.cwd, undo.timeout,
                           undo.allow_data_loss.why if undo.allow_data_loss else None, len(project.verify))
    deploy = project.deploy
    if deploy.github_workflow is not None:
        return RedeployUndo(name, project.repo, deploy.github_workflow, plan.version,
                            undo.tag if undo is not None else None, expand(deploy.inputs, vars_),
                            deploy.timeout or timedelta(minutes=45), len(project.verify),
                            terraform_plan=_plan_maker(project))
    return NoUndo(name, "deployed by a command and the plan gives no undo: {command: [...]}")


def _plan_maker(project: Project) -> str | None:
    """How a Terraform project's plan is made (its plan workflow or command), None for another project."""
    tf = project.terraform
    if tf is None:
        return None
    return tf.plan_workflow or " ".join(tf.plan_command or ()) or "its plan"
