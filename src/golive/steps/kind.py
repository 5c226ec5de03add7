"""What a kind of step is: typed parameters, how it runs, what it says it will do, how it is undone.

The planner freezes a step with ``StepKind.freeze``: its parameters are a typed model, validated there,
and stored as JSON. ``golive plan`` prints ``describe(params)`` and the engine runs ``run(ctx, params)``,
both from ``parse(stored)``: the dry run reads the very parameters the step will run with, so the two
cannot drift (chalice's ``DisplayOnlyExecutor`` prints the instructions its executor runs). Each kind is
one module of this package (argo's ``canary.go``, ``pause.go``); ``registry.py`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from golive.engine.context import StepContext
from golive.engine.outcome import Handler, Outcome
from golive.store.store import StepSpec

# Stores written before step kinds kept the dry run's lines beside the parameters; they are derived now.
_LEGACY_KEYS = ("calls",)


class StepParams(BaseModel):
    """Base of every step's parameters: frozen, and strict (a key the kind does not name is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=StepParams)


@dataclass(frozen=True)
class StepKind(Generic[P]):
    name: str
    params: type[P]
    run: Callable[[StepContext, P], Outcome]
    describe: Callable[[P], list[str]]
    compensate: Callable[[StepContext, P, str], None] | None = None
    # Whether a started step owes its compensation for a reason (``StepContext.owed_for``); None: for every one.
    owes: Callable[[P, str], bool] | None = None

    def parse(self, stored: Mapping[str, Any]) -> P:
        """The typed parameters of a stored step."""
        return self.params.model_validate({k: v for k, v in stored.items() if k not in _LEGACY_KEYS})

    def freeze(self, params: P, *, key: str, phase: str, title: str, group: str, lane: str) -> StepSpec:
        """A step of this kind, its parameters stored as the JSON they round-trip through."""
        stored = params.model_dump(mode="json")
        self.parse(stored)  # what is stored must read back: a model that does not round-trip fails here
        return StepSpec(key=key, phase=phase, kind=self.name, title=title, group=group, lane=lane, params=stored)

    def calls(self, stored: Mapping[str, Any]) -> list[str]:
        """What ``golive plan`` prints for a stored step: ``describe`` of its parsed parameters."""
        return self.describe(self.parse(stored))

    def handler(self) -> Handler:
        """The engine's view: run (and compensate) with the parameters parsed from the stored step."""
        compensate = self.compensate

        def run(ctx: StepContext) -> Outcome:
            return self.run(ctx, self.parse(ctx.params))

        def undo(ctx: StepContext, reason: str) -> None:
            assert compensate is not None
            compensate(ctx, self.parse(ctx.params), reason)

        owes = self.owes

        def owed(stored: Mapping[str, Any], why: str) -> bool:
            assert owes is not None
            return owes(self.parse(stored), why)

        return Handler(self.name, run, undo if compensate is not None else None, owed if owes is not None else None)
