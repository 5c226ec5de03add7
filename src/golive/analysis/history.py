"""The stable version's own past: its calls and errors over a window before the canary's first shift.

During a bake the stable version's errors are the judge's baseline, and at
10% traffic they are few. The hour before the first shift holds several
times more of the same version's calls (all the traffic was stable then):
joined to the bake's, they make the error test nearly as strong as one that
knows the true rate. ``judge`` guards it with a drift test (the history's
rate against the bake's stable rate); this module only reads the counts. The
same call reads the stable's duration percentiles over the hour: the latency
tail test's lines, known before a look, so a look asks its counts at once
(``analysis.tails``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from golive.analysis.metrics import MetricSource, Scope, SeriesRequest


def history_requests(scopes: Sequence[Scope], period: int, quantiles: Sequence[float] = ()) -> list[SeriesRequest]:
    """Per scope: its calls and errors over the window (one period), then its duration's ``pNN`` for ``quantiles``."""
    return [request for scope in scopes for request in (
        SeriesRequest(scope, "invocations", "Sum", period), SeriesRequest(scope, "errors", "Sum", period),
        *(SeriesRequest(scope, "duration", f"p{q * 100:g}", period) for q in quantiles))]


def fetch_history(source: MetricSource, scopes: Sequence[Scope], start: datetime, end: datetime,
                  quantiles: Sequence[float] = ()) -> tuple[dict[str, dict[str, float]], str | None]:
    """Per scope label: ``{"invocations", "errors", "minutes"}`` summed over [start, end), and its duration's
    ``pNN`` (ms) over the window for each of ``quantiles`` it has data for; or the fetch's error."""
    if end <= start:
        return {}, None
    period = int((end - start).total_seconds())
    requests = {scope: history_requests([scope], period, quantiles) for scope in scopes}
    fetched = source.fetch([r for wanted in requests.values() for r in wanted], start, end)
    if fetched.error:
        return {}, fetched.error
    out: dict[str, dict[str, float]] = {}
    for scope, (calls, errors, *lines) in requests.items():
        out[scope.label] = {"invocations": sum(fetched.get(calls).values().values()),
                            "errors": sum(fetched.get(errors).values().values()),
                            "minutes": period / 60}
        for line in lines:
            value = next(iter(fetched.get(line).values().values()), None)
            if value is not None and math.isfinite(value) and value > 0:
                out[scope.label][line.stat] = value
    return out, None
