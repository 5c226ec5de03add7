"""Lambda alias traffic: read it, shift it, promote it, put it back.

The runbook's ``aws lambda update-alias --routing-config
AdditionalVersionWeights={"2"=0.1}`` and its rollback ``--function-version
<previous>``, as functions over many functions at once. Every change is
idempotent (setting the weights that are already set changes nothing), and
a rollback reads the alias back to confirm it, which is what the measured
rollback time ends on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from golive.errors import AwsRequestError, UsageError
from golive.providers.aws import Aws


@dataclass(frozen=True)
class AliasState:
    function: str
    alias: str
    version: str
    weights: dict[str, float]

    @property
    def shifted(self) -> bool:
        return bool(self.weights)

    def to_dict(self) -> dict[str, Any]:
        return {"function": self.function, "alias": self.alias, "version": self.version, "weights": self.weights}


def read_alias(aws: Aws, function: str, alias: str) -> AliasState:
    client = aws.client("lambda")
    answer = aws.call("lambda:GetAlias", lambda: client.get_alias(FunctionName=function, Name=alias))
    weights = dict(answer.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) or {})
    return AliasState(function, alias, str(answer["FunctionVersion"]), {k: float(v) for k, v in weights.items()})


def published_versions(aws: Aws, function: str) -> list[int]:
    client = aws.client("lambda")

    def listing() -> list[int]:
        out: list[int] = []
        for page in client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
            out += [int(v["Version"]) for v in page.get("Versions", []) if v["Version"] != "$LATEST"]
        return out

    return sorted(aws.call("lambda:ListVersionsByFunction", listing))


def find_versions(aws: Aws, function: str, alias: str) -> tuple[str, str]:
    """(stable, canary): the alias's current version, and the newest published version above it.

    An alias already carrying weights is a canary in progress: its weighted version is the canary.
    No newer version is an error: the canary never guesses.
    """
    state = read_alias(aws, function, alias)
    if state.weights:
        return state.version, next(iter(state.weights))
    newer = [v for v in published_versions(aws, function) if v > int(state.version)]
    if not newer:
        raise UsageError(f"{function}: no version newer than {state.version} (the one alias '{alias}' serves) "
                         f"was published; did the deploy run?")
    return state.version, str(max(newer))


def set_weight(aws: Aws, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
    """Send ``weight`` percent of the alias's traffic to ``canary``; 100 moves the alias to it, routing cleared."""
    client = aws.client("lambda")
    if weight >= 100:
        aws.call("lambda:UpdateAlias", lambda: client.update_alias(
            FunctionName=function, Name=alias, FunctionVersion=canary, RoutingConfig={"AdditionalVersionWeights": {}}))
    else:
        aws.call("lambda:UpdateAlias", lambda: client.update_alias(
            FunctionName=function, Name=alias, FunctionVersion=stable,
            RoutingConfig={"AdditionalVersionWeights": {canary: round(weight / 100.0, 4)}}))


def restore(aws: Aws, versions: Mapping[str, Mapping[str, str]], alias: str) -> tuple[float, list[AliasState]]:
    """Every function's alias back on its stable version with routing cleared, confirmed by reading it back.

    Returns the seconds from the first call to the last confirmation, and the confirmed states.
    """
    started = time.perf_counter()
    client = aws.client("lambda")
    for function, v in versions.items():
        try:
            aws.call("lambda:UpdateAlias", lambda f=function, s=v["stable"]: client.update_alias(  # type: ignore[misc]
                FunctionName=f, Name=alias, FunctionVersion=s, RoutingConfig={"AdditionalVersionWeights": {}}))
        except AwsRequestError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
    confirmed = [read_alias(aws, function, alias) for function in versions]
    wrong = [s for s in confirmed if s.weights or s.version != versions[s.function]["stable"]]
    if wrong:
        raise UsageError(f"rollback not confirmed for {', '.join(s.function for s in wrong)}")
    return time.perf_counter() - started, confirmed


def shift_all(aws: Aws, versions: Mapping[str, Mapping[str, str]], alias: str, weight: float,
              functions: Sequence[str] | None = None) -> None:
    for function in functions or list(versions):
        v = versions[function]
        set_weight(aws, function, alias, v["stable"], v["canary"], weight)
