"""Benchmark: golive's canary judge vs the runbook's fixed triggers, on simulated canaries.

Issue 6's benchmark. A project of 5 Lambda functions shifts 10% of its traffic to a new version for a
10-minute bake; every minute, both methods look at the data so far:

- the runbook's fixed triggers alone: the canary version's own error rate > 5% in the minute just
  ended (per function), and p95 > 5 s sustained 15 minutes;
- golive's judge (``golive.analysis.judge``) on canary vs stable, cumulative, with its defaults.

Cases: healthy; error rate 1% -> 3% in all five functions; the same in one function of five;
p95 +30% (every duration x1.3) in all five. Beside them, the limit: the power of the exact one-sided
test (alpha 1%) that knows the true baseline rate, on the canary's invocations of the regressed
functions at 10 minutes. Printed at 600 and at 60 invocations per minute per function.

A "rollback" is the project's: any function failing rolls the project back. Pure simulation, seeded.

Issue 11 adds healthy canaries at a 1% baseline, 600 calls a minute per function, through the runbook's
whole canary (10% for 10 minutes, then 50% for 5), for projects of 5 and of 10 functions: false
rollbacks by the fixed triggers as they were (the shift's partial first minute, 18 canary calls, no
minimum) and as they are (complete minutes only, the window grown back to 300 calls), and by the
triggers and the judge together (the target: 0 for the triggers, at most 1% per project with the judge).

    python bench/judge.py [--runs 500] [--seed 7] [--workers 2] [--only-baseline]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from golive.analysis.judge import JudgeConfig, VersionSeries, config_for, judge
from golive.analysis.measurement import MeasurementOutcome as Outcome

FUNCTIONS = 5
MINUTES = 10
SHARE = 0.10
BASE_ERROR = 0.01
BAD_ERROR = 0.03
MEDIAN_MS = 120.0
SIGMA = 0.6
FIXED_ERROR = 0.05
FIXED_P95_S = 5.0
FIXED_SUSTAIN = 15


@dataclass(frozen=True)
class Case:
    name: str
    canary_error: tuple[float, ...]
    latency_factor: float = 1.0

    @property
    def regressed(self) -> int:
        return sum(1 for r in self.canary_error if r > BASE_ERROR) or (FUNCTIONS if self.latency_factor != 1.0 else 0)


CASES = (
    Case("healthy", (BASE_ERROR,) * FUNCTIONS),
    Case("errors 1%->3%, all five", (BAD_ERROR,) * FUNCTIONS),
    Case("errors 1%->3%, one of five", (BAD_ERROR,) + (BASE_ERROR,) * (FUNCTIONS - 1)),
    Case("p95 +30%, all five", (BASE_ERROR,) * FUNCTIONS, 1.3),
)


# The default judge bounds false rollbacks per *project* (any of 5 functions); the second bounds them per
# function canary, the unit of the "the fixed trigger falsely fires in about 3% of canaries".
JUDGES = (
    ("golive judge", JudgeConfig()),
    ("judge, α per fn", config_for("function")),
)


@dataclass(frozen=True)
class RunResult:
    fixed_minute: int | None
    judge_minutes: tuple[int | None, ...]
    judge_finals: tuple[Outcome, ...]
    fixed_functions: int  # functions whose own fixed trigger fired (per-function false rate)


def p95(samples: np.ndarray) -> float:
    if samples.size == 0:
        return math.nan
    return float(np.quantile(samples, 0.95, method="inverted_cdf")) / 1000.0


def simulate(case: Case, rate: int, seed: int, random_split: bool = False) -> RunResult:
    rng = np.random.default_rng(seed)
    if random_split:
        n_c = rng.binomial(rate, SHARE, size=(MINUTES, FUNCTIONS))
    else:
        n_c = np.full((MINUTES, FUNCTIONS), round(rate * SHARE))
    n_s = rate - n_c
    rates = np.asarray(case.canary_error)
    e_c = rng.binomial(n_c, rates)
    e_s = rng.binomial(n_s, BASE_ERROR)
    p95_c = np.full((MINUTES, FUNCTIONS), math.nan)
    p95_s = np.full((MINUTES, FUNCTIONS), math.nan)
    for m in range(MINUTES):
        for f in range(FUNCTIONS):
            p95_c[m, f] = p95(rng.lognormal(math.log(MEDIAN_MS), SIGMA, n_c[m, f]) * case.latency_factor)
            p95_s[m, f] = p95(rng.lognormal(math.log(MEDIAN_MS), SIGMA, n_s[m, f]))

    fixed_minute: int | None = None
    fired = np.zeros(FUNCTIONS, dtype=bool)
    slow_run = np.zeros(FUNCTIONS, dtype=int)
    for m in range(MINUTES):
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_now = np.where(n_c[m] > 0, e_c[m] / np.maximum(n_c[m], 1), 0.0)
        slow_run = np.where(np.nan_to_num(p95_c[m]) > FIXED_P95_S, slow_run + 1, 0)
        now = (rate_now > FIXED_ERROR) | (slow_run >= FIXED_SUSTAIN)
        fired |= now
        if now.any() and fixed_minute is None:
            fixed_minute = m + 1

    minutes: list[int | None] = []
    finals: list[Outcome] = []
    for _, config in JUDGES:
        judge_minute: int | None = None
        final_outcome = Outcome.INCONCLUSIVE
        for m in range(1, MINUTES + 1):
            canary = [VersionSeries(f"fn-{f}", n_c[:m, f].tolist(), {"errors": e_c[:m, f].tolist()},
                                    {"p95_duration": p95_c[:m, f].tolist()}) for f in range(FUNCTIONS)]
            stable = [VersionSeries(f"fn-{f}", n_s[:m, f].tolist(), {"errors": e_s[:m, f].tolist()},
                                    {"p95_duration": p95_s[:m, f].tolist()}) for f in range(FUNCTIONS)]
            verdict = judge(canary, stable, config, final=m == MINUTES)
            final_outcome = verdict.outcome
            if verdict.outcome is Outcome.FAILED:
                judge_minute = m
                break
        minutes.append(judge_minute)
        finals.append(final_outcome)
    return RunResult(fixed_minute, tuple(minutes), tuple(finals), int(fired.sum()))


def run_case(args: tuple[Case, int, int, int, bool]) -> tuple[Case, int, list[RunResult]]:
    case, rate, runs, seed, random_split = args
    return case, rate, [simulate(case, rate, seed * 1_000_003 + i, random_split) for i in range(runs)]


def limit_power(case: Case, rate: int, alpha: float = 0.01) -> float | None:
    """Power at 10 min of the exact test knowing the true baseline, on the regressed functions' canary traffic."""
    bad = [r for r in case.canary_error if r > BASE_ERROR]
    if case.latency_factor != 1.0:
        return None
    n = round(rate * SHARE * MINUTES * max(len(bad), 1))
    critical = int(sps.binom.isf(alpha, n, BASE_ERROR)) + 1
    while sps.binom.sf(critical - 2, n, BASE_ERROR) <= alpha:
        critical -= 1
    true_rate = bad[0] if bad else BASE_ERROR
    return float(sps.binom.sf(critical - 1, n, true_rate))


def fmt_rate(x: float) -> str:
    return f"{x:6.1%}"


def report(results: list[tuple[Case, int, list[RunResult]]], runs: int) -> None:
    for rate in sorted({r for _, r, _ in results}, reverse=True):
        print(f"\n{rate} invocations/min/function ({round(rate * SHARE)} to each canary), {FUNCTIONS} functions, "
              f"{MINUTES}-min bake at {SHARE:.0%}, {runs} runs per case")
        print(f"{'case':<28} {'method':<22} {'rollback':>8} {'median min':>10} {'per-fn':>7} {'inconcl.':>8}")
        print("-" * 89)
        for case, r, runs_ in results:
            if r != rate:
                continue
            fixed = [x.fixed_minute for x in runs_ if x.fixed_minute is not None]
            per_fn = sum(x.fixed_functions for x in runs_) / (len(runs_) * FUNCTIONS)
            med_fixed = f"{statistics.median(fixed):.0f}" if fixed else "-"
            print(f"{case.name:<28} {'fixed triggers':<22} {fmt_rate(len(fixed) / len(runs_)):>8} {med_fixed:>10} "
                  f"{fmt_rate(per_fn):>7} {'':>8}")
            for j, (label, _) in enumerate(JUDGES):
                judged = [x.judge_minutes[j] for x in runs_ if x.judge_minutes[j] is not None]
                by_ten = sum(1 for m in judged if m is not None and m <= MINUTES)
                inconclusive = sum(1 for x in runs_ if x.judge_minutes[j] is None and x.judge_finals[j] is Outcome.INCONCLUSIVE)
                med_judge = f"{statistics.median([m for m in judged if m is not None]):.0f}" if judged else "-"
                print(f"{'':<28} {label:<22} {fmt_rate(by_ten / len(runs_)):>8} {med_judge:>10} {'':>7} "
                      f"{fmt_rate(inconclusive / len(runs_)):>8}")
            for alpha, label in ((0.01, "limit (exact, known p)"), (0.002, "limit at α=0.2%/fn")):
                limit = limit_power(case, r, alpha)
                shown = fmt_rate(limit) if limit is not None else "   n/a"
                print(f"{'':<28} {label:<22} {shown:>8} {'10':>10}")
        print("limit: exact one-sided test knowing the baseline rate, at α=1% per function (the issue's limit) and at"
              " α=0.2% per function (the per-function level that keeps a 5-function project's false rollbacks ≤ 1%)")
        print("rollback: share of runs rolled back within the bake (for 'healthy': the false rollback rate);"
              " per-fn: share of function canaries whose own fixed trigger fired;"
              " inconcl.: judge still Inconclusive at the end (bake extended, then fail-safe rollback)")


BASELINE_STEPS = ((0.10, 10), (0.50, 5))  # the runbook's canary: 10% for 10 minutes, 50% for 5
MIN_CALLS = 300  # rollback.min_invocations, the plan's default
PARTIAL = 0.3  # the share of the shift's own minute after the shift (18 of 60 canary calls at 10%)


@dataclass(frozen=True)
class BaselineResult:
    old_trigger: bool
    new_trigger: bool
    judged: bool  # the judge failed some look
    inconclusive: bool  # a trigger or the judge was still Inconclusive at a bake's end


def _fires(errors: np.ndarray, calls: np.ndarray, minimum: int) -> tuple[bool, bool]:
    """The fixed ``error_rate > 5%`` at the newest minute, its window grown back to ``minimum`` calls.

    ``errors`` and ``calls`` are (minutes, functions) of one bake so far; (fired, enough data).
    """
    fired = False
    enough = True
    for f in range(calls.shape[1]):
        c = e = 0.0
        for m in range(calls.shape[0] - 1, -1, -1):
            c += calls[m, f]
            e += errors[m, f]
            if c >= minimum:
                break
        if c < minimum:
            enough = False
            continue
        fired |= e / c > FIXED_ERROR
    return fired, enough


def simulate_baseline(functions: int, rate: int, seed: int) -> BaselineResult:
    rng = np.random.default_rng(seed)
    config = config_for("project").split(len(BASELINE_STEPS))  # as the canary shares it over its bakes
    old = new = judged = inconclusive = False
    for share, minutes in BASELINE_STEPS:
        n_c = np.full((minutes, functions), round(rate * share))
        n_s = rate - n_c
        e_c = rng.binomial(n_c, BASE_ERROR)
        e_s = rng.binomial(n_s, BASE_ERROR)
        p95_c = [[p95(rng.lognormal(math.log(MEDIAN_MS), SIGMA, n_c[m, f])) for f in range(functions)]
                 for m in range(minutes)]
        p95_s = [[p95(rng.lognormal(math.log(MEDIAN_MS), SIGMA, n_s[m, f])) for f in range(functions)]
                 for m in range(minutes)]
        # The old trigger's first look read the shift's partial minute on its own.
        first = max(1, round(rate * share * PARTIAL))
        old |= bool((rng.binomial(first, BASE_ERROR, size=functions) / first > FIXED_ERROR).any())
        old |= bool((e_c / np.maximum(n_c, 1) > FIXED_ERROR).any())
        for m in range(1, minutes + 1):
            fired, enough = _fires(e_c[:m], n_c[:m], MIN_CALLS)
            new |= fired
            canary = [VersionSeries(f"fn-{f}", n_c[:m, f].tolist(), {"errors": e_c[:m, f].tolist()},
                                    {"p95_duration": [p95_c[i][f] for i in range(m)]}) for f in range(functions)]
            stable = [VersionSeries(f"fn-{f}", n_s[:m, f].tolist(), {"errors": e_s[:m, f].tolist()},
                                    {"p95_duration": [p95_s[i][f] for i in range(m)]}) for f in range(functions)]
            verdict = judge(canary, stable, config, final=m == minutes)
            judged |= verdict.outcome is Outcome.FAILED
            if m == minutes:
                inconclusive |= not enough or verdict.outcome is Outcome.INCONCLUSIVE
    return BaselineResult(old, new, judged, inconclusive)


def run_baseline(args: tuple[int, int, int, int]) -> tuple[int, list[BaselineResult]]:
    functions, rate, runs, seed = args
    return functions, [simulate_baseline(functions, rate, seed * 1_000_003 + i) for i in range(runs)]


def report_baseline(results: list[tuple[int, list[BaselineResult]]], runs: int, rate: int) -> None:
    print(f"\nhealthy canaries at a {BASE_ERROR:.0%} baseline, {rate} invocations/min/function, 10% for 10 min then "
          f"50% for 5, {runs} runs: false rollbacks per project")
    print(f"{'functions':<10} {'old trigger':>12} {'trigger min 300':>16} {'trigger + judge':>16} {'inconcl.':>9}")
    print("-" * 67)
    for functions, runs_ in results:
        n = len(runs_)
        old = sum(r.old_trigger for r in runs_) / n
        new = sum(r.new_trigger for r in runs_) / n
        both = sum(r.new_trigger or r.judged for r in runs_) / n
        inconclusive = sum(r.inconclusive for r in runs_) / n
        print(f"{functions:<10} {fmt_rate(old):>12} {fmt_rate(new):>16} {fmt_rate(both):>16} {fmt_rate(inconclusive):>9}")
    print("old trigger: the shift's partial minute and every minute on its own; trigger min 300: complete minutes,"
          " the window grown back to 300 calls; inconcl.: still waiting for data at a bake's end (extended)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--random-split", action="store_true",
                        help="route each invocation to the canary with probability 10%% instead of exactly 10%% a minute")
    parser.add_argument("--only-baseline", action="store_true", help="only the 1%% baseline false-rollback figures")
    args = parser.parse_args()
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        baseline = list(pool.map(run_baseline, [(n, 600, args.runs, args.seed + n) for n in (5, 10)]))
    report_baseline(baseline, args.runs, 600)
    if args.only_baseline:
        print(f"\n(simulated in {time.perf_counter() - started:.1f} s)")
        return 0
    jobs = [(case, rate, args.runs, args.seed + i, args.random_split) for rate in (600, 60) for i, case in enumerate(CASES)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_case, jobs))
    report(results, args.runs)
    print(f"\n(simulated in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
