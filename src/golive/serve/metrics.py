"""``/metrics``: the store's state in the Prometheus exposition format, read at scrape time.

A collector, not counters kept in memory: any number of serve processes
report the same figures, and a restart loses nothing, because every figure
is read from the store when Prometheus asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from golive.evidence import Record
from golive.evidence.canary import CanaryAnalysis, CanaryPromoted, CanaryShifted
from golive.evidence.rollback import RolledBack
from golive.evidence.runs import Checkpoint
from golive.store import outbox
from golive.store.store import Store

PHASES = ("prep", "preflight", "soak", "gate", "tag", "deploy", "validation", "signoff")
_LATENCY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_ANALYSIS = {"ok": 1.0, "inconclusive": 0.0, "fail": -1.0, "error": -2.0}


class StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        weight = GaugeMetricFamily("golive_canary_weight_percent", "traffic on the canary version",
                                   labels=["release", "env", "project"])
        analysis = GaugeMetricFamily("golive_canary_last_analysis", "last analysis: 1 ok, 0 inconclusive, -1 fail, -2 error",
                                     labels=["release", "env", "project"])
        phase = GaugeMetricFamily("golive_run_phase", "1 for the phase each active run is in",
                                  labels=["release", "env", "kind", "phase"])
        checkpoints = CounterMetricFamily("golive_soak_checkpoints", "soak checkpoints by result",
                                          labels=["release", "env", "result"])
        rollbacks = CounterMetricFamily("golive_rollbacks", "rollbacks recorded", labels=["release", "env", "project"])
        latency = HistogramMetricFamily("golive_step_seconds", "time from a step's start to its end (clock of the run)",
                                        labels=["release", "kind"])
        backlog = GaugeMetricFamily("golive_outbox_backlog", "notifications not yet delivered")
        canary: dict[tuple[str, str, str], float] = {}
        verdict: dict[tuple[str, str, str], float] = {}
        cps: dict[tuple[str, str, str], int] = {}
        rbs: dict[tuple[str, str, str], int] = {}
        for event in self.store.records(Record):
            record, key = event.record, (event.release, event.env, event.record.subject)
            if isinstance(record, CanaryShifted | CanaryPromoted) and record.weight is not None:
                canary[key] = record.weight
            elif isinstance(record, CanaryAnalysis):
                verdict[key] = _ANALYSIS.get(record.verdict, 0.0)
            elif isinstance(record, RolledBack):
                canary[key] = 0.0
                rbs[key] = rbs.get(key, 0) + 1
            elif isinstance(record, Checkpoint):
                cp = (event.release, event.env, record.outcome or "unknown")
                cps[cp] = cps.get(cp, 0) + 1
        for (release, env, project), value in canary.items():
            weight.add_metric([release, env, project], value)
        for (release, env, project), value in verdict.items():
            analysis.add_metric([release, env, project], value)
        for labels, count in cps.items():
            checkpoints.add_metric(list(labels), count)
        for labels, count in rbs.items():
            rollbacks.add_metric(list(labels), count)
        durations: dict[tuple[str, str], list[float]] = {}
        for run in self.store.runs():
            steps = self.store.steps(run.id)
            if run.active:
                current = next((s.phase for s in steps if s.open), None)
                if current is not None:
                    phase.add_metric([run.release, run.env, run.kind, current], 1.0)
            for step in steps:
                if step.started_at and step.ended_at:
                    durations.setdefault((run.release, step.kind), []).append(_seconds(step.started_at, step.ended_at))
        for (release, kind), values in durations.items():
            buckets = [(str(b), float(sum(v <= b for v in values))) for b in _LATENCY_BUCKETS]
            buckets.append(("+Inf", float(len(values))))
            latency.add_metric([release, kind], buckets, sum(values))
        with self.store.tx() as conn:
            backlog.add_metric([], outbox.backlog(conn))
        yield from (weight, analysis, phase, checkpoints, rollbacks, latency, backlog)


def _seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def registry_for(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry
