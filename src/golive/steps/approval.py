"""The ``approval`` step (the final sign-off): waits, as stored state, until every required role approved.

Approvals given before the run started do not count. The services' approver answers for roles still
missing: people through the store by default, the rehearsal itself in a rehearsal.
"""

from __future__ import annotations

from pydantic import Field

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Outcome, Wait
from golive.steps.kind import StepKind, StepParams


class ApprovalParams(StepParams):
    gate: str
    env: str | None = None
    roles: list[str] = Field(default_factory=list)


def describe(params: ApprovalParams) -> list[str]:
    return [f"approval by role {r}" for r in params.roles]


def run(ctx: StepContext, params: ApprovalParams) -> Outcome:
    approvals = ctx.store.approvals(ctx.run.release, ctx.run.env, params.gate)
    have = {a.role for a in approvals if a.at >= ctx.run.created_at}
    missing = [r for r in params.roles if r not in have]
    if missing:
        missing = ctx.services.approver.settle(ctx.store, ctx.run.release, ctx.run.env, params.gate, missing, ctx.now)
    if missing:
        return Wait(None, f"waiting for approval by {', '.join(missing)} "
                          f"(golive approve {params.gate} --by NAME --role ROLE)")
    return Done(f"approved by {', '.join(params.roles)}", {"roles": params.roles})


KIND = StepKind("approval", ApprovalParams, run, describe)
