"""Alarms at the start: which alarms were already in ALARM before this run touched anything.

An alarm that was firing before a release began (the runbook's order DLQ)
was not caused by it; calling it "new" blocks every deploy and every fix
during an incident (a known CodeDeploy/SAM pain). So when a run starts
(``golive run``, ``deploy``, ``verify``), golive reads the alarms in ALARM
in each region the run may touch, the DR region included, and keeps them
in the run's meta (``alarms_at_start``: ``ENV`` for the primary region,
``ENV@REGION`` for another) and as an ``alarms_at_start`` event (the
evidence). Verify, validation, canaries and soaks compare with that.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from golive.engine.context import Services
from golive.errors import ExternalError
from golive.evidence.runs import AlarmsAtStart
from golive.providers.aws import Aws
from golive.store.store import Run

META = "alarms_at_start"


def key(env: str, region: str | None = None) -> str:
    """The meta key of one environment's region: ``prod``, or ``prod@eu-west-1`` for a region besides the primary."""
    return env if region is None else f"{env}@{region}"


def firing(aws: Aws) -> list[str]:
    """The names of every metric and composite alarm in ALARM now, sorted."""
    client = aws.client("cloudwatch")

    def call() -> list[str]:
        names: list[str] = []
        for page in client.get_paginator("describe_alarms").paginate(StateValue="ALARM"):
            names += [str(a["AlarmName"]) for a in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]]
        return names

    return sorted(aws.call("cloudwatch:DescribeAlarms", call))


def at_start(meta: dict[str, Any], env: str, region: str | None = None) -> frozenset[str] | None:
    """The alarms recorded at the start for this region, or None when the run recorded none there."""
    found = meta.get(META, {}).get(key(env, region))
    return None if found is None else frozenset(found)


def record(services: Services, run: Run) -> Run:
    """Read and keep the alarms in ALARM in the run's regions, unless already kept; the run with its new meta.

    A region AWS does not answer for is noted as unknown and left out: it is read again by the first
    step that needs it (a canary), never guessed empty.
    """
    if services.aws_for is None or run.env not in services.plan.environments:
        return run
    environment = services.plan.environments[run.env]
    regions: list[str | None] = [None] + ([environment.dr_region] if environment.dr_region else [])
    recorded = dict(run.meta.get(META, {}))
    found: dict[str, list[str] | str] = {}
    for region in regions:
        name = key(run.env, region)
        if name in recorded:
            continue
        try:
            names = firing(services.aws(run.env, region))
        except ExternalError as exc:
            found[name] = f"unknown: {exc}"
            continue
        recorded[name] = names
        found[name] = names
    if not found:
        return run
    now = services.clock.now()
    meta = {**run.meta, META: recorded}
    services.store.set_run(run.id, now, meta=meta)
    services.store.append_record(AlarmsAtStart(subject=run.kind, alarms=found), release=run.release, env=run.env,
                                 run_id=run.id, at=now)
    return replace(run, meta=meta)
