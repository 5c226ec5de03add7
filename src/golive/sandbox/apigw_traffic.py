"""The sandbox's API Gateway traffic: the AWS/ApiGateway metrics a REST API stage and its canary would report.

moto serves REST APIs but emits no metrics, and golive's API Gateway canary judges its canary deployment by
them (``routers/apigw_stage``). For every whole virtual minute and every API this plays API Gateway: it
reads the stage as moto holds it now (its ``deploymentId`` and ``canarySettings``, in process: the world
runs in moto's process), splits the minute's requests between the stage's deployment and the canary's by
``percentTraffic``, draws 5xx errors and latencies per deployment from the API's traffic model changed by
active faults, and writes per-minute aggregates as API Gateway reports them: ``Count``, ``5XXError`` and
``Latency`` (ms, as a distribution, so pNN works) by ``ApiName`` and ``Stage`` (``prod`` for the stage's
deployment, ``prod/Canary`` for the canary's), and by ``ApiName`` alone.

Faults name the API's project (``orders_api:error_rate=8%@deploy``) or the API's name. As for Lambda
(``golive.sandbox.traffic``), a fault is bound when it is first active: ``version=canary`` (the default for a
phase anchor) hurts the first deployment other than the stage's then that takes requests (the release's,
through the canary and after its promotion), never the stage's own, so a rollback ends it. Randomness is one
generator per (seed, API, first minute of the span): the same seed and clock steps give the same metrics.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from golive.analysis.metrics import APIGATEWAY_NAMESPACE, CANARY_STAGE_SUFFIX
from golive.sandbox.blocks import Dims
from golive.sandbox.faults import ResolvedFault, VersionScope
from golive.sandbox.minute_batch import MinuteBatch
from golive.sandbox.spec import ApiSpec
from golive.sandbox.traffic import MetricSink, active_mask, faulted

# MinuteBatch writes Lambda's names; API Gateway reports the same aggregates under its own (no throttles).
_NAMES = {"Invocations": "Count", "Errors": "5XXError", "Duration": "Latency"}
SAMPLES_PER_MINUTE = 60
SPLIT_SAMPLES_PER_MINUTE = 2000  # while the stage splits, every request's latency is drawn (the judge counts tails)
_Z95 = 1.6448536269514722


@dataclass(frozen=True)
class StageRouting:
    """A stage as moto holds it: its deployment, and its canary's with the canary's share (0..1)."""

    deployment: str
    canary: str | None = None
    share: float = 0.0

    def weights(self) -> list[tuple[str, float, bool]]:
        """(deployment, share, is the canary) for each deployment that takes requests, the stage's first."""
        if self.canary is None or self.canary == self.deployment or self.share <= 0:
            return [(self.deployment, 1.0, False)]
        return [(self.deployment, 1.0 - self.share, False), (self.canary, self.share, True)]


StageReader = Callable[[ApiSpec], StageRouting | None]


def moto_stage_reader(account_id: str, region: str) -> StageReader:
    """The stage read from moto's API Gateway backend in this process (None: no such API or stage)."""
    def read(api: ApiSpec) -> StageRouting | None:
        from moto.apigateway.models import apigateway_backends

        from golive.sandbox.moto_apigw import canary_of

        backend = apigateway_backends[account_id][region]
        found = next((a for a in backend.apis.values() if a.name == api.name), None)
        stage = found.stages.get(api.stage) if found is not None else None
        if stage is None or not stage.deployment_id:
            return None
        canary = canary_of(stage)
        if canary is None:
            return StageRouting(str(stage.deployment_id))
        return StageRouting(str(stage.deployment_id), str(canary.get("deploymentId")),
                            float(canary.get("percentTraffic") or 0.0) / 100.0)

    return read


@dataclass
class _Binding:
    scope: VersionScope
    stable: str
    canary: str | None = None

    def hurts(self, deployment: str) -> bool:
        if self.scope == "all":
            return True
        if self.scope == "stable":
            return deployment == self.stable
        if deployment == self.stable:
            return False
        if self.canary is None:
            self.canary = deployment
        return deployment == self.canary


@dataclass
class _Api:
    spec: ApiSpec
    bindings: dict[ResolvedFault, _Binding] = field(default_factory=dict)


class StageTraffic:
    """Writes AWS/ApiGateway metrics for ``apis`` for each whole minute the clock passes."""

    def __init__(self, apis: Sequence[ApiSpec], seed: int, *, sink: MetricSink, read_stage: StageReader) -> None:
        self._apis = [_Api(a) for a in apis]
        self.seed = seed
        self.sink = sink
        self._read = read_stage
        self._faults: list[ResolvedFault] = []
        self._done_until: datetime | None = None
        self._lock = threading.Lock()

    def set_faults(self, faults: Sequence[ResolvedFault]) -> None:
        self._faults = list(faults)

    def skip_until(self, when: datetime) -> None:
        first = _ceil_minute(when)
        if self._done_until is None or self._done_until < first:
            self._done_until = first

    def simulate(self, start: datetime, end: datetime) -> int:
        """Write every whole minute in [start, end) not written before, the stages routed as they are now;
        the number of datapoints written."""
        with self._lock:
            if self._done_until is not None:
                start = self._done_until
            first = _ceil_minute(start)
            count = max(0, math.floor((end - first).total_seconds() / 60.0))
            if count <= 0:
                return 0
            self._done_until = first + timedelta(minutes=count)
            minutes = first.timestamp() + 60.0 * np.arange(count)
            batch = MinuteBatch(minutes)
            for api in self._apis:
                routing = self._read(api.spec)
                if routing is not None:
                    self._draw(api, routing, minutes, batch)
            blocks = [replace(b, name=_NAMES[b.name]) for b in batch.blocks() if b.name in _NAMES]
            if blocks:
                self.sink.write(APIGATEWAY_NAMESPACE, blocks)
            return sum(len(b) for b in blocks)

    def _faults_for(self, api: _Api, routing: StageRouting,
                    minutes: np.ndarray[Any, Any]) -> list[tuple[ResolvedFault, _Binding]]:
        hits = []
        for fault in self._faults:
            if fault.kind not in ("error_rate", "latency"):
                continue
            if not {api.spec.name, api.spec.project} & set(fault.functions):
                continue
            bound = api.bindings.get(fault)
            if bound is None:
                if not active_mask(fault, minutes).any():
                    continue
                bound = api.bindings[fault] = _Binding(fault.fault.versions, routing.deployment)
            hits.append((fault, bound))
        return hits

    def _draw(self, api: _Api, routing: StageRouting, minutes: np.ndarray[Any, Any], batch: MinuteBatch) -> None:
        spec, model = api.spec, api.spec.traffic
        rng = np.random.default_rng([self.seed, zlib.crc32(spec.name.encode()), int(minutes[0] // 60)])
        faults = self._faults_for(api, routing, minutes)
        shape = np.asarray(model.daily_shape or (1.0,), dtype=float)
        rate = model.per_minute * shape[((minutes // 3600) % 24).astype(int) % len(shape)]
        sigma = math.log(max(model.duration_p95_ms, model.duration_p50_ms * 1.0001) / model.duration_p50_ms) / _Z95
        n = len(minutes)
        weights = routing.weights()
        cap = SPLIT_SAMPLES_PER_MINUTE if len(weights) > 1 else SAMPLES_PER_MINUTE
        totals: list[tuple[np.ndarray[Any, Any], ...]] = []
        for deployment, share, canary in weights:
            error_rate, median, _ = faulted(faults, deployment, minutes, model.error_rate, model.duration_p50_ms)
            requests = rng.poisson(rate * share)
            errors = rng.binomial(requests, np.clip(error_rate, 0.0, 1.0))
            drawn = np.minimum(requests, cap)
            idx = np.repeat(np.arange(n), drawn)
            latencies = np.exp(np.log(median[idx]) + sigma * rng.standard_normal(len(idx)))
            stands_for = (requests / np.maximum(drawn, 1))[idx]
            stage: Dims = (("ApiName", spec.name), ("Stage", spec.stage + (CANARY_STAGE_SUFFIX if canary else "")))
            batch.add(stage, requests, errors, np.zeros(n), idx, latencies, stands_for)
            totals.append((requests, errors, idx, latencies, stands_for))
        api_dims: Dims = (("ApiName", spec.name),)
        batch.add(api_dims, sum(t[0] for t in totals), sum(t[1] for t in totals), np.zeros(n),
                  np.concatenate([t[2] for t in totals]), np.concatenate([t[3] for t in totals]),
                  np.concatenate([t[4] for t in totals]))


def _ceil_minute(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)

