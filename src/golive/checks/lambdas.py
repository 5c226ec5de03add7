"""``lambda_active``: the release's functions all exist and are ``Active``.

The runbook's "All 20 Lambda functions active" is ``aws lambda
list-functions | grep prod`` read by eye. Here the functions are selected by
name prefix, an explicit list, or a tag; their number must equal the plan's
count and each one's ``State`` must be ``Active`` (a function that is
``Pending``, ``Inactive`` or ``Failed`` would fail or stall invocations).
``ListFunctions`` does not return ``State``, so each function's configuration
is read with ``GetFunctionConfiguration`` (``GetFunction`` when tags are needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from golive.analysis.units import counted
from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded, listed
from golive.providers.lambdas import LambdaClient

NAME = "lambda_active"
_WORKERS = 8


class LambdaActiveParams(CheckParams):
    """Select by name (``prefix`` and/or ``suffix``), by ``names``, or by ``tag``; ``count`` defaults to ``len(names)``.

    ``- lambda_active: {prefix: 2-1-bbws-tf-product-, suffix: "-{env}", count: 5}``, ``- lambda_active: [f1, f2]``,
    ``- lambda_active: {tag: {Project: bbws}, count: 20}``. Without a count (prefix, suffix, tag): at least one.
    """

    prefix: str | None = None
    suffix: str | None = None
    names: list[str] | None = None
    tag: dict[str, str] | None = None
    count: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"names": data}
        if isinstance(data, str):
            return {"prefix": data}
        return data

    @model_validator(mode="after")
    def _one_selector(self) -> LambdaActiveParams:
        by_name = self.prefix is not None or self.suffix is not None
        if by_name + (self.names is not None) + (self.tag is not None) != 1:
            raise ValueError("lambda_active needs exactly one way to select functions: prefix/suffix, names, or tag")
        return self

    def selector(self) -> str:
        if self.names is not None:
            return f"names={','.join(self.names)}"
        if self.tag is not None:
            return "tag " + ",".join(f"{k}={v}" for k, v in self.tag.items())
        return " ".join(f"{k}={v}" for k, v in (("prefix", self.prefix), ("suffix", self.suffix)) if v is not None)


@dataclass(frozen=True)
class FunctionState:
    name: str
    state: str | None
    reason: str | None = None
    last_update: str | None = None

    @classmethod
    def from_configuration(cls, config: Mapping[str, Any]) -> FunctionState:
        """Read a ``GetFunctionConfiguration`` (or ``GetFunction``'s ``Configuration``) answer."""
        return cls(
            name=str(config.get("FunctionName", "?")),
            state=config.get("State"),
            reason=config.get("StateReason") or config.get("StateReasonCode"),
            last_update=config.get("LastUpdateStatus"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"FunctionName": self.name, "State": self.state, "StateReason": self.reason, "LastUpdateStatus": self.last_update}

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"{self.name} is {self.state or 'in no reported state'}{why}"


def judge(functions: list[FunctionState], expected_count: int | None, missing: list[str]) -> tuple[bool, str]:
    """Pass or fail, and why: the count matches (or, without a count, there is at least one), all Active."""
    problems: list[str] = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    found = len(functions)
    if expected_count is not None and found != expected_count and not missing:
        problems.append(f"{counted(found, 'function')}, plan expects {expected_count}")
    if expected_count is None and found == 0 and not missing:
        problems.append("no function matches")
    problems.extend(f.describe() for f in functions if f.state != "Active")
    if problems:
        return False, "; ".join(problems)
    return True, f"{counted(found, 'function')}, all Active"


def run(ctx: CheckContext, params: LambdaActiveParams) -> CheckResult:
    selector = ctx.expand(params.selector())

    def body(probe: Probe) -> CheckResult:
        lam = LambdaClient(probe.aws)
        missing: list[str] = []
        configs: list[dict[str, Any]] = []
        expected = params.count
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            if params.names is not None:
                names = [ctx.expand(n) for n in params.names]
                expected = params.count if params.count is not None else len(names)
                for name, config in zip(names, pool.map(lam.function_configuration, names), strict=True):
                    if config is None:
                        missing.append(name)
                    else:
                        configs.append(config)
                asked = f"lambda:GetFunctionConfiguration FunctionName in {names}"
            elif params.tag is None:
                prefix, suffix = ctx.expand(params.prefix or ""), ctx.expand(params.suffix or "")
                names = sorted(n for n in lam.list_function_names() if n.startswith(prefix) and n.endswith(suffix))
                probe.note(f"lambda:ListFunctions, names matching {prefix}*{suffix}", listed(names))
                configs = [c for c in pool.map(lam.function_configuration, names) if c is not None]
                asked = f"lambda:GetFunctionConfiguration for each of {len(names)}"
            else:
                wanted = {k: ctx.expand(v) for k, v in (params.tag or {}).items()}
                all_names = lam.list_function_names()
                probe.note("lambda:ListFunctions", {"count": len(all_names)})
                for config, tags in pool.map(lam.function_with_tags, all_names):
                    if all(tags.get(k) == v for k, v in wanted.items()):
                        configs.append(config)
                asked = f"lambda:GetFunction for each, tags {wanted}"
        states = [FunctionState.from_configuration(c) for c in configs]
        probe.note(asked, {"functions": [s.to_dict() for s in states], "missing": missing, "expected_count": expected})
        ok, why = judge(states, expected, missing)
        return probe.passed(why) if ok else probe.failed(why)

    return guarded(ctx, NAME, f"functions {selector}", body)


def describe(params: LambdaActiveParams) -> str:
    count = f"expect {params.count} functions, " if params.count is not None else ""
    if params.names is not None:
        return f"lambda:GetFunctionConfiguration for {', '.join(params.names)}: {count}each State Active"
    how = "GetFunction (tags)" if params.tag is not None else "GetFunctionConfiguration"
    return f"lambda:ListFunctions ({params.selector()}), lambda:{how} each: {count}each State Active"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, LambdaActiveParams, run, describe, doc="The selected Lambda functions number as planned and are all Active."),
]
