"""The canary's latency tail, read by counts: CloudWatch's percentile rank against the stable version's percentile.

Per-minute p95 values say little about a canary at 60 calls a minute (ten
minutes are ten numbers). CloudWatch keeps the distribution, though: a
stable ``pNN`` gives a line r, and ``PR(x:)`` on the canary version at
x = r × (1 + the plan's tolerance) gives the share of its calls above x,
which with its ``SampleCount`` is a count of calls, tested exactly
(``judge.MetricKind.TAIL``) against the stable's own share above r.

Where r comes from decides how many ``GetMetricData`` calls a look costs:

- the stable's pNN over its hour before the first shift (``references``, read
  once a canary with its history): r is known before the look, so every
  count is asked in the look's one call; unless the stable's own share of
  calls above r in the window says r drifted (``line_drift``: a slower hour
  before the shift would set r above a slow canary), when the window's own
  pNN is the line, as without a history;
- otherwise (no history, or no duration in it), the stable's pNN over the
  window itself: two rounds, the percentiles first, then the percentile
  ranks at the lines they give (x differs per function and percentile).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from golive.analysis.judge import TailCount
from golive.analysis.metrics import Fetch, MetricSource, Scope, SeriesRequest
from golive.analysis.stats import binomial_sf

# Per stable scope label, its history (``analysis.history``): ``{"p95": ms, "p99": ms, ...}`` among the counts.
References = Mapping[str, Mapping[str, float]]


def stat(quantile: float) -> str:
    return f"p{quantile * 100:g}"


def _rank(line: float) -> str:
    return f"PR({line:.6g}:)"


def _one(source_values: dict[datetime, float]) -> float | None:
    return next(iter(source_values.values()), None)


def _calls(value: float | None) -> float:
    """A sample count as a count of calls: one that is not a finite number of calls (NaN, negative) is none."""
    return value if value is not None and math.isfinite(value) and value > 0 else 0.0


def _known(stable: Scope, quantiles: Sequence[float], references: References | None) -> dict[float, float] | None:
    """The stable's line per percentile from before the shift (ms), when it has one for every percentile."""
    found = (references or {}).get(stable.label) or {}
    lines = {q: float(found[stat(q)]) for q in quantiles if float(found.get(stat(q)) or 0.0) > 0}
    return lines if len(lines) == len(quantiles) else None


def tail_requests(pairs: Sequence[tuple[Scope, Scope]], quantiles: Sequence[float], tolerance: float, period: int,
                  references: References | None = None) -> list[SeriesRequest]:
    """The first (for a pair with lines from before the shift, the only) round of the tail's queries."""
    out: list[SeriesRequest] = []
    for canary, stable in pairs:
        out += [SeriesRequest(canary, "duration", "SampleCount", period),
                SeriesRequest(stable, "duration", "SampleCount", period)]
        lines = _known(stable, quantiles, references)
        for q in quantiles:
            # The stable's own percentile over the window: the line when none was read before the shift, or when
            # that one no longer cuts the stable's calls where it did (``line_drift``).
            out += [SeriesRequest(canary, "duration", stat(q), period), SeriesRequest(stable, "duration", stat(q), period)]
            if lines is not None:
                out += [SeriesRequest(canary, "duration", _rank(lines[q] * (1.0 + tolerance)), period),
                        SeriesRequest(stable, "duration", _rank(lines[q]), period)]
    return out


DRIFT_FACTOR = 2.0  # a line still cuts the stable where it was drawn if its share above is within half to double


def drift_band(quantile: float) -> tuple[float, float]:
    """The stable's shares above a line from before the shift that still make it that percentile's line."""
    return (1.0 - quantile) / DRIFT_FACTOR, min(1.0, (1.0 - quantile) * DRIFT_FACTOR)


def line_drift(stable_samples: float, stable_above: float, quantile: float) -> float:
    """Two-sided p-value that the stable's share of calls above a line read before the shift is still within
    ``drift_band`` of the ``1 - quantile`` it was drawn at. A line from a slower hour (the stable's share above it
    far below) would let a slow canary pass under it; CloudWatch's percentiles are bucketed, so a share a little
    off (3.9% for a p95) is the same line, not a drift."""
    n, a = round(stable_samples), round(stable_above)
    if n <= 0:
        return 1.0
    low, high = drift_band(quantile)
    below = 1.0 - binomial_sf(a + 1, n, low)  # P(X <= a) were the share at the band's bottom
    above = binomial_sf(a, n, high)  # P(X >= a) were it at the band's top
    return min(1.0, 2.0 * min(below, above))


def fetch_tails(source: MetricSource, pairs: Sequence[tuple[Scope, Scope]], quantiles: Sequence[float],
                tolerance: float, start: datetime, end: datetime, references: References | None = None,
                drift_alpha: float = 0.01) -> tuple[dict[Scope, list[TailCount]], str | None]:
    """Per canary scope of ``pairs`` (canary, stable): its tail counts over [start, end); or the fetch's error.

    A line from before the shift is left out, for the window's own stable percentile (one more call), when the
    stable's share of calls above it in the window says it drifted (``line_drift`` below ``drift_alpha``): a slow
    hour's p95 would let a slow canary pass under it. A function whose stable version has no line (no duration
    before the shift nor in the window) gets no counts (its tail test is Inconclusive); a canary without calls
    counts 0 of 0.
    """
    period = int((end - start).total_seconds())
    fetched = source.fetch(tail_requests(pairs, quantiles, tolerance, period, references), start, end)
    if fetched.error:
        return {}, fetched.error

    def share(request: SeriesRequest, answered: Fetch) -> float | None:
        """A percentile rank's answer as a percentage; one out of [0, 100] (or NaN) is no answer."""
        value = _one(answered.get(request).values())
        return value if value is not None and 0.0 <= value <= 100.0 else None

    lines: dict[tuple[Scope, float], tuple[float, float, bool]] = {}
    notes: dict[tuple[Scope, float], str] = {}
    ranks: list[SeriesRequest] = []
    for canary, stable in pairs:
        known = _known(stable, quantiles, references)
        stable_samples = _calls(_one(fetched.get(SeriesRequest(stable, "duration", "SampleCount", period)).values()))
        for q in quantiles:
            if known is not None:
                above = (share(SeriesRequest(stable, "duration", _rank(known[q]), period), fetched) or 0.0) / 100.0
                p = line_drift(stable_samples, above * stable_samples, q)
                if p >= drift_alpha:
                    lines[(canary, q)] = (known[q], known[q] * (1.0 + tolerance), True)
                    continue
                low, high = drift_band(q)
                notes[(canary, q)] = (f"the stable's {stat(q)} before the shift ({known[q]:.0f} ms) left out: "
                                      f"{above:.1%} of its calls in the window above it, outside {low:.1%}.."
                                      f"{high:.0%} (p={p:.2g} < {drift_alpha:g}); the window's own {stat(q)} instead")
            reference = _one(fetched.get(SeriesRequest(stable, "duration", stat(q), period)).values())
            if reference is None or not math.isfinite(reference) or reference <= 0:
                continue
            lines[(canary, q)] = (reference, reference * (1.0 + tolerance), False)
            ranks += [SeriesRequest(canary, "duration", _rank(reference * (1.0 + tolerance)), period),
                      SeriesRequest(stable, "duration", _rank(reference), period)]
    counted = source.fetch(ranks, start, end) if ranks else Fetch()
    if counted.error:
        return {}, counted.error

    out: dict[Scope, list[TailCount]] = {}
    for canary, stable in pairs:
        samples = _calls(_one(fetched.get(SeriesRequest(canary, "duration", "SampleCount", period)).values()))
        stable_samples = _calls(_one(fetched.get(SeriesRequest(stable, "duration", "SampleCount", period)).values()))
        found: list[TailCount] = []
        for q in quantiles:
            if (canary, q) not in lines:
                continue
            reference, x, before = lines[(canary, q)]
            answered = fetched if before else counted
            percent = share(SeriesRequest(canary, "duration", _rank(x), period), answered) or 0.0
            stable_share = share(SeriesRequest(stable, "duration", _rank(reference), period), answered)
            own = _one(fetched.get(SeriesRequest(canary, "duration", stat(q), period)).values())
            found.append(TailCount(quantile=q, reference=reference / 1000.0, threshold=float(f"{x:.6g}") / 1000.0,
                                   samples=samples, above=percent / 100.0 * samples, stable_samples=stable_samples,
                                   stable_above=(stable_share or 0.0) / 100.0 * stable_samples,
                                   canary_value=own / 1000.0 if own is not None else None, before=before,
                                   note=notes.get((canary, q), "")))
        out[canary] = found
    return out, None
