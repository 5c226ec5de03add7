"""Know the sample before the shift: the calls each canary criterion will see at each step, and what they decide.

A rollback trigger needs ``min_invocations`` calls in its window and the judge ``min_invocations`` canary calls
in its bake; below that each is Inconclusive, and a canary still inconclusive after its extension cap cannot
promote. Whether that will happen is known before any traffic moves: the stable version's recent calls a
minute (the last hour, by ``ExecutedVersion``) times the step's weight is what the canary version will get. So,
for every criterion at every step:

- the calls expected in its window (the quietest function's: triggers and the judge test each function);
- the minutes of the step's own traffic that hold the calls it needs, the window that would suffice;
- whether those minutes fit in the bake and its extension cap (a look at ``t`` reads complete minutes up to
  ``t - delay`` from the step's first complete minute);
- for the judge, what it can catch in the bake at the plan's false-rollback level, with its own statistics
  (``stats.rate_test`` for errors, the binomial tail count for latency): the smallest error-rate ratio and the
  smallest share of canary calls above the stable's p95 (as a latency factor when the stable's p50 and p95
  give the spread of its durations, read as log-normal).

``plan_samples`` is pure; ``read_traffic`` is the one CloudWatch read it needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

from golive.analysis.criteria import Criterion
from golive.analysis.judge import JudgeConfig, MetricKind
from golive.analysis.metrics import MetricSource, Scope, SeriesRequest
from golive.analysis.stats import Stratum, binomial_sf, rate_test

_Z95 = NormalDist().inv_cdf(0.95)


@dataclass(frozen=True)
class Traffic:
    """The stable versions' recent traffic: calls a minute per function; errors and duration percentiles if known."""

    per_minute: Mapping[str, float]
    minutes: float = 60.0
    errors: Mapping[str, float] = field(default_factory=dict)  # errors over the same minutes
    p50: Mapping[str, float] = field(default_factory=dict)  # seconds
    p95: Mapping[str, float] = field(default_factory=dict)

    def quietest(self) -> tuple[str, float]:
        name = min(self.per_minute, key=lambda f: (self.per_minute[f], f))
        return name, self.per_minute[name]

    def error_rate(self) -> float | None:
        calls = sum(self.per_minute.values()) * self.minutes
        return sum(self.errors.values()) / calls if calls > 0 and self.errors else None

    def sigma(self) -> float | None:
        """The spread of the durations' logarithm (log-normal from p50 and p95), the widest function's."""
        found = [math.log(self.p95[f] / self.p50[f]) / _Z95 for f in self.p95
                 if self.p50.get(f, 0) > 0 and self.p95[f] > self.p50[f]]
        return max(found) if found else None


@dataclass(frozen=True)
class Step:
    weight: float  # percent
    bake_s: float


@dataclass(frozen=True)
class TriggerNeed:
    """A criterion trigger and the calls it needs in its window."""

    criterion: Criterion
    min_calls: int

    @property
    def name(self) -> str:
        return f"trigger {self.criterion.text}"


@dataclass(frozen=True)
class Shape:
    """What a canary's plan says about its sample: steps, triggers, the judge, the bake's timing."""

    project: str
    steps: tuple[Step, ...]
    triggers: tuple[TriggerNeed, ...]
    judge: JudgeConfig | None
    interval_s: float = 60.0
    delay_s: float = 60.0
    max_extension_s: float = 600.0
    history_s: float = 3600.0

    def bake_of(self, step: Step) -> float:
        """A bake of zero is one interval: the canary looks once before moving on."""
        return step.bake_s or self.interval_s

    def available_minutes(self, step: Step, *, extended: bool = True) -> int:
        """Complete minutes of the step's own traffic the last look reads (the shift's own minute is partial)."""
        span = self.bake_of(step) + (self.max_extension_s if extended else 0.0) - self.delay_s
        return max(0, math.floor(span / 60) - 1)


@dataclass(frozen=True)
class Sample:
    """One criterion at one step: the calls it will see and whether it can decide within the bake and its cap."""

    project: str
    weight: float
    criterion: str
    function: str  # the quietest function: the one that decides last
    per_minute: float  # its canary calls a minute at this weight
    window_minutes: int | None  # the criterion's own window (None: it grows from the step's first minute)
    needed: int
    available: int  # minutes of the step's traffic readable by the end of the bake and its cap
    in_bake: int  # … by the end of the bake alone
    detects: str = ""

    @property
    def minutes_needed(self) -> int | None:
        """Minutes of the step's traffic that hold ``needed`` calls (None: no traffic at all)."""
        if self.per_minute <= 0:
            return None
        return max(1, math.ceil(self.needed / self.per_minute - 1e-9))

    @property
    def expected(self) -> float:
        """Calls expected in the criterion's window (its ``for`` window, else one minute)."""
        return self.per_minute * (self.window_minutes or 1)

    @property
    def decides(self) -> bool:
        needed = self.minutes_needed
        return needed is not None and needed <= self.available

    @property
    def grows_to(self) -> int | None:
        """The window the criterion grows to when its own is too short for its calls (None: no growth needed)."""
        needed = self.minutes_needed
        own = self.window_minutes or 1
        return needed if needed is not None and needed > own else None

    def line(self) -> str:
        """One line: the decision first, then the numbers."""
        window = f"{self.window_minutes}m window" if self.window_minutes else "minute"
        numbers = (f"{self.expected:.4g} calls per {window} ({self.per_minute:.4g}/min on {self.function}), "
                   f"needs {self.needed}")
        where = f"{self.project} at {self.weight:g}%: {self.criterion}"
        if not self.decides:
            return f"{where}: cannot decide: {numbers}; {self._would_suffice()}"
        needed = self.minutes_needed or 0
        when = "within the bake" if needed <= self.in_bake else "the bake extends"
        if self.window_minutes is None:
            verdict = f"decides after {_minutes(needed)} of the step's traffic ({when})"
        elif self.grows_to is None:
            verdict = f"decides in its {self.window_minutes}m window"
        else:
            verdict = f"decides, window grows to {_minutes(needed)} ({when})"
        return f"{where}: {verdict}: {numbers}" + (f"; {self.detects}" if self.detects else "")

    def _would_suffice(self) -> str:
        needed = self.minutes_needed
        allowed = f"the bake and its cap allow {self.available}m"
        if needed is None:
            return f"no traffic on the stable version in the last hour; {allowed}"
        return f"a {_minutes(needed)} window would suffice, {allowed}"


def _minutes(minutes: int) -> str:
    return f"{minutes}m" if minutes < 120 else f"{minutes}m ({minutes / 60:.1f}h)"


def plan_samples(shape: Shape, traffic: Traffic) -> list[Sample]:
    """Every criterion of ``shape`` at every step before the promotion, with the calls ``traffic`` will give it."""
    if not traffic.per_minute:
        return []
    function, rate = traffic.quietest()
    out: list[Sample] = []
    for step in shape.steps:
        if step.weight >= 100:
            continue
        share = step.weight / 100
        per_minute = rate * share
        available, in_bake = shape.available_minutes(step), shape.available_minutes(step, extended=False)
        for trigger in shape.triggers:
            window = trigger.criterion.window
            minutes = math.ceil(window.total_seconds() / 60) if window is not None else None
            out.append(Sample(shape.project, step.weight, trigger.name, function, per_minute, minutes,
                              trigger.min_calls, available, in_bake))
        if shape.judge is None:
            continue
        for policy in shape.judge.metrics:
            detects = _detects(policy.name, policy.kind, shape, step, traffic)
            out.append(Sample(shape.project, step.weight, f"judge {policy.name}", function, per_minute, None,
                              shape.judge.min_invocations, available, in_bake, detects))
    return out


def _detects(metric: str, kind: MetricKind, shape: Shape, step: Step, traffic: Traffic) -> str:
    config = shape.judge
    assert config is not None
    minutes = max(shape.available_minutes(step, extended=False), 1)
    rates = list(traffic.per_minute.values())
    n = len(rates)
    share = step.weight / 100
    canary = [r * share * minutes for r in rates]
    if kind is MetricKind.COUNT:
        base = traffic.error_rate()
        if base is None or base <= 0:
            return f"{metric}: no stable errors in the last hour to compare with"
        history = shape.history_s / 60
        stable = [r * (1 - share) * minutes + r * history for r in rates]
        bound = 1 + next(p.tolerance for p in config.metrics if p.name == metric)
        every = _error_ratio(canary, stable, base, config.alpha(True, n, pooled=n > 1), bound)
        quiet = min(range(n), key=lambda i: canary[i])
        one = _error_ratio([canary[quiet]], [stable[quiet]], base, config.alpha(True, n), bound)
        scope = "in every function" if n > 1 else "in its function"
        return (f"in the bake's {minutes} complete minutes it catches {metric} x{_ratio(every)} {scope}"
                + (f", x{_ratio(one)} in one" if n > 1 else "") + f" (stable {base:.2%})")
    if kind is MetricKind.TAIL:
        level = config.alpha(True, n, pooled=n > 1) / max(len(_quantiles(config, metric)), 1)
        above = _tail_share(sum(canary), level)
        if above is None:
            return f"in the bake's {minutes} complete minutes too few calls to test {metric}'s tail"
        tolerance = next(p.tolerance for p in config.metrics if p.name == metric)
        text = (f"in the bake's {minutes} complete minutes it catches {above:.1%} of canary calls above "
                f"stable p95 x{1 + tolerance:g} (5% allowed)")
        sigma = traffic.sigma()
        if sigma is not None and above < 1:
            factor = (1 + tolerance) * math.exp(sigma * (_Z95 - NormalDist().inv_cdf(1 - above)))
            text += f": latency x{factor:.2g} in every function"
        return text
    return ""


def _quantiles(config: JudgeConfig, metric: str) -> tuple[float, ...]:
    return next(p.quantiles for p in config.metrics if p.name == metric)


def _ratio(value: float | None) -> str:
    return "n/a (too few calls)" if value is None else f"{value:.2g}"


def _error_ratio(canary: Sequence[float], stable: Sequence[float], base: float, alpha: float,
                 bound: float = 1.0) -> float | None:
    """The smallest canary/stable error-rate ratio (to 2%) whose expected counts the judge's rate test rejects
    (the test of a ratio above ``bound``: 1 + the metric's tolerance)."""
    def rejects(ratio: float) -> bool:
        strata = [Stratum(c * base * ratio, c, s * base, s) for c, s in zip(canary, stable, strict=True)]
        return rate_test(strata, bound).p_value < alpha

    low, high = 1.0, 1000.0
    if not rejects(high):
        return None
    while high / low > 1.02:
        middle = math.sqrt(low * high)
        low, high = (low, middle) if rejects(middle) else (middle, high)
    return high


def _tail_share(calls: float, alpha: float) -> float | None:
    """The smallest share of ``calls`` above the stable's p95 that the tail count rejects at ``alpha``."""
    n = math.floor(calls)
    if n < 1:
        return None
    k = math.ceil(0.05 * n)
    while k <= n and binomial_sf(k, n, 0.05) >= alpha:
        k += 1
    return k / n if k <= n else None


SAMPLE_MINUTES = 60  # the stable's recent traffic a sample is read from: the last hour


def traffic_requests(scopes: Sequence[Scope], minutes: int) -> list[SeriesRequest]:
    """The series ``read_traffic`` asks for: per stable scope, calls and errors a minute, p50 and p95 over the span."""
    span = minutes * 60
    return [SeriesRequest(scope, metric, stat, period) for scope in scopes
            for metric, stat, period in (("invocations", "Sum", 60), ("errors", "Sum", 60),
                                         ("duration", "p50", span), ("duration", "p95", span))]


def read_traffic(source: MetricSource, scopes: Sequence[Scope], end: datetime,
                 minutes: int = SAMPLE_MINUTES) -> tuple[Traffic | None, str | None]:
    """The stable scopes' traffic over the ``minutes`` before ``end`` (one fetch), or why it could not be read.

    Calls are counted a minute, so a rate is over the minutes there was traffic to count: from the first minute
    any of the scopes was called (a function or a world younger than the hour) to ``end``.
    """
    start = end - timedelta(minutes=minutes)
    fetched = source.fetch(traffic_requests(scopes, minutes), start, end)
    if fetched.error:
        return None, fetched.error

    def series(scope: Scope, metric: str, stat: str, period: int) -> dict[datetime, float]:
        return fetched.get(SeriesRequest(scope, metric, stat, period)).values()

    firsts = [min(points) for scope in scopes if (points := series(scope, "invocations", "Sum", 60))]
    observed = max(1, min(minutes, round((end - min(firsts)).total_seconds() / 60))) if firsts else minutes
    per_minute: dict[str, float] = {}
    errors: dict[str, float] = {}
    p50: dict[str, float] = {}
    p95: dict[str, float] = {}
    for scope in scopes:
        per_minute[scope.function] = sum(series(scope, "invocations", "Sum", 60).values()) / observed
        errors[scope.function] = sum(series(scope, "errors", "Sum", 60).values())
        for into, stat in ((p50, "p50"), (p95, "p95")):
            values = list(series(scope, "duration", stat, minutes * 60).values())
            if values:
                into[scope.function] = values[-1] / 1000.0
    return Traffic(per_minute, float(observed), errors, p50, p95), None
