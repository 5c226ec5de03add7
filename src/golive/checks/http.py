"""``http``: an endpoint answers with an allowed status, fast enough, and says what it should.

The runbook's health checks are ``curl`` calls read by eye ("all return 200
or 401/403 (auth required)"). Here the allowed statuses come from the check
or the plan's ``http_ok``, the latency has a budget, and the body may have
to contain a text. A connection refused or a timeout is the answer "down":
a failure with the error as evidence, not an error of the check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, model_validator

from golive.analysis.units import format_duration
from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Duration, Probe, guarded
from golive.providers import http as http_provider
from golive.redact import body_line

NAME = "http"


class HttpParams(CheckParams):
    """``- http: URL`` or ``{url, status: [200, 401, 403], max_latency: 2s, contains: "ok", follow_redirects: false}``.

    ``status`` defaults to the plan's ``http_ok``; ``{api_base}``-style variables are expanded in ``url``.
    ``timeout`` bounds the request (default: the HTTP client's own).
    """

    url: str
    status: list[int] | None = Field(default=None, min_length=1)
    max_latency: Duration | None = None
    contains: str | None = None
    follow_redirects: bool = False
    timeout: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"url": data} if isinstance(data, str) else data


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def run(ctx: CheckContext, params: HttpParams) -> CheckResult:
    url = ctx.expand(params.url)
    allowed = sorted(params.status) if params.status is not None else sorted(ctx.http_ok)

    def body(probe: Probe) -> CheckResult:
        answer = http_provider.get(
            ctx.http,
            url,
            timeout=_seconds(params.timeout),
            follow_redirects=params.follow_redirects,
            find=ctx.expand(params.contains) if params.contains is not None else None,
        )
        probe.note(f"GET {url}", answer.to_dict())
        latency = format_duration(timedelta(seconds=round(answer.latency_s, 3)))
        if answer.status is None:
            return probe.failed(f"GET {url}: no answer ({answer.error})")
        problems: list[str] = []
        if answer.status not in allowed:
            said = body_line(None, answer.body)
            problems.append(f"status {answer.status}, allowed {allowed}{f' ({said})' if said else ''}")
        if params.max_latency is not None and answer.latency_s > params.max_latency.total_seconds():
            problems.append(f"took {latency}, budget {format_duration(params.max_latency)}")
        if answer.found is False:
            problems.append(f"body does not contain {params.contains!r}")
        if problems:
            return probe.failed(f"GET {url}: " + "; ".join(problems))
        return probe.passed(f"GET {url}: {answer.status} in {latency}")

    return guarded(ctx, NAME, url, body)


def describe(params: HttpParams) -> str:
    parts = [f"GET {params.url}", f"expect status in {params.status}" if params.status else "expect status in http_ok"]
    if params.max_latency is not None:
        parts.append(f"within {format_duration(params.max_latency)}")
    if params.contains is not None:
        parts.append(f"body contains {params.contains!r}")
    return ", ".join(parts)


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, HttpParams, run, describe, doc="An HTTP GET answers an allowed status, within the latency budget."),
]
