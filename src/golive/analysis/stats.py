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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from scipy import special
from scipy import stats as sps

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


def _binomial_pmf(k: int, p: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    j = np.arange(k + 1, dtype=np.float64)
    if p <= 0.0 or p >= 1.0:
        pmf = np.zeros(k + 1)
        pmf[0 if p <= 0.0 else k] = 1.0
        return pmf
    log_pmf = (special.gammaln(k + 1) - special.gammaln(j + 1) - special.gammaln(k - j + 1)
               + j * math.log(p) + (k - j) * math.log1p(-p))
    return np.asarray(np.exp(log_pmf), dtype=np.float64)


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
    elif len(singles) == 1 and not mid_p:
        _, k, p0 = singles[0]
        p_value = float(special.bdtrc(observed - 1, k, p0))  # P(X >= observed), X ~ Binomial(k, p0)
    else:
        pmf = np.ones(1)
        for _, k, p0 in singles:
            pmf = np.convolve(pmf, _binomial_pmf(k, p0))
        tail = float(pmf[observed + 1:].sum())
        at = float(pmf[observed])
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
    critical = int(sps.binom.isf(alpha, n, baseline_rate)) + 1
    while critical > 0 and sps.binom.sf(critical - 2, n, baseline_rate) <= alpha:
        critical -= 1
    size = float(sps.binom.sf(critical - 1, n, baseline_rate))
    return critical, size


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
    x = np.asarray(canary, dtype=float)
    y = np.asarray(stable, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError("Hodges-Lehmann needs at least one value on each side")
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    n, m = x.size, y.size
    estimate = float(np.median(diffs))
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    if k < 1:
        return estimate, -math.inf, math.inf
    return estimate, float(diffs[k - 1]), float(diffs[n * m - k])


_EXACT_LIMIT = 40


@lru_cache(maxsize=512)
def _u_null(n: int, m: int) -> tuple[float, ...]:
    """The exact null distribution of Mann-Whitney U for sample sizes n and m (no ties), as probabilities."""
    # counts[n][m] over u via the recurrence f(n, m) = f(n - 1, m) shifted by m, plus f(n, m - 1)
    if n == 0 or m == 0:
        return (1.0,)
    left = np.asarray(_u_null(n - 1, m))
    right = np.asarray(_u_null(n, m - 1))
    out = np.zeros(n * m + 1)
    out[m: m + left.size] += left * n / (n + m)
    out[: right.size] += right * m / (n + m)
    return tuple(out.tolist())


def mann_whitney(canary: Sequence[float], stable: Sequence[float], alternative: Alternative = "greater") -> tuple[float, float]:
    """Mann-Whitney U of the canary against the stable values, and its p-value.

    Exact for small samples without ties (what per-minute series of a bake are), otherwise the
    normal approximation with tie and continuity corrections (as ``scipy.stats.mannwhitneyu``).
    """
    x = np.asarray(canary, dtype=float)
    y = np.asarray(stable, dtype=float)
    n, m = x.size, y.size
    diff = np.subtract.outer(x, y)
    u = float((diff > 0).sum() + 0.5 * (diff == 0).sum())
    pooled = np.concatenate([x, y])
    ties = np.unique(pooled, return_counts=True)[1]
    if (ties == 1).all() and max(n, m) <= _EXACT_LIMIT:
        dist = np.asarray(_u_null(n, m))
        greater = float(dist[math.ceil(u - 1e-9):].sum())
        less = float(dist[: math.floor(u + 1e-9) + 1].sum())
    else:
        mean = n * m / 2
        tie_term = float((ties**3 - ties).sum()) / ((n + m) * (n + m - 1)) if n + m > 1 else 0.0
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
