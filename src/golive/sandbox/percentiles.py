"""Percentile statistics and an indexed metric store for the sandbox's own moto CloudWatch.

moto 5.2's ``GetMetricData`` knows only Sum/Average/Minimum/Maximum/SampleCount,
expands every ``Values``/``Counts`` pair into one Python object per count, scans
every stored point once per period of every query, and ignores the namespace
when a query has dimensions. golive's production query path asks for
``Stat: "p95"`` over many series, so the sandbox replaces moto's CloudWatch
backend class (in the sandbox process only) with one that:

- keeps each series (namespace, metric name, exact dimension set) as columns
  sorted by time (``golive.sandbox.blocks.ColumnSeries``: count, sum, min, max
  and, when published with ``Values``/``Counts``, the distribution), so a
  datapoint costs its numbers, not a Python object;
- answers ``GetMetricData`` and ``GetMetricStatistics`` from that index
  (binary search on the window, one pass per query), matching the namespace
  and the exact dimension set as CloudWatch does;
- computes ``pNN`` / ``pNN.N`` and the percentile ranks ``PR(a:b)``, ``PR(a:)``,
  ``PR(:b)`` (the percentage of datapoints with a < value <= b, as CloudWatch
  defines them) from the stored distributions. A
  ``StatisticValues`` datum has no distribution; as in CloudWatch it counts
  towards a percentile only when its SampleCount is 1 or Minimum == Maximum.

The percentile is the weighted inverse of the empirical CDF (numpy's
``method="inverted_cdf"``): the smallest value whose cumulative count reaches
``p/100`` of the samples.

``install()`` swaps the class into moto's ``cloudwatch_backends`` (converting
backends that already exist in this process, data included).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression

from golive.analysis.metrics import LAMBDA_NAMESPACE
from golive.sandbox.blocks import Block, ColumnSeries, Dims, Period

SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]
Distribution = np.ndarray[Any, Any] | None

_PERCENTILE = re.compile(r"^[pP](\d{1,2}(?:\.\d+)?|100(?:\.0+)?)$")
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_RANK = re.compile(rf"^PR\({_NUMBER}?:{_NUMBER}?\)$", re.IGNORECASE)
_BASIC = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")


def percentile_of(stat: str) -> float | None:
    """The percentile a statistic name asks for (``p95`` -> 95.0, ``p99.9`` -> 99.9), or None."""
    match = _PERCENTILE.match(stat)
    return float(match.group(1)) if match else None


def rank_bounds(stat: str) -> tuple[float, float] | None:
    """The (a, b] a percentile-rank statistic asks about (``PR(100:2000)``, ``PR(:300)``, ``PR(5:)``), or None."""
    match = _RANK.match(stat)
    if match is None or (match.group(1) is None and match.group(2) is None):
        return None
    low = float(match.group(1)) if match.group(1) is not None else -math.inf
    high = float(match.group(2)) if match.group(2) is not None else math.inf
    return (low, high) if low < high else None


def weighted_percentile(values: np.ndarray[Any, Any], counts: np.ndarray[Any, Any], pct: float) -> float:
    """Smallest value whose cumulative count reaches pct% of the total (inverted CDF)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    cumulative = np.cumsum(counts[order])
    total = float(cumulative[-1])
    target = pct / 100.0 * total
    index = int(np.searchsorted(cumulative, target - 1e-9 * total, side="left"))
    return float(ordered[min(index, len(ordered) - 1)])


def _epoch(value: Any) -> float:
    if value is None:
        return datetime.now(UTC).timestamp()
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _key(namespace: str, name: str, dimensions: Any) -> SeriesKey:
    return namespace, name, frozenset((str(d["Name"]), str(d.get("Value"))) for d in dimensions or ())


def _block(member: dict[str, Any]) -> Block:
    """One PutMetricData member as a one-datapoint block (``Values`` summarized as CloudWatch does)."""
    ts = _epoch(member.get("Timestamp"))
    unit = member.get("Unit")
    name = str(member["MetricName"])
    namespace_dims: Dims = tuple((str(d["Name"]), str(d.get("Value"))) for d in member.get("Dimensions") or ())
    values: Distribution = None
    counts: Distribution = None
    if member.get("Values"):
        values = np.asarray([float(v) for v in member["Values"]], dtype=float)
        counts = np.asarray([float(c) for c in (member.get("Counts") or [1.0] * len(values))], dtype=float)
        keep = counts > 0
        values, counts = values[keep], counts[keep]
        if not len(values):
            return _one(name, namespace_dims, unit, ts, 0.0, 0.0, math.inf, -math.inf)
        return _one(name, namespace_dims, unit, ts, float(counts.sum()), float((values * counts).sum()),
                    float(values.min()), float(values.max()), values, counts)
    if member.get("StatisticValues"):
        stats = member["StatisticValues"]
        return _one(name, namespace_dims, unit, ts, float(stats["SampleCount"]), float(stats["Sum"]),
                    float(stats["Minimum"]), float(stats["Maximum"]))
    value = float(member.get("Value", 0.0))
    return _one(name, namespace_dims, unit, ts, 1.0, value, value, value, np.array([value]), np.array([1.0]))


def _one(name: str, dims: Dims, unit: str | None, ts: float, count: float, total: float, low: float, high: float,
         values: Distribution = None, counts: Distribution = None) -> Block:
    def column(x: float) -> np.ndarray[Any, Any]:
        return np.array([x], dtype=np.float64)

    scalars = column(ts), column(count), column(total), column(low), column(high)
    if values is None or counts is None:
        return Block(name, dims, unit, *scalars)
    return Block(name, dims, unit, *scalars, offsets=np.array([0, len(values)], dtype=np.int64),
                 values=values, counts=counts)


def statistic(period: Period, stat: str) -> float | None:
    """One statistic over the datapoints of one period; None when CloudWatch would return no datapoint."""
    if stat == "SampleCount":
        return period.sample_count()
    if stat == "Sum":
        return period.total()
    if stat == "Average":
        n = period.sample_count()
        return period.total() / n if n else None
    if stat == "Minimum":
        return period.minimum()
    if stat == "Maximum":
        return period.maximum()
    pct = percentile_of(stat)
    bounds = rank_bounds(stat) if pct is None else None
    if pct is None and bounds is None:
        return None
    found = period.distribution()
    if found is None:
        return None
    if bounds is not None:
        flat, weights = found
        inside = (flat > bounds[0]) & (flat <= bounds[1])
        total = float(weights.sum())
        return 100.0 * float(weights[inside].sum()) / total if total > 0 else None
    assert pct is not None
    return weighted_percentile(found[0], found[1], pct)


def _valid_stat(stat: str) -> bool:
    return stat in _BASIC or percentile_of(stat) is not None or rank_bounds(stat) is not None


ReadHook = Callable[[frozenset[str] | None], None]
"""Called before metrics are read: the AWS/Lambda function names the read names (None: any, or all)."""

_hooks: dict[tuple[str, str], list[ReadHook]] = {}
_hooks_lock = threading.Lock()


def on_read(account_id: str, region: str, hook: ReadHook) -> Callable[[], None]:
    """Run ``hook`` before any read of this account's and region's metrics; returns the call that removes it.

    The world draws a function's traffic when somebody reads it (``TrafficSimulator(deferred=True)``): the
    hook writes the minutes the clock has passed and nobody has read yet, before the read answers. The newest
    hook of an account and region is the one called: the process has one moto, so a newer world's reads must
    not draw an older world's minutes into its CloudWatch; once the newer one is removed, the older one's is
    called again (a test module's world outlives a test's own).
    """
    key = (account_id, region)
    with _hooks_lock:
        _hooks.setdefault(key, []).append(hook)

    def remove() -> None:
        with _hooks_lock:
            hooks = _hooks.get(key, [])
            if hook in hooks:
                hooks.remove(hook)
    return remove


def _names(metrics: Sequence[tuple[str, Any]]) -> frozenset[str] | None:
    """The FunctionName dimensions of the AWS/Lambda metrics read (None when one names no function)."""
    names: set[str] = set()
    for namespace, dimensions in metrics:
        if namespace != LAMBDA_NAMESPACE:
            continue
        found = [d.get("Value") for d in dimensions or [] if isinstance(d, dict) and d.get("Name") == "FunctionName"]
        if not found:
            return None
        names.update(str(v) for v in found)
    return frozenset(names)


class PercentileCloudWatchBackend(cw_models.CloudWatchBackend):
    """moto's CloudWatch backend with an indexed store, pNN and PR(a:b) statistics."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.series: dict[SeriesKey, ColumnSeries] = {}
        self._index_lock = threading.Lock()

    @property
    def _url_module(self) -> Any:
        from moto.cloudwatch import urls

        return urls

    def _series(self, namespace: str, name: str, dims: Dims, unit: str | None) -> ColumnSeries:
        key: SeriesKey = (namespace, name, frozenset(dims))
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = ColumnSeries()
            # One representative per series keeps ListMetrics working (and fast).
            self.metric_data.append(cw_models.MetricDatum(namespace, name, 0.0, [{"Name": k, "Value": v} for k, v in dims],
                                                          None, unit))
        return series

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for number, member in enumerate(metric_data, start=1):
            self._validate_parameters_put_metric_data(member, number)
        blocks = [_block(member) for member in metric_data]
        with self._index_lock:
            for block in blocks:
                self._series(namespace, block.name, block.dims, block.unit).append(block)

    def ingest(self, namespace: str, blocks: Sequence[Block]) -> int:
        """Store blocks written by the sandbox's Lambda emulation (in process, or by ``moto_server.INGEST_PATH``)."""
        with self._index_lock:
            for block in blocks:
                self._series(namespace, block.name, block.dims, block.unit).append(block)
        return sum(len(b) for b in blocks)

    def _before_read(self, names: frozenset[str] | None) -> None:
        if names is not None and not names:
            return
        with _hooks_lock:
            hooks = _hooks.get((self.account_id, self.region_name))
            hook = hooks[-1] if hooks else None
        if hook is not None:
            hook(names)

    def list_metrics(self, next_token: str | None, namespace: str, metric_name: str,
                     dimensions: list[dict[str, str]]) -> tuple[str | None, list[cw_models.MetricDatumBase]]:
        self._before_read(None)
        return super().list_metrics(next_token, namespace, metric_name, dimensions)

    def _query(self, key: SeriesKey, start: datetime, end: datetime, period: int, stat: str,
               unit: str | None) -> tuple[list[float], list[datetime]]:
        series = self.series.get(key)
        if series is None:
            return [], []
        values: list[float] = []
        stamps: list[datetime] = []
        for index, points in series.periods(start.timestamp(), end.timestamp(), period, unit):
            value = statistic(points, stat)
            if value is not None:
                values.append(value)
                stamps.append(start + timedelta(seconds=index * period))
        return values, stamps

    def get_metric_data(
        self,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        if len(queries) > 500:
            raise ValidationError("The collection MetricDataQueries must not have a size greater than 500.")
        self._before_read(_names([(q["MetricStat"]["Metric"].get("Namespace", ""),
                                   q["MetricStat"]["Metric"].get("Dimensions")) for q in queries if "MetricStat" in q]))
        results: list[dict[str, Any]] = []
        returned: list[dict[str, Any]] = []
        with self._index_lock:
            for number, query in enumerate(queries, start=1):
                if "MetricStat" not in query:
                    continue
                metric_stat = query["MetricStat"]
                metric = metric_stat["Metric"]
                stat = str(metric_stat["Stat"])
                if not _valid_stat(stat):
                    raise InvalidParameterValue(
                        f"The value {stat} for parameter MetricDataQueries.member.{number}.MetricStat.Stat is invalid."
                    )
                key = _key(metric.get("Namespace", ""), metric["MetricName"], metric.get("Dimensions"))
                values, stamps = self._query(key, start_time, end_time, int(metric_stat["Period"]), stat,
                                             metric_stat.get("Unit"))
                if scan_by == "TimestampDescending":
                    values.reverse()
                    stamps.reverse()
                result = {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                    "values": values,
                    "timestamps": stamps,
                    "status_code": "Complete",
                }
                results.append(result)
                if query.get("ReturnData", True):
                    returned.append(result)
        for query in queries:
            expression = query.get("Expression")
            if expression is None or "MetricStat" in query:
                continue
            found: tuple[Any, Any] = ([], []) if expression.startswith("SELECT") else parse_expression(expression, results)
            returned.append(
                {"id": query["Id"], "label": query.get("Label") or query["Id"], "values": found[0],
                 "timestamps": found[1], "status_code": "Complete"}
            )
        return returned

    def get_metric_statistics(
        self,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[cw_models.Statistics]:
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        self._before_read(_names([(namespace, dimensions)]))
        out: list[cw_models.Statistics] = []
        with self._index_lock:
            series = self.series.get(_key(namespace, metric_name, dimensions))
            periods = list(series.periods(start_time.timestamp(), end_time.timestamp(), period, unit)) if series else []
            for index, points in periods:
                rows = points.series.points(points.group)
                s = cw_models.Statistics(stats, start_time + timedelta(seconds=index * period), unit)
                s.metric_data = [
                    cw_models.MetricAggregatedDatum(namespace, metric_name, low, high, count, total, dimensions, None,
                                                    row_unit)
                    for _ts, count, total, low, high, row_unit in rows
                ]
                s.unit = rows[-1][5]
                out.append(s)
        return out


_install_lock = threading.Lock()


def install() -> None:
    """Make moto's CloudWatch (in this process) use ``PercentileCloudWatchBackend``; idempotent.

    Backends created before (by another in-process moto server) are converted in place, their
    stored datapoints moved into the index, so nothing they hold is lost.
    """
    with _install_lock:
        backends = cw_models.cloudwatch_backends
        if backends.backend is PercentileCloudWatchBackend:
            return
        backends.backend = PercentileCloudWatchBackend
        for account in list(backends.values()):
            account.backend = PercentileCloudWatchBackend
            for backend in list(account.values()):
                _convert(backend)


def _convert(existing: cw_models.CloudWatchBackend) -> None:
    old = list(existing.metric_data)
    existing.__class__ = PercentileCloudWatchBackend
    backend = cast(PercentileCloudWatchBackend, existing)
    backend.series = {}
    backend._index_lock = threading.Lock()
    backend.metric_data = []
    for md in old:
        dims: Dims = tuple((str(d.name), str(d.value)) for d in md.dimensions)
        ts = _epoch(md.timestamp)
        if isinstance(md, cw_models.MetricAggregatedDatum):
            block = _one(md.name, dims, md.unit, ts, float(md.sample_count), float(md.sum), float(md.min), float(md.max))
        elif isinstance(md, cw_models.MetricDatum):
            value = float(md.value)
            block = _one(md.name, dims, md.unit, ts, 1.0, value, value, value, np.array([value]), np.array([1.0]))
        else:
            continue
        key: SeriesKey = (md.namespace, md.name, frozenset(dims))
        if key not in backend.series:
            backend.series[key] = ColumnSeries()
            backend.metric_data.append(md)
        backend.series[key].append(block)
