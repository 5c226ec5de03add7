"""The statistical tests the canary judge uses, as pure functions over numbers.

Two kinds of data, two tests:

- **Counts** (errors, throttles per version): mostly zeros at canary volumes,
  so a rank test on per-minute rates says nothing. Instead the conditional
  test of two Poisson rates: given the total ``K = canary + stable`` events,
  the canary's share is Binomial(K, p0) with
  ``p0 = ρ·n_c / (ρ·n_c + n_s)`` when the canary's rate is ρ times the
  stable's (n = invocations, ρ = the tolerated ratio). It is exact, one-sided
  (only more errors is bad), and does not need the baseline rate: the stable
  version over the same minutes supplies it. Several functions (strata) are
  combined exactly by convolving their binomials, so a project whose five
  functions shift together is judged on all of its data at once.
- **Continuous values** (per-minute p95 duration): Mann-Whitney U and the
  Hodges-Lehmann estimate of the location shift with its confidence
  interval, as Kayenta does. Durations are compared on a log scale, so the
  shift reads as a ratio (``+30%``) and the effect-size tolerance is relative.

Plain Python (``math``, ``statistics``), no numpy or scipy: the sizes are a
bake's minutes and a window's error counts, and these two libraries were
most of a production install. The tests check every function against scipy.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from statistics import NormalDist
from typing import Literal

Alternative = Literal["greater", "less", "two-sided"]


@dataclass(frozen=True)
class Stratum:
    """One function's counts over the compared minutes: events and exposure (invocations) per version."""

    canary_events: float
    canary_exposure: float
    stable_events: float
    stable_exposure: float


@dataclass(frozen=True)
class RateTest:
    """The conditional test of two Poisson rates (one-sided: is the canary's rate above ρ × the stable's?)."""

    p_value: float
    canary_events: int
    total_events: int
    p0: float
    ratio: float  # estimated canary/stable rate ratio (Mantel-Haenszel over strata); inf if stable had none
    ratio_bound: float
    canary_exposure: float
    stable_exposure: float


# A probability this small cannot change any p-value a judge reads (its levels are above 1e-7); dropping it
# keeps convolutions short.
_NEGLIGIBLE = 1e-20


def _binomial_pmf(k: int, p: float) -> tuple[int, list[float]]:
    """Binomial(k, p)'s probabilities as (first index, values), without the negligible tails on either side."""
    if p <= 0.0 or p >= 1.0:
        return (0 if p <= 0.0 else k), [1.0]
    log_p, log_q, log_k = math.log(p), math.log1p(-p), math.lgamma(k + 1)
    pmf = [math.exp(log_k - math.lgamma(j + 1) - math.lgamma(k - j + 1) + j * log_p + (k - j) * log_q)
           for j in range(k + 1)]
    first = next(j for j, v in enumerate(pmf) if v > _NEGLIGIBLE)
    last = max(j for j, v in enumerate(pmf) if v > _NEGLIGIBLE)
    return first, pmf[first: last + 1]


def _convolve(a: tuple[int, list[float]], b: tuple[int, list[float]]) -> tuple[int, list[float]]:
    """The distribution of the sum of two independent counts given as (first index, probabilities)."""
    out = [0.0] * (len(a[1]) + len(b[1]) - 1)
    for i, x in enumerate(a[1]):
        for j, y in enumerate(b[1]):
            out[i + j] += x * y
    return a[0] + b[0], out


def _at_least(dist: tuple[int, list[float]], value: int) -> tuple[float, float]:
    """``P(X > value)`` and ``P(X == value)`` of a distribution given as (first index, probabilities)."""
    first, probs = dist
    at = probs[value - first] if first <= value < first + len(probs) else 0.0
    above = math.fsum(probs[max(value + 1 - first, 0):])
    return above, at


def _binomial_sf(value: int, k: int, p: float) -> float:
    """``P(X >= value)`` for X ~ Binomial(k, p)."""
    above, at = _at_least(_binomial_pmf(k, p), value)
    return min(1.0, above + at)


def rate_test(strata: Sequence[Stratum], ratio_bound: float = 1.0, *, mid_p: bool = False) -> RateTest:
    """One-sided exact conditional test that the canary's event rate exceeds ``ratio_bound`` × the stable's.

    With one stratum this is the classic conditional binomial test; with several, the statistic is
    the canary's total and its null distribution the convolution of each stratum's binomial.
    ``mid_p`` counts half the probability of the observed value (less conservative, not exact).
    """
    if ratio_bound <= 0:
        raise ValueError("ratio_bound must be positive")
    singles: list[tuple[int, int, float]] = []
    observed = total = 0
    num = den = ce = se = 0.0
    for s in strata:
        ce += s.canary_exposure
        se += s.stable_exposure
        if s.canary_exposure <= 0 or s.stable_exposure <= 0:
            continue
        exposure = s.canary_exposure + s.stable_exposure
        num += s.canary_events * s.stable_exposure / exposure
        den += s.stable_events * s.canary_exposure / exposure
        k = round(s.canary_events + s.stable_events)
        if k == 0:
            continue
        weighted = ratio_bound * s.canary_exposure
        p0 = weighted / (weighted + s.stable_exposure)
        singles.append((round(s.canary_events), k, p0))
        observed += round(s.canary_events)
        total += k
    if total == 0 or observed == 0:
        p_value = 1.0
    else:
        # Strata with the same p0 (the same canary share) add up to one binomial: exact, and no convolution.
        groups: dict[float, int] = {}
        for _, k, p0 in singles:
            groups[p0] = groups.get(p0, 0) + k
        if len(groups) == 1 and not mid_p:
            (p0, k), = groups.items()
            p_value = binomial_sf(observed, k, p0)
        else:
            dist: tuple[int, list[float]] = (0, [1.0])
            for p0, k in groups.items():
                dist = _convolve(dist, _binomial_pmf(k, p0))
            tail, at = _at_least(dist, observed)
            p_value = min(1.0, tail + (0.5 * at if mid_p else at))
    p0_all = (ratio_bound * ce) / (ratio_bound * ce + se) if ce + se > 0 else 0.0
    ratio = num / den if den > 0 else (math.inf if num > 0 else 1.0)
    return RateTest(p_value=p_value, canary_events=observed, total_events=total, p0=p0_all, ratio=ratio,
                    ratio_bound=ratio_bound, canary_exposure=ce, stable_exposure=se)


def rate_test_known(events: int, exposure: float, baseline_rate: float, alpha: float) -> tuple[int, float]:
    """The exact one-sided test that knows the true baseline rate: its critical count and actual size.

    Reject when ``events >= critical``; the benchmark uses it as the limit no method can beat.
    """
    n = round(exposure)
    first, probs = _binomial_pmf(n, baseline_rate)
    # sf[c] = P(X >= c) for c = 0 … n + 1
    upper = list(accumulate(reversed(probs)))[::-1]
    sf = [1.0] * first + [min(1.0, v) for v in upper] + [0.0] * (n + 2 - first - len(probs))
    critical = next(c for c in range(n + 2) if sf[c] <= alpha)
    return critical, sf[critical]


@dataclass(frozen=True)
class ShiftTest:
    """Mann-Whitney U with the Hodges-Lehmann shift (canary − stable) and its confidence interval."""

    statistic: float
    p_value: float
    shift: float
    low: float
    high: float
    confidence: float
    n_canary: int
    n_stable: int


def hodges_lehmann(canary: Sequence[float], stable: Sequence[float], confidence: float = 0.98) -> tuple[float, float, float]:
    """The median of all pairwise differences, and its two-sided ``confidence`` interval (normal approximation)."""
    x, y = [float(v) for v in canary], [float(v) for v in stable]
    if not x or not y:
        raise ValueError("Hodges-Lehmann needs at least one value on each side")
    diffs = sorted(a - b for a in x for b in y)
    n, m = len(x), len(y)
    estimate = statistics.median(diffs)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    if k < 1:
        return estimate, -math.inf, math.inf
    return estimate, diffs[k - 1], diffs[n * m - k]


_EXACT_LIMIT = 40


@lru_cache(maxsize=512)
def _u_null(n: int, m: int) -> tuple[float, ...]:
    """The exact null distribution of Mann-Whitney U for sample sizes n and m (no ties), as probabilities."""
    # counts[n][m] over u via the recurrence f(n, m) = f(n - 1, m) shifted by m, plus f(n, m - 1)
    if n == 0 or m == 0:
        return (1.0,)
    left, right = _u_null(n - 1, m), _u_null(n, m - 1)
    out = [0.0] * (n * m + 1)
    for u, v in enumerate(left):
        out[m + u] += v * n / (n + m)
    for u, v in enumerate(right):
        out[u] += v * m / (n + m)
    return tuple(out)


def mann_whitney(canary: Sequence[float], stable: Sequence[float], alternative: Alternative = "greater") -> tuple[float, float]:
    """Mann-Whitney U of the canary against the stable values, and its p-value.

    Exact for small samples without ties (what per-minute series of a bake are), otherwise the
    normal approximation with tie and continuity corrections (as ``scipy.stats.mannwhitneyu``).
    """
    x, y = [float(v) for v in canary], [float(v) for v in stable]
    n, m = len(x), len(y)
    u = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)
    ties = list(Counter([*x, *y]).values())
    if all(t == 1 for t in ties) and max(n, m) <= _EXACT_LIMIT:
        dist = _u_null(n, m)
        greater = math.fsum(dist[math.ceil(u - 1e-9):])
        less = math.fsum(dist[: math.floor(u + 1e-9) + 1])
    else:
        mean = n * m / 2
        tie_term = sum(t**3 - t for t in ties) / ((n + m) * (n + m - 1)) if n + m > 1 else 0.0
        sd = math.sqrt(n * m / 12 * ((n + m + 1) - tie_term))
        if sd == 0:
            return u, 1.0
        normal = NormalDist()
        greater = 1 - normal.cdf((u - mean - 0.5) / sd)
        less = normal.cdf((u - mean + 0.5) / sd)
    if alternative == "greater":
        return u, min(1.0, greater)
    if alternative == "less":
        return u, min(1.0, less)
    return u, min(1.0, 2 * min(greater, less))


def shift_test(canary: Sequence[float], stable: Sequence[float], *, confidence: float = 0.98,
               alternative: Alternative = "greater") -> ShiftTest:
    """Mann-Whitney U (canary vs stable) and the Hodges-Lehmann shift with its interval."""
    x = [v for v in canary if not math.isnan(v)]
    y = [v for v in stable if not math.isnan(v)]
    if not x or not y:
        raise ValueError("a shift test needs at least one value on each side")
    statistic, p_value = mann_whitney(x, y, alternative)
    shift, low, high = hodges_lehmann(x, y, confidence)
    return ShiftTest(statistic=statistic, p_value=p_value, shift=shift, low=low, high=high,
                     confidence=confidence, n_canary=len(x), n_stable=len(y))


def binomial_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for X ~ Binomial(n, p), summed outward from ``k`` only while the terms matter.

    The judge's tail counts have n in the thousands (a pooled bake); summing the whole pmf for every look
    would be most of its time. Terms fall away geometrically on either side of the mode.
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    ratio = p / (1.0 - p)
    log_first = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                 + k * math.log(p) + (n - k) * math.log1p(-p))
    if k > n * p:  # the upper tail from k: terms fall as j grows
        term, total, j = math.exp(log_first), 0.0, k
        while j <= n:
            total += term
            if term < 1e-17 * total:
                break
            term *= (n - j) / (j + 1) * ratio
            j += 1
        return min(1.0, total)
    # 1 - P(X <= k - 1), summed from k - 1 down: terms fall as j shrinks
    term = math.exp(log_first) * k / ((n - k + 1) * ratio)
    total, j = 0.0, k - 1
    while j >= 0:
        total += term
        if term < 1e-17 * total:
            break
        term *= j / ((n - j + 1) * ratio)
        j -= 1
    return max(0.0, 1.0 - total)


def wilson_interval(k: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson's two-sided ``confidence`` interval of a binomial share ``k / n`` (closed form, no iteration)."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = k / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def placement_sf(k: int, n: int, stable_samples: int, stable_above: int) -> float:
    """``P(K >= k)``: of ``n`` canary values, how many lie above the stable's (``stable_above`` + 1)-th largest.

    When canary and stable values come from one continuous distribution, ``K`` is beta-binomial
    (n, a = stable_above + 1, b = stable_samples - stable_above): the exact test of "the canary's share
    above the stable's percentile is no bigger than the stable's own", with the stable percentile's own
    sampling noise in it (a binomial against 5% would ignore it, and roll back healthy canaries whose
    stable version had few calls). For large ``stable_samples`` it is the binomial against a / (a + b).
    """
    a, b = stable_above + 1, stable_samples - stable_above
    if b <= 0:
        return 1.0 if k <= 0 else 0.0
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0

    def log_pmf(j: int) -> float:
        return (math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + math.lgamma(j + a)
                + math.lgamma(n - j + b) - math.lgamma(n + a + b) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))

    def ratio(j: int) -> float:  # pmf(j + 1) / pmf(j)
        return (n - j) / (j + 1) * (j + a) / (n - j - 1 + b)

    if k > n * a / (a + b):
        term, total, j = math.exp(log_pmf(k)), 0.0, k
        while j <= n:
            total += term
            if term < 1e-17 * total or j == n:
                break
            term *= ratio(j)
            j += 1
        return min(1.0, total)
    term, total, j = math.exp(log_pmf(k - 1)), 0.0, k - 1
    while j >= 0:
        total += term
        if term < 1e-17 * total or j == 0:
            break
        term /= ratio(j - 1)
        j -= 1
    return max(0.0, 1.0 - total)


def placement_moments(n: int, stable_samples: int, stable_above: int) -> tuple[float, float]:
    """The mean and variance of ``placement_sf``'s K (beta-binomial), for a sum over functions."""
    a, b = stable_above + 1, stable_samples - stable_above
    if b <= 0:
        return 0.0, 0.0
    mean = n * a / (a + b)
    variance = n * a * b * (a + b + n) / ((a + b) ** 2 * (a + b + 1))
    return mean, variance


def normal_sf(k: float, mean: float, variance: float) -> float:
    """``P(K >= k)`` by the normal approximation with a continuity correction (a sum of many counts)."""
    if variance <= 0:
        return 1.0 if k <= mean else 0.0
    return 1.0 - NormalDist(mean, math.sqrt(variance)).cdf(k - 0.5)


def drift_test(events_a: int, exposure_a: float, events_b: int, exposure_b: float) -> float:
    """Two-sided exact conditional test that two Poisson rates are equal (a's share of the events is binomial)."""
    total = events_a + events_b
    if total == 0 or exposure_a <= 0 or exposure_b <= 0:
        return 1.0
    p = exposure_a / (exposure_a + exposure_b)
    upper = binomial_sf(events_a, total, p)
    lower = 1.0 - binomial_sf(events_a + 1, total, p)
    return min(1.0, 2 * min(upper, lower))
