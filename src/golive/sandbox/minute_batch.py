"""Simulated minutes, every function and version at once, turned into metric blocks.

The traffic simulator draws each function's invocations, errors, throttles
and duration samples with the function's own generator (so the same seed
and clock steps give the same metrics). Turning those draws into per-minute
datapoints (the nonzero counts, the durations grouped into 2 % buckets per
minute) was done function by function: some thirty numpy calls for a few
minutes of one function, repeated for hundreds of functions on every clock
advance. Here the draws of all series of a span are stacked and aggregated
in one pass (sorted by series, minute and bucket), then cut into one block
per series and metric. Each series' numbers are computed over the same
elements in the same order as before, so the datapoints are the same to the
last bit. A batch may hold several spans one after the other (the world
draws a function's minutes when they are read, ``TrafficSimulator(deferred=True)``):
a series added again at a later offset is the same series, and comes out as
one block.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np

from golive.sandbox.blocks import Block, Dims

Array = np.ndarray[Any, Any]
MAX_VALUES = 150
GRID = math.log(1.02)


def compress(values: Array, counts: Array) -> tuple[Array, Array]:
    """At most MAX_VALUES (value, count) pairs: neighbours merged into their count-weighted mean."""
    group = math.ceil(len(values) / MAX_VALUES)
    ids = np.arange(len(values)) // group
    merged_counts = np.bincount(ids, weights=counts)
    return np.bincount(ids, weights=values * counts) / merged_counts, merged_counts


def _order(ids: Array, minutes: Array, buckets: Array) -> Array:
    """``np.lexsort((buckets, minutes, ids))``: the samples by series, minute and bucket, ties in drawing order.

    A stable sort of one integer key made of the three (series, then minute, then bucket: the same order) is
    the same permutation at a fifth of the cost; lexsort sorts three times. Where the key could overflow, lexsort.
    """
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    low = int(buckets.min())
    spread = int(buckets.max()) - low + 1
    span = int(minutes.max()) + 1
    if int(minutes.min()) < 0 or int(ids.min()) < 0 or (int(ids.max()) + 1) * span * spread >= 2**62:
        return np.lexsort((buckets, minutes, ids))
    key = (ids.astype(np.int64) * span + minutes) * spread + (buckets - low)
    return np.argsort(key, kind="stable")


class MinuteBatch:
    """The draws of one span (``minutes``: epoch seconds of its whole minutes), series by series."""

    def __init__(self, minutes: Array) -> None:
        self.minutes = minutes
        self._dims: list[Dims] = []
        self._index: dict[Dims, int] = {}
        self._invocations: list[Array] = []
        self._errors: list[Array] = []
        self._throttles: list[Array] = []
        self._sample_series: list[Array] = []
        self._sample_minutes: list[Array] = []
        self._sample_values: list[Array] = []
        self._sample_weights: list[Array] = []

    def add(self, dims: Dims, invocations: Any, errors: Any, throttles: Any, sample_minutes: Array,
            sample_values: Array, sample_weights: Array, *, offset: int = 0) -> None:
        """One series' minutes from ``offset`` on: per-minute counts, and duration samples (minute index from
        ``offset``, value, calls each stands for). The same series added again (a later span) is the same series."""
        series = self._index.get(dims)
        if series is None:
            series = self._index[dims] = len(self._dims)
            self._dims.append(dims)
            for column in (self._invocations, self._errors, self._throttles):
                column.append(np.zeros(len(self.minutes), dtype=np.float64))
        n = len(invocations)
        self._invocations[series][offset:offset + n] = invocations
        self._errors[series][offset:offset + n] = errors
        self._throttles[series][offset:offset + n] = throttles
        if len(sample_values):
            self._sample_series.append(np.full(len(sample_values), series, dtype=np.int64))
            self._sample_minutes.append(np.asarray(sample_minutes, dtype=np.int64) + offset)
            self._sample_values.append(sample_values)
            self._sample_weights.append(sample_weights)

    def blocks(self) -> list[Block]:
        if not self._dims:
            return []
        return self._counts() + self._durations()

    def _counts(self) -> list[Block]:
        """Invocations and Errors for each minute with invocations (Errors only when non-zero); Throttles likewise."""
        minutes = self.minutes
        invocations, errors, throttles = (np.stack(c) for c in (self._invocations, self._errors, self._throttles))
        out: list[Block] = []
        for name, mask, count, total, low in (
            ("Invocations", invocations != 0, invocations, invocations, 1.0),
            ("Errors", (invocations != 0) & (errors != 0), invocations, errors, 0.0),
            ("Throttles", throttles != 0, throttles, throttles, 1.0),
        ):
            rows, cols = np.nonzero(mask)
            if not len(rows):
                continue
            counts, totals, stamps = count[rows, cols], total[rows, cols], minutes[cols]
            lows, highs = np.full(len(rows), low), np.ones(len(rows))
            cuts = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1, len(rows)].tolist()
            for a, b in pairwise(cuts):
                out.append(Block(name, self._dims[int(rows[a])], "Count", stamps[a:b], counts[a:b], totals[a:b],
                                 lows[a:b], highs[a:b]))
        return out

    def _durations(self) -> list[Block]:
        """One Duration datapoint a minute with samples: its samples' 2 % buckets (at most MAX_VALUES) and counts."""
        if not self._sample_values:
            return []
        ids = np.concatenate(self._sample_series)
        sm = np.concatenate(self._sample_minutes)
        values = np.concatenate(self._sample_values)
        weights = np.concatenate(self._sample_weights)
        buckets = np.floor(np.log(np.maximum(values, 1e-3)) / GRID).astype(np.int64)
        order = _order(ids, sm, buckets)  # stable: a bucket's samples keep their order of drawing
        ids, sm, sv, sb, sw = ids[order], sm[order], values[order], buckets[order], weights[order]
        new_minute = np.r_[True, (ids[1:] != ids[:-1]) | (sm[1:] != sm[:-1])]
        starts = np.flatnonzero(new_minute | np.r_[True, sb[1:] != sb[:-1]])
        minute_starts = np.flatnonzero(new_minute)
        group_counts = np.add.reduceat(sw, starts)
        group_values = np.exp((sb[starts] + 0.5) * GRID)
        first_group = np.searchsorted(starts, minute_starts)
        sums = np.add.reduceat(sv * sw, minute_starts)
        samples = np.rint(np.add.reduceat(sw, minute_starts))
        mins = np.minimum.reduceat(sv, minute_starts)
        maxs = np.maximum.reduceat(sv, minute_starts)
        stamps = self.minutes[sm[minute_starts]].astype(np.float64)
        minute_series = ids[minute_starts]
        cuts = np.r_[0, np.flatnonzero(minute_series[1:] != minute_series[:-1]) + 1, len(minute_starts)].tolist()
        bounds = np.r_[first_group, len(starts)]
        out: list[Block] = []
        for a, b in pairwise(cuts):
            g0, g1 = int(bounds[a]), int(bounds[b])
            offsets = bounds[a:b + 1] - g0
            vals, cnts = group_values[g0:g1], group_counts[g0:g1]
            if bool(np.any(np.diff(offsets) > MAX_VALUES)):
                parts = [(vals[x:y], cnts[x:y]) if y - x <= MAX_VALUES else compress(vals[x:y], cnts[x:y])
                         for x, y in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
                vals = np.concatenate([v for v, _ in parts])
                cnts = np.concatenate([c for _, c in parts])
                offsets = np.r_[0, np.cumsum([len(v) for v, _ in parts])].astype(np.int64)
            out.append(Block("Duration", self._dims[int(minute_series[a])], "Milliseconds", stamps[a:b], samples[a:b],
                             sums[a:b], mins[a:b], maxs[a:b], offsets=offsets.astype(np.int64), values=vals,
                             counts=cnts))
        return out
