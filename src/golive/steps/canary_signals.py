"""The signals every canary is gated and judged on besides its metrics: incidents, alarms, health URLs.

Before every weight change (``steps/canary.py``'s gate) and at every look of a bake (``steps/canary_look.py``)
the canary asks the same questions whatever router it drives: is an incident open at the plan's severity, is
a trigger alarm (or, with ``alarms: new``, an alarm that was not firing when the run started) in ALARM, do the
project's health URLs answer, and were they available enough over the bake. Each answer is a reason in words,
or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from golive.checks.alarms import sort_alarms
from golive.engine.context import StepContext
from golive.providers.aws import Aws
from golive.providers.http import get
from golive.steps import alarm_baseline
from golive.steps.canary_params import CanaryParams
from golive.steps.canary_state import CanaryState, Tally

Connect = Callable[[], Aws]


def incident_trigger(ctx: StepContext, p: CanaryParams) -> str | None:
    severities = {t["incident"] for t in p.triggers if t.get("incident")}
    if not severities:
        return None
    batch = ctx.step.group.removeprefix("batch.").removeprefix("dr.")
    for incident in ctx.store.incidents(ctx.run.release, open_only=True):
        worse = int(incident.severity[1:]) <= max(int(s[1:]) for s in severities)
        scoped = incident.scope in (None, batch, p.project)
        if worse and scoped and incident.env in (None, ctx.run.env):
            return f"open {incident.severity} incident #{incident.id}: {incident.title}"
    return None


def alarm_trigger(aws: Connect, triggers: Sequence[Mapping[str, Any]], alarms_at_start: Sequence[str]) -> str | None:
    """A named alarm in ALARM, or (``alarms: new``) one in ALARM now that was not at the start and is not
    allow-listed: both from one read of the alarms in ALARM."""
    names = {t["alarm"] for t in triggers if t.get("alarm")}
    new_trigger = next((t for t in triggers if t.get("alarms") == "new"), None)
    if not names and new_trigger is None:
        return None
    firing = alarm_baseline.firing(aws())
    named = [n for n in firing if n in names]
    if named:
        return f"alarm {', '.join(named)} in ALARM"
    if new_trigger is None:
        return None
    _ok, _old, new = sort_alarms(firing, list(new_trigger.get("allow", [])), frozenset(alarms_at_start))
    return f"new alarm{'s' if len(new) > 1 else ''} in ALARM since the start: {', '.join(new)}" if new else None


def alarms_at_start(ctx: StepContext, p: CanaryParams, aws: Connect) -> list[str]:
    """The alarms in ALARM when the run started in this region; read now if the run did not record them."""
    found = alarm_baseline.at_start(ctx.run.meta, ctx.run.env, None if p.primary else p.region)
    if found is not None:
        return sorted(found)
    if not any(t.get("alarms") == "new" for t in p.triggers):
        return []
    return alarm_baseline.firing(aws())


def probe_health(ctx: StepContext, p: CanaryParams, s: CanaryState, *, record: bool = True) -> dict[str, int | str]:
    """One GET of each of the project's health URLs: the status (or error); counted in the bake's tally."""
    answers: dict[str, int | str] = {}
    ok = set(p.http_ok)
    for url in p.health:
        answer = get(ctx.services.http, url, timeout=5.0)
        answers[url] = answer.status or str(answer.error)
        if record:
            counts = s.health.setdefault(url, Tally())
            counts.probes += 1
            counts.up += 1 if answer.status in ok else 0
    if record:
        s.touch("health")
    return answers


def health_trigger(p: CanaryParams, s: CanaryState) -> str | None:
    """The bake's availability of each health URL below the plan's threshold, once enough probes were made."""
    threshold = float(p.analysis.get("health_availability", 0.99))
    minimum = int(p.analysis.get("health_min_probes", 3))
    for url, counts in s.health.items():
        probes, up = counts.probes, counts.up
        if probes >= minimum and up / probes < threshold:
            return (f"health {url} available {up / probes:.1%} of the bake ({up} of {probes} probes up), "
                    f"below {threshold:.1%}")
    return None
