"""The ``deployed`` step: ``golive verify`` fails while a project of the release has not been deployed.

Which projects are deployed is decided from the store's evidence, before the run starts (``runs/deployed.py``):
a successful deploy record of the project in this release and environment. A project deployed outside golive
has no such record and counts as not deployed. The step comes after every check of the verify run, so the
checks of what is deployed are all shown before it fails naming what is not.
"""

from __future__ import annotations

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome
from golive.steps.kind import StepKind, StepParams


class DeployedParams(StepParams):
    env: str
    deployed: list[str]
    not_deployed: list[str]


def describe(params: DeployedParams) -> list[str]:
    return [f"successful deploy recorded in {params.env} for each of: {', '.join(params.deployed + params.not_deployed)}"]


def run(ctx: StepContext, params: DeployedParams) -> Outcome:
    result = {"deployed": params.deployed, "not_deployed": params.not_deployed}
    if params.not_deployed:
        return Fail(f"not deployed in {params.env}, so not verified: {', '.join(params.not_deployed)} "
                    f"(no successful deploy recorded for this release)", result)
    return Done(f"every project deployed in {params.env} ({len(params.deployed)})", result)


KIND = StepKind("deployed", DeployedParams, run, describe)
