"""The plan file's shape: one strict pydantic model for the whole release.

Everything the reference runbook does is a field here: environments and
their AWS accounts, projects with their workflows, checks, canary steps,
health URLs and smoke commands, ordered batches, preflight checks, soak
schedules, gates, rollback triggers, freeze windows and the risk register.
Unknown keys are errors (``extra="forbid"``) so a typo never silently turns
a check off. Cross-references (a batch naming a project, a criterion naming a
metric, a check's own parameters) are validated in ``golive.plan.validate``,
which knows the file's line numbers.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from golive import schedule
from golive.analysis.units import format_duration, parse_duration
from golive.tfplan import DATA_TYPES


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a duration such as 30s, 10m, 48h")
    if isinstance(value, int | float):
        raise ValueError(f"'{value}' has no unit (write e.g. {value}s or {value}m)")
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    Field(json_schema_extra={"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"}),
]

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retry(Model):
    """How long golive keeps trying an outside system that does not answer before the command exits 3."""

    attempts: int = Field(10, ge=1, le=1000, description="tries of one step before giving up")
    every: Duration = Field(timedelta(seconds=30), description="the pause between two tries")

    @model_validator(mode="after")
    def _positive(self) -> Retry:
        if self.every <= timedelta(0):
            raise ValueError("every must be positive")
        return self


class Environment(Model):
    """One AWS account and region the release touches (the runbook's SIT and PROD)."""

    account: Annotated[str, Field(pattern=r"^\d{12}$", description="12-digit AWS account id")]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    profile: str | None = Field(None, description="AWS CLI profile (SSO profiles included)")
    role_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", description="role to assume")
    external_id: str | None = Field(None, description="ExternalId the role's trust policy asks for (with role_arn)")
    role_duration: Duration | None = Field(None, description="each assumed-role session's length (refreshed before it ends)")
    dr_region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="deployed after the primary")
    endpoint_url: str | None = Field(None, description="AWS endpoint override (an emulator)")
    api_base: str | None = Field(None, description="base URL of the APIs, for {api_base} in URLs")
    site_url: str | None = Field(None, description="the public site, for {site_url}")
    variables: dict[str, str] = Field(default_factory=dict, description="more {name} values for URLs and commands")
    retry: Retry = Field(default_factory=Retry, description="bounded waiting for an unreachable AWS or GitHub")

    @field_validator("account", mode="before")
    @classmethod
    def _account_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError("quote the account id (\"093646564004\"): as a number YAML drops its leading zero")
        return value


class MetricSpec(Model):
    """A named metric: ``error_rate: {lambda: errors / invocations}``."""

    lambda_: str = Field(alias="lambda", description="expression over AWS/Lambda metrics: sum(x), pNN(x), x / y")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CheckEntry(Model):
    """One check: ``- aws_account`` or ``- vpc: {cidr: 10.3.0.0/16}``; parameters checked per check type."""

    kind: str
    params: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"kind": value, "params": None}
        if isinstance(value, dict) and len(value) == 1 and "kind" not in value:
            ((kind, params),) = value.items()
            return {"kind": kind, "params": params}
        raise ValueError("a check is a name (- aws_account) or one name with its parameters (- vpc: {cidr: ...})")


class CriterionEntry(Model):
    """``error_rate < 0.1%``, or the long form with ``dry_run`` and ``scope``."""

    criterion: str
    dry_run: bool = False
    scope: Literal["function", "aggregate"] = "function"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"criterion": value}
        return value


class WorkflowDeploy(Model):
    github_workflow: str = Field(description="workflow file name in .github/workflows")
    ref: str | None = Field(None, description="git ref to run on; default: the release tag")
    inputs: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(minutes=45)

    @field_validator("github_workflow")
    @classmethod
    def _yaml_file(cls, value: str) -> str:
        if not value.endswith((".yml", ".yaml")) or "/" in value:
            raise ValueError(f"'{value}' is not a workflow file name (e.g. deploy-prod.yml)")
        return value


class CommandDeploy(Model):
    command: list[str] = Field(min_length=1, description="argv list, never a shell string")
    timeout: Duration = timedelta(minutes=30)
    cwd: str | None = None


class Deploy(Model):
    """How a project is deployed: a GitHub workflow, or a command."""

    github_workflow: str | None = None
    ref: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    command: list[str] | None = None
    cwd: str | None = None
    timeout: Duration | None = None
    idempotent: bool = Field(False, description="with command: running it again after it was interrupted is safe "
                                               "(terraform apply), so a resumed release runs it again instead of "
                                               "stopping for a person to check what it did")

    @model_validator(mode="after")
    def _exactly_one(self) -> Deploy:
        if (self.github_workflow is None) == (self.command is None):
            raise ValueError("give exactly one of github_workflow or command")
        if self.github_workflow is not None:
            WorkflowDeploy(github_workflow=self.github_workflow)
        if self.command is not None and not self.command:
            raise ValueError("command must be a non-empty argv list")
        if self.idempotent and self.command is None:
            raise ValueError("idempotent applies to a command (a workflow is never dispatched twice)")
        return self

    @property
    def kind(self) -> Literal["github_workflow", "command"]:
        return "github_workflow" if self.github_workflow else "command"


class FunctionSelector(Model):
    """Which Lambda functions a project has: by name prefix, an explicit list, or a tag."""

    prefix: str | None = None
    names: list[str] | None = None
    tag: dict[str, str] | None = None
    suffix: str | None = Field(None, description="with prefix: the names end with it, e.g. -{env} (not with names)")
    count: int | None = Field(None, ge=1, description="how many functions the project must have")

    @model_validator(mode="after")
    def _one_way(self) -> FunctionSelector:
        given = [x for x in (self.prefix, self.names, self.tag) if x]
        if len(given) != 1:
            raise ValueError("select functions by exactly one of prefix, names or tag")
        if self.names and self.suffix:
            raise ValueError("suffix applies to prefix only: write the full function names under names "
                             "(e.g. order-{env}), or select by prefix and suffix")
        return self


class CanaryStep(Model):
    weight: float = Field(gt=0, le=100, description="percent of traffic on the new version")
    bake: Duration | None = Field(None, description="how long to watch before the next step")

    @field_validator("weight", mode="before")
    @classmethod
    def _weight_range(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool) and not 0 < value <= 100:
            raise ValueError("must be between 0 and 100")
        return value


JudgedMetric = Literal["errors", "p95_duration"]


class JudgeSpec(Model):
    """What the canary judge compares, and from how many minutes on its verdict counts."""

    metrics: list[JudgedMetric] = Field(
        default_factory=lambda: list[JudgedMetric](["errors", "p95_duration"]),
        description="metrics the judge compares (a metric nobody uses is never queried)")
    min_minutes: int | None = Field(None, ge=1, description="complete minutes before a percentile verdict "
                                                            "(default: the judge's own, 3)")
    critical: list[str] = Field(default_factory=lambda: ["errors"],
                                description="metrics whose query failing fails safe (roll back); others are "
                                            "Error outcomes counted against consecutive_error_limit")
    consecutive_error_limit: int = Field(4, ge=0, description="analyses in a row a non-critical metric may fail "
                                                              "to answer before the canary fails safe")
    tolerances: list[str] = Field(default_factory=list, description="the increase over stable the judge allows "
                                                                    "a metric: 'errors <= +10%' and 'p95_duration "
                                                                    "<= +10%' are the defaults; the latency's sets "
                                                                    "the tail's threshold, the errors' the rate "
                                                                    "ratio the test is of (the final level is "
                                                                    "calibrated with +10%: 'errors <= +0%' would "
                                                                    "roll back about 1% of healthy 5-function "
                                                                    "canaries, not 0.23%; bench/judge.py)")

    @field_validator("tolerances")
    @classmethod
    def _tolerances(cls, value: list[str]) -> list[str]:
        from golive.analysis.judge import tolerances

        tolerances(value)
        return value


class Analysis(Model):
    """How a canary is watched during each bake."""

    interval: Duration = timedelta(minutes=1)
    delay: Duration = Field(timedelta(minutes=1), description="metrics lag; windows end this long ago")
    judge: bool | JudgeSpec = Field(True, description="compare canary with stable statistically, not only "
                                                      "thresholds (true, false, or {metrics, min_minutes, ...})")
    health_availability: float = Field(0.99, gt=0, le=1, description="the project's health URLs must be up this "
                                                                     "share of the bake's probes")
    health_min_probes: int = Field(3, ge=1, description="probes of a bake before its availability can fail it")
    min_invocations: int = Field(50, ge=1, description="fewer canary invocations than this is inconclusive")
    max_extension: Duration = Field(timedelta(minutes=10), description=(
        "inconclusive bakes extend this much at most (the judge's looks there are interim looks: only the look "
        "that can end the step uses its final boundary)"))
    on_inconclusive: Literal["pause", "rollback", "promote"] = Field(
        "pause", description="still inconclusive after max_extension, or AWS not answering mid-bake: pause at the "
                             "current weight, notify and wait for golive promote --why / abort (rollback after "
                             "pause_timeout), roll back, or go on to the next step")
    pause_timeout: Duration = Field(timedelta(minutes=30), description="a paused canary nobody answered rolls back "
                                                                       "after this long")
    history: Duration = Field(timedelta(minutes=60), description="the stable version's errors over this window "
                                                                 "before the first shift join the judge's "
                                                                 "baseline, unless they drifted (0s: off)")
    confidence: float = Field(0.98, gt=0.5, lt=1)
    false_rollbacks: Literal["project", "function"] = Field(
        "project", description="spend the judge's false-rollback budget over the project's functions (default: "
                               "about 0.25% of healthy canaries rolled back, bench/judge.py) or give every "
                               "function's tests the whole level (more power on a one-function regression)")


def _increasing_to_100(weights: list[float]) -> None:
    """A canary's weights: each step more than the last, and the last 100 (the promotion)."""
    if any(b <= a for a, b in itertools.pairwise(weights)):
        raise ValueError(f"step weights must increase: {weights}")
    if not weights or weights[-1] != 100:
        raise ValueError("the last step must be weight 100 (the promotion)")


class LambdaCanary(Model):
    functions: FunctionSelector
    alias: str = "live"
    steps: list[CanaryStep] = Field(min_length=1)
    analysis: Analysis = Field(default_factory=Analysis)
    new_versions: Literal["changed", "all"] = Field(
        "changed", description="changed: a selected function the deploy published no new version of is listed as "
                               "unchanged and left alone, the others are canaried (as Terraform publishes only "
                               "what changed); all: every selected function must have a new version, an unchanged "
                               "one fails the canary naming it")

    @model_validator(mode="after")
    def _ends_at_100(self) -> LambdaCanary:
        _increasing_to_100([s.weight for s in self.steps])
        return self


class ApiGatewayCanary(Model):
    """A canary of the project's REST API stage (``api:``): its canary settings' weight, step by step."""

    steps: list[CanaryStep] = Field(min_length=1, description="percent of the stage's requests on the new "
                                                              "deployment; the last, 100, promotes it")
    analysis: Analysis = Field(default_factory=Analysis)

    @model_validator(mode="after")
    def _ends_at_100(self) -> ApiGatewayCanary:
        _increasing_to_100([s.weight for s in self.steps])
        return self


class CloudFrontStep(Model):
    """One step of a CloudFront canary: the header smoke (no viewer reaches staging), a weight, or 100 (promote)."""

    header: bool = Field(False, description="only requests with the staging header reach the new build: the "
                                            "smoke tests and health probes, before any viewer")
    weight: float | None = Field(None, gt=0, le=100, description="percent of viewers on the staging distribution "
                                                                  "(CloudFront allows at most 15); 100 promotes")
    bake: Duration | None = Field(None, description="how long to watch before the next step")

    @model_validator(mode="after")
    def _one(self) -> CloudFrontStep:
        if self.header == (self.weight is not None):
            raise ValueError("a step is either {header: true} or {weight: N}")
        return self


class StagingHeader(Model):
    """The header a ``SingleHeader`` continuous deployment policy routes to the staging distribution."""

    name: str = Field("aws-cf-cd-golive", pattern=r"^aws-cf-cd-[A-Za-z0-9-]+$",
                      description="CloudFront requires the prefix aws-cf-cd-")
    value: str = Field("smoke", min_length=1, max_length=1783)


class CloudFrontCanary(Model):
    """A site behind CloudFront canaried with continuous deployment: a staging copy serves the new build.
    ``{header: true}`` first lets only the smoke tests and health probes reach it (a SingleHeader policy), then
    weights up to CloudFront's 15% (``golive check`` refuses more), then ``{weight: 100}`` promotes it
    (UpdateDistributionWithStagingConfig); a rollback disables the policy and leaves the primary as it was.

    e.g. ``cloudfront_canary: {distribution: CLOUDFRONT_DISTRIBUTION_ID_PROD, origin_path: /releases/{version},
    steps: [{header: true, bake: 5m}, {weight: 5, bake: 10m}, {weight: 15, bake: 10m}, {weight: 100}]}``.
    """

    distribution: str = Field(description="the primary distribution: one of the project's secrets (its source "
                                          "finds the id, e.g. CLOUDFRONT_DISTRIBUTION_ID_PROD) or an id E...")
    origin_path: str = Field(pattern=r"^(/.*)?$", description="the new build's path on the origin, e.g. "
                                                              "/releases/{version}; the staging copy serves it")
    origin: str | None = Field(None, description="the origin's Id (default: the default cache behaviour's target)")
    header: StagingHeader = Field(default_factory=StagingHeader)
    steps: list[CloudFrontStep] = Field(min_length=1)
    analysis: Analysis = Field(default_factory=Analysis)

    @model_validator(mode="after")
    def _order(self) -> CloudFrontCanary:
        if any(s.header for s in self.steps[1:]):
            raise ValueError("the header step comes first (before any viewer reaches the staging distribution)")
        _increasing_to_100([s.weight for s in self.steps if s.weight is not None])
        return self


class Rollout(Model):
    lambda_canary: LambdaCanary | None = None
    apigw_canary: ApiGatewayCanary | None = Field(
        None, description="canary the project's API Gateway REST API stage (api:) through its canary settings")
    cloudfront_canary: CloudFrontCanary | None = None

    @model_validator(mode="after")
    def _one_canary(self) -> Rollout:
        given = [n for n, c in (("lambda_canary", self.lambda_canary), ("apigw_canary", self.apigw_canary),
                                ("cloudfront_canary", self.cloudfront_canary)) if c is not None]
        if len(given) > 1:
            raise ValueError(f"a project has one canary, not {' and '.join(given)} (a Lambda canary behind an API is "
                             "checked against the API's integrations by api_invokes_alias)")
        return self


class ApiRef(Model):
    """The project's API Gateway REST API and the stage its users call."""

    rest_api: Annotated[str, Field(min_length=1, description="the REST API's name or id")]
    stage: Annotated[str, Field(min_length=1, description="the stage, e.g. prod or {env}")]


class SecretSource(Model):
    """Where the prep phase gets a secret's value when the repository lacks it."""

    value: str | None = Field(None, description="a known non-secret value, e.g. the deploy role ARN")
    from_env: str | None = Field(None, description="an environment variable of the golive process")
    cloudfront_comment: str | None = Field(None, description="the id of the CloudFront distribution with this comment")
    environment: str | None = Field(None, description="set as an environment secret of this GitHub environment")

    @model_validator(mode="after")
    def _one(self) -> SecretSource:
        if sum(x is not None for x in (self.value, self.from_env, self.cloudfront_comment)) != 1:
            raise ValueError("give exactly one of value, from_env or cloudfront_comment")
        return self


class DataLossAllowed(Model):
    """A rollback or undo command that deletes data, said out loud: ``allow_data_loss: {why: "..."}``."""

    why: str = Field(min_length=1, description="why losing the data is acceptable (shown by golive check and plan)")


class Undo(Model):
    """How ``golive rollback PROJECT`` undoes a project that has no canary: a tag to redeploy, or a command.

    Without it, a project deployed by a workflow is redeployed at the previous release tag (the newest tag older
    than the release's in its repository); a project deployed by a command has no undo.
    """

    tag: str | None = Field(None, min_length=1, description="redeploy the workflow at this tag (e.g. v0.9.0) instead "
                                                           "of the previous release tag golive looks up")
    command: list[str] | None = Field(None, min_length=1, description="argv list that undoes the deploy")
    cwd: str | None = None
    timeout: Duration = timedelta(minutes=30)
    allow_data_loss: DataLossAllowed | None = Field(
        None, description="the command destroys resources (terraform destroy, apply -destroy, -target, -replace): "
                          "golive check refuses it without this")

    @model_validator(mode="after")
    def _one(self) -> Undo:
        if (self.tag is None) == (self.command is None):
            raise ValueError("give exactly one of tag or command")
        if self.command is None and (self.cwd is not None or self.allow_data_loss is not None):
            raise ValueError("cwd and allow_data_loss apply to an undo command")
        return self


class TerraformSpec(Model):
    """How a project's Terraform plan is made before GO: a workflow that uploads ``terraform show -json`` as an
    artifact (``plan_workflow``, ``artifact``), or a local command that prints it (``plan_command``)."""

    plan_workflow: str | None = Field(None, description="workflow file that runs terraform plan -out and uploads "
                                                        "terraform show -json as an artifact (run at the release tag)")
    artifact: str | None = Field(None, description="with plan_workflow: the artifact's name")
    file: str | None = Field(None, description="the JSON file inside the artifact (default: its only .json file)")
    plan_command: list[str] | None = Field(None, description="argv that prints terraform show -json output")
    cwd: str | None = Field(None, description="with plan_command: where it runs (relative to the plan)")
    inputs: dict[str, str] = Field(default_factory=dict, description="with plan_workflow: its inputs")
    timeout: Duration = Field(timedelta(minutes=20), description="how long the plan may take")
    approver: str = Field("data_owner", pattern=NAME, description="the role whose approval of the plan's SHA-256 "
                                                                  "lets a data-losing change through the gate")
    data_types: list[str] = Field(default_factory=list, description="more resource types that hold data, beside "
                                                                    f"golive's: {', '.join(DATA_TYPES)}")
    sha_input: str | None = Field("tfplan_sha256", description="the deploy workflow's input that receives the "
                                                               "approved plan's SHA-256 (null: not sent)")

    @model_validator(mode="after")
    def _one_way(self) -> TerraformSpec:
        if (self.plan_workflow is None) == (self.plan_command is None):
            raise ValueError("give exactly one of plan_workflow (with artifact) or plan_command")
        if self.plan_workflow is not None:
            WorkflowDeploy(github_workflow=self.plan_workflow)
            if not self.artifact:
                raise ValueError("plan_workflow needs artifact: the name of the artifact holding the plan's JSON")
        elif self.artifact or self.file or self.inputs:
            raise ValueError("artifact, file and inputs go with plan_workflow, not plan_command")
        elif not self.plan_command:
            raise ValueError("plan_command must be a non-empty argv list")
        if self.cwd is not None and self.plan_command is None:
            raise ValueError("cwd goes with plan_command")
        return self


class Project(Model):
    repo: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name on GitHub")]
    kind: Literal["schema", "site", "api", "other"] = "other"
    description: str | None = None
    deploy: Deploy
    ref: str | None = Field(None, description="commit or branch the release tag points at (default: default branch)")
    secrets: dict[str, SecretSource | None] = Field(
        default_factory=dict, description="secrets the deploy needs, and where prep finds a missing one's value"
    )
    role_arn_in_workflow: bool = Field(False, description="the workflow hard-codes the deploy role ARN")
    verify: list[CheckEntry] = Field(default_factory=list, description="checks after the deploy")
    rollout: Rollout | None = None
    api: ApiRef | None = Field(None, description="the project's REST API and stage: canaried by "
                                                 "rollout.apigw_canary; with a Lambda canary, its integrations "
                                                 "must invoke the canaried alias (preflight api_invokes_alias)")
    health: list[str] = Field(default_factory=list, description="URLs that must answer with an http_ok status")
    smoke: list[list[str]] = Field(default_factory=list, description="argv lists run after deploy and during soaks")
    depends_on: list[str] = Field(default_factory=list, description=(
        "projects this one calls or needs (a cycle is a plan error; `golive plan` prints the graph): a failed canary "
        "of one of them holds this one (no further shift, its steps cancelled naming it) and, with "
        "rollback.rollback_dependents, undoes this one first"))
    undo: Undo | None = Field(None, description="how golive rollback undoes it (default: a workflow project is "
                                                "redeployed at the previous release tag; a canary restores its alias)")
    terraform: TerraformSpec | None = Field(None, description="the project's Terraform plan, made and weighed "
                                                              "before GO (gate requirement terraform)")

    @field_validator("smoke", mode="before")
    @classmethod
    def _argv_lists(cls, value: Any) -> Any:
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    raise ValueError(f"smoke[{i}] is a string; write an argv list: [\"./smoke.sh\", \"{{env}}\"]")
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Window(Model):
    """When work may start, in the plan's time zone: on a date (``start: "2026-01-10 09:00"``, ``end: "10:00"``)
    or every week (``days: [mon, tue]``, ``start: "09:00"``, ``end: "17:00"``)."""

    start: str = Field(description="local start: YYYY-MM-DD HH:MM, or HH:MM with days")
    end: str = Field(description="local end: HH:MM (the start's day, the next if earlier) or YYYY-MM-DD HH:MM")
    days: list[Weekday] | None = Field(None, description="weekdays a weekly window opens on")

    @model_validator(mode="after")
    def _parses(self) -> Window:
        if self.days is None:
            schedule.fixed_span(self.start, self.end, schedule.zone(None))
        else:
            if not self.days:
                raise ValueError("days: name at least one weekday")
            schedule.weekly_spans(list(self.days), self.start, self.end, schedule.zone(None), datetime(2026, 1, 1))
        return self

    def spans(self, tz: tzinfo, around: datetime) -> list[schedule.Span]:
        """Its occurrences as instants: one for a dated window, those near ``around`` for a weekly one."""
        if self.days is None:
            return [schedule.fixed_span(self.start, self.end, tz)]
        return schedule.weekly_spans(list(self.days), self.start, self.end, tz, around)


class PhaseWindows(Model):
    prep: Window | None = Field(None, description="when prep (secrets, tags, DNS) may start")
    signoff: Window | None = Field(None, description="when the final sign-off is asked for")


class Batch(Model):
    name: Name
    projects: list[str] = Field(min_length=1)
    window: Window | None = Field(None, description="when the batch may start (run waits for it; past its end "
                                                    "needs --override-window --why)")
    concurrency: int = Field(4, ge=1, description="projects of the batch deployed at once")
    rollback_shifted: bool = Field(True, description="when one project fails, roll back the batch's shifted canaries")


class SoakSpec(Model):
    duration: Duration
    every: Duration
    smoke_every: Duration | None = None
    criteria: list[CriterionEntry] = Field(default_factory=list)
    checks: list[CheckEntry] = Field(default_factory=list)
    health: bool = Field(True, description="probe every project's health URLs at each checkpoint")

    @model_validator(mode="after")
    def _fits(self) -> SoakSpec:
        if self.every <= timedelta(0) or self.duration <= timedelta(0):
            raise ValueError("duration and every must be positive")
        if self.every > self.duration:
            raise ValueError("every is longer than duration: the soak would have no checkpoint")
        return self

    @property
    def checkpoints(self) -> int:
        return int(self.duration / self.every)


class GateSpec(Model):
    env: str | None = Field(None, description="the environment the gate opens (default: any)")
    requires: list[str] = Field(default_factory=list, description="soak.ENV, preflight, terraform")
    approvals: list[str] = Field(default_factory=list, description="roles that must approve")
    freshness: Duration = Field(timedelta(hours=24), description="how old a passed preflight or soak may be")
    checklist: list[str] = Field(default_factory=list, description="items confirmed by the approvers")
    distinct_approvers: bool = Field(True, description="one identity approves for at most one role of the gate")


class Trigger(Model):
    """A rollback trigger: a criterion on the canary, an incident severity, an alarm, or any new alarm."""

    criterion: str | None = None
    incident: Literal["P0", "P1", "P2", "P3"] | None = None
    alarm: str | None = None
    alarms: Literal["new"] | None = Field(None, description="any alarm not in ALARM at the start and in ALARM now")
    allow: list[str] = Field(default_factory=list, description="alarms `alarms: new` ignores (names, prefixes, globs)")
    min_invocations: int | None = Field(None, ge=1, description="a criterion's minimum calls in its window "
                                                                "(default: rollback.min_invocations)")
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*incident\s+(P[0-3])\s*", value)
            if match:
                return {"incident": match.group(1)}
            if re.fullmatch(r"\s*alarms[:\s]\s*new\s*", value):
                return {"alarms": "new"}
            match = re.fullmatch(r"\s*alarm\s+(\S+)\s*", value)
            if match:
                return {"alarm": match.group(1)}
            return {"criterion": value}
        return value

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        if sum(x is not None for x in (self.criterion, self.incident, self.alarm, self.alarms)) != 1:
            raise ValueError("a trigger is one of: a criterion, incident P0..P3, alarm NAME, or alarms: new")
        if self.allow and self.alarms is None:
            raise ValueError("allow applies to an 'alarms: new' trigger only")
        return self


class FullRollback(Model):
    """``golive rollback --full``: a command run after a project's undo (``{project}`` is the project's name)."""

    command: list[str] = Field(min_length=1)
    cwd: str | None = None
    timeout: Duration = timedelta(minutes=15)
    allow_data_loss: DataLossAllowed | None = Field(
        None, description="the command destroys resources (terraform destroy, apply -destroy, -target, -replace): "
                          "golive check refuses it without this")


class RollbackSpec(Model):
    triggers: list[Trigger] = Field(default_factory=list)
    min_invocations: int = Field(300, ge=1, description="calls a criterion trigger needs in its window before it "
                                                        "can fire, counted per function: no trigger pools a "
                                                        "project's calls (below: Inconclusive, the window grows "
                                                        "back within the step, up to analysis.max_extension)")
    full: FullRollback | None = None
    rollback_dependents: bool = Field(False, description=(
        "a failed canary first undoes the projects that depend on it, in any batch (their canaries put back, "
        "each before what it depends on), then its own, then its batch's other shifted canaries; off: a dependent "
        "stays where it is, unless its batch's rollback_shifted puts it back"))


class FreezeWindow(Model):
    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("freeze start and end need a timezone (e.g. 2026-12-24T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("freeze end must be after start")
        return self


class WeeklyFreeze(Model):
    """A freeze that recurs every week, in the plan's time zone (``days: [fri]``, ``start: "15:00"``)."""

    days: list[Weekday] = Field(min_length=1)
    start: str
    end: str
    reason: str = ""

    @model_validator(mode="after")
    def _parses(self) -> WeeklyFreeze:
        schedule.weekly_spans(list(self.days), self.start, self.end, schedule.zone(None), datetime(2026, 1, 1))
        return self


class Risk(Model):
    risk: str
    impact: Literal["HIGH", "MEDIUM", "LOW"]
    mitigation: str


class SandboxTraffic(Model):
    rpm: float = Field(600, ge=0, description="invocations per minute per function (a site: viewer requests a minute)")
    error_rate: str = Field("0.02%", description="baseline errors, as a percentage")
    p50: Duration = timedelta(milliseconds=120)
    p95: Duration = timedelta(milliseconds=450)


class SandboxAlarm(Model):
    name: str
    state: Literal["OK", "ALARM"] = "ALARM"
    envs: list[str] = Field(default_factory=list, description="environments it exists in (default: all)")


class SandboxSection(Model):
    """The world a rehearsal starts from, so the example reproduces the runbook's."""

    start: datetime | None = Field(None, description="virtual time the rehearsal starts at")
    traffic: SandboxTraffic = Field(default_factory=SandboxTraffic)
    function_traffic: dict[str, SandboxTraffic] = Field(default_factory=dict, description="per project overrides")
    alarms: list[SandboxAlarm] = Field(default_factory=list)
    missing_secrets: dict[str, list[str]] = Field(default_factory=dict, description="project -> secrets absent at start")
    templates: int = Field(12, ge=0, description="templates the s3 schema deploy uploads")
    release_tags: dict[str, list[str]] = Field(
        default_factory=dict, description="project -> tags of earlier releases its repository has at start (what "
                                          "golive rollback redeploys, e.g. [v0.9.0-prod])")
    command_publishes: dict[str, list[str]] = Field(
        default_factory=dict, description="project -> the functions its deploy command publishes a new version of "
                                          "in a rehearsal (default: the functions its canary names)")
    deploy_moves_alias: list[str] = Field(
        default_factory=list, description="projects whose deploy points their canary's alias at the version it "
                                          "publishes itself (SAM's AutoPublishAlias, a deploy script's "
                                          "update-alias), before golive shifts anything")
    bypass_alias: dict[str, list[str]] = Field(
        default_factory=dict, description="project -> the functions whose route in the project's REST API (api:) "
                                          "invokes the bare function ($LATEST) instead of the canary's alias: what "
                                          "preflight's api_invokes_alias names")


NotifyTopic = Literal["gate", "checkpoint_failed", "canary_step", "rollback", "release_done", "release_failed"]


class NotifySink(Model):
    """Where golive sends release events: a Slack incoming webhook or a generic JSON webhook.

    The URL is a secret and never sits in the plan: it comes from an environment variable or a file.
    """

    type: Literal["slack", "webhook"]
    url_env: str | None = Field(None, description="environment variable holding the webhook URL")
    url_file: str | None = Field(None, description="file holding the webhook URL (relative to the plan)")
    events: list[NotifyTopic] = Field(
        default_factory=lambda: list(get_args(NotifyTopic)),
        description="which events this sink receives (all by default)")

    @model_validator(mode="after")
    def _one_source(self) -> NotifySink:
        if (self.url_env is None) == (self.url_file is None):
            raise ValueError("give exactly one of url_env or url_file")
        return self


class Plan(Model):
    """A release: every project, in which order, gated on what, watched how."""

    release: Name
    version: Annotated[str, Field(min_length=1, description="the release tag, e.g. v1.0.0-prod")]
    description: str | None = None
    environments: dict[str, Environment] = Field(min_length=1)
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    projects: dict[str, Project] = Field(min_length=1)
    batches: list[Batch] = Field(min_length=1)
    preflight: list[CheckEntry] = Field(default_factory=list)
    soak: dict[str, SoakSpec] = Field(default_factory=dict)
    gates: dict[str, GateSpec] = Field(default_factory=dict)
    validation: list[CheckEntry] = Field(default_factory=list, description="post-deploy checks beyond health and smoke")
    on_validation_failure: Literal["rollback", "stop"] | None = Field(
        None, description="after promotion, a failed validation restores the promoted canaries' previous versions "
                          "(rollback) or stops with them in place (stop); default: rollback when a project has a canary")
    rollback: RollbackSpec = Field(default_factory=RollbackSpec)
    http_ok: list[int] = Field(default_factory=lambda: [200], description="HTTP statuses that count as up")
    timezone: str | None = Field(None, description="IANA time zone the team works in (e.g. Africa/Johannesburg): "
                                                   "windows are read in it and every time is printed in it")
    windows: PhaseWindows = Field(default_factory=PhaseWindows)
    freeze: list[FreezeWindow | WeeklyFreeze] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list, description="public holidays: frozen all day, local time")
    signoff: list[str] = Field(default_factory=list, description="roles whose approval ends the release")
    identity: Literal["github", "aws", "none"] = Field(
        "none", description="who a person at the command line is, verified: the login of the GitHub token in use "
                            "(GET /user) or the AWS caller ARN (sts GetCallerIdentity); --by must match it. none: "
                            "--by is recorded as given")
    risks: list[Risk] = Field(default_factory=list)
    sandbox: SandboxSection = Field(default_factory=SandboxSection)
    notify: dict[str, NotifySink] = Field(default_factory=dict, description="notification sinks by name")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        schedule.zone(value)
        return value

    @property
    def tz(self) -> tzinfo:
        """The team's time zone (UTC when the plan names none)."""
        return schedule.zone(self.timezone)

    @field_validator("http_ok")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        for status in value:
            if not 100 <= status <= 599:
                raise ValueError(f"{status} is not an HTTP status")
        return value

    @property
    def validation_failure_policy(self) -> Literal["rollback", "stop"]:
        """What a failed post-deploy validation does: the plan's choice, else rollback for canary projects."""
        if self.on_validation_failure is not None:
            return self.on_validation_failure
        canaries = any(p.rollout is not None and (p.rollout.lambda_canary or p.rollout.apigw_canary) is not None
                       for p in self.projects.values())
        return "rollback" if canaries else "stop"

    def batch_of(self, project: str) -> Batch:
        for batch in self.batches:
            if project in batch.projects:
                return batch
        raise KeyError(project)

    def preprod_envs(self, env: str) -> list[str]:
        """Environments whose soak a gate for ``env`` requires (soak.sit → sit)."""
        out: list[str] = []
        for gate in self.gates.values():
            if gate.env in (None, env):
                out += [r.split(".", 1)[1] for r in gate.requires if r.startswith("soak.") and r != f"soak.{env}"]
        return list(dict.fromkeys(out))


class _PlanJsonSchema(GenerateJsonSchema):
    """Durations as the plan writes them (``10m``), not as ISO 8601 (``PT10M``), in types and defaults alike."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {"type": "string"}

    def encode_default(self, dft: Any) -> Any:
        return format_duration(dft) if isinstance(dft, timedelta) else super().encode_default(dft)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a plan file (``golive schema``), for editors."""
    return Plan.model_json_schema(by_alias=True, schema_generator=_PlanJsonSchema)
