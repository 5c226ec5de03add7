"""Percentile statistics and an indexed metric store for the sandbox's own moto CloudWatch.

moto 5.2's ``GetMetricData`` knows only Sum/Average/Minimum/Maximum/SampleCount,
expands every ``Values``/``Counts`` pair into one Python object per count, scans
every stored point once per period of every query, and ignores the namespace
when a query has dimensions. golive's production query path asks for
``Stat: "p95"`` over many series, so the sandbox replaces moto's CloudWatch
backend class (in the sandbox process only) with one that:

- keeps each datum as one compact point (count, sum, min, max and, when
  published with ``Values``/``Counts``, the distribution) in a per-series index
  keyed by namespace, metric name and the exact dimension set, sorted by time;
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

import bisect
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.cloudwatch.metric_data_expression_parser import parse_expression

SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]
Distribution = np.ndarray[Any, Any] | None
# name, dimensions, epoch seconds, count, sum, min, max, unit, values, counts
IngestRow = tuple[str, list[tuple[str, str]], float, float, float, float, float, str | None, Distribution, Distribution]

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


class Point:
    """One stored datum: a per-period aggregate, with its distribution when it was published."""

    __slots__ = ("count", "counts", "maximum", "minimum", "total", "ts", "unit", "values")

    def __init__(self, ts: float, count: float, total: float, minimum: float, maximum: float, unit: str | None,
                 values: Distribution = None, counts: Distribution = None) -> None:
        self.ts = ts
        self.count = count
        self.total = total
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        self.values = values
        self.counts = counts


@dataclass
class Series:
    """All points of one (namespace, name, dimensions), sorted by timestamp."""

    times: list[float] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    def add(self, point: Point) -> None:
        if not self.times or point.ts >= self.times[-1]:
            self.times.append(point.ts)
            self.points.append(point)
            return
        index = bisect.bisect_right(self.times, point.ts)
        self.times.insert(index, point.ts)
        self.points.insert(index, point)

    def window(self, start: float, end: float) -> list[Point]:
        return self.points[bisect.bisect_left(self.times, start) : bisect.bisect_left(self.times, end)]


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


def _point(member: dict[str, Any]) -> Point:
    ts = _epoch(member.get("Timestamp"))
    unit = member.get("Unit")
    if member.get("Values"):
        values = np.asarray([float(v) for v in member["Values"]], dtype=float)
        counts = np.asarray([float(c) for c in (member.get("Counts") or [1.0] * len(values))], dtype=float)
        keep = counts > 0
        values, counts = values[keep], counts[keep]
        if not len(values):
            return Point(ts, 0.0, 0.0, math.inf, -math.inf, unit)
        return Point(ts, float(counts.sum()), float((values * counts).sum()), float(values.min()), float(values.max()),
                     unit, values, counts)
    if member.get("StatisticValues"):
        stats = member["StatisticValues"]
        return Point(
            ts,
            count=float(stats["SampleCount"]),
            total=float(stats["Sum"]),
            minimum=float(stats["Minimum"]),
            maximum=float(stats["Maximum"]),
            unit=unit,
        )
    value = float(member.get("Value", 0.0))
    return Point(ts, 1.0, value, value, value, unit, np.array([value]), np.array([1.0]))


def statistic(points: list[Point], stat: str) -> float | None:
    """One statistic over the points of one period; None when CloudWatch would return no datapoint."""
    if not points:
        return None
    if stat == "SampleCount":
        return sum(p.count for p in points)
    if stat == "Sum":
        return sum(p.total for p in points)
    if stat == "Average":
        n = sum(p.count for p in points)
        return sum(p.total for p in points) / n if n else None
    if stat == "Minimum":
        return min(p.minimum for p in points)
    if stat == "Maximum":
        return max(p.maximum for p in points)
    pct = percentile_of(stat)
    bounds = rank_bounds(stat) if pct is None else None
    if pct is None and bounds is None:
        return None
    values: list[np.ndarray[Any, Any]] = []
    counts: list[np.ndarray[Any, Any]] = []
    for p in points:
        if p.values is not None and p.counts is not None:
            values.append(p.values)
            counts.append(p.counts)
        elif p.count > 0 and (p.count == 1 or p.minimum == p.maximum):
            values.append(np.array([p.minimum]))
            counts.append(np.array([p.count]))
    if not values:
        return None
    if bounds is not None:
        flat, weights = np.concatenate(values), np.concatenate(counts)
        inside = (flat > bounds[0]) & (flat <= bounds[1])
        total = float(weights.sum())
        return 100.0 * float(weights[inside].sum()) / total if total > 0 else None
    assert pct is not None
    return weighted_percentile(np.concatenate(values), np.concatenate(counts), pct)


def _valid_stat(stat: str) -> bool:
    return stat in _BASIC or percentile_of(stat) is not None or rank_bounds(stat) is not None


class PercentileCloudWatchBackend(cw_models.CloudWatchBackend):
    """moto's CloudWatch backend with an indexed store, pNN and PR(a:b) statistics."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.series: dict[SeriesKey, Series] = {}
        self._index_lock = threading.Lock()

    @property
    def _url_module(self) -> Any:
        from moto.cloudwatch import urls

        return urls

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for number, member in enumerate(metric_data, start=1):
            self._validate_parameters_put_metric_data(member, number)
        with self._index_lock:
            for member in metric_data:
                dimensions = member.get("Dimensions") or []
                key = _key(namespace, member["MetricName"], dimensions)
                series = self.series.get(key)
                if series is None:
                    series = self.series[key] = Series()
                    # One representative per series keeps ListMetrics working (and fast).
                    self.metric_data.append(
                        cw_models.MetricDatum(namespace, member["MetricName"], 0.0, dimensions, None, member.get("Unit"))
                    )
                series.add(_point(member))

    def ingest(self, namespace: str, rows: list[IngestRow]) -> int:
        """Store rows written by the sandbox's Lambda emulation in bulk (see ``moto_server.INGEST_PATH``)."""
        keys: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
        with self._index_lock:
            for name, dims, ts, count, total, low, high, unit, values, counts in rows:
                lookup = (name, tuple(dims))
                series = keys.get(lookup)
                if series is None:
                    dimensions = [{"Name": k, "Value": v} for k, v in dims]
                    key = _key(namespace, name, dimensions)
                    series = self.series.get(key)
                    if series is None:
                        series = self.series[key] = Series()
                        self.metric_data.append(cw_models.MetricDatum(namespace, name, 0.0, dimensions, None, unit))
                    keys[lookup] = series
                series.add(Point(ts, count, total, low, high, unit, values, counts))
        return len(rows)

    def _query(self, key: SeriesKey, start: datetime, end: datetime, period: int, stat: str,
               unit: str | None) -> tuple[list[float], list[datetime]]:
        series = self.series.get(key)
        if series is None:
            return [], []
        t0, t1 = start.timestamp(), end.timestamp()
        buckets: dict[int, list[Point]] = {}
        for p in series.window(t0, t1):
            if unit and p.unit != unit:
                continue
            buckets.setdefault(int((p.ts - t0) // period), []).append(p)
        values: list[float] = []
        stamps: list[datetime] = []
        for index in sorted(buckets):
            value = statistic(buckets[index], stat)
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
        with self._index_lock:
            series = self.series.get(_key(namespace, metric_name, dimensions))
            points = series.window(start_time.timestamp(), end_time.timestamp()) if series else []
        buckets: dict[int, list[Point]] = {}
        t0 = start_time.timestamp()
        for p in points:
            if unit and p.unit != unit:
                continue
            buckets.setdefault(int((p.ts - t0) // period), []).append(p)
        out: list[cw_models.Statistics] = []
        for index in sorted(buckets):
            s = cw_models.Statistics(stats, start_time + timedelta(seconds=index * period), unit)
            s.metric_data = [
                cw_models.MetricAggregatedDatum(namespace, metric_name, p.minimum, p.maximum, p.count, p.total,
                                                dimensions, None, p.unit)
                for p in buckets[index]
            ]
            s.unit = buckets[index][-1].unit
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
        dimensions = [{"Name": d.name, "Value": d.value} for d in md.dimensions]
        key = _key(md.namespace, md.name, dimensions)
        series = backend.series.get(key)
        if series is None:
            series = backend.series[key] = Series()
            backend.metric_data.append(md)
        ts = _epoch(md.timestamp)
        if isinstance(md, cw_models.MetricAggregatedDatum):
            series.add(Point(ts, float(md.sample_count), float(md.sum), float(md.min), float(md.max), md.unit))
        elif isinstance(md, cw_models.MetricDatum):
            value = float(md.value)
            series.add(Point(ts, 1.0, value, value, value, md.unit, np.array([value]), np.array([1.0])))
