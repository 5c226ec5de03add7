"""The canary judge: is the canary version worse than the stable one, over the same minutes?

Fixed triggers (error rate > 5%) cannot see a 1% → 3% regression at 10%
traffic, and fire on noise at 60 invocations a minute. The judge compares
the canary version with the stable version in the same minutes (Kayenta's
approach), per function, and for the project's functions together:

- error counts with the exact conditional test of two Poisson rates
  (``stats.rate_test``), one-sided, the stable version supplying the
  baseline, per function and pooled over the functions (stratified, exact).
  The test is of a canary rate above the stable's times 1.1 (the default
  tolerance ``errors <= +10%``): a canary within a tenth of the stable's
  rate is not worse, and a healthy canary, exactly as good, is rolled back
  far less often than the level (at 7,500 canary calls its expected errors
  sit 0.8 standard deviations below the test's null), while a regression
  that matters is still caught in its bake (x3 in every function: 100%
  within 10 minutes, median 3);
  The stable version's own history before the first shift (``history``)
  joins its baseline unless a two-sided drift test says its rate differs
  from the bake's stable rate; the result says which;
- latency by counts (``MetricKind.TAIL``): the canary's calls above the
  stable version's p95 (p99) over the window times ``1 + tolerance``
  (CloudWatch's ``PR(x:)`` and ``SampleCount``), against the share that
  percentile leaves above it, exactly: the beta-binomial placement test
  (``stats.placement_sf``), which carries the stable percentile's own
  sampling noise (a binomial against 5% would not), per function and pooled
  (the sum of the functions' placements: normal tail with exact moments).
  A rank test on per-minute p95 values (``CONTINUOUS``) is still available.

**Levels.** The judge looks every minute of a bake on cumulative data
(Haybittle-Peto: ``alpha_interim`` at interim looks, ``alpha_final`` once, at
the look that ends the bake: a look of an extended bake, or one a trigger or
the judge's own data holds back, is interim; ``steps/canary_look.py``). Each is one metric's level for the whole project: half is
spent on the pooled test, the rest split evenly over the functions
(Bonferroni), and a tail metric splits its share over its percentiles; the
canary splits them over its bakes (``split``). So a project of 20 functions
has the budget of one of 5. The levels are calibrated, with the fixed
triggers on, by ``bench/judge.py`` (healthy false rollbacks over the
runbook's canary at most 0.26% / 0.54% / 0.50% for 5 / 10 / 20 functions,
issue 24's targets, 5,000 seeded runs per project size: the +10% error
tolerance at the final level 0.01 rolls back a third as many healthy
canaries as no tolerance at 0.006, 0.23% against 0.63% at 5 functions, and
catches one bad function of five, 1% -> 3%, within 10 minutes in 57% of
runs against 63%).

"Too little data" is Inconclusive, never Successful: fewer canary
invocations than ``min_invocations``, or fewer minutes than ``min_minutes``
for a rank comparison. The caller extends the bake and, in the end, fails
safe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from golive.analysis.measurement import MeasurementOutcome as Outcome
from golive.analysis.stats import (
    RateTest,
    Stratum,
    binomial_sf,
    drift_test,
    normal_sf,
    placement_moments,
    placement_sf,
    rate_test,
    shift_test,
    wilson_interval,
)

POOLED = "pooled"


class Direction(StrEnum):
    INCREASE = "increase"  # an increase is bad (errors, latency)
    DECREASE = "decrease"  # a decrease is bad (throughput)


class MetricKind(StrEnum):
    COUNT = "count"  # events per invocation: compared as Poisson rates
    CONTINUOUS = "continuous"  # a per-minute value (p95 duration): compared by rank
    TAIL = "tail"  # the canary's share above the stable's percentile (CloudWatch PR(x:)): exact binomial


@dataclass(frozen=True)
class MetricPolicy:
    """How one metric is judged. ``tolerance`` is the allowed relative change (0.15: +15%)."""

    name: str
    kind: MetricKind
    direction: Direction = Direction.INCREASE
    critical: bool = False
    tolerance: float = 0.0
    quantiles: tuple[float, ...] = (0.95, 0.99)  # TAIL: the stable's percentiles whose tails are compared

    def __post_init__(self) -> None:
        if self.kind is MetricKind.TAIL and (self.direction is Direction.DECREASE or not self.quantiles
                                             or not all(0 < q < 1 for q in self.quantiles)):
            raise ValueError(f"{self.name}: a tail metric is judged on increases over percentiles in (0, 1)")
        if self.tolerance < 0:
            raise ValueError(f"{self.name}: tolerance must be >= 0")
        if self.kind is MetricKind.COUNT and self.direction is Direction.DECREASE:
            raise ValueError(f"{self.name}: a count metric is judged on increases only")


DEFAULT_POLICIES = (
    MetricPolicy("errors", MetricKind.COUNT, critical=True, tolerance=0.10),
    MetricPolicy("p95_duration", MetricKind.TAIL, tolerance=0.10),
)


@dataclass(frozen=True)
class JudgeConfig:
    """The judge's levels. ``alpha_interim``/``alpha_final`` are one metric's level for a whole project per bake.

    A project of ``n`` functions spends each metric's level Bonferroni-wise over its tests: ``pooled_share``
    of it on the pooled test, the rest split evenly over the ``n`` per-function tests (``split_functions``
    False: every test gets the whole level, the "function" budget). So a project of 20 functions has the
    same false-rollback budget as one of 5; the levels are calibrated by ``bench/judge.py``.
    """

    metrics: tuple[MetricPolicy, ...] = DEFAULT_POLICIES
    alpha_interim: float = 0.0002
    alpha_final: float = 0.01
    min_invocations: int = 50
    min_minutes: int = 3
    pool: bool = True
    pass_share: float = 0.75  # share of judged non-critical metrics that must pass
    pooled_share: float = 0.5
    split_functions: bool = True
    drift_alpha: float = 0.01  # the history's rate differs from the bake's stable rate: only the bake counts

    def split(self, parts: float) -> JudgeConfig:
        """The budget shared by ``parts`` independent judgements (the bakes of one canary): alphas / parts."""
        if parts <= 1:
            return self
        return replace(self, alpha_interim=self.alpha_interim / parts, alpha_final=self.alpha_final / parts)

    def alpha(self, final: bool, functions: int = 1, pooled: bool = False) -> float:
        """The level of one test: the look's level, spent over the project's ``functions`` (and the pooled test)."""
        base = self.alpha_final if final else self.alpha_interim
        if functions <= 1 or not self.split_functions:
            return base
        if not self.pool:
            return base / functions
        return base * self.pooled_share if pooled else base * (1 - self.pooled_share) / functions


# Haybittle-Peto levels for the two false-rollback budgets (bench/judge.py measures both): "project" spends
# its level over the project's functions, "function" gives every function's tests the whole level.
# With the +10% error tolerance both final levels were raised by the same 5/3 (0.006 -> 0.01, 0.008 -> 0.013).
BUDGETS = {"project": (0.0002, 0.01), "function": (0.0005, 0.013)}


def confidence(level: float) -> str:
    """A confidence level with the digits that tell it from 100% (``99.9995%`` for a level of 1 - 5e-6)."""
    miss = (1 - level) * 100
    digits = 2
    while digits < 10 and miss > 0 and (round(level * 100, digits) >= 100 or
                                        abs(100 - round(level * 100, digits) - miss) > miss / 10):
        digits += 1
    return f"{level * 100:.{digits}f}%"


def config_for(budget: str, *, min_invocations: int = 50, metrics: Sequence[str] | None = None,
               critical: Sequence[str] | None = None, min_minutes: int | None = None,
               tolerances: Mapping[str, float] | None = None) -> JudgeConfig:
    """The judge for a false-rollback budget, narrowed to the plan's ``metrics`` with its ``critical`` ones.

    A metric left out is neither judged nor queried; ``min_minutes`` is the minutes a rank test needs;
    ``tolerances`` replace a metric's allowed relative change (``{"p95_duration": 0.10}``).
    """
    interim, final = BUDGETS[budget]
    policies = tuple(p for p in DEFAULT_POLICIES if metrics is None or p.name in metrics)
    policies = tuple(replace(p, tolerance=(tolerances or {}).get(p.name, p.tolerance)) for p in policies)
    if critical is not None:
        policies = tuple(replace(p, critical=p.name in critical) for p in policies)
    return JudgeConfig(metrics=policies, alpha_interim=interim, alpha_final=final, min_invocations=min_invocations,
                       min_minutes=min_minutes or JudgeConfig.min_minutes, split_functions=budget == "project")


def config_from_analysis(analysis: Mapping[str, Any], bakes: int) -> JudgeConfig | None:
    """The judge a canary's plan ``analysis`` (as JSON) asks for, its budget shared by ``bakes``; None when off."""
    spec = analysis.get("judge", True)
    if spec is False:
        return None
    settings: Mapping[str, Any] = spec if isinstance(spec, Mapping) else {}
    config = config_for(str(analysis.get("false_rollbacks", "project")),
                        min_invocations=int(analysis.get("min_invocations", 50)), metrics=settings.get("metrics"),
                        critical=settings.get("critical"), min_minutes=settings.get("min_minutes"),
                        tolerances=tolerances(settings.get("tolerances") or ()))
    # The false-rollback budget is the whole canary's: its bakes share it.
    return config.split(bakes)


def tolerances(texts: Sequence[str]) -> dict[str, float]:
    """The plan's judge tolerances (``p95_duration <= +10%``) as relative changes by metric; ValueError if not one."""
    from golive.analysis.criteria import Op, parse_criterion

    out: dict[str, float] = {}
    for text in texts:
        c = parse_criterion(text)
        if not c.relative or c.op not in (Op.LE, Op.LT) or c.threshold < 0:
            raise ValueError(f"'{text}': a judge tolerance is an increase allowed over stable, such as "
                             f"'p95_duration <= +10%'")
        out[c.metric] = c.threshold
    return out


@dataclass(frozen=True)
class TailCount:
    """The canary's calls above ``threshold`` over the whole window (CloudWatch ``PR(x:)`` times ``SampleCount``).

    ``threshold`` is the stable version's ``quantile`` (``reference``, seconds) times ``1 + tolerance``; a canary
    no worse than the stable times that has no larger share of its calls above ``threshold`` than the stable has
    above ``reference``. Where the reference is the stable's percentile over the same window, the stable's
    counts make the test exact for that percentile's sampling noise (``stats.placement_sf``); where it was read
    ``before`` the shift (the stable's history: known before the look, so the look asks for its counts at once),
    it is a fixed line, and the two versions' shares above it are compared as two rates (``stats.rate_test``).
    """

    quantile: float
    reference: float
    threshold: float
    samples: float
    above: float
    stable_samples: float = 0.0  # the stable version's calls in the window, and how many lie above ``reference``
    stable_above: float = 0.0
    canary_value: float | None = None  # the canary's own percentile over the window (seconds), for the evidence
    before: bool = False  # ``reference`` is the stable's percentile over its hour before the shift, not this window's
    note: str = ""  # why a line from before the shift was left out for the window's own (it drifted)


@dataclass(frozen=True)
class VersionSeries:
    """One version of one function, minute by minute over the compared window (same minutes on both sides).

    ``counts`` holds event counts per minute (``errors``), ``values`` per-minute values in base units
    (``p95_duration`` in seconds; NaN where the minute had no datapoint).
    """

    scope: str
    invocations: Sequence[float]
    counts: Mapping[str, Sequence[float]] = field(default_factory=dict)
    values: Mapping[str, Sequence[float]] = field(default_factory=dict)
    tails: Mapping[str, Sequence[TailCount]] = field(default_factory=dict)
    # the stable version before the first shift: {"invocations": ..., "errors": ..., "minutes": ...}
    history: Mapping[str, float] | None = None

    @property
    def exposure(self) -> float:
        return float(sum(self.invocations))


@dataclass(frozen=True)
class MetricResult:
    """One metric on one scope (a function, or the functions pooled): the test's numbers and the outcome."""

    metric: str
    scope: str
    outcome: Outcome
    test: str
    message: str
    p_value: float | None = None
    alpha: float | None = None
    statistic: float | None = None
    effect: float | None = None  # count: rate ratio canary/stable; continuous: relative shift (0.3 = +30%)
    low: float | None = None
    high: float | None = None
    n_canary: float = 0.0
    n_stable: float = 0.0
    critical: bool = False
    threshold: float | None = None  # tail: the x the canary's share above was counted at (seconds)
    expected: float | None = None  # tail: the share allowed above x (0.05 for p95)
    look: str = ""  # "interim" or "final": the Haybittle-Peto boundary ``alpha`` belongs to
    history: str = ""  # count tests: whether the stable's history joined; tail tests: a line before the shift left out
    tolerance: float | None = None  # the relative change allowed (0.10: +10%)
    ratio: float | None = None  # tail: canary pNN / stable pNN over the window, for a person (not tested)
    quantile: float | None = None  # tail: the percentile whose tail was counted
    stable_events: float | None = None  # count: the stable's events (history joined); tail: its calls above pNN
    before: bool = False  # tail: the stable's percentile was read over its hour before the shift (a fixed line)

    def to_dict(self) -> dict[str, Any]:
        def clean(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) else (x if math.isfinite(x) else (math.inf if x > 0 else -math.inf))

        return {"metric": self.metric, "scope": self.scope, "outcome": self.outcome.value, "test": self.test,
                "message": self.message, "p_value": clean(self.p_value), "alpha": self.alpha,
                "statistic": clean(self.statistic), "effect": clean(self.effect), "low": clean(self.low),
                "high": clean(self.high), "n_canary": self.n_canary, "n_stable": self.n_stable, "critical": self.critical,
                "threshold": self.threshold, "expected": self.expected, "look": self.look,
                "tolerance": self.tolerance, "ratio": clean(self.ratio), "quantile": self.quantile,
                "history": self.history, "stable_events": self.stable_events, "before": self.before}


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    reason: str
    results: tuple[MetricResult, ...]
    final: bool

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "reason": self.reason, "final": self.final,
                "results": [r.to_dict() for r in self.results]}

    def compact(self) -> str:
        """One line for the terminal: per metric (and percentile), the test nearest its boundary."""
        nearest: dict[str, MetricResult] = {}
        for r in self.results:
            key = r.metric if r.quantile is None else f"p{r.quantile * 100:g} tail"
            if r.p_value is None or r.alpha is None:
                nearest.setdefault(key, r)
                continue
            held = nearest.get(key)
            if held is None or held.p_value is None or held.alpha is None or r.p_value / r.alpha < held.p_value / held.alpha:
                nearest[key] = r
        parts = []
        for key, r in nearest.items():
            scope = "pooled" if r.scope.startswith(POOLED) else r.scope.split(":", 1)[0]
            if r.p_value is None or r.alpha is None:
                parts.append(f"{key} {r.outcome.value.lower()}")
                continue
            if r.quantile is not None:
                counts = f"{r.statistic or 0:.0f}/{r.n_canary:.0f} above"
            else:
                counts = f"{r.statistic or 0:.0f}/{r.n_canary:.0f}"
            interval = f" [{r.low:.2g}..{r.high:.2g}]" if r.low is not None and r.high is not None else ""
            effect = f" x{r.effect:.2g}{interval}" if r.effect is not None and math.isfinite(r.effect) else ""
            sign = "<" if r.p_value < r.alpha else ">="
            parts.append(f"{key} {scope} {counts}{effect} p={r.p_value:.2g}{sign}{r.alpha:.2g}")
        return f"{self.outcome.value} ({'final' if self.final else 'interim'}): " + "; ".join(parts)

    def lines(self) -> list[str]:
        """One line per result, for a person to check the decision."""
        return [f"{r.outcome.value:<12} {r.metric} {r.scope}: {r.message}" for r in self.results]


def _count_result(policy: MetricPolicy, scope: str, strata: list[Stratum], alpha: float,
                  exposure_floor: float) -> MetricResult:
    ce = sum(s.canary_exposure for s in strata)
    se = sum(s.stable_exposure for s in strata)
    test_name = "conditional binomial test of two Poisson rates" + (" (stratified)" if len(strata) > 1 else "")
    if ce < exposure_floor or se <= 0:
        return MetricResult(policy.name, scope, Outcome.INCONCLUSIVE, test_name,
                            f"too little data: {ce:.0f} canary invocations (need {exposure_floor:.0f})",
                            n_canary=ce, n_stable=se, critical=policy.critical, alpha=alpha,
                            tolerance=policy.tolerance, stable_events=sum(s.stable_events for s in strata))
    t: RateTest = rate_test(strata, 1.0 + policy.tolerance)
    canary_rate = sum(s.canary_events for s in strata) / ce
    stable_rate = sum(s.stable_events for s in strata) / se
    failed = t.p_value < alpha
    message = (f"canary {t.canary_events} in {ce:.0f} ({canary_rate:.2%}) vs stable "
               f"{t.total_events - t.canary_events} in {se:.0f} ({stable_rate:.2%}); ratio {t.ratio:.2f} "
               f"(allowed {t.ratio_bound:.2f}); p={t.p_value:.2g} {'<' if failed else '>='} {alpha:g}")
    return MetricResult(policy.name, scope, Outcome.FAILED if failed else Outcome.SUCCESSFUL, test_name, message,
                        p_value=t.p_value, alpha=alpha, statistic=float(t.canary_events), effect=t.ratio,
                        n_canary=ce, n_stable=se, critical=policy.critical, tolerance=policy.tolerance,
                        stable_events=sum(s.stable_events for s in strata))


def _continuous_result(policy: MetricPolicy, canary: VersionSeries, stable: VersionSeries, config: JudgeConfig,
                       alpha: float) -> MetricResult:
    test_name = "Mann-Whitney U, Hodges-Lehmann shift (log scale)"
    x = [math.log(v) for v in canary.values.get(policy.name, ()) if v > 0 and not math.isnan(v)]
    y = [math.log(v) for v in stable.values.get(policy.name, ()) if v > 0 and not math.isnan(v)]
    if min(len(x), len(y)) < config.min_minutes:
        return MetricResult(policy.name, canary.scope, Outcome.INCONCLUSIVE, test_name,
                            f"too little data: {len(x)} canary and {len(y)} stable minutes (need {config.min_minutes})",
                            n_canary=len(x), n_stable=len(y), critical=policy.critical, alpha=alpha)
    increase = policy.direction is Direction.INCREASE
    t = shift_test(x, y, confidence=1 - 2 * alpha, alternative="greater" if increase else "less")
    effect = math.expm1(t.shift)
    low, high = math.expm1(t.low), math.expm1(t.high)
    beyond = effect > policy.tolerance if increase else effect < -policy.tolerance
    failed = t.p_value < alpha and beyond
    message = (f"shift {effect:+.1%} ({confidence(1 - 2 * alpha)} CI {low:+.1%}..{high:+.1%}), tolerance "
               f"{'+' if increase else '-'}{policy.tolerance:.0%}; U={t.statistic:g}, p={t.p_value:.2g} vs {alpha:g}; "
               f"{t.n_canary} vs {t.n_stable} minutes")
    return MetricResult(policy.name, canary.scope, Outcome.FAILED if failed else Outcome.SUCCESSFUL, test_name, message,
                        p_value=t.p_value, alpha=alpha, statistic=t.statistic, effect=effect, low=low, high=high,
                        n_canary=t.n_canary, n_stable=t.n_stable, critical=policy.critical)


def _with_history(stratum: Stratum, history: Mapping[str, float] | None, metric: str,
                  drift_alpha: float) -> tuple[Stratum, str]:
    """The stratum with the stable's history joined, unless its rate drifted from the bake's stable rate."""
    if not history or history.get("invocations", 0.0) <= 0 or stratum.stable_exposure <= 0:
        return stratum, ""
    calls, events = float(history["invocations"]), float(history.get(metric, 0.0))
    p = drift_test(round(events), calls, round(stratum.stable_events), stratum.stable_exposure)
    span = f"{history.get('minutes', 0):g} min before the shift, {events:.0f} in {calls:.0f}"
    if p < drift_alpha:
        return stratum, (f"history left out: {span} ({events / calls:.2%}) drifted from the bake's stable "
                         f"{stratum.stable_events:.0f} in {stratum.stable_exposure:.0f} "
                         f"({stratum.stable_events / stratum.stable_exposure:.2%}); p={p:.2g} < {drift_alpha:g}")
    joined = replace(stratum, stable_events=stratum.stable_events + events,
                     stable_exposure=stratum.stable_exposure + calls)
    return joined, f"joined stable history: {span} (drift p={p:.2g} >= {drift_alpha:g})"


def _tail_null(t: TailCount) -> tuple[float, float] | None:
    """The mean and variance of one function's canary count above its threshold when the canary is no worse
    (given the stable's counts); None when the stable's counts cannot say."""
    if t.before:  # the stable's share above a fixed line: its posterior from a uniform prior, Beta(a + 1, b + 1)
        if t.stable_samples <= 0:
            return None
        return placement_moments(round(t.samples), round(t.stable_samples) + 1, round(t.stable_above))
    if t.stable_samples <= t.stable_above:
        return None
    return placement_moments(round(t.samples), round(t.stable_samples), round(t.stable_above))


def tail_p_value(k: int, tails: Sequence[TailCount]) -> float | None:
    """P(canary count above the thresholds >= k) when the canary is no worse; None when no stable counts say.

    One function: exact (the placement's beta-binomial for a window's own percentile; for a reference read
    before the shift, the conditional binomial of two rates given both versions' calls above their lines).
    Several: the sum of the functions' counts, normal tail with the exact moments given the stable's counts.
    Only functions whose stable counts say something are in it: ``k`` is their canary calls above their lines.
    """
    usable = [t for t in tails if _tail_null(t) is not None]
    if not usable:
        return None
    if len(usable) == 1:
        t = usable[0]
        if t.before:
            total = k + round(t.stable_above)
            return binomial_sf(k, total, t.samples / (t.samples + t.stable_samples)) if total else 1.0
        return placement_sf(k, round(t.samples), round(t.stable_samples), round(t.stable_above))
    moments = [m for m in (_tail_null(t) for t in usable) if m is not None]
    return normal_sf(k, sum(m for m, _ in moments), sum(v for _, v in moments))


def _tail_result(policy: MetricPolicy, scope: str, quantile: float, tails: Sequence[TailCount], alpha: float,
                 exposure_floor: float) -> MetricResult:
    """The canary's calls above the stable's percentile × (1 + tolerance), against the stable's share above it."""
    label = f"p{quantile * 100:g}"
    usable = [t for t in tails if _tail_null(t) is not None]
    before = bool(usable) and all(t.before for t in usable)
    stable_calls = sum(t.stable_samples for t in usable)
    expected = sum(t.stable_above for t in usable) / stable_calls if before and stable_calls > 0 else 1.0 - quantile
    test_name = f"exact binomial: canary calls above stable {label} x{1 + policy.tolerance:g} vs {expected:.0%}"
    n = sum(t.samples for t in tails)
    threshold = tails[0].threshold if len(tails) == 1 else None
    notes = "; ".join(dict.fromkeys(t.note for t in tails if t.note))
    if n < exposure_floor or not tails:
        return MetricResult(policy.name, scope, Outcome.INCONCLUSIVE, test_name,
                            f"{label}: too little data: {n:.0f} canary calls (need {exposure_floor:.0f})",
                            n_canary=n, critical=policy.critical, alpha=alpha, threshold=threshold, expected=expected,
                            tolerance=policy.tolerance, quantile=quantile, history=notes,
                            n_stable=stable_calls, stable_events=sum(t.stable_above for t in usable), before=before)
    # The canary calls of functions whose stable says nothing (no calls in the window) have no baseline to meet.
    counted = usable or list(tails)
    k = round(sum(t.above for t in counted))
    calls = round(sum(t.samples for t in counted))
    found = tail_p_value(k, tails)
    p_value = binomial_sf(k, calls, expected) if found is None else found
    kind = ("conditional binomial of two rates" if before else "exact placement (beta-binomial)") \
        if len(usable) == 1 else "sum of the functions' counts (normal tail)" if usable else "exact binomial"
    test_name = f"{kind}: canary calls above stable {label} x{1 + policy.tolerance:g}" + \
        (" (stable's before the shift)" if before else "")
    share = k / calls if calls > 0 else 0.0
    low, high = wilson_interval(k, calls, 1 - 2 * alpha)
    failed = p_value < alpha
    when = " before the shift" if before else ""
    where = (f"above {threshold * 1000:.0f} ms (stable {label}{when} {tails[0].reference * 1000:.0f} ms"
             f" x{1 + policy.tolerance:g})" if threshold is not None else f"above each function's stable {label}{when}"
             f" x{1 + policy.tolerance:g}")
    allowed = f"stable {expected:.1%} above its line" if before else f"{expected:.0%} allowed"
    message = (f"{label}: canary {k} of {calls} calls {where}: {share:.1%} "
               f"({confidence(1 - 2 * alpha)} CI {low:.1%}..{high:.1%}) vs {allowed}; "
               f"p={p_value:.2g} {'<' if failed else '>='} {alpha:.2g}")
    return MetricResult(policy.name, scope, Outcome.FAILED if failed else Outcome.SUCCESSFUL, test_name, message,
                        p_value=p_value, alpha=alpha, statistic=float(k),
                        effect=share / expected if expected > 0 else math.inf,
                        low=low / expected if expected > 0 else None, high=high / expected if expected > 0 else None,
                        n_canary=float(calls), critical=policy.critical,
                        threshold=threshold, expected=expected, tolerance=policy.tolerance, quantile=quantile,
                        ratio=_ratio(tails), n_stable=stable_calls,
                        stable_events=sum(t.stable_above for t in usable), before=before, history=notes)


def _ratio(tails: Sequence[TailCount]) -> float | None:
    """The largest canary/stable percentile ratio of the tails (the function that slowed most)."""
    found = [t.canary_value / t.reference for t in tails if t.canary_value is not None and t.reference > 0]
    return max(found) if found else None


def judge(canary: VersionSeries | Sequence[VersionSeries], stable: VersionSeries | Sequence[VersionSeries],
          config: JudgeConfig = JudgeConfig(), *, final: bool = False) -> Judgement:
    """Judge canary against stable (one function, or the functions of a project, aligned by position).

    ``final`` marks the last look of a bake (the Haybittle-Peto boundary uses ``alpha_final`` there).
    """
    canaries = [canary] if isinstance(canary, VersionSeries) else list(canary)
    stables = [stable] if isinstance(stable, VersionSeries) else list(stable)
    if len(canaries) != len(stables) or not canaries:
        raise ValueError("judge needs the same non-zero number of canary and stable series")
    n = len(canaries)
    results: list[MetricResult] = []
    for policy in config.metrics:
        if policy.kind is MetricKind.COUNT:
            strata: list[Stratum] = []
            notes: list[str] = []
            for c, s in zip(canaries, stables, strict=True):
                stratum = Stratum(float(sum(c.counts.get(policy.name, ()))), c.exposure,
                                  float(sum(s.counts.get(policy.name, ()))), s.exposure)
                stratum, note = _with_history(stratum, s.history, policy.name, config.drift_alpha)
                strata.append(stratum)
                notes.append(note)
            for c, stratum, note in zip(canaries, strata, notes, strict=True):
                r = _count_result(policy, c.scope, [stratum], config.alpha(final, n), config.min_invocations)
                results.append(replace(r, history=note) if note else r)
            if config.pool and len(strata) > 1:
                joined = sum(1 for note in notes if note.startswith("joined"))
                r = _count_result(policy, f"{POOLED} ({len(strata)} functions)", strata,
                                  config.alpha(final, n, pooled=True), config.min_invocations)
                results.append(replace(r, history=f"history joined for {joined} of {len(strata)} functions")
                               if any(notes) else r)
        elif policy.kind is MetricKind.TAIL:
            for quantile in policy.quantiles:
                level = config.alpha(final, n) / len(policy.quantiles)
                found = [[t for t in c.tails.get(policy.name, ()) if t.quantile == quantile] for c in canaries]
                for c, tails in zip(canaries, found, strict=True):
                    results.append(_tail_result(policy, c.scope, quantile, tails, level, config.min_invocations))
                if config.pool and n > 1:
                    pooled = [t for tails in found for t in tails]
                    results.append(_tail_result(policy, f"{POOLED} ({n} functions)", quantile, pooled,
                                                config.alpha(final, n, pooled=True) / len(policy.quantiles),
                                                config.min_invocations))
        else:
            for c, s in zip(canaries, stables, strict=True):
                results.append(_continuous_result(policy, c, s, config, config.alpha(final, n)))
    look = "final" if final else "interim"
    for r in results:
        object.__setattr__(r, "look", look)  # results are built here, frozen once returned
    return _decide(results, config, final)


def _decide(results: list[MetricResult], config: JudgeConfig, final: bool) -> Judgement:
    critical_failures = [r for r in results if r.critical and r.outcome is Outcome.FAILED]
    if critical_failures:
        r = critical_failures[0]
        return Judgement(Outcome.FAILED, f"critical metric {r.metric} failed on {r.scope}: {r.message}", tuple(results), final)
    by_metric: dict[str, list[MetricResult]] = {}
    for r in results:
        by_metric.setdefault(r.metric, []).append(r)
    failed = [name for name, rs in by_metric.items() if any(r.outcome is Outcome.FAILED for r in rs)]
    judged = [name for name, rs in by_metric.items() if any(r.outcome is not Outcome.INCONCLUSIVE for r in rs)]
    if failed and len(judged) - len(failed) < config.pass_share * len(judged):
        first = next(r for r in results if r.outcome is Outcome.FAILED)
        return Judgement(Outcome.FAILED, f"{', '.join(failed)} failed; {first.metric} on {first.scope}: {first.message}",
                         tuple(results), final)
    inconclusive = [r for r in results if r.outcome is Outcome.INCONCLUSIVE]
    if inconclusive:
        r = inconclusive[0]
        return Judgement(Outcome.INCONCLUSIVE, f"{r.metric} on {r.scope}: {r.message}", tuple(results), final)
    note = f" ({', '.join(failed)} failed, within pass share)" if failed else ""
    return Judgement(Outcome.SUCCESSFUL, f"canary no worse than stable on {len(by_metric)} metrics{note}", tuple(results), final)
