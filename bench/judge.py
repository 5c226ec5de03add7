"""Benchmark: golive's canary judge on simulated canaries, beside the limits it computes itself.

Issue 16's table. A project of Lambda functions runs the runbook's canary (10% of its traffic for a
10-minute bake, then 50% for 5); the judge (``golive.analysis.judge``, the plan's defaults: the
"project" budget shared by the two bakes, errors with a +10% tolerance and the latency tail at p95 and
p99 with a +10% tolerance) looks every minute at the bake so far, as ``lambda_canary`` does. Each function takes
``rate`` calls a minute, split exactly by the weight; errors are Binomial, durations log-normal (median
120 ms, sigma 0.6), the canary's multiplied by the case's factor. The latency tail is read as the
sandbox's CloudWatch answers it: the stable version's p95 (p99) over its hour before the first shift (its
history; over the bake itself with ``--history 0``, as golive does without one, or when the stable's share above
that line in the bake says it drifted), times the tolerance, and the canary's calls above it, against the
stable's calls above the line. Alongside golive, on the same data:

- the runbook's fixed triggers (``error_rate > 5%`` over complete minutes grown back to 300 calls);
- limit "known baseline": the exact one-sided test that knows the true error rate (or the true
  latency distribution), looking every minute with golive's own boundaries (same per-project budget,
  same spending over functions and looks): what golive would do if the stable version had no noise;
- limit "stable only, one look": the conditional test against the concurrent stable version, one look
  at the bake's end at the whole per-project level split over functions: what the looks cost.

Cases: healthy (600 and 60 calls a minute; the false rollbacks per project over the whole canary, issue
24's targets 0.26% / 0.54% / 0.50% for 5 / 10 / 20 functions); errors 1% -> 3% in all five functions and
in one of five (share caught within the first 10 minutes, median minutes); latency x3 and +30% on the
canary only (share caught within 10 minutes, within 5, median minutes after the first complete minute: a
look at minute m reads m complete minutes, so m - 1 minutes after the first). ``--sizes`` adds healthy projects of other sizes.

Healthy false rollbacks are broken down by what decided them: the fixed trigger, or the judge's failed tests
(metric or percentile, per function or pooled), and by look (a bake's interim looks, its end, or the looks
past it). ``--held N``: a trigger still waiting holds each bake N minutes past its end while the judge looks
on each minute (a thin window, a short bake); golive judges those looks at the interim level and only the
one that ends the step at the final level; ``--every-final`` judges them all at the final level, as golive
did before (an extension spent the final boundary again at every look).

    python bench/judge.py [--runs 5000] [--seed 7] [--workers 2] [--sizes 5,10,20] [--only-healthy]
                          [--held 5] [--every-final]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from golive.analysis.judge import (
    DEFAULT_POLICIES,
    POOLED,
    JudgeConfig,
    MetricResult,
    TailCount,
    VersionSeries,
    config_for,
    judge,
)
from golive.analysis.measurement import MeasurementOutcome as Outcome
from golive.analysis.stats import Stratum, binomial_sf, rate_test
from golive.analysis.tails import line_drift

STEPS = ((0.10, 10), (0.50, 5))  # the runbook's canary
BASE_ERROR = 0.01
BAD_ERROR = 0.03
SIGMA = 0.6
FIXED_ERROR = 0.05
MIN_CALLS = 300
TOLERANCE = next(p.tolerance for p in DEFAULT_POLICIES if p.name == "p95_duration")
ERROR_TOLERANCE = next(p.tolerance for p in DEFAULT_POLICIES if p.name == "errors")
QUANTILES = (0.95, 0.99)
HISTORY = 60  # minutes of the stable version before the first shift (--history)


@dataclass(frozen=True)
class Case:
    name: str
    functions: int
    rate: int
    bad: int = 0  # functions whose canary errs at BAD_ERROR
    latency: float = 1.0  # the canary's durations times this, in every function
    history: int = HISTORY
    held: int = 0  # minutes a trigger still waiting holds each bake past its end (--held)
    every_final: bool = False  # every look past the bake at the final level, as before the fix (--every-final)

    @property
    def healthy(self) -> bool:
        return self.bad == 0 and self.latency == 1.0


@dataclass(frozen=True)
class Run:
    judge: int | None  # look (minute of the first bake; 10 + m in the second) the judge failed at
    trigger: int | None
    known: int | None
    single: bool  # the stable-only single final look of the first bake failed
    causes: tuple[str, ...] = ()  # the judge's failed tests at its failing look ("errors pooled", "p95 tail fn")


def _config() -> JudgeConfig:
    return config_for("project").split(len(STEPS))


def _known_counts(errors: int, calls: int, level: float) -> bool:
    return binomial_sf(errors, calls, BASE_ERROR) < level


def simulate(case: Case, seed: int) -> Run:
    rng = np.random.default_rng(seed)
    config = _config()
    f = case.functions
    error_rate = np.array([BAD_ERROR] * case.bad + [BASE_ERROR] * (f - case.bad))
    shift = math.log(case.latency) / SIGMA
    lift = math.log(1 + TOLERANCE) / SIGMA
    true_x = {q: _z(q) + lift for q in QUANTILES}
    found: dict[str, int | None] = {"judge": None, "trigger": None, "known": None}
    # The stable version's hour before the first shift (all of the function's traffic), as lambda_canary reads it.
    h = case.history
    history: list[dict[str, float] | None] = [
        {"invocations": float(h * case.rate), "errors": float(e), "minutes": float(h)}
        for e in rng.binomial(h * case.rate, BASE_ERROR, size=f)] if h else [None] * f
    # The stable's pNN over that hour: the tail test's line (golive's look asks the counts at it at once); the
    # order statistic of the hour's h * rate calls drawn directly (the k-th of N uniforms is Beta(k, N - k + 1)).
    lines: dict[float, list[float]] | None = None
    if h:
        calls = h * case.rate
        lines = {q: [_z(float(u)) for u in rng.beta(math.ceil(q * calls), calls - math.ceil(q * calls) + 1, size=f)]
                 for q in QUANTILES}
    single = False
    causes: tuple[str, ...] = ()
    offset = 0
    for share, bake in STEPS:
        minutes = bake + case.held
        n_c = round(case.rate * share)
        n_s = case.rate - n_c
        e_c = rng.binomial(n_c, error_rate, size=(minutes, f))
        e_s = rng.binomial(n_s, BASE_ERROR, size=(minutes, f))
        z_c = rng.standard_normal((minutes, f, n_c)) + shift
        z_s = rng.standard_normal((minutes, f, n_s))
        for m in range(1, minutes + 1):
            final = m >= bake if case.every_final else m == minutes
            look = offset + m
            if found["trigger"] is None and _trigger(e_c[:m], n_c):
                found["trigger"] = look
            if found["judge"] is None:
                canaries, stables = [], []
                for j in range(f):
                    stable_z = z_s[:m, j].ravel()
                    canary_z = z_c[:m, j].ravel()
                    tails = []
                    for q in QUANTILES:
                        # golive's line: the hour before the shift's, unless the window's stable says it drifted
                        before = lines is not None and line_drift(
                            stable_z.size, np.count_nonzero(stable_z > lines[q][j]), q) >= config.drift_alpha
                        if lines is not None and before:
                            ref = lines[q][j]
                        else:
                            kth = math.ceil(q * stable_z.size) - 1  # the inverted-CDF quantile, as CloudWatch's pNN
                            ref = float(np.partition(stable_z, kth)[kth])
                        x = ref + lift
                        tails.append(TailCount(q, ref, x, float(canary_z.size), float(np.count_nonzero(canary_z > x)),
                                               float(stable_z.size), float(np.count_nonzero(stable_z > ref)),
                                               before=before))
                    canaries.append(VersionSeries(f"fn-{j}", [float(n_c)] * m, {"errors": e_c[:m, j].tolist()}, {},
                                                  {"p95_duration": tails}))
                    stables.append(VersionSeries(f"fn-{j}", [float(n_s)] * m, {"errors": e_s[:m, j].tolist()},
                                                 history=history[j]))
                verdict = judge(canaries, stables, config, final=final)
                if verdict.outcome is Outcome.FAILED:
                    found["judge"] = look
                    causes = tuple(sorted({_cause(r) for r in verdict.results if r.outcome is Outcome.FAILED}))
            limits = not case.healthy or case.functions == 5 or case.rate != 600  # the limits of big healthy projects: skipped
            if limits and found["known"] is None and _known(case, config, e_c[:m], z_c[:m], n_c, true_x, final):
                found["known"] = look
            if limits and final and offset == 0:
                level = 0.009 / len(STEPS)
                strata = [Stratum(float(e_c[:, j].sum()), n_c * minutes, float(e_s[:, j].sum()), n_s * minutes)
                          for j in range(f)]
                per_fn = level / 2 / f if f > 1 else level
                single = any(rate_test([s]).p_value < per_fn for s in strata) or (
                    f > 1 and rate_test(strata).p_value < level / 2)
        offset += minutes
    return Run(found["judge"], found["trigger"], found["known"], single, causes)


def _cause(r: MetricResult) -> str:
    """A failed test by metric, percentile and scope: ``errors pooled``, ``p95 tail fn``."""
    name = r.metric if r.quantile is None else f"p{r.quantile * 100:g} tail"
    return f"{name} {'pooled' if r.scope.startswith(POOLED) else 'fn'}"


def _z(q: float) -> float:
    return statistics.NormalDist().inv_cdf(q)


def _trigger(errors: np.ndarray, per_minute: int) -> bool:
    """``error_rate > 5%`` on each function's newest complete minutes, grown back to MIN_CALLS calls."""
    take = math.ceil(MIN_CALLS / per_minute)
    if errors.shape[0] < take:
        return False
    window = errors[-take:].sum(axis=0)
    return bool((window / (take * per_minute) > FIXED_ERROR).any())


def _known(case: Case, config: JudgeConfig, e_c: np.ndarray, z_c: np.ndarray, n_c: int,
           true_x: dict[float, float], final: bool) -> bool:
    """The tests that know the true baseline, with golive's boundaries, per function and pooled."""
    f = case.functions
    m = e_c.shape[0]
    calls = n_c * m
    fn_level, pooled_level = config.alpha(final, f), config.alpha(final, f, pooled=True)
    errors = e_c.sum(axis=0)
    if any(_known_counts(int(e), calls, fn_level) for e in errors):
        return True
    if f > 1 and _known_counts(int(errors.sum()), calls * f, pooled_level):
        return True
    for q in QUANTILES:
        above = (z_c > true_x[q]).sum(axis=(0, 2))
        level = fn_level / len(QUANTILES)
        if any(binomial_sf(int(a), calls, 1 - q) < level for a in above):
            return True
        if f > 1 and binomial_sf(int(above.sum()), calls * f, 1 - q) < pooled_level / len(QUANTILES):
            return True
    return False


def run_case(args: tuple[Case, int, int]) -> tuple[Case, list[Run]]:
    case, runs, seed = args
    return case, [simulate(case, seed * 1_000_003 + i) for i in range(runs)]


def _share(xs: list[int | None], within: int) -> float:
    return sum(1 for x in xs if x is not None and x <= within) / len(xs)


def _median(xs: list[int | None], within: int, after: int = 0) -> str:
    caught = [x - after for x in xs if x is not None and x <= within]
    return f"{statistics.median(caught):.1f}" if caught else "-"


def report(results: list[tuple[Case, list[Run]]], runs: int, history: int) -> None:
    print(f"\nthe runbook's canary (10% for 10 min, then 50% for 5), judge: project budget {_config().alpha_final * 2:g}"
          f" final / {_config().alpha_interim * 2:g} interim per metric over both bakes, error tolerance "
          f"+{ERROR_TOLERANCE:.0%}, latency tolerance +{TOLERANCE:.0%}, {history} min of stable history; {runs} runs"
          f" a case")
    held = results[0][0] if results else None
    if held is not None and held.held:
        print(f"each bake held {held.held} min past its end by a waiting trigger; the judge's looks there at the "
              f"{'final level (before the fix)' if held.every_final else 'interim level, the last one final'}")
    print(f"{'case':<34} {'method':<26} {'caught':>7} {'<=2 min':>8} {'<=3 min':>8} {'<=5 min':>8} {'median':>7}")
    print("-" * 104)
    for case, rs in results:
        whole = sum(m + case.held for _, m in STEPS)
        within = whole if case.healthy else STEPS[0][1]
        after = 1 if case.latency != 1.0 else 0
        rows = [("golive judge + triggers", [_first(r.judge, r.trigger) for r in rs]),
                ("fixed triggers alone", [r.trigger for r in rs]),
                ("limit: known baseline", [r.known for r in rs])]
        for number, (label, xs) in enumerate(rows):
            early = " ".join(f"{_share([x - after if x is not None else None for x in xs], k):>8.1%}" for k in (2, 3, 5))
            print(f"{case.name if number == 0 else '':<34} {label:<26} {_share(xs, within):>7.2%} "
                  f"{early} {_median(xs, within, after):>7}")
        single = sum(r.single for r in rs) / len(rs)
        if case.healthy:
            _breakdown(case, rs)
        print(f"{'':<34} {'limit: stable only, 1 look':<26} {single:>7.2%} {'':>26} {'10':>7}")
    print("caught: healthy, false rollbacks over the whole canary (issue 24: at most 0.26% / 0.54% / 0.50% for 5 / 10 /"
          " 20 functions); otherwise, share rolled back within the first bake's 10 minutes. <=k min and median:"
          " minutes of data at the failing look (latency cases: minutes after the first complete minute, so a"
          " look on the first minute is 0)")


def _breakdown(case: Case, rs: list[Run]) -> None:
    """What decided each false rollback: the trigger, or the judge's failed tests; and at which look."""
    whole = sum(m + case.held for _, m in STEPS)
    by_cause: dict[str, int] = {}
    by_look: dict[str, int] = {}
    for r in rs:
        first = _first(r.judge, r.trigger)
        if first is None or first > whole:
            continue
        if r.trigger == first:
            by_cause["trigger error_rate > 5%"] = by_cause.get("trigger error_rate > 5%", 0) + 1
        if r.judge == first:
            for c in r.causes:
                by_cause[f"judge {c}"] = by_cause.get(f"judge {c}", 0) + 1
        one = STEPS[0][1] + case.held
        bake, minute = (1, first) if first <= one else (2, first - one)
        end = STEPS[bake - 1][1]
        key = f"bake {bake} {'interim' if minute < end else 'end' if minute == end else 'held'}"
        by_look[key] = by_look.get(key, 0) + 1
    causes = ", ".join(f"{k} {v / len(rs):.2%}" for k, v in sorted(by_cause.items(), key=lambda kv: -kv[1]))
    looks = ", ".join(f"{k} {v / len(rs):.2%}" for k, v in sorted(by_look.items()))
    print(f"{'':<34} by test: {causes or '-'}")
    print(f"{'':<34} by look: {looks or '-'}")


def _first(*xs: int | None) -> int | None:
    found = [x for x in xs if x is not None]
    return min(found) if found else None


def cases(sizes: list[int], only_healthy: bool) -> list[Case]:
    out = [Case(f"healthy, {n} fns, 600/min", n, 600) for n in sizes]
    if only_healthy:
        return out
    return [*out, Case("healthy, 5 fns, 60/min", 5, 60),
            Case("errors 1%->3%, 5 of 5", 5, 600, bad=5), Case("errors 1%->3%, 1 of 5", 5, 600, bad=1),
            Case("latency x3, canary, 5 fns", 5, 600, latency=3.0),
            Case("latency +30%, canary, 5 fns", 5, 600, latency=1.3)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", default="5,10,20", help="healthy project sizes")
    parser.add_argument("--only-healthy", action="store_true", help="only the false-rollback figures")
    parser.add_argument("--only-power", action="store_true", help="only the regression cases and 60 calls a minute")
    parser.add_argument("--power-runs", type=int, default=None, help="runs for the regression cases (default --runs)")
    parser.add_argument("--history", type=int, default=HISTORY, help="minutes of stable history (0: none)")
    parser.add_argument("--held", type=int, default=0,
                        help="minutes a waiting trigger holds each bake past its end (the judge looks on)")
    parser.add_argument("--every-final", action="store_true",
                        help="judge every look past a bake's end at the final level (golive before issue 24's fix)")
    args = parser.parse_args()
    started = time.perf_counter()
    sizes = [int(n) for n in args.sizes.split(",")]
    chosen = [replace(c, history=args.history, held=args.held, every_final=args.every_final)
              for c in cases(sizes, args.only_healthy)
              if not args.only_power or not c.healthy or c.rate != 600]
    chunks = max(1, args.workers * 2)
    jobs = []
    for i, case in enumerate(chosen):
        runs = args.runs if case.healthy or args.power_runs is None else args.power_runs
        jobs += [(case, runs // chunks + (c < runs % chunks), args.seed + 100 * i + 7919 * c) for c in range(chunks)]
    merged: dict[str, tuple[Case, list[Run]]] = {}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for case, found in pool.map(run_case, jobs):
            merged.setdefault(case.name, (case, []))[1].extend(found)
    report([merged[c.name] for c in chosen], args.runs, args.history)
    print(f"\n(simulated in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
