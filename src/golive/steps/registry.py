"""Every step kind golive can execute, by name: the one list the engine, the planner and ``golive plan`` use.

Adding a kind: a module of this package with its ``StepKind`` (typed params, run, describe, compensate),
and its line here. Nothing is imported lazily: this module is what the runs package imports to drive.
"""

from __future__ import annotations

from typing import Any

from golive.engine.outcome import Handler
from golive.errors import UsageError
from golive.steps import (
    approval,
    canary,
    checks,
    deploy,
    deployed,
    gate,
    noop,
    prep,
    soak,
    tag,
    terraform_plan,
    undo,
    uptime,
    window,
)
from golive.steps.kind import StepKind
from golive.store.store import StepSpec

_ALL: list[StepKind[Any]] = [
    checks.KIND, approval.KIND, noop.KIND, soak.START, soak.CHECKPOINT, soak.END, gate.KIND, prep.KIND, tag.KIND,
    deploy.KIND, canary.KIND, uptime.START, uptime.END, window.KIND, deployed.KIND, terraform_plan.KIND,
    undo.KIND,
]
KINDS: dict[str, StepKind[Any]] = {k.name: k for k in _ALL}


def get(name: str) -> StepKind[Any]:
    found = KINDS.get(name)
    if found is None:
        raise UsageError(f"golive has no step kind '{name}' (known: {', '.join(sorted(KINDS))})")
    return found


def all_handlers() -> dict[str, Handler]:
    """The engine's handlers, one per kind, each running with its step's parsed parameters."""
    return {name: kind.handler() for name, kind in KINDS.items()}


def calls(spec: StepSpec) -> list[str]:
    """What ``golive plan`` prints under a step: its kind's ``describe`` of the step's own parameters."""
    return get(spec.kind).calls(spec.params)
