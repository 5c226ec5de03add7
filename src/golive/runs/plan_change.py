"""A plan edited under a running release: found on resume, refused in one line, or accepted and recorded.

Every step runs from the parameters frozen when its run started, never from the plan file. Resuming with a
plan whose digest differs from the run's compares the stored steps with what the planner makes of the plan
now: steps whose parameters differ, and steps added or removed, stop the command with exit 2 and one line
naming them. With ``--accept-plan-change --why "..."`` the change is taken: the unfinished changed steps are
frozen again from the new plan (a finished step keeps its parameters: what it did stands), the run takes
the new digest, and a ``PlanChangeAccepted`` record says which steps and why, all in one transaction. A
change no step sees (the digest moved, no step's parameters did) is taken without asking. Steps added or
removed cannot join a running run, accepted or not: it would run steps of a phase already past, or leave
one half done; ``--restart`` starts a new run instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from golive.clock import Clock
from golive.errors import UsageError
from golive.evidence.plan_change import PlanChangeAccepted
from golive.steps.registry import get as kind_of
from golive.store.statuses import STEP_FINISHED
from golive.store.store import Run, Step, StepSpec, Store
from golive.textinput import check_note

SHOWN = 8  # step keys named in the one line; the rest are counted


class PlanChanged(UsageError):
    """The plan differs from the one the run was frozen from, and the change was not accepted (or cannot be)."""


@dataclass(frozen=True)
class PlanChange:
    run: Run
    digest: str  # the plan's digest now
    changed: tuple[tuple[Step, StepSpec, tuple[str, ...]], ...]  # stored step, its new spec, the parameters that differ
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def refreezable(self) -> bool:
        return not self.added and not self.removed

    def line(self) -> str:
        parts = []
        if self.changed:
            named = [f"{step.key} ({', '.join(keys)})" for step, _spec, keys in self.changed]
            parts.append(f"parameters of {_some(named)} differ")
        if self.added:
            parts.append(f"{len(self.added)} step{'s' if len(self.added) > 1 else ''} added ({_some(list(self.added))})")
        if self.removed:
            parts.append(f"{len(self.removed)} step{'s' if len(self.removed) > 1 else ''} removed "
                         f"({_some(list(self.removed))})")
        return f"the plan changed since {self.run.kind} run {self.run.id} started: {'; '.join(parts)}"


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def compare(run: Run, stored: list[Step], digest: str, fresh: list[StepSpec]) -> PlanChange | None:
    """What the plan's steps now (``fresh``) change in the run's stored ones; None when the digests agree."""
    if digest == run.plan_digest:
        return None
    by_key = {spec.key: spec for spec in fresh}
    keys = {step.key for step in stored}
    changed = []
    for step in stored:
        spec = by_key.get(step.key)
        if spec is None or spec.kind != step.kind:
            continue
        kind = kind_of(step.kind)
        old, new = kind.parse(step.params), kind.parse(spec.params)
        if old != new:
            differ = tuple(name for name in type(old).model_fields if getattr(old, name) != getattr(new, name))
            changed.append((step, spec, differ))
    added = tuple(spec.key for spec in fresh if spec.key not in keys)
    removed = tuple(step.key for step in stored if step.key not in by_key or by_key[step.key].kind != step.kind)
    return PlanChange(run, digest, tuple(changed), added, removed)


def check(store: Store, run: Run, digest: str, build: Callable[[], list[StepSpec]], clock: Clock, *,
          accept_why: str | None) -> None:
    """Resume ``run`` only from the plan it was frozen from, or from a change accepted with a why (recorded)."""
    if digest == run.plan_digest:
        return
    stored = store.steps(run.id)
    change = compare(run, stored, digest, build())
    assert change is not None
    if accept_why is None and (change.changed or not change.refreezable):
        raise PlanChanged(f"{change.line()}; resume with the plan it started from, or accept the change: "
                          f"--accept-plan-change --why \"...\"")
    if not change.refreezable:
        raise PlanChanged(f"{change.line()}; steps added or removed cannot join a running run: finish it with the "
                          f"plan it started from, or start anew with --restart")
    why = check_note("--why", accept_why) if accept_why is not None else "no step's parameters changed"
    refrozen = {step.id: spec for step, spec, _keys in change.changed if step.status not in STEP_FINISHED}
    kept = tuple(step.key for step, _spec, _keys in change.changed if step.status in STEP_FINISHED)
    record = PlanChangeAccepted(subject=run.kind, why=why, from_digest=run.plan_digest, to_digest=digest,
                                refrozen=tuple(spec.key for spec in refrozen.values()), kept=kept)
    event = store.event_row(release=run.release, env=run.env, kind=record.stored_kind, subject=record.subject,
                            at=clock.now(), data=record.to_data(), outcome=record.outcome, run_id=run.id)
    store.refreeze(run.id, digest, refrozen, event)
