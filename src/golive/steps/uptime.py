"""The uptime prober: the runbook's "zero downtime", measured instead of hoped for.

During the deploy and DR phases every health URL is probed every 10 s (of
the run's clock: on a virtual clock each advance is probed once and stands
for the 10-second slots it covers). At the end of the phase each URL's
availability (slots up / slots probed, with the statuses that count as up
from the plan's ``http_ok``) becomes an event of the run, and the times it
was down are listed. A golive restarted mid-deploy starts a new prober; the
event says since when it observed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from golive.clock import Clock
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Outcome
from golive.evidence.runs import Availability
from golive.providers.http import get
from golive.steps.kind import StepKind, StepParams

EVERY = timedelta(seconds=10)


@dataclass
class UrlTally:
    probes: int = 0
    up: int = 0
    down_at: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"probes": self.probes, "up": self.up,
                "availability": self.up / self.probes if self.probes else None, "down_at": self.down_at[:20]}


class UptimeProber:
    def __init__(self, urls: Sequence[str], http: httpx.Client, ok: set[int], clock: Clock) -> None:
        self.urls = list(urls)
        self.http = http
        self.ok = ok
        self.clock = clock
        self.started = clock.now()
        self.tallies = {u: UrlTally() for u in self.urls}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, old: datetime, new: datetime) -> None:
        slots = max(1, math.floor((new - old) / EVERY))
        self.probe(slots, new)

    def probe(self, slots: int, at: datetime) -> None:
        for url in self.urls:
            answer = get(self.http, url, timeout=5.0)
            up = answer.status in self.ok
            with self._lock:
                tally = self.tallies[url]
                tally.probes += slots
                if up:
                    tally.up += slots
                else:
                    tally.down_at.append(f"{at.isoformat()} {answer.status or answer.error}")

    def start(self) -> None:
        """Probe every 10 s: on a virtual clock at each advance, on a real clock in a thread."""
        on_advance = getattr(self.clock, "on_advance", None) or getattr(getattr(self.clock, "clock", None),
                                                                        "on_advance", None)
        if on_advance is not None:
            on_advance(self.observe)
            return
        self._thread = threading.Thread(target=self._loop, name="golive-uptime", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(EVERY.total_seconds()):
            self.probe(1, self.clock.now())

    def stop(self) -> dict[str, dict[str, Any]]:
        self._stop.set()
        self.urls = []
        with self._lock:
            return {url: t.to_dict() for url, t in self.tallies.items()}


class UptimeStartParams(StepParams):
    urls: list[str]
    ok: list[int]  # the answers that count as up (the plan's http_ok)


class UptimeEndParams(StepParams):
    urls: list[str] = Field(default_factory=list)  # the health URLs the prober was started with


def describe_start(params: UptimeStartParams) -> list[str]:
    return [f"GET {u} every 10 s until validation" for u in params.urls]


def describe_end(params: UptimeEndParams) -> list[str]:
    if not params.urls:
        return ["no health URLs: availability not measured"]
    return [f"availability of {u} = probes up / probes" for u in params.urls]


def run_start(ctx: StepContext, params: UptimeStartParams) -> Outcome:
    urls = params.urls
    if not urls:
        return Done("no health URLs to probe")
    prober = UptimeProber(urls, ctx.services.http, set(params.ok), ctx.services.clock)
    prober.start()
    ctx.services.extras[f"uptime:{ctx.run.id}"] = prober
    return Done(f"probing {len(urls)} health URLs every 10 s", {"urls": urls})


def run_end(ctx: StepContext, params: UptimeEndParams) -> Outcome:
    prober = ctx.services.extras.pop(f"uptime:{ctx.run.id}", None)
    if not isinstance(prober, UptimeProber) and not params.urls:
        return Done("no health URLs in the plan; availability not measured", outcome="warn")
    if not isinstance(prober, UptimeProber):
        return Done("no prober ran in this process (golive was restarted); availability not measured",
                    outcome="warn")
    results = prober.stop()
    worst = 1.0
    for url, tally in results.items():
        ctx.record(Availability.from_data(url, None, {"url": url, **tally, "observed_since": prober.started.isoformat()}))
        if tally["availability"] is not None:
            worst = min(worst, tally["availability"])
    text = ", ".join(f"{u}: {t['availability']:.2%}" for u, t in results.items() if t["availability"] is not None)
    return Done(f"availability during the deploy: {text}", {"availability": results},
                outcome="pass" if worst >= 1.0 else "warn")


START = StepKind("uptime_start", UptimeStartParams, run_start, describe_start)
END = StepKind("uptime_end", UptimeEndParams, run_end, describe_end)
