"""What the AWS, HTTP and command checks share, so each check module holds only its question.

A check must never raise for an answer it does not like, and must keep the
evidence it gathered before something went wrong. ``guarded`` runs a
check's body with a ``Probe`` that records (and redacts) each question and
answer, and turns golive's errors into results: AWS unreachable (or any
``ExternalError``) is ``error``, an AWS "not found" is ``fail`` (the thing is
missing), any other AWS "no" (AccessDenied) is ``error`` (no answer to the
question). Usage errors (no profile, no AWS configured) are not the check's
business and propagate, so the CLI exits 2 once instead of N times.

Also here: the plan's shorthand for parameters (``- dynamodb_tables: [a, b]``,
``- iam_role: name``) and durations written ``2s`` / ``300s`` / ``5m``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from golive.analysis.units import format_duration, parse_duration
from golive.checks.base import CheckContext, CheckResult, Evidence, Status
from golive.errors import AwsRequestError, ConfigError, ExternalError

if TYPE_CHECKING:
    from golive.providers.aws import Aws

NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity",
        "ResourceNotFoundException",
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "404",
        "NoSuchHostedZone",
        "InvalidVpcID.NotFound",
        "ResourceNotFound",
    }
)


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("invalid duration: expected a number with a unit, e.g. 2s, 500ms, 5m")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A plan duration: ``2s``, ``500ms``, ``5m``, ``1h30m``, or a bare number of seconds."""


def shorthand(data: Any, field: str) -> Any:
    """The plan's short forms: nothing → ``{}``, a bare value or list → ``{field: value}``."""
    if data is None:
        return {}
    if isinstance(data, str | list | tuple):
        return {field: data}
    return data


def trim(text: str, limit: int = 4096) -> str:
    """The last ``limit`` characters of ``text`` (the end of an output is where the failure is)."""
    if len(text) <= limit:
        return text
    return f"[… {len(text) - limit} characters trimmed]\n" + text[-limit:]


def listed(items: list[str], limit: int = 50) -> list[str]:
    """A list for evidence, cut to ``limit`` entries with a marker saying how many were left out."""
    if len(items) <= limit:
        return items
    return [*items[:limit], f"… and {len(items) - limit} more"]


class Probe:
    """The evidence of one check run, redacted as it is recorded."""

    def __init__(self, ctx: CheckContext, check: str, target: str) -> None:
        self.ctx = ctx
        self.check = check
        self.target = target
        self.evidence: list[Evidence] = []

    @property
    def aws(self) -> Aws:
        if self.ctx.aws is None:
            raise ConfigError(f"check '{self.check}' needs AWS, but no AWS environment was given")
        return self.ctx.aws

    def note(self, asked: str, answered: Any) -> None:
        redact = self.ctx.redact
        self.evidence.append(Evidence(asked=redact(asked), answered=redact.data(answered)))

    def result(self, status: Status, summary: str) -> CheckResult:
        return CheckResult(
            check=self.check,
            target=self.ctx.redact(self.target),
            status=status,
            summary=self.ctx.redact(summary),
            evidence=tuple(self.evidence),
        )

    def passed(self, summary: str) -> CheckResult:
        return self.result(Status.PASS, summary)

    def failed(self, summary: str) -> CheckResult:
        return self.result(Status.FAIL, summary)

    def warned(self, summary: str) -> CheckResult:
        return self.result(Status.WARN, summary)


def guarded(ctx: CheckContext, check: str, target: str, body: Callable[[Probe], CheckResult]) -> CheckResult:
    """Run ``body``; an outside failure becomes an ``error`` (or ``fail`` when AWS says "not found")."""
    probe = Probe(ctx, check, target)
    try:
        return body(probe)
    except AwsRequestError as exc:
        probe.note(exc.call, {"error": exc.code, "message": exc.message})
        status = Status.FAIL if exc.code in NOT_FOUND_CODES else Status.ERROR
        return probe.result(status, exc.message)
    except ExternalError as exc:
        probe.note(getattr(exc, "call", check), {"error": type(exc).__name__, "message": exc.message})
        return replace(probe.result(Status.ERROR, exc.message), unanswered=exc)
