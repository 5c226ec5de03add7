"""Where each canary test would have rolled back, recomputed from a look's recorded counts, for the charts.

The judge decides on counts, not on ratios of percentiles: the error test compares the canary's errors with the
stable's (a conditional test of two Poisson rates, stratified by function), the latency tail test counts the
canary calls above the stable's pNN × (1 + tolerance). A chart that shows what was decided draws the quantity
tested against the value at which the test rejects at the look's ``alpha``, with the same statistics
(``analysis.stats``) on the same counts the look recorded:

- errors: the canary error rate over the bake so far, and the rate at which it would have been rolled back
  (the smallest canary error count the test rejects, given the stable's errors and both versions' calls,
  spread over the functions as their canary calls are);
- tail: the canary calls above the threshold, and the most the test allows (the largest count it does not reject,
  by the judge's own ``tail_p_value``; the binomial where the stable's own counts were not recorded).

Results recorded before the judge kept the stable's counts (``stable_events``) give no bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from golive.analysis.judge import TailCount, tail_p_value
from golive.analysis.stats import Stratum, binomial_sf, rate_test


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _first_rejected(p_value: Callable[[int], float], alpha: float, low: int, high: int) -> int | None:
    """The smallest count in [low, high] whose p-value is below ``alpha`` (p falls as the count grows).

    Probes go up from ``low`` in doubling steps before the bisection, so no p-value far above the answer is
    computed: the exact tests cost more the larger the count (a project's 50,000 calls would be probed at 25,000).
    """
    probe, step = low, 1
    while p_value(probe) >= alpha:
        if probe >= high:
            return None
        low, probe, step = probe + 1, min(high, probe + step), step * 2
    high = probe
    while low < high:
        middle = (low + high) // 2
        if p_value(middle) < alpha:
            high = middle
        else:
            low = middle + 1
    return low


def error_bound(pooled: Mapping[str, Any], functions: Sequence[Mapping[str, Any]]) -> float | None:
    """The canary error rate at which the look's error test (``pooled``: the project's, or one function's) rejects.

    ``functions`` are the same look's per-function results (the strata of a pooled test); empty for one function.
    """
    alpha, tolerance = _number(pooled.get("alpha")), _number(pooled.get("tolerance"))
    rows = [r for r in functions if _number(r.get("stable_events")) is not None] or [pooled]
    calls = [(_number(r.get("n_canary")) or 0.0, _number(r.get("stable_events")), _number(r.get("n_stable")) or 0.0)
             for r in rows]
    canary_calls = sum(c for c, _, _ in calls)
    if alpha is None or tolerance is None or canary_calls <= 0 or any(s is None for _, s, _ in calls):
        return None

    def p_value(events: int) -> float:
        strata = [Stratum(events * c / canary_calls, c, s or 0.0, n) for c, s, n in calls]
        return rate_test(strata, 1.0 + tolerance).p_value

    found = _first_rejected(p_value, alpha, 0, math.ceil(canary_calls))
    return None if found is None else found / canary_calls


def tail_allowed(result: Mapping[str, Any], functions: Sequence[Mapping[str, Any]]) -> float | None:
    """The most canary calls above the threshold the look's tail test (``result``) does not reject."""
    alpha, expected = _number(result.get("alpha")), _number(result.get("expected"))
    n = round(_number(result.get("n_canary")) or 0.0)
    if alpha is None or expected is None or n <= 0 or result.get("stable_events") is None:
        return None
    tails = [TailCount(quantile=0.0, reference=0.0, threshold=0.0, samples=_number(r.get("n_canary")) or 0.0,
                       above=0.0, stable_samples=_number(r.get("n_stable")) or 0.0,
                       stable_above=_number(r.get("stable_events")) or 0.0, before=bool(r.get("before")))
             for r in (functions or [result])]

    def p_value(k: int) -> float:
        found = tail_p_value(k, tails)
        return binomial_sf(k, n, expected) if found is None else found
    found = _first_rejected(p_value, alpha, 0, n)
    return float(n if found is None else found - 1)
