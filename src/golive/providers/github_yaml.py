"""Reading a GitHub Actions workflow file the way golive needs to.

Three parts of golive look inside workflow files: the checks (is there a
``workflow_dispatch`` trigger? which secrets does it use? is a role ARN
hard-coded?), the deploy action (does the workflow accept golive's
correlation input?) and the local GitHub (which jobs and steps does a run
have, what is its run name?). They share this one reader so they agree.

PyYAML reads the key ``on`` as the boolean ``True`` (YAML 1.1), so the
trigger block is looked up under both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_SECRET_DOT = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_-]*)")
_SECRET_INDEX = re.compile(r"""\bsecrets\[\s*['"]([A-Za-z_][A-Za-z0-9_-]*)['"]\s*\]""")
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/[A-Za-z0-9+=,.@_/-]+")
_COMMENT = re.compile(r"(^|\s)#.*$")
BUILTIN_SECRETS = frozenset({"GITHUB_TOKEN"})
# The workflow_dispatch input golive sends with every dispatch, and finds its run by (the run-name shows it).
CORRELATION_INPUT = "golive_id"


class WorkflowFileError(ValueError):
    """The text is not a workflow file (not YAML, or not a mapping)."""


@dataclass(frozen=True)
class SecretUse:
    name: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class RoleArn:
    arn: str
    account: str
    line: int


@dataclass(frozen=True)
class JobSpec:
    key: str
    name: str
    environment: str | None
    steps: tuple[str, ...]


@dataclass(frozen=True)
class WorkflowFile:
    """The parts of a workflow file golive uses."""

    name: str | None
    run_name: str | None
    triggers: frozenset[str]
    dispatch_inputs: dict[str, dict[str, Any]]
    jobs: tuple[JobSpec, ...]

    @property
    def dispatchable(self) -> bool:
        return "workflow_dispatch" in self.triggers

    @property
    def environments(self) -> frozenset[str]:
        return frozenset(j.environment for j in self.jobs if j.environment)


def parse_workflow(text: str) -> WorkflowFile:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowFileError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise WorkflowFileError("a workflow file must be a YAML mapping")
    on = doc.get("on", doc.get(True))
    triggers: frozenset[str]
    inputs: dict[str, dict[str, Any]] = {}
    if isinstance(on, str):
        triggers = frozenset({on})
    elif isinstance(on, list):
        triggers = frozenset(str(t) for t in on)
    elif isinstance(on, dict):
        triggers = frozenset(str(t) for t in on)
        dispatch = on.get("workflow_dispatch")
        if isinstance(dispatch, dict) and isinstance(dispatch.get("inputs"), dict):
            inputs = {str(k): (v if isinstance(v, dict) else {}) for k, v in dispatch["inputs"].items()}
    else:
        triggers = frozenset()
    jobs: list[JobSpec] = []
    raw_jobs = doc.get("jobs")
    if isinstance(raw_jobs, dict):
        for key, job in raw_jobs.items():
            if not isinstance(job, dict):
                continue
            env = job.get("environment")
            if isinstance(env, dict):
                env = env.get("name")
            steps = []
            for i, step in enumerate(job.get("steps") or [], start=1):
                if isinstance(step, dict):
                    steps.append(str(step.get("name") or (f"Run {step['uses']}" if "uses" in step else f"Step {i}")))
            jobs.append(JobSpec(str(key), str(job.get("name") or key), str(env) if env else None, tuple(steps)))
    name = doc.get("name")
    run_name = doc.get("run-name")
    return WorkflowFile(
        name=str(name) if name is not None else None,
        run_name=str(run_name) if run_name is not None else None,
        triggers=triggers,
        dispatch_inputs=inputs,
        jobs=tuple(jobs),
    )


def _code_lines(text: str) -> list[tuple[int, str]]:
    """Each line with its number, YAML comments removed (a secret named in a comment is not used)."""
    return [(n, _COMMENT.sub("", line)) for n, line in enumerate(text.splitlines(), start=1)]


def secrets_used(text: str) -> list[SecretUse]:
    """Every ``secrets.NAME`` / ``secrets['NAME']`` the file refers to, except GitHub's own token."""
    found: dict[str, list[int]] = {}
    for n, line in _code_lines(text):
        for pattern in (_SECRET_DOT, _SECRET_INDEX):
            for m in pattern.finditer(line):
                if m.group(1) not in BUILTIN_SECRETS:
                    found.setdefault(m.group(1), []).append(n)
    return [SecretUse(name, tuple(sorted(set(lines)))) for name, lines in sorted(found.items())]


def role_arns(text: str) -> list[RoleArn]:
    """AWS role ARNs written literally in the file."""
    return [RoleArn(m.group(0), m.group(1), n) for n, line in _code_lines(text) for m in _ROLE_ARN.finditer(line)]


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def run_name_shows(run_name: str | None, input_name: str) -> bool:
    """Whether a ``run-name`` puts the dispatch input ``input_name`` in every run's title.

    It does when an expression names ``inputs.NAME`` (or ``github.event.inputs.NAME``) before any
    top-level ``||``: in ``${{ inputs.golive_id || github.ref_name }}`` the id shows whenever golive
    sends it; in ``${{ github.ref_name || inputs.golive_id }}`` it never does.
    """
    if not run_name:
        return False
    wanted = re.compile(r"(?<![\w.])(?:github\.event\.)?inputs\.(?:" + re.escape(input_name) + r")(?![\w-])")
    for m in _TEMPLATE.finditer(run_name):
        first = m.group(1).split("||", 1)[0]
        if wanted.search(first):
            return True
    return False


def correlation_line(input_name: str) -> str:
    """The one line to add to a workflow so its runs show golive's correlation id."""
    return f"run-name: ${{{{ inputs.{input_name} || github.ref_name }}}}"
