"""The sandbox's Lambda traffic: the AWS/Lambda metrics real functions would emit, minute by minute.

moto's ``invoke`` emits no metrics, yet golive's canary judge and soak
checkpoints read AWS/Lambda metrics from CloudWatch. The simulator plays
the Lambda service: for every whole virtual minute and every function it
draws invocations from the function's rate (times its daily shape), splits
them between versions by the alias's real ``RoutingConfig`` read back from
moto (``GetAlias``, or in process: ``moto_alias_reader``), draws errors, throttles and durations per version from
the function's model changed by active faults, and writes per-minute
aggregates as real Lambda does:

- dimensions ``{FunctionName, Resource=function:alias, ExecutedVersion}``
  per version, and the plain ``{FunctionName}`` aggregate;
- Invocations / Errors / Throttles as statistic sets, only when non-zero
  (an Errors datum's SampleCount is that minute's invocations);
- Duration as ``Values``/``Counts`` (one drawn duration per call while an
  alias splits traffic, else at most 60 a minute, weighted) on a 2 % logarithmic grid (bucket
  centres, at most 150 values a datum), so pNN statistics work and are within
  about 1 % of the raw samples' percentile.

Three sinks carry the datapoints, as columns (``golive.sandbox.blocks``; a
span's draws of every function are aggregated at once by
``golive.sandbox.minute_batch``): ``PutMetricDataSink`` (the public API, up to
1000 datums a call), ``IngestSink`` (the sandbox's bulk path over HTTP) and
``InProcessSink`` (the store itself, for the world, which runs in moto's
process as the Lambda service runs beside CloudWatch); the last two keep
flowing during ``aws_down``. Randomness comes from one generator per
(seed, function, first minute of the call), so the same seed and the same
clock steps always give the same metrics. Faults are applied as described
in ``golive.sandbox.faults``: a fault is bound to versions when it is
first active (``version=canary`` to those newer than the alias's primary
version then), so a ``@deploy`` fault, active before the canary gets any
traffic, still hurts only the canary.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import numpy as np

from golive.analysis.metrics import LAMBDA_NAMESPACE
from golive.clock import VirtualClock
from golive.errors import AwsError, AwsRequestError, AwsUnreachable, ConfigError
from golive.providers.aws import Aws
from golive.sandbox.blocks import Block, Dims, encode
from golive.sandbox.faults import ResolvedFault, VersionScope, aws_down_at
from golive.sandbox.minute_batch import MinuteBatch
from golive.sandbox.moto_server import INGEST_PATH
from golive.sandbox.spec import FunctionSpec

NAMESPACE = LAMBDA_NAMESPACE
SAMPLES_PER_MINUTE = 60
# While an alias splits traffic (a canary), every call's duration is drawn, up to this many a minute: the
# judge counts calls above a percentile (PR(x:) times SampleCount), which weighted samples would fake.
SPLIT_SAMPLES_PER_MINUTE = 2000
FLUSH_GROUP = 16
# A deferred simulator draws everything once this many spans wait (a day of minute steps: a `sandbox up` world
# nobody reads would otherwise hold every minute since it started).
MAX_PENDING_SPANS = 1440
_Z95 = 1.6448536269514722


class MetricSink(Protocol):
    """Where the simulator's datapoints go; returns the number of requests it made."""

    def write(self, namespace: str, blocks: Sequence[Block]) -> int: ...


class PutMetricDataSink:
    """CloudWatch's public PutMetricData, batched (1000 datums and well under 1 MB a call)."""

    def __init__(self, aws: Aws, *, max_per_call: int = 1000, max_bytes: int = 800_000) -> None:
        self.aws = aws
        self.max_per_call = max_per_call
        self.max_bytes = max_bytes

    def write(self, namespace: str, blocks: Sequence[Block]) -> int:
        cw = self.aws.client("cloudwatch")
        calls = 0
        batch: list[Any] = []
        size = 0
        for item, values in _members(blocks):
            cost = 200 + 20 * values
            if batch and (len(batch) >= self.max_per_call or size + cost > self.max_bytes):
                self._put(cw, namespace, batch)
                calls += 1
                batch, size = [], 0
            batch.append(item)
            size += cost
        if batch:
            self._put(cw, namespace, batch)
            calls += 1
        return calls

    def _put(self, cw: Any, namespace: str, batch: list[Any]) -> None:
        self.aws.call("cloudwatch:PutMetricData", lambda: cw.put_metric_data(Namespace=namespace, MetricData=batch))


def _members(blocks: Sequence[Block]) -> Iterator[tuple[dict[str, Any], int]]:
    """Each datapoint as a PutMetricData member, with the number of values it carries."""
    for b in blocks:
        dimensions = [{"Name": k, "Value": v} for k, v in b.dims]
        for i, (ts, count, total, low, high) in enumerate(zip(b.ts.tolist(), b.count.tolist(), b.total.tolist(),
                                                              b.minimum.tolist(), b.maximum.tolist(), strict=True)):
            item: dict[str, Any] = {"MetricName": b.name, "Dimensions": dimensions,
                                    "Timestamp": datetime.fromtimestamp(ts, UTC), "Unit": b.unit}
            found = b.distribution(i)
            if found is not None:
                item["Values"], item["Counts"] = found[0].tolist(), found[1].tolist()
            else:
                item["StatisticValues"] = {"SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high}
            yield item, 0 if found is None else len(found[0])


class InProcessSink:
    """The sandbox's CloudWatch backend in this process, written directly (the Lambda service's own path).

    The world runs in moto's process (``golive rehearse`` and the sandbox daemon alike), so its Lambda
    emulation hands its columns to the store without encoding them for HTTP; golive's own calls still go
    over HTTP.
    """

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def write(self, namespace: str, blocks: Sequence[Block]) -> int:
        from moto.cloudwatch.models import cloudwatch_backends

        from golive.sandbox.percentiles import PercentileCloudWatchBackend

        backend = cloudwatch_backends[self.account_id][self.region]
        if not isinstance(backend, PercentileCloudWatchBackend):
            raise ConfigError("the sandbox's CloudWatch backend is not installed in this process")
        backend.ingest(namespace, blocks)
        return 0


class IngestSink:
    """The sandbox's bulk metrics path (``POST /_golive/metrics``), for one account and region.

    The body is columnar (``golive.sandbox.blocks.encode``): a JSON header naming the series, then
    float64 columns, for a sandbox in another process.
    """

    def __init__(self, endpoint: str, account_id: str, region: str, *, rows_per_call: int = 100_000,
                 client: httpx.Client | None = None) -> None:
        self.url = endpoint.rstrip("/") + INGEST_PATH
        self.account_id = account_id
        self.region = region
        self.rows_per_call = rows_per_call
        self._client = client or httpx.Client(timeout=120.0)

    @classmethod
    def for_aws(cls, aws: Aws) -> IngestSink:
        if not aws.endpoint:
            raise ConfigError("the sandbox's metrics path needs an endpoint (AWS_ENDPOINT_URL or the plan's override)")
        return cls(aws.endpoint, aws.caller_account(), aws.region)

    def write(self, namespace: str, blocks: Sequence[Block]) -> int:
        calls = 0
        for batch in _batches(blocks, self.rows_per_call):
            body = encode(self.account_id, self.region, namespace, batch)
            try:
                response = self._client.post(self.url, content=body, headers={"Content-Type": "application/octet-stream"})
            except httpx.TransportError as exc:
                raise AwsError("sandbox:IngestMetrics", self.region, f"no answer ({type(exc).__name__})", self.url) from exc
            if response.status_code != 200:
                raise AwsError("sandbox:IngestMetrics", self.region, f"HTTP {response.status_code}", self.url)
            calls += 1
        return calls


@dataclass
class SimulationStats:
    minutes: int = 0
    datums: int = 0
    calls: int = 0


@dataclass(frozen=True)
class Routing:
    """An alias's weights as read from moto: version -> share of the traffic, the primary version first."""

    weights: tuple[tuple[str, float], ...]
    alias: str | None


def _batches(blocks: Sequence[Block], rows: int) -> Iterator[list[Block]]:
    """Consecutive groups of whole blocks, each of about ``rows`` datapoints at most (a bigger block alone)."""
    batch: list[Block] = []
    size = 0
    for block in blocks:
        if batch and size + len(block) > rows:
            yield batch
            batch, size = [], 0
        batch.append(block)
        size += len(block)
    if batch:
        yield batch


@dataclass
class _Binding:
    """The versions a fault hurts, fixed when it is first active: ``stable`` is the alias's primary version then."""

    scope: VersionScope
    stable: str
    canary: str | None = None  # the first newer version that took traffic: the bad build, and only it

    def hurts(self, version: str) -> bool:
        if self.scope == "all":
            return True
        if self.scope == "stable":
            return version == self.stable
        if _number(version) <= _number(self.stable):
            return False
        if self.canary is None:
            self.canary = version
        # A later build (after a rollback, a new canary) is another build: the fault named this one.
        return version == self.canary


def _number(version: str) -> int:
    return int(version) if version.isdigit() else -1


@dataclass
class _FunctionState:
    spec: FunctionSpec
    bindings: dict[ResolvedFault, _Binding] = field(default_factory=dict)
    drawn: int = 0  # the spans before this one are drawn and written
    routes: list[tuple[int, Routing]] = field(default_factory=list)  # (first span, routing from then on)

    def routing_at(self, span: int) -> Routing:
        found = self.routes[0][1]
        for first, routing in self.routes:
            if first > span:
                break
            found = routing
        return found


@dataclass(frozen=True)
class _Span:
    """The whole minutes one clock advance passed, and the faults placed when it did."""

    minutes: np.ndarray[Any, Any]
    faults: tuple[ResolvedFault, ...]


AliasReader = Callable[[FunctionSpec], Mapping[str, Any] | None]
"""Reads a function's alias as ``GetAlias`` answers it (None: no such function or alias)."""


def moto_alias_reader(account_id: str, region: str) -> AliasReader:
    """The alias read from moto's Lambda backend in this process: the world's own state, current at every read.

    The simulator plays the Lambda service, which routes by the alias it holds; reading it in process
    rather than by ``GetAlias`` over HTTP spares the rehearsal most of its requests to moto, and an
    alias golive changes through the API is seen at the very next minute simulated.
    """
    def read(function: FunctionSpec) -> Mapping[str, Any] | None:
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import lambda_backends

        try:
            alias = lambda_backends[account_id][region].get_alias(function.alias, function.name)
        except LambdaClientError:
            return None
        return alias.to_json()

    return read


class TrafficSimulator:
    """Writes AWS/Lambda metrics for ``functions`` for each whole minute the clock passes."""

    def __init__(
        self,
        aws: Aws,
        functions: Sequence[FunctionSpec],
        seed: int,
        *,
        sink: MetricSink | None = None,
        faults: Sequence[ResolvedFault] = (),
        on_aws_down: Callable[[bool], None] | None = None,
        read_alias: AliasReader | None = None,
        deferred: bool = False,
    ) -> None:
        self.aws = aws
        self.seed = seed
        self.sink: MetricSink = sink or PutMetricDataSink(aws)
        self._functions = [_FunctionState(f) for f in functions]
        self._faults: list[ResolvedFault] = list(faults)
        self._on_aws_down = on_aws_down
        self._done_until: datetime | None = None
        self._routing: dict[str, Routing] = {}
        self._read_alias = read_alias
        self.deferred = deferred
        self._spans: list[_Span] = []
        self._first_span = 0  # the index of self._spans[0]: spans every function has drawn are let go
        self._lock = threading.RLock()

    def set_faults(self, faults: Sequence[ResolvedFault]) -> None:
        """Replace the active fault list (e.g. once a phase's instant is known); bindings of kept faults stay."""
        self._faults = list(faults)

    def attach(self, clock: VirtualClock) -> None:
        clock.on_advance(self.on_advance)

    def on_advance(self, old: datetime, new: datetime) -> None:
        self.simulate(old, new)

    def routing(self, function: FunctionSpec) -> Routing:
        """The alias's weights read back from moto (all traffic on $LATEST when there is no alias).

        While the API does not answer (``aws_down``) the last weights read are used: Lambda keeps
        routing by the alias it has, whether or not golive can reach the API.
        """
        if self._read_alias is not None:
            found = self._read_alias(function)
            if found is None:
                return Routing((("$LATEST", 1.0),), None)
            return self._weights(function, found)
        lam = self.aws.client("lambda")
        try:
            alias = self.aws.call("lambda:GetAlias", lambda: lam.get_alias(FunctionName=function.name, Name=function.alias))
        except AwsUnreachable:
            known = self._routing.get(function.name)
            if known is None:
                raise
            return known
        except AwsRequestError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            return Routing((("$LATEST", 1.0),), None)
        return self._weights(function, alias)

    def _weights(self, function: FunctionSpec, alias: Mapping[str, Any]) -> Routing:
        extra = {str(v): float(w) for v, w in ((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}).items()}
        primary = str(alias["FunctionVersion"])
        weights = [(primary, max(0.0, 1.0 - sum(extra.values())))] + [(v, w) for v, w in sorted(extra.items()) if w > 0]
        routing = Routing(tuple(weights), function.alias)
        self._routing[function.name] = routing
        return routing

    def skip_until(self, when: datetime) -> None:
        """Write nothing before ``when`` (traffic that nobody will look at is not simulated)."""
        first = _ceil_minute(when)
        if self._done_until is None or self._done_until < first:
            self._done_until = first

    def simulate(self, start: datetime, end: datetime) -> SimulationStats:
        """Pass every whole minute in [start, end) not passed before; then apply aws_down windows at ``end``.

        Each function's routing and the faults are taken as they are now, whatever the minutes are drawn. Drawn
        at once, or (``deferred``) when somebody reads the function's metrics (``flush``): the same generator
        per (function, span) either way, so the same metrics to the last bit, and minutes nobody reads cost
        nothing. A deferred world must be read through ``flush`` (``percentiles.on_read`` does it).
        """
        stats = SimulationStats()
        with self._lock:
            if self._done_until is not None:
                # Continue exactly where the last call stopped: a minute left incomplete then is whole now.
                start = self._done_until
            first = _ceil_minute(start)
            count = max(0, math.floor((end - first).total_seconds() / 60.0))  # complete minutes only
            if count > 0:
                self._done_until = first + timedelta(minutes=count)
                span = self._first_span + len(self._spans)
                self._spans.append(_Span(first.timestamp() + 60.0 * np.arange(count), tuple(self._faults)))
                for state in self._functions:
                    routing = self.routing(state.spec)
                    if not state.routes or state.routes[-1][1] != routing:
                        state.routes.append((span, routing))
                stats.minutes = count
            if not self.deferred or len(self._spans) >= MAX_PENDING_SPANS:
                drawn = self.flush()
                stats.datums, stats.calls = drawn.datums, drawn.calls
        if self._on_aws_down is not None:
            self._on_aws_down(aws_down_at(self._faults, end))
        return stats

    def flush(self, names: frozenset[str] | None = None) -> SimulationStats:
        """Draw and write the passed minutes of these functions (all when None) not drawn yet.

        FLUSH_GROUP functions at a time: hours of minutes of hundreds of functions at once would hold all
        their duration samples in memory together.
        """
        stats = SimulationStats()
        with self._lock:
            end = self._first_span + len(self._spans)
            states = [s for s in self._functions if s.drawn < end and (names is None or s.spec.name in names)]
            for k in range(0, len(states), FLUSH_GROUP):
                drawn = self._flush_group(states[k:k + FLUSH_GROUP], end)
                stats.minutes = max(stats.minutes, drawn.minutes)
                stats.datums += drawn.datums
                stats.calls += drawn.calls
            if states:
                done = min(s.drawn for s in self._functions)
                if done > self._first_span:
                    del self._spans[:done - self._first_span]
                    self._first_span = done
        return stats

    def _flush_group(self, states: Sequence[_FunctionState], end: int) -> SimulationStats:
        first = min(s.drawn for s in states)
        spans = self._spans[first - self._first_span:]
        offsets = np.cumsum([0] + [len(span.minutes) for span in spans]).tolist()
        batch = MinuteBatch(np.concatenate([span.minutes for span in spans]))
        for state in states:
            for index in range(state.drawn, end):
                self._draw(state, spans[index - first], state.routing_at(index), batch, offsets[index - first])
            state.drawn = end
            while len(state.routes) > 1 and state.routes[1][0] <= end:
                state.routes.pop(0)
        blocks = batch.blocks()
        stats = SimulationStats(minutes=len(batch.minutes), datums=sum(len(b) for b in blocks))
        if blocks:
            stats.calls = self.sink.write(NAMESPACE, blocks)
        return stats

    def _faults_for(self, state: _FunctionState, routing: Routing, minutes: np.ndarray[Any, Any],
                    faults: Sequence[ResolvedFault]) -> list[tuple[ResolvedFault, _Binding]]:
        """The faults hitting this function in these minutes, each with the versions it is bound to."""
        hits: list[tuple[ResolvedFault, _Binding]] = []
        for fault in faults:
            if state.spec.name not in fault.functions:
                continue
            bound = state.bindings.get(fault)
            if bound is None:
                if not any(fault.active(datetime.fromtimestamp(float(m), UTC)) for m in _edges(fault, minutes)):
                    continue
                scope = fault.fault.versions if routing.alias is not None else "all"
                bound = _Binding(scope, routing.weights[0][0])
                state.bindings[fault] = bound
            hits.append((fault, bound))
        return hits

    def _draw(self, state: _FunctionState, span: _Span, routing: Routing, batch: MinuteBatch, offset: int) -> None:
        """Draw one function's traffic in a span (its own generator), per version and in all, into ``batch``."""
        spec, model, minutes = state.spec, state.spec.traffic, span.minutes
        rng = np.random.default_rng([self.seed, zlib.crc32(spec.name.encode()), int(minutes[0] // 60)])
        faults = self._faults_for(state, routing, minutes, span.faults)
        shape = np.asarray(model.daily_shape or (1.0,), dtype=float)
        hours = ((minutes // 3600) % 24).astype(int) % len(shape)
        rate = model.per_minute * shape[hours]
        sigma = math.log(max(model.duration_p95_ms, model.duration_p50_ms * 1.0001) / model.duration_p50_ms) / _Z95
        n = len(minutes)
        fn_dims: Dims = (("FunctionName", spec.name),)
        per_version: list[tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]] = []
        sample_minutes: list[np.ndarray[Any, Any]] = []
        sample_values: list[np.ndarray[Any, Any]] = []
        sample_versions: list[np.ndarray[Any, Any]] = []
        sample_weights: list[np.ndarray[Any, Any]] = []
        for index, (version, weight) in enumerate(routing.weights):
            error_rate, median, throttle_rate = faulted(faults, version, minutes, model.error_rate,
                                                        model.duration_p50_ms, model.throttles_per_minute * weight)
            invocations = rng.poisson(rate * weight)
            errors = rng.binomial(invocations, np.clip(error_rate, 0.0, 1.0))
            throttles = rng.poisson(throttle_rate)
            per_version.append((version, invocations, errors, throttles))
            total = int(invocations.sum())
            if total:
                # At most SAMPLES_PER_MINUTE drawn durations a minute, each standing for invocations/samples calls:
                # the same distribution, a tenth of the work at 600 invocations a minute.
                cap = SPLIT_SAMPLES_PER_MINUTE if len(routing.weights) > 1 else SAMPLES_PER_MINUTE
                drawn = np.minimum(invocations, cap)
                idx = np.repeat(np.arange(n), drawn)
                durations = np.exp(np.log(median[idx]) + sigma * rng.standard_normal(len(idx)))
                sample_minutes.append(idx)
                sample_values.append(durations)
                sample_versions.append(np.full(len(idx), index))
                sample_weights.append((invocations / np.maximum(drawn, 1))[idx])
        all_minutes = np.concatenate(sample_minutes) if sample_minutes else np.zeros(0, dtype=int)
        all_values = np.concatenate(sample_values) if sample_values else np.zeros(0)
        all_versions = np.concatenate(sample_versions) if sample_versions else np.zeros(0, dtype=int)
        all_weights = np.concatenate(sample_weights) if sample_weights else np.zeros(0)
        for index, (version, invocations, errors, throttles) in enumerate(per_version):
            if routing.alias is None:
                break
            dims: Dims = (("FunctionName", spec.name), ("Resource", f"{spec.name}:{routing.alias}"),
                          ("ExecutedVersion", version))
            mask = all_versions == index
            batch.add(dims, invocations, errors, throttles, all_minutes[mask], all_values[mask], all_weights[mask],
                      offset=offset)
        inv_sum = sum(v[1] for v in per_version)
        err_sum = sum(v[2] for v in per_version)
        thr_sum = sum(v[3] for v in per_version)
        batch.add(fn_dims, inv_sum, err_sum, thr_sum, all_minutes, all_values, all_weights, offset=offset)


def _ceil_minute(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


class Hurts(Protocol):
    def hurts(self, variant: str) -> bool: ...


def faulted(faults: Sequence[tuple[ResolvedFault, Hurts]], variant: str, minutes: np.ndarray[Any, Any],
            error_rate: float, median_ms: float, throttles: float = 0.0,
            ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per minute, the error rate, median duration (ms) and throttles a minute ``variant`` serves, its healthy
    values changed where a fault that hurts it is active (a Lambda version, an API stage's deployment)."""
    n = len(minutes)
    rates, medians, throttled = np.full(n, error_rate), np.full(n, median_ms), np.full(n, throttles)
    for fault, bound in faults:
        if not bound.hurts(variant):
            continue
        active = active_mask(fault, minutes)
        if fault.kind == "error_rate":
            rates[active] = np.maximum(rates[active], fault.value)
        elif fault.kind == "latency":
            scale = fault.fault.scale
            medians[active] = median_ms * scale if scale is not None else fault.value * 1000.0
        elif fault.kind == "throttles":
            throttled[active] = fault.value
    return rates, medians, throttled


def active_mask(fault: ResolvedFault, minutes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Which of ``minutes`` (epoch seconds) fall inside the fault's window (every one when it has no window)."""
    mask = np.ones(len(minutes), dtype=bool)
    if fault.start is not None:
        mask &= minutes >= fault.start.timestamp()
    if fault.end is not None:
        mask &= minutes < fault.end.timestamp()
    return mask


def _edges(fault: ResolvedFault, minutes: np.ndarray[Any, Any]) -> list[float]:
    """The first minute at which the fault is active in this span, if any (as a one-element list)."""
    active = np.flatnonzero(active_mask(fault, minutes))
    return [float(minutes[active[0]])] if len(active) else []
