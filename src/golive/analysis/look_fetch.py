"""One ``GetMetricData`` a look: every series a canary look reads, asked for together, each reader served a slice.

A look reads the triggers' per-minute calls and errors (from the step's first complete minute), the judge's
per-minute counts of both versions and the tail test's counts (each function's sample counts and its calls
above the stable's lines), all ending at the same minute. Asked for one by one, that was five calls a look;
asked for together, it is ⌈queries / 500⌉ (``CloudWatchLambdaSource`` packs 500 queries a call). What cannot
join:

- the stable's history before the first shift (another window; read once a canary, with the tail's lines, in
  the first shift's sample call when the plan's ``history`` is its hour, else at the first look);
- the tail test's second round where the stable had no line before the shift (no history, or no duration in
  it): ``PR(x:)`` at thresholds the window's own stable percentiles give (``analysis.tails``);
- a percentile over a trigger's whole window when it is not the bake's (an ``immediately`` latency trigger
  whose window grew from its own start).

``LookSource`` is a ``MetricSource`` for the look: ``prefetch`` the look's requests (``look_requests``) over the
bake's window at once, then every reader calls ``fetch`` as it did: a per-minute series is sliced to the reader's
window, a series of one period is served when the reader's window is the bake's; anything else goes to the
underlying source. A failed prefetch is every reader's failure, as a failed call was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from golive.analysis.evaluate import CriterionSpec, requests_for
from golive.analysis.judge import JudgeConfig, MetricKind
from golive.analysis.metrics import Fetch, MetricSource, Scope, Series, SeriesRequest
from golive.analysis.tails import References, tail_requests

MINUTE_S = 60


def look_requests(specs: Sequence[CriterionSpec], pairs: Sequence[tuple[Scope, Scope]], config: JudgeConfig | None,
                  first: datetime, start: datetime, end: datetime,
                  references: References | None = None) -> list[SeriesRequest]:
    """Every series a look over the bake [start, end) reads at once: triggers from the step's ``first`` complete
    minute, the judge's counts and the tail test's counts (at the stable's lines from before the shift, the
    ``references``; without them, the first round). ``pairs``: (canary, stable) scope per function."""
    canaries = [canary for canary, _ in pairs]
    wanted: list[SeriesRequest] = []
    if specs and end > first:
        wanted += [SeriesRequest(scope, "invocations", "Sum") for scope in canaries]
        wanted += [r for r in requests_for(specs, canaries, first, end) if r.period == MINUTE_S]
    if config is not None and config.metrics:
        names = {policy.name for policy in config.metrics}
        scopes = [scope for pair in pairs for scope in pair]
        wanted += [SeriesRequest(scope, metric, "Sum") for scope in scopes
                   for metric in ("invocations", *(("errors",) if "errors" in names else ()))]
        period = int((end - start).total_seconds())
        for policy in config.metrics:
            if policy.kind is MetricKind.TAIL and period >= MINUTE_S and period % MINUTE_S == 0:
                wanted += tail_requests(pairs, policy.quantiles, policy.tolerance, period, references)
            elif policy.kind is MetricKind.CONTINUOUS and policy.name == "p95_duration":
                wanted += [SeriesRequest(scope, "duration", "p95") for scope in scopes]
    return list(dict.fromkeys(wanted))


class LookSource:
    """A look's ``MetricSource``: what was prefetched is served from memory, the rest asked of ``source``."""

    def __init__(self, source: MetricSource, start: datetime, end: datetime) -> None:
        self.source = source
        self.start = start
        self.end = end
        self.fetched = Fetch()
        self.asked: set[SeriesRequest] = set()

    def prefetch(self, requests: Sequence[SeriesRequest]) -> Fetch:
        """All of ``requests`` over the look's window, in as few calls as the source can."""
        wanted = [r for r in dict.fromkeys(requests) if r.period == MINUTE_S or self._whole(r)]
        if wanted and self.end > self.start:
            self.fetched = self.source.fetch(wanted, self.start, self.end)
            self.asked = set(wanted)
        return self.fetched

    def _whole(self, request: SeriesRequest) -> bool:
        return request.period == int((self.end - self.start).total_seconds())

    def _serves(self, request: SeriesRequest, start: datetime, end: datetime) -> bool:
        if request not in self.asked or start < self.start or end > self.end:
            return False
        return request.period == MINUTE_S or (start, end) == (self.start, self.end)

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        if not requests or not all(self._serves(r, start, end) for r in requests):
            return self.source.fetch(requests, start, end)
        if self.fetched.error:
            return Fetch(queries=self.fetched.queries, error=self.fetched.error)
        series = {r: Series(r, tuple((t, v) for t, v in self.fetched.get(r).points if start <= t < end))
                  for r in dict.fromkeys(requests)}
        return Fetch(series=series, queries=self.fetched.queries)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        return self.source.window(length)
