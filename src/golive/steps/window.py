"""The ``window`` step: wait for a deploy window to open, in the team's time zone; past its end, ask a person.

The runbook deploys Batch 1 on Jan 10 from 09:00 to 10:00, Batch 2 from 10:30: a window is when work may
start. The planner puts one before each batch (and prep and sign-off) whose plan entry has ``window:``.
Before the window the step waits as stored state (``run`` shows what waits until when); inside it, it is
done; after its end it waits for a person, who goes on with ``golive run --override-window --why "..."``
(recorded as an ``Override`` of the release, which this step reads). A weekly window is never "past": the
step waits for its next occurrence.
"""

from __future__ import annotations

from golive import schedule
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Outcome, Wait
from golive.evidence.gates import Override
from golive.plan.model import Window
from golive.steps.kind import StepKind, StepParams

OVERRIDE = "window"


class WindowParams(StepParams):
    what: str
    start: str
    end: str
    days: list[str] | None = None
    timezone: str | None = None

    @property
    def window(self) -> Window:
        return Window.model_validate({"start": self.start, "end": self.end, "days": self.days})


def describe(p: WindowParams) -> list[str]:
    tz = schedule.zone(p.timezone)
    zone = schedule.local(schedule.fixed_span(p.start, p.end, tz).start, tz).rsplit(" ", 1)[-1] if p.days is None \
        else p.timezone or "UTC"
    days = f"every {', '.join(p.days)} " if p.days else ""
    return [f"wait for the window: {days}{p.start} to {p.end} {zone}; past its end: golive run --override-window --why"]


def _overridden(ctx: StepContext) -> Override | None:
    run = ctx.run
    found = ctx.store.records(Override, release=run.release, env=run.env, since=run.created_at)
    chosen = [e.record for e in found if e.record.subject == OVERRIDE and e.run_id in (None, run.id)]
    return chosen[-1] if chosen else None


def run(ctx: StepContext, p: WindowParams) -> Outcome:
    tz, now = schedule.zone(p.timezone), ctx.now
    spans = p.window.spans(tz, now)
    current = next((s for s in spans if s.holds(now)), None)
    if current is not None:
        return Done(f"{p.what}: inside its window (until {schedule.local(current.end, tz)})",
                    {"start": current.start.isoformat(), "end": current.end.isoformat()})
    upcoming = [s for s in spans if s.start > now]
    if upcoming:
        return Wait(upcoming[0].start, f"{p.what} waits for its window at {schedule.local(upcoming[0].start, tz)}")
    ended = spans[-1]
    override = _overridden(ctx)
    if override is not None:
        return Done(f"{p.what}: past its window (ended {schedule.local(ended.end, tz)}), overridden: {override.why}",
                    {"start": ended.start.isoformat(), "end": ended.end.isoformat(), "override": override.why})
    return Wait(None, f"{p.what}: its window ended {schedule.local(ended.end, tz)}; to start it anyway: "
                      "golive run --override-window --why \"...\"")


KIND = StepKind("window", WindowParams, run, describe)
