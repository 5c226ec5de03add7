"""Bounded, visible waiting for an outside system that does not answer.

A step whose handler meets an exit-3 error (AWS or GitHub unreachable after
the client's own retries, a command that cannot start) keeps its state; the
runner tries it again after the environment's ``retry.every``, at most
``retry.attempts`` times, telling the operator each time through the progress
output. Then the command stops with exit 3 naming the system, the endpoint
and the step, and the stored run resumes when the same command runs again:
never a silent wait without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from golive.errors import AwsError, GitHubError, GoliveError, RetriesExhausted, StoreUnreachable


@dataclass(frozen=True)
class Budget:
    attempts: int = 10
    every: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Unanswered:
    """Who did not answer, where, and how many tries of the step have failed so far."""

    system: str
    endpoint: str
    attempt: int
    budget: Budget
    reason: str

    @property
    def exhausted(self) -> bool:
        return self.attempt >= self.budget.attempts

    def line(self) -> str:
        """The progress line: ``GitHub unreachable at URL: attempt 3 of 10, next in 30 s``."""
        return (f"{self.system} unreachable at {self.endpoint}: attempt {self.attempt} of {self.budget.attempts}, "
                f"next in {self.budget.every.total_seconds():g} s")

    def error(self, doing: str) -> RetriesExhausted:
        return RetriesExhausted(self.system, self.endpoint, doing, self.attempt, self.reason)


def unanswered(exc: GoliveError, attempt: int, budget: Budget, github_base: str | None) -> Unanswered:
    """Name the system and endpoint behind an exit-3 error."""
    if isinstance(exc, GitHubError):
        endpoint = f"{github_base.rstrip('/')}{exc.path}" if github_base else exc.path
        return Unanswered("GitHub", endpoint, attempt, budget, f"{exc.method} {exc.path}: {exc.reason}")
    if isinstance(exc, AwsError):
        endpoint = exc.endpoint or f"the {exc.region} endpoint"
        return Unanswered("AWS", endpoint, attempt, budget, f"{exc.call} in {exc.region}: {exc.reason}")
    if isinstance(exc, StoreUnreachable):
        return Unanswered("the store", "its database server", attempt, budget, str(exc))
    return Unanswered("an outside system", "its endpoint", attempt, budget, str(exc))
