"""The Lambda alias router: a project's functions' alias split between each function's stable and new version.

The runbook's ``aws lambda update-alias --routing-config AdditionalVersionWeights={"2"=0.1}`` and its rollback
``--function-version <previous>``, as a ``TrafficRouter`` (``routers/base.py``) over ``providers/lambdas.py``'s
``LambdaClient``; the variants' metrics are AWS/Lambda's by ``ExecutedVersion`` behind the alias
(``analysis/cloudwatch.py``).

``discover`` reads each selected function's alias and versions, as Terraform and SAM leave them:

- a version newer than the alias's: the function changed, its new version is the canary (an alias already
  carrying weights is a canary in progress: its weighted version is the canary);
- no newer version: the deploy left the function alone (Terraform publishes only what changed): ``Unchanged``,
  listed and never shifted; unless the alias itself moved onto its newest version just now, which the
  previous version's calls through the alias in the hour before say (SAM's ``AutoPublishAlias``, a deploy
  script's ``update-alias``): then ``Discovery.moved`` says so in one line, and the canary watches the moved
  functions at 100% with their previous version to go back to;
- nothing changed and nothing moved: ``NothingNew`` (did the deploy run?), never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.metrics import MetricSource, Scope, SeriesRequest, floor_minute
from golive.analysis.units import hours_or_minutes
from golive.clock import Clock
from golive.errors import UsageError
from golive.providers.aws import Aws
from golive.providers.lambdas import AliasState, LambdaClient
from golive.routers.base import Discovery, NothingNew, Split, Unchanged, Variants, connected

KIND = "lambda_alias"
MOVED_LOOKBACK = timedelta(hours=1)  # how far back the previous version's calls through the alias show a move


def versions_of(variants: Sequence[Variants]) -> dict[str, dict[str, str]]:
    """``{function: {"stable": v, "canary": v}}``: how a Lambda canary's state and evidence name its variants."""
    return {v.target: {"stable": v.stable, "canary": v.canary} for v in variants}


def variants_of(versions: Mapping[str, Mapping[str, str]]) -> tuple[Variants, ...]:
    return tuple(Variants(fn, str(v["stable"]), str(v["canary"])) for fn, v in versions.items())


def pattern(selector: Mapping[str, Any]) -> str:
    """A selector in a few characters, for ``golive plan``: ``prefix*suffix``, the names, or the tag."""
    if "prefix" in selector:
        return str(selector.get("prefix", "")) + "*" + str(selector.get("suffix", ""))
    return ",".join(selector.get("names", [])) or f"tag {selector.get('tag')}"


def _split(state: AliasState, variants: Variants) -> Split:
    canary_weight = 100.0 if state.version == variants.canary and not state.weights else \
        round(100 * state.weights.get(variants.canary, 0.0), 4)
    return Split(target=state.function, stable=state.version, canary=next(iter(state.weights), None),
                 weight=canary_weight, detail=state.to_dict())


@dataclass(frozen=True)
class LambdaAliasRouter:
    """One project's functions (a plan selector) behind one alias, in one environment's region.

    ``connect`` gives the environment's ``Aws`` when a call is made (``golive plan`` describes without any).
    """

    connect: Callable[[], Aws] | None
    alias: str
    functions: Mapping[str, Any]  # the plan's selector: prefix/suffix, names or tag, and count
    region: str | None = None
    clock: Clock | None = None  # with it, ``discover`` can see an alias the deploy moved (its metrics' window)
    delay: timedelta = timedelta(minutes=1)

    @property
    def kind(self) -> str:
        return KIND

    @property
    def max_weight(self) -> float | None:
        return None

    @property
    def restores_promoted(self) -> bool:
        return True

    @property
    def aws(self) -> Aws:
        return connected(self.connect)

    @property
    def client(self) -> LambdaClient:
        return LambdaClient(self.aws)

    def discover(self) -> Discovery:
        """Each selected function's stable and new version, and those the deploy left alone or moved itself."""
        lam = self.client
        names = lam.select(self.functions)
        expected = self.functions.get("count")
        if not names:
            raise UsageError(f"no Lambda functions match {dict(self.functions)} in {self.region}")
        if expected is not None and len(names) != expected:
            raise UsageError(f"{len(names)} functions match {dict(self.functions)}, the plan expects {expected}: {names}")
        changed: list[Variants] = []
        same: list[tuple[AliasState, list[int]]] = []
        for fn in names:
            state = lam.get_alias_routing(fn, self.alias)
            if state.weights:
                changed.append(Variants(fn, state.version, next(iter(state.weights))))
                continue
            published = lam.published_versions(fn)
            newer = [v for v in published if state.version.isdigit() and v > int(state.version)]
            if newer:
                changed.append(Variants(fn, state.version, str(max(newer))))
            else:
                same.append((state, published))
        moved = self._moved(same, self.clock, self.delay) if same and not changed and self.clock is not None else {}
        if moved:
            stay = tuple(Unchanged(s.function, s.version) for s, _ in same if s.function not in moved)
            shown = "; ".join(f"{fn} alias '{self.alias}' already on v{v.canary} (was v{v.stable}: {calls:,.0f} "
                              f"calls through it in the last {hours_or_minutes(MOVED_LOOKBACK)})"
                              for fn, (v, calls) in moved.items())
            line = (f"the deploy moved the alias itself: {shown}; not shifting, watching at 100% "
                    f"and restoring the previous version on a failure")
            return Discovery(changed=tuple(v for v, _ in moved.values()), unchanged=stay, moved=line)
        unchanged = tuple(Unchanged(s.function, s.version) for s, _ in same)
        if not changed:
            first = same[0][0]
            raise NothingNew(f"{first.function}: no version newer than {first.version} (the one alias "
                             f"'{self.alias}' serves) was published; did the deploy run?"
                             + (f" ({len(same)} functions unchanged)" if len(same) > 1 else ""))
        return Discovery(changed=tuple(changed), unchanged=unchanged)

    def _moved(self, same: Sequence[tuple[AliasState, list[int]]], clock: Clock,
               delay: timedelta) -> dict[str, tuple[Variants, float]]:
        """Functions whose alias is on their newest version while the previous one still served it lately."""
        candidates = {}
        for state, published in same:
            older = [v for v in published if state.version.isdigit() and v < int(state.version)]
            if older and published and state.version == str(max(published)):
                candidates[state.function] = Variants(state.function, str(max(older)), state.version)
        if not candidates:
            return {}
        end = floor_minute(clock.now() - delay)
        start = end - MOVED_LOOKBACK
        period = int(MOVED_LOOKBACK.total_seconds())
        requests = {fn: SeriesRequest(Scope(fn, self.alias, v.stable), "invocations", "Sum", period)
                    for fn, v in candidates.items()}
        fetched = self.metrics(clock, delay).fetch(list(requests.values()), start, end)
        if fetched.error:
            return {}  # no answer: the functions count as unchanged, and nothing new fails as it would
        found = {fn: fetched.get(request).total for fn, request in requests.items()}
        return {fn: (candidates[fn], calls) for fn, calls in found.items() if calls > 0}

    def split(self, variants: Sequence[Variants]) -> list[Split]:
        lam = self.client
        return [_split(lam.get_alias_routing(v.target, self.alias), v) for v in variants]

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        self.client.shift_all(versions_of(variants), self.alias, weight)
        return []  # UpdateAlias answers with the alias as set; the restore and the next look read it back

    def promote(self, variants: Sequence[Variants]) -> list[Split]:
        self.client.shift_all(versions_of(variants), self.alias, 100.0)
        return []

    def restore(self, variants: Sequence[Variants]) -> tuple[float, list[Split]]:
        seconds, confirmed = self.client.restore(versions_of(variants), self.alias)
        by_function = {v.target: v for v in variants}
        return seconds, [_split(state, by_function[state.function]) for state in confirmed]

    def scopes(self, variants: Sequence[Variants]) -> list[tuple[Scope, Scope]]:
        return [(Scope(v.target, self.alias, v.canary), Scope(v.target, self.alias, v.stable)) for v in variants]

    def metrics(self, clock: Clock, delay: timedelta) -> MetricSource:
        return CloudWatchLambdaSource(self.aws, clock, delay=delay, region=self.region)

    def describe(self, weights: Sequence[float]) -> list[str]:
        shown = pattern(self.functions)
        out = []
        for weight in weights:
            if weight < 100:
                out.append(f"lambda:UpdateAlias {shown} {self.alias} "
                           f"RoutingConfig.AdditionalVersionWeights={{NEW: {weight / 100:.2f}}}")
            else:
                out.append(f"lambda:UpdateAlias {shown} {self.alias} FunctionVersion=NEW RoutingConfig={{}}")
        return out
