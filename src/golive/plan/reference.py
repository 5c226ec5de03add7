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

HEADER = """# Plan file reference (`golive.yaml`)

Generated from golive's plan model by `python -m golive.plan.reference`; a test keeps it in step.
Unknown keys are errors. Durations are written `30s`, `10m`, `48h`, `1h30m`, `500ms`; percentages `0.1%`.
Strings may use `{env}`, `{release}`, `{version}`, `{account}`, `{region}`, `{api_base}`, `{site_url}` and
an environment's `variables`. See `examples/bbws/golive.yaml` for a whole plan.
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
