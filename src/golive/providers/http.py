"""One HTTP GET, measured, as data: what the ``http`` health check asks the world.

A health probe must not raise when the service is down, since "down" is
the answer. ``get`` wraps an injected ``httpx.Client`` (tests and the
sandbox pass one bound to a local server or a transport), follows no
redirects unless told (a 301 to a login page is not "up"), measures the
latency, keeps a short excerpt of the body, and returns connection failures
and timeouts as an ``HttpAnswer`` with ``error`` set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

BODY_EXCERPT = 2048


@dataclass(frozen=True)
class HttpAnswer:
    """What came back from one request; ``status`` is None when no response arrived."""

    url: str
    status: int | None
    latency_s: float
    body: str = ""
    location: str | None = None
    error: str | None = None
    found: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": self.status, "latency_ms": round(self.latency_s * 1000, 1)}
        if self.location:
            answer["location"] = self.location
        if self.error:
            answer["error"] = self.error
        if self.found is not None:
            answer["text_found"] = self.found
        if self.body:
            answer["body"] = self.body
        return answer


def get(
    client: httpx.Client,
    url: str,
    *,
    timeout: float | None = None,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
    find: str | None = None,
    excerpt: int = BODY_EXCERPT,
) -> HttpAnswer:
    """GET ``url``; latency runs from sending to the last byte of the body.

    With ``find``, ``found`` says whether the whole body (not only the excerpt kept) contains it.
    """
    kwargs: dict[str, Any] = {"follow_redirects": follow_redirects, "headers": headers}
    if timeout is not None:
        kwargs["timeout"] = timeout
    started = time.perf_counter()
    try:
        response = client.get(url, **kwargs)
        body = response.text
    except httpx.TimeoutException as exc:
        return HttpAnswer(url, None, time.perf_counter() - started, error=f"timed out ({type(exc).__name__})")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return HttpAnswer(url, None, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - started
    return HttpAnswer(
        url,
        response.status_code,
        latency,
        body=body[:excerpt],
        location=response.headers.get("location") if response.is_redirect else None,
        found=None if find is None else find in body,
    )
