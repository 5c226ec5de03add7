"""The sandbox's site traffic: the AWS/CloudFront metrics a site's distributions would report, minute by minute.

A CloudFront canary (``golive.routers.cloudfront``) judges its staging distribution against the primary
on AWS/CloudFront's ``Requests`` and error rates; nothing in moto makes them. This simulator plays
CloudFront's edge for every primary distribution of one account: each whole virtual minute it draws the
site's viewer requests, sends them where the distribution's continuous deployment policy says (read from
the sandbox's CloudFront backend, ``golive.sandbox.cloudfront_cd.routing``): a ``SingleWeight`` share to the
staging distribution, with a ``SingleHeader`` policy only the requests carrying the header (the smoke tests
and health probes, a few a minute), draws 5xx and 4xx responses per distribution, and writes per minute, in
us-east-1 with ``Region=Global`` and ``DistributionId``:

- ``Requests`` (Sum), and ``5xxErrorRate`` / ``4xxErrorRate`` (Average, in percent of that minute's requests).

Faults: an ``error_rate`` fault whose target is the site's project (the project whose secret finds the
distribution by its comment) hurts the staging distribution for ``version=canary`` (the default of an
``@deploy`` window: the new build is what staging serves), the primary for ``stable``, both for ``all``. A
promoted primary serves the new build: a ``canary`` fault then hurts it too, as the bad build is live.
Randomness: one generator per (seed, distribution, first minute of the span), as the Lambda simulator's.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from golive.analysis.metrics import CLOUDFRONT_NAMESPACE
from golive.sandbox.blocks import Block, Dims
from golive.sandbox.cloudfront_cd import Routing, routing
from golive.sandbox.faults import ResolvedFault
from golive.sandbox.traffic import InProcessSink, MetricSink, active_mask

METRICS_REGION = "us-east-1"
HEADER_RPM = 4.0  # requests a minute that carry the staging header (the smoke tests and health probes)
CLIENT_ERROR_RATE = 0.01  # viewers asking for what is not there


def _dims(distribution: str) -> Dims:
    return (("Region", "Global"), ("DistributionId", distribution))


@dataclass(frozen=True)
class Site:
    """Who a distribution serves (the plan's projects whose secret finds it by its comment) and its viewers."""

    projects: frozenset[str] = frozenset()
    rpm: float = 600.0  # viewer requests a minute
    error_rate: float = 0.0002  # baseline 5xx share


class SiteTrafficSimulator:
    """Viewer requests to one account's primary distributions, split by their continuous deployment policies."""

    def __init__(self, account_id: str, *, sites: Callable[[str], Site], seed: int, sink: MetricSink | None = None,
                 routes: Callable[[str], Routing] | None = None) -> None:
        self.account_id = account_id
        self.seed = seed
        self.sites = sites  # a distribution's comment -> the site it is
        self.sink = sink or InProcessSink(account_id, METRICS_REGION)
        self.routes = routes or (lambda primary: routing(account_id, primary))
        self._faults: list[ResolvedFault] = []
        self._done_until: datetime | None = None
        self._lock = threading.Lock()

    def set_faults(self, faults: Sequence[ResolvedFault]) -> None:
        self._faults = [f for f in faults if f.kind == "error_rate"]

    def skip_until(self, when: datetime) -> None:
        """No traffic before ``when`` (an environment the release has not reached)."""
        with self._lock:
            if self._done_until is None or self._done_until < when:
                self._done_until = when

    def _primaries(self) -> list[tuple[str, str]]:
        from moto.cloudfront.models import cloudfront_backends

        backend = cloudfront_backends[self.account_id]["aws"]
        return sorted((d.distribution_id, str(getattr(d.distribution_config, "Comment", "") or ""))
                      for d in list(backend.distributions.values())
                      if not getattr(d.distribution_config, "Staging", False))

    def simulate(self, start: datetime, end: datetime) -> int:
        """Every whole minute in [start, end) not drawn before, with each policy as it is now; datapoints written."""
        with self._lock:
            start = self._done_until or start
            first = start.replace(second=0, microsecond=0)
            if first < start:
                first += timedelta(minutes=1)
            count = max(0, math.floor((end - first).total_seconds() / 60.0))
            if count == 0:
                return 0
            self._done_until = first + timedelta(minutes=count)
            minutes = first.timestamp() + 60.0 * np.arange(count)
            blocks: list[Block] = []
            for primary, comment in self._primaries():
                blocks += self._draw(primary, self.sites(comment), self.routes(primary), minutes)
            if blocks:
                self.sink.write(CLOUDFRONT_NAMESPACE, blocks)
            return sum(len(b) for b in blocks)

    def _rates(self, site: Site, minutes: np.ndarray[Any, Any], staging: bool, promoted: bool) -> np.ndarray[Any, Any]:
        rate = np.full(len(minutes), site.error_rate)
        for fault in self._faults:
            if fault.fault.target not in site.projects:
                continue
            hurts = {"canary": staging or promoted, "stable": not staging, "all": True}[fault.fault.versions]
            if not hurts:
                continue
            active = active_mask(fault, minutes)
            rate[active] = np.maximum(rate[active], fault.value)
        return rate

    def _draw(self, primary: str, site: Site, route: Routing, minutes: np.ndarray[Any, Any]) -> list[Block]:
        rng = np.random.default_rng([self.seed, zlib.crc32(primary.encode()), int(minutes[0] // 60)])
        viewers = rng.poisson(site.rpm, len(minutes)).astype(float)
        to_staging = np.zeros(len(minutes))
        if route.staging_id is not None and route.header is not None:
            to_staging = rng.poisson(HEADER_RPM, len(minutes)).astype(float)
        elif route.staging_id is not None:
            to_staging = rng.binomial(viewers.astype(np.int64), route.weight).astype(float)
            viewers = viewers - to_staging
        served: list[tuple[str, np.ndarray[Any, Any], bool]] = [(primary, viewers, False)]
        if route.staging_id is not None:
            served.append((route.staging_id, to_staging, True))
        promoted = self._promoted(primary)
        blocks: list[Block] = []
        for distribution, requests, staging in served:
            rate = self._rates(site, minutes, staging, promoted and not staging)
            n = requests.astype(np.int64)
            server = rng.binomial(n, rate).astype(float)
            client = rng.binomial(n, CLIENT_ERROR_RATE).astype(float)
            has = requests > 0
            if not has.any():
                continue
            ts = minutes[has]
            blocks.append(_stat("Requests", distribution, None, ts, requests[has]))
            for name, errors in (("5xxErrorRate", server), ("4xxErrorRate", client)):
                blocks.append(_stat(name, distribution, "Percent", ts, 100.0 * errors[has] / requests[has]))
        return blocks

    def _promoted(self, primary: str) -> bool:
        """The primary serves a build a staging copy was made for (it was promoted): golive's staging reference."""
        from moto.cloudfront.models import cloudfront_backends

        from golive.routers.cloudfront import staging_reference

        backend = cloudfront_backends[self.account_id]["aws"]
        for d in list(backend.distributions.values()):
            config = d.distribution_config
            if getattr(config, "Staging", False) and config.caller_reference == staging_reference(primary):
                return _origin_paths(config) == _origin_paths(backend.distributions[primary].distribution_config)
        return False


def _origin_paths(config: Any) -> list[str]:
    return [str(getattr(o, "origin_path", "") or "") for o in config.Origins["Items"]]


def _stat(name: str, distribution: str, unit: str | None, ts: np.ndarray[Any, Any],
          values: np.ndarray[Any, Any]) -> Block:
    ones = np.ones(len(ts))
    return Block.statistic_sets(name, _dims(distribution), unit, ts, ones, values, values, values)


def sites_by_comment(sites: Mapping[str, Site]) -> Callable[[str], Site]:
    """A distribution's comment -> its site (one serving no project of the plan: the default viewers, no fault)."""
    table = dict(sites)
    return lambda comment: table.get(comment, Site())
