"""Lambda as golive uses it: functions, versions and alias routing, as typed domain methods.

chalice keeps one ``TypedAWSClient`` whose methods speak the domain (publish a version, point an alias)
and return plain typed values, so nothing above it handles a boto3 answer. This is that for Lambda:
the canary, the rollback, the soak and the ``lambda_active`` check all ask it, through ``providers.aws``
(one boto3 session per environment, errors mapped to ``golive.errors``).

The runbook's ``aws lambda update-alias --routing-config AdditionalVersionWeights={"2"=0.1}`` and its
rollback ``--function-version <previous>`` are ``set_alias_weight`` and ``point_alias``. Every change is
idempotent (setting the weights that are already set changes nothing), and ``restore`` reads each alias
back to confirm it, which is what the measured rollback time ends on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from golive.errors import AwsRequestError, UsageError

if TYPE_CHECKING:
    from golive.providers.aws import Aws

NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class AliasState:
    """An alias's primary version and the extra versions it routes to, with their weights (0..1)."""

    function: str
    alias: str
    version: str
    weights: dict[str, float]

    @property
    def shifted(self) -> bool:
        return bool(self.weights)

    def to_dict(self) -> dict[str, Any]:
        return {"function": self.function, "alias": self.alias, "version": self.version, "weights": self.weights}


class LambdaClient:
    """Lambda calls of one environment (and region), each one AWS call or a bounded loop of them."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._client = aws.client("lambda")

    # -- functions ---------------------------------------------------------------------------------------

    def list_function_names(self) -> list[str]:
        def list_all() -> list[str]:
            names: list[str] = []
            for page in self._client.get_paginator("list_functions").paginate():
                names.extend(f.get("FunctionName", "") for f in page.get("Functions", []))
            return names

        return self.aws.call("lambda:ListFunctions", list_all)

    def function_configuration(self, name: str) -> dict[str, Any] | None:
        """The function's configuration (``State`` among it), or None when it does not exist."""
        try:
            return dict(self.aws.call("lambda:GetFunctionConfiguration",
                                      lambda: self._client.get_function_configuration(FunctionName=name)))
        except AwsRequestError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def function_state(self, name: str) -> str | None:
        """``Active``, ``Pending``, ``Inactive``, ``Failed``; None when the function does not exist."""
        config = self.function_configuration(name)
        return None if config is None else str(config.get("State", "Active"))

    def function_with_tags(self, name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The function's configuration and its tags (one ``GetFunction``)."""
        answer = self.aws.call("lambda:GetFunction", lambda: self._client.get_function(FunctionName=name))
        return dict(answer.get("Configuration", {})), dict(answer.get("Tags", {}))

    def select(self, selector: Mapping[str, Any]) -> list[str]:
        """Function names matching a plan selector (``prefix``/``suffix``, ``names`` or ``tag``), sorted."""
        if selector.get("names"):
            return sorted(selector["names"])
        if selector.get("tag"):
            wanted: dict[str, str] = selector["tag"]
            found = []
            for name in self.list_function_names():
                tags = self.function_with_tags(name)[1]
                if all(tags.get(k) == v for k, v in wanted.items()):
                    found.append(name)
            return sorted(found)
        prefix, suffix = selector.get("prefix", ""), selector.get("suffix", "")
        return sorted(n for n in self.list_function_names() if n.startswith(prefix) and n.endswith(suffix))

    # -- versions ----------------------------------------------------------------------------------------

    def published_versions(self, function: str) -> list[int]:
        def listing() -> list[int]:
            out: list[int] = []
            for page in self._client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
                out += [int(v["Version"]) for v in page.get("Versions", []) if v["Version"] != "$LATEST"]
            return out

        return sorted(self.aws.call("lambda:ListVersionsByFunction", listing))

    def latest_version(self, function: str) -> int | None:
        versions = self.published_versions(function)
        return versions[-1] if versions else None

    def publish_version(self, function: str, description: str = "") -> str:
        answer = self.aws.call("lambda:PublishVersion", lambda: self._client.publish_version(
            FunctionName=function, Description=description))
        return str(answer["Version"])

    # -- aliases -----------------------------------------------------------------------------------------

    def get_alias_routing(self, function: str, alias: str) -> AliasState:
        answer = self.aws.call("lambda:GetAlias", lambda: self._client.get_alias(FunctionName=function, Name=alias))
        weights = dict(answer.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) or {})
        return AliasState(function, alias, str(answer["FunctionVersion"]), {k: float(v) for k, v in weights.items()})

    def find_versions(self, function: str, alias: str) -> tuple[str, str]:
        """(stable, canary): the alias's current version, and the newest published version above it.

        An alias already carrying weights is a canary in progress: its weighted version is the canary.
        No newer version is an error: the canary never guesses.
        """
        state = self.get_alias_routing(function, alias)
        if state.weights:
            return state.version, next(iter(state.weights))
        newer = [v for v in self.published_versions(function) if v > int(state.version)]
        if not newer:
            raise UsageError(f"{function}: no version newer than {state.version} (the one alias '{alias}' serves) "
                             f"was published; did the deploy run?")
        return state.version, str(max(newer))

    def point_alias(self, function: str, alias: str, version: str) -> None:
        """The alias on ``version`` alone, routing cleared."""
        self.aws.call("lambda:UpdateAlias", lambda: self._client.update_alias(
            FunctionName=function, Name=alias, FunctionVersion=version, RoutingConfig={"AdditionalVersionWeights": {}}))

    def set_alias_weight(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
        """Send ``weight`` percent of the alias's traffic to ``canary``; 100 moves the alias to it, routing cleared."""
        if weight >= 100:
            self.point_alias(function, alias, canary)
            return
        self.aws.call("lambda:UpdateAlias", lambda: self._client.update_alias(
            FunctionName=function, Name=alias, FunctionVersion=stable,
            RoutingConfig={"AdditionalVersionWeights": {canary: round(weight / 100.0, 4)}}))

    def shift_all(self, versions: Mapping[str, Mapping[str, str]], alias: str, weight: float,
                  functions: Sequence[str] | None = None) -> None:
        for function in functions or list(versions):
            v = versions[function]
            self.set_alias_weight(function, alias, v["stable"], v["canary"], weight)

    def restore(self, versions: Mapping[str, Mapping[str, str]], alias: str) -> tuple[float, list[AliasState]]:
        """Every function's alias back on its stable version with routing cleared, confirmed by reading it back.

        Returns the seconds from the first call to the last confirmation, and the confirmed states.
        """
        started = time.perf_counter()
        for function, v in versions.items():
            try:
                self.point_alias(function, alias, v["stable"])
            except AwsRequestError as exc:
                if exc.code != NOT_FOUND:
                    raise
        confirmed = [self.get_alias_routing(function, alias) for function in versions]
        wrong = [s for s in confirmed if s.weights or s.version != versions[s.function]["stable"]]
        if wrong:
            raise UsageError(f"rollback not confirmed for {', '.join(s.function for s in wrong)}")
        return time.perf_counter() - started, confirmed


def select_functions(aws: Aws, selector: Mapping[str, Any]) -> list[str]:
    """``LambdaClient(aws).select(selector)``, for a caller holding only an ``Aws``."""
    return LambdaClient(aws).select(selector)
