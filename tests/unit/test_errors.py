"""The exit code of every branch of the error tree comes from ``errors.exit_code_for``, by class, not by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from golive import errors


class ThrottledForever(errors.ExternalError):
    """A subclass the tree does not know of: still 'no answer', so still 3."""


@pytest.mark.parametrize(("exc", "code"), [
    (errors.PlanError("golive.yaml", 3, "x", "bad"), 2),
    (errors.UnknownNameError("project", "p"), 2),
    (errors.ConfigError("no token"), 2),
    (errors.StoreUnusable("not a database"), 2),
    (errors.AwsUnreachable("lambda:GetAlias", "eu-west-1", "no answer"), 3),
    (errors.AwsError("lambda:GetAlias", "eu-west-1", "throttled after retries"), 3),
    (errors.GitHubRateLimited("GET", "/repos/a/b", "rate limited"), 3),
    (errors.RetriesExhausted("AWS", "http://x", "deploying", 3, "down"), 3),
    (errors.StoreUnreachable("server down"), 3),
    (ThrottledForever("still throttled"), 3),
    (errors.AwsRequestError("iam:GetRole", "eu-west-1", "AccessDenied", "no"), 1),
    (errors.GitHubRequestError("GET", "/x", 404, "not found"), 1),
    (errors.LeaseHeld("run 1", "host:1:2", datetime(2026, 1, 1, tzinfo=UTC)), 1),
    (errors.ReleaseStopped("NO-GO"), 1),
    (ValueError("not ours"), 1),
])
def test_exit_code_from_the_tree(exc: BaseException, code: int) -> None:
    assert errors.exit_code_for(exc) == code
    if isinstance(exc, errors.GoliveError):
        assert exc.exit_code == code
    assert errors.unanswered(exc) is (code == 3)
