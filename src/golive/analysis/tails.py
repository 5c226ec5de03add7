"""The canary's latency tail, read by counts: CloudWatch's percentile rank against the stable version's percentile.

Per-minute p95 values say little about a canary at 60 calls a minute (ten
minutes are ten numbers). CloudWatch keeps the distribution, though: over
the compared window, the stable version's ``pNN`` gives a threshold x
(times the plan's tolerance), and ``PR(x:)`` on the canary version gives
the share of its calls above x, which with its ``SampleCount`` is a count
of calls, tested exactly (``judge.MetricKind.TAIL``). Two rounds of
``GetMetricData``: the stable's percentiles and the canary's counts first,
then percentile-rank queries per function and percentile (x differs): the
canary's share above x, and the stable's own share above its percentile
(which makes the test exact for the percentile's sampling noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from golive.analysis.judge import TailCount
from golive.analysis.metrics import MetricSource, Scope, SeriesRequest


def _stat(quantile: float) -> str:
    return f"p{quantile * 100:g}"


def _one(source_values: dict[datetime, float]) -> float | None:
    return next(iter(source_values.values()), None)


def fetch_tails(source: MetricSource, pairs: Sequence[tuple[Scope, Scope]], quantiles: Sequence[float],
                tolerance: float, start: datetime, end: datetime) -> tuple[dict[Scope, list[TailCount]], str | None]:
    """Per canary scope of ``pairs`` (canary, stable): its tail counts over [start, end); or the fetch's error.

    A function whose stable version has no duration datapoint in the window gets no counts (its tail test
    is Inconclusive); a canary without calls counts 0 of 0.
    """
    period = int((end - start).total_seconds())
    first: list[SeriesRequest] = []
    for canary, stable in pairs:
        first += [SeriesRequest(canary, "duration", "SampleCount", period),
                  SeriesRequest(stable, "duration", "SampleCount", period)]
        for q in quantiles:
            first += [SeriesRequest(stable, "duration", _stat(q), period), SeriesRequest(canary, "duration", _stat(q), period)]
    fetched = source.fetch(first, start, end)
    if fetched.error:
        return {}, fetched.error
    thresholds: dict[tuple[Scope, float], tuple[float, float]] = {}
    ranks: list[SeriesRequest] = []
    for canary, stable in pairs:
        for q in quantiles:
            reference = _one(fetched.get(SeriesRequest(stable, "duration", _stat(q), period)).values())
            if reference is None or reference <= 0:
                continue
            x = reference * (1.0 + tolerance)
            thresholds[(canary, q)] = (reference, x)
            ranks.append(SeriesRequest(canary, "duration", f"PR({x:.6g}:)", period))
            ranks.append(SeriesRequest(stable, "duration", f"PR({reference:.6g}:)", period))
    counted = source.fetch(ranks, start, end) if ranks else None
    if counted is not None and counted.error:
        return {}, counted.error
    out: dict[Scope, list[TailCount]] = {}
    for canary, stable in pairs:
        samples = _one(fetched.get(SeriesRequest(canary, "duration", "SampleCount", period)).values()) or 0.0
        stable_samples = _one(fetched.get(SeriesRequest(stable, "duration", "SampleCount", period)).values()) or 0.0
        found: list[TailCount] = []
        for q in quantiles:
            if (canary, q) not in thresholds or counted is None:
                continue
            reference, x = thresholds[(canary, q)]
            percent = _one(counted.get(SeriesRequest(canary, "duration", f"PR({x:.6g}:)", period)).values()) or 0.0
            stable_share = _one(counted.get(SeriesRequest(stable, "duration", f"PR({reference:.6g}:)", period)).values())
            own = _one(fetched.get(SeriesRequest(canary, "duration", _stat(q), period)).values())
            found.append(TailCount(quantile=q, reference=reference / 1000.0, threshold=float(f"{x:.6g}") / 1000.0,
                                   samples=samples, above=percent / 100.0 * samples, stable_samples=stable_samples,
                                   stable_above=(stable_share or 0.0) / 100.0 * stable_samples,
                                   canary_value=own / 1000.0 if own is not None else None))
        out[canary] = found
    return out, None
