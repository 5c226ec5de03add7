"""Metric datapoints in columns: what the traffic simulator makes, the bulk path carries and the store keeps.

A rehearsal of 200 functions writes millions of per-minute datapoints. As one
Python object each (a datum, then a stored point with two small arrays) they
cost most of the simulator's CPU and most of the rehearsal's memory. Here a
run of datapoints of one series is one ``Block``: a float64 column per
scalar (timestamp, SampleCount, Sum, Minimum, Maximum) and, for datapoints
published with ``Values``/``Counts``, one flat pool of values and counts with
an offset per datapoint. ``ColumnSeries`` keeps a series as such columns,
sorted by time (ties in arrival order, as CloudWatch returns them), and
answers a window's points period by period with the same arithmetic, in the
same order, as a list of point objects would: same answers, to the last bit.
``encode``/``decode`` are the bulk path's wire form (``POST /_golive/metrics``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Dims = tuple[tuple[str, str], ...]
Array = np.ndarray[Any, Any]
_PENDING = 32


@dataclass(frozen=True)
class Block:
    """Consecutive datapoints of one series (name, dimensions, unit), oldest first.

    ``offsets`` has one more entry than there are datapoints: datapoint ``i``'s distribution is
    ``values[offsets[i]:offsets[i + 1]]`` with its ``counts``; an empty slice is a datapoint published
    as a statistic set (no distribution). ``offsets`` None: no datapoint has a distribution.
    """

    name: str
    dims: Dims
    unit: str | None
    ts: Array
    count: Array
    total: Array
    minimum: Array
    maximum: Array
    offsets: Array | None = None
    values: Array | None = None
    counts: Array | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def distribution(self, i: int) -> tuple[Array, Array] | None:
        if self.offsets is None or self.values is None or self.counts is None:
            return None
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return (self.values[a:b], self.counts[a:b]) if b > a else None

    @classmethod
    def statistic_sets(cls, name: str, dims: Dims, unit: str | None, ts: Array, count: Array, total: Array,
                       minimum: Array, maximum: Array) -> Block:
        def f8(c: Array) -> Array:
            return np.asarray(c, dtype=np.float64)

        return cls(name, dims, unit, f8(ts), f8(count), f8(total), f8(minimum), f8(maximum))


def _f8(values: Any) -> Array:
    return np.ascontiguousarray(values, dtype="<f8")


def encode(account_id: str, region: str, namespace: str, blocks: Sequence[Block]) -> bytes:
    """The body of ``POST /_golive/metrics``: a JSON header (the blocks' series and sizes), then the columns."""
    header = {"account": account_id, "region": region, "namespace": namespace,
              "blocks": [[b.name, [list(p) for p in b.dims], b.unit, len(b),
                          0 if b.values is None else len(b.values)] for b in blocks]}
    parts = [json.dumps(header).encode(), b"\n"]
    for b in blocks:
        parts.extend(_f8(c).tobytes() for c in (b.ts, b.count, b.total, b.minimum, b.maximum))
        if b.offsets is not None and b.values is not None and b.counts is not None:
            parts.extend([np.ascontiguousarray(b.offsets, dtype="<i8").tobytes(), _f8(b.values).tobytes(),
                          _f8(b.counts).tobytes()])
    return b"".join(parts)


def decode(body: bytes) -> tuple[dict[str, Any], list[Block]]:
    """The header and blocks of an ``encode``d body (the arrays are views of ``body``)."""
    newline = body.index(b"\n")
    header: dict[str, Any] = json.loads(body[:newline])
    at = newline + 1
    blocks: list[Block] = []

    def take(dtype: str, n: int) -> Array:
        nonlocal at
        column = np.frombuffer(body, dtype=dtype, count=n, offset=at)
        at += 8 * n
        return column

    for name, dims, unit, n, m in header["blocks"]:
        scalars = [take("<f8", int(n)) for _ in range(5)]
        offsets = values = counts = None
        if m:
            offsets, values, counts = take("<i8", int(n) + 1), take("<f8", int(m)), take("<f8", int(m))
        ts, count, total, low, high = scalars
        blocks.append(Block(str(name), tuple((str(k), str(v)) for k, v in dims), unit, ts, count, total, low, high,
                            offsets=offsets, values=values, counts=counts))
    return header, blocks


class ColumnSeries:
    """All datapoints of one series, as columns sorted by timestamp; blocks appended are merged when read."""

    __slots__ = ("_count", "_length", "_maximum", "_minimum", "_pending", "_pool_counts", "_pool_values", "_start",
                 "_total", "_ts", "_unit", "_units")

    def __init__(self) -> None:
        empty = np.zeros(0)
        self._ts = self._count = self._total = self._minimum = self._maximum = empty
        self._unit = np.zeros(0, dtype=np.int16)
        self._start = self._length = np.zeros(0, dtype=np.int64)
        self._pool_values = self._pool_counts = empty
        self._units: list[str | None] = []
        self._pending: list[Block] = []

    def append(self, block: Block) -> None:
        if len(block):
            self._pending.append(block)
            if len(self._pending) >= _PENDING:
                self._merge()  # a block of a few minutes costs more than its numbers: keep few of them

    def __len__(self) -> int:
        self._merge()
        return len(self._ts)

    def _unit_id(self, unit: str | None) -> int:
        if unit not in self._units:
            self._units.append(unit)
        return self._units.index(unit)

    def _merge(self) -> None:
        if not self._pending:
            return
        blocks, self._pending = self._pending, []
        pool = len(self._pool_values)
        starts, lengths, values, counts = [self._start], [self._length], [self._pool_values], [self._pool_counts]
        for b in blocks:
            if b.offsets is None or b.values is None or b.counts is None:
                starts.append(np.zeros(len(b), dtype=np.int64))
                lengths.append(np.zeros(len(b), dtype=np.int64))
                continue
            offsets = np.asarray(b.offsets, dtype=np.int64)
            starts.append(offsets[:-1] - offsets[0] + pool)
            lengths.append(np.diff(offsets))
            values.append(np.asarray(b.values[offsets[0]:offsets[-1]], dtype=np.float64))
            counts.append(np.asarray(b.counts[offsets[0]:offsets[-1]], dtype=np.float64))
            pool += int(offsets[-1] - offsets[0])
        columns = [np.concatenate([getattr(self, f"_{c}")] + [np.asarray(getattr(b, c), dtype=np.float64) for b in blocks])
                   for c in ("ts", "count", "total", "minimum", "maximum")]
        unit = np.concatenate([self._unit] + [np.full(len(b), self._unit_id(b.unit), dtype=np.int16) for b in blocks])
        start, length = np.concatenate(starts), np.concatenate(lengths)
        ts = columns[0]
        if len(ts) > 1 and bool(np.any(ts[1:] < ts[:-1])):
            order = np.argsort(ts, kind="stable")  # ties keep their arrival order
            columns = [c[order] for c in columns]
            unit, start, length = unit[order], start[order], length[order]
        self._ts, self._count, self._total, self._minimum, self._maximum = columns
        self._unit, self._start, self._length = unit, start, length
        self._pool_values, self._pool_counts = np.concatenate(values), np.concatenate(counts)

    def periods(self, t0: float, t1: float, period: int, unit: str | None) -> Iterator[tuple[int, Period]]:
        """The datapoints in [t0, t1) of ``unit`` (any when None or empty), grouped by period index, in order."""
        self._merge()
        a, b = int(np.searchsorted(self._ts, t0, side="left")), int(np.searchsorted(self._ts, t1, side="left"))
        if b <= a:
            return
        rows = np.arange(a, b)
        if unit:
            if unit not in self._units:
                return
            rows = rows[self._unit[a:b] == self._units.index(unit)]
            if not len(rows):
                return
        index = ((self._ts[rows] - t0) // period).astype(np.int64)
        bounds = np.r_[0, np.flatnonzero(index[1:] != index[:-1]) + 1, len(rows)].tolist()
        for k in range(len(bounds) - 1):
            yield int(index[bounds[k]]), Period(self, rows[bounds[k]:bounds[k + 1]])

    def points(self, group: Array) -> list[tuple[float, float, float, float, float, str | None]]:
        """(timestamp, SampleCount, Sum, Minimum, Maximum, unit) of each datapoint of ``group``."""
        return [(float(self._ts[i]), float(self._count[i]), float(self._total[i]), float(self._minimum[i]),
                 float(self._maximum[i]), self._units[int(self._unit[i])]) for i in group.tolist()]


class Period:
    """The datapoints of one period of one series: its statistics, as CloudWatch computes them."""

    __slots__ = ("group", "series")

    def __init__(self, series: ColumnSeries, group: Array) -> None:
        self.series = series
        self.group = group

    def sample_count(self) -> float:
        return float(sum(self.series._count[self.group].tolist()))

    def total(self) -> float:
        return float(sum(self.series._total[self.group].tolist()))

    def minimum(self) -> float:
        return float(min(self.series._minimum[self.group].tolist()))

    def maximum(self) -> float:
        return float(max(self.series._maximum[self.group].tolist()))

    def distribution(self) -> tuple[Array, Array] | None:
        """Every datapoint's values and counts, in order; a statistic set counts as its Minimum only when its
        SampleCount is 1 or Minimum equals Maximum (as in CloudWatch). None when no datapoint counts."""
        s, g = self.series, self.group
        starts, lengths = s._start[g], s._length[g]
        if bool(np.all(lengths > 0)) and bool(np.all(starts[1:] == starts[:-1] + lengths[:-1])):
            a, b = int(starts[0]), int(starts[-1] + lengths[-1])
            return s._pool_values[a:b], s._pool_counts[a:b]
        values: list[Array] = []
        counts: list[Array] = []
        for i, start, length in zip(g.tolist(), starts.tolist(), lengths.tolist(), strict=True):
            if length:
                values.append(s._pool_values[start:start + length])
                counts.append(s._pool_counts[start:start + length])
            elif s._count[i] > 0 and (s._count[i] == 1 or s._minimum[i] == s._maximum[i]):
                values.append(np.array([s._minimum[i]]))
                counts.append(np.array([s._count[i]]))
        if not values:
            return None
        return np.concatenate(values), np.concatenate(counts)
