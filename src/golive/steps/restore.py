"""The one rollback: put a project's traffic back on its stable versions, retrying while AWS does not answer.

Whoever asks (a canary's own failure, a batch's compensation, a failed validation, ``golive rollback``)
restores through ``restore``; nothing else in golive points an alias back. What restores is a ``Router``:
something that splits traffic between stable and new versions and can put all of it back on stable,
confirmed by reading it back: a ``TrafficRouter`` (``routers/``: a Lambda alias, an API Gateway stage, a
CloudFront distribution) with the variants it routes (``Routed``; ``lambda_aliases`` builds one for a Lambda
alias). The policy is one: when AWS does not answer, wait the environment's ``retry.every`` and
try again, at most ``retry.attempts`` times (``engine/retry.py``'s budget, each try announced as a
``retry``), then ``RetriesExhausted`` (exit 3; whoever asked has saved its intent, so running the same
command again restores again); never forward. Outside a step (``golive rollback``, a compensation) this
module waits (``Waiting``); inside a step (a canary, a validation) the error goes to the engine, which keeps
the step and tries it again on the same budget, so nothing waits twice. Any other error is a
``RollbackFailed``. The result is one
record, ``RolledBack``: project, region, the weight the new versions had, the versions, the seconds the
restore took and who or what asked. Restoring is idempotent: an alias already on stable reads back as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from golive.clock import Clock
from golive.engine.context import Services
from golive.engine.retry import Budget, unanswered
from golive.errors import GoliveError
from golive.errors import unanswered as no_answer
from golive.evidence.rollback import RollbackFailed, RolledBack
from golive.providers.aws import Aws
from golive.routers.base import TrafficRouter, Variants
from golive.routers.lambda_alias import LambdaAliasRouter, variants_of

Notify = Callable[[str, dict[str, Any]], None]


class Router(Protocol):
    """Traffic split between stable and new versions, that can be put back on stable."""

    @property
    def versions(self) -> Mapping[str, Mapping[str, str]]:
        """What it routes: target (a function) -> {"stable": version, "canary": version}."""

    def restore(self) -> tuple[float, list[dict[str, Any]]]:
        """Everything on stable, confirmed by reading it back: the seconds it took and each target's state."""


@dataclass(frozen=True)
class Routed:
    """A ``TrafficRouter`` with the variants it routes: what ``restore`` puts back on stable.

    Each target's confirmed state is kept as the router read it back (``Split.detail``: for a Lambda alias
    ``{function, alias, version, weights}``, as every ``RolledBack`` recorded it), else the split itself.
    """

    router: TrafficRouter
    variants: tuple[Variants, ...]

    @property
    def versions(self) -> Mapping[str, Mapping[str, str]]:
        return {v.target: {"stable": v.stable, "canary": v.canary} for v in self.variants}

    def restore(self) -> tuple[float, list[dict[str, Any]]]:
        seconds, confirmed = self.router.restore(self.variants)
        return seconds, [dict(split.detail) or split.to_dict() for split in confirmed]


def lambda_aliases(aws: Aws, alias: str, versions: Mapping[str, Mapping[str, str]]) -> Routed:
    """A project's Lambda functions' alias, to put on each function's stable version with the routing cleared."""
    return Routed(LambdaAliasRouter(lambda: aws, alias, {"names": sorted(versions)}), variants_of(versions))


@dataclass(frozen=True)
class Ask:
    """Who or what asks for a rollback, why, and from where."""

    project: str
    reason: str
    asked_by: str  # "canary", "compensation", "validation", "operator"
    region: str | None = None
    from_weight: float | None = None  # the weight the new versions had (a saved shift intent counts)


def budget(services: Services, env: str) -> Budget:
    """The environment's retry budget (the same the engine gives a step whose system does not answer)."""
    environment = services.plan.environments.get(env)
    return Budget() if environment is None else Budget(environment.retry.attempts, environment.retry.every)


@dataclass(frozen=True)
class Waiting:
    """How a caller outside the engine waits for AWS to answer: the environment's budget, on its clock."""

    budget: Budget
    clock: Clock
    notify: Notify

    @classmethod
    def of(cls, services: Services, env: str) -> Waiting:
        return cls(budget(services, env), services.clock, services.notify)


def restore(router: Router, ask: Ask, *, waiting: Waiting | None) -> RolledBack | RollbackFailed:
    """Put ``router``'s traffic back on stable; the record says how (``RolledBack``) or why not (``RollbackFailed``).

    When AWS does not answer: with ``waiting``, wait and try again within its budget, then ``RetriesExhausted``;
    without (a step's handler), the error itself is raised for the engine to retry the step on the same budget.
    Either way the caller has saved its intent first, so the next try (or command) restores again.
    """
    common: dict[str, Any] = {"project": ask.project, "reason": ask.reason, "region": ask.region, "from_weight": ask.from_weight,
              "versions": {fn: dict(v) for fn, v in router.versions.items()}, "asked_by": ask.asked_by}
    attempt = 0
    while True:
        attempt += 1
        try:
            seconds, confirmed = router.restore()
        except GoliveError as exc:
            if not no_answer(exc):
                return RollbackFailed(subject=ask.project, error=str(exc), **common)
            if waiting is None:
                raise
            why = unanswered(exc, attempt, waiting.budget, None)
            if why.exhausted:
                raise why.error(f"rollback of {ask.project}") from None
            waiting.notify("retry", {"step": f"rollback {ask.project}", "title": f"rollback {ask.project}",
                                     "line": why.line(), "system": why.system, "endpoint": why.endpoint,
                                     "attempt": attempt, "attempts": waiting.budget.attempts})
            waiting.clock.sleep_until(waiting.clock.now() + waiting.budget.every)
        return RolledBack(subject=ask.project, seconds=round(seconds, 3), functions=tuple(confirmed), **common)
