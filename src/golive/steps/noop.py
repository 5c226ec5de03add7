"""The ``noop`` step: does nothing, at once; what the engine benchmark runs."""

from __future__ import annotations

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Outcome
from golive.steps.kind import StepKind, StepParams


class NoopParams(StepParams):
    pass


def describe(params: NoopParams) -> list[str]:
    return []


def run(ctx: StepContext, params: NoopParams) -> Outcome:
    return Done()


KIND = StepKind("noop", NoopParams, run, describe)
