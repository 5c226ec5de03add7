"""The plan file reference, generated from the model so it cannot drift.

``python -m golive.plan.reference > docs/plan-reference.md`` writes it; a
test compares the committed file with a fresh rendering, so a field added
to the model without regenerating the docs fails CI. Check parameters are
listed from the check registry the same way.
"""

from __future__ import annotations

import itertools
import types
import typing
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from golive.checks import registry
from golive.plan.model import Plan
from golive.tfplan import DATA_TYPES

HEADER = """# Plan file reference (`golive.yaml`)

Generated from golive's plan model by `python -m golive.plan.reference`; a test keeps it in step.
Unknown keys are errors. Durations are written `30s`, `10m`, `48h`, `1h30m`, `500ms`; percentages `0.1%`.
Strings may use `{env}`, `{release}`, `{version}`, `{account}`, `{region}`, `{api_base}`, `{site_url}` and
an environment's `variables`. See `examples/bbws/golive.yaml` for a whole plan.

Every `{name}` in a command (a deploy or undo `command`, `smoke`, `rollback.full`, a `command` check) must be a
variable of each environment it runs in (`{project}` too in `rollback.full`), or the plan is refused naming it and
the variables that exist; `${NAME}` and `{{name}}` are left as written for the shell or template that reads them.
A rollback or undo command that deletes resources (`terraform destroy`, `terraform apply -destroy`, a `-target`
deletion, `-replace`; also inside `bash -c "..."`, and with `tofu` or `terragrunt`) is refused unless its entry
says `allow_data_loss: {why: "..."}`. Each project's undo (`golive rollback PROJECT`, shown by `golive plan`): a
canary restores its alias's stable version; a workflow project re-dispatches its workflow at the previous release
tag (the newest tag older than `version` with the same prefix and suffix, versions compared as numbers) or at
`undo.tag`, once, then runs its `verify`; a command project runs `undo.command`, and without one has no undo.
"""


# More than a table can say, after a section's table (cited sources included).
NOTES: dict[str, str] = {
    "ApiGatewayCanary": """\
The stage's deployment is the stable variant; the canary is the deployment the project's deploy made
*without moving the stage*: `CreateDeployment` with `canarySettings` on the stage (the stage's
`canarySettings.deploymentId`), or without `stageName` (the API's newest deployment, newer than the
stage's). A deploy that moves the stage itself leaves nothing to canary, and the step says so. Each step is
`UpdateStage` `replace /canarySettings/percentTraffic` (with `/canarySettings/deploymentId` at the first);
the promotion copies `/canarySettings/deploymentId` to `/deploymentId` and removes `/canarySettings`; a
rollback removes `/canarySettings`. Every write is read back with `GetStage`
([canary release](https://docs.aws.amazon.com/apigateway/latest/developerguide/canary-release.html),
[create](https://docs.aws.amazon.com/apigateway/latest/developerguide/create-canary-deployment.html),
[promote](https://docs.aws.amazon.com/apigateway/latest/developerguide/promote-canary-deployment.html),
[turn off](https://docs.aws.amazon.com/apigateway/latest/developerguide/delete-canary-deployment.html)).

Metrics: a REST API stage reports `Count`, `5XXError` and `Latency` (ms) in `AWS/ApiGateway` by `ApiName` and
`Stage` ([dimensions and metrics](https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html));
golive reads them as `invocations`, `errors` and `duration`, so the plan's triggers and judge work unchanged
(a trigger on `throttles` is refused: a stage does not report them). AWS documents that a canary's requests
get logs and metrics of their own, in a log group named like the stage's with `/Canary` appended
([canary release](https://docs.aws.amazon.com/apigateway/latest/developerguide/canary-release.html)); golive
reads the canary's series with `Stage` = `STAGE/Canary` and the stable's with `Stage` = `STAGE`. AWS's pages do
not spell out the canary's `Stage` value nor whether the stage's own series also counts the canary's requests;
if it does, the stable series holds a share of the canary's errors, which makes the judge more lenient, never
stricter; the triggers read the canary's series alone. `ApiName` is the API's name without its non-ASCII
characters (its id when none are left), as the metrics page says.
""",
}


TERRAFORM = f"""## Terraform plans before GO

A project's `terraform:` makes its plan before the gates, once per release tag: `plan_workflow` is dispatched
at the tag and its `artifact` (a zip holding `terraform show -json` output) is downloaded through GitHub's
REST artifacts API, or `plan_command` prints that JSON; a later run (or `golive gate --plan-terraform`) weighs
the plan made at that tag again. golive records the plan's summary (creates, updates,
deletes, replaces; Terraform's `resource_changes[].change.actions`, where `["delete", "create"]` and
`["create", "delete"]` are replacements) and its SHA-256. Every delete or replacement of a resource type that
holds data is named: {", ".join(f"`{t}`" for t in DATA_TYPES)}, and the project's `data_types`.
A gate with `requires: [terraform]` waits on such a change (an approval like the others; a rehearsal ends
NO-GO, it never grants one) until the project's `approver` role approved that plan's hash (`golive approve
GATE --env E --role data_owner --plan-sha SHA`); a plan with another hash needs a new approval. A workflow
deploy receives the hash as the input `sha_input` (default `tfplan_sha256`); docs/github-actions.md shows the
lines an apply job needs to refuse any other plan.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(names) + optional
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}" if args else "map"
    if annotation is timedelta:
        return "duration"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    if model.__name__ in seen:
        return
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for candidate in _nested(field.annotation):
            _models(candidate, seen)


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested(arg)]


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return ""
    value = field.default
    if value is None:
        return ""
    if isinstance(value, timedelta):
        from golive.analysis.units import format_duration

        return f"`{format_duration(value)}`"
    return f"`{value}`"


def render() -> str:
    seen: dict[str, type[BaseModel]] = {}
    _models(Plan, seen)
    out = [HEADER]
    for name, model in seen.items():
        out.append(f"## {name}\n")
        lines = (model.__doc__ or "").strip().splitlines()
        if lines and not lines[0].startswith("Usage docs"):
            paragraph = " ".join(line.strip() for line in itertools.takewhile(str.strip, lines))
            out.append(paragraph + "\n")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for field_name, field in model.model_fields.items():
            key = field.alias or field_name
            out.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {field.description or ''} |")
        out.append("")
        if name in NOTES:
            out.append(NOTES[name])
    out.append(TERRAFORM)
    out.append("## Checks\n")
    out.append("A check entry is a name (`- aws_account`) or one name with its parameters (`- vpc: {cidr: ...}`).\n")
    for check_name, check_type in sorted(registry.check_types().items()):
        params = check_type.params
        fields = ", ".join(f"`{f.alias or n}`" for n, f in params.model_fields.items()) or "none"
        doc = check_type.doc
        out.append(f"- **`{check_name}`** — parameters: {fields}." + (f" {doc}" if doc else ""))
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
