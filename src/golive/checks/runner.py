"""Running a list of checks side by side, each in its own environment's context.

Checks are independent questions, so they run concurrently (bounded). A
check entry that names an unknown type, or whose run raises, becomes an
``error`` result with the reason, never an exception: one broken check
must not hide the answers of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from golive.checks import registry
from golive.checks.base import CheckContext, CheckResult, Evidence, Status
from golive.errors import ExternalError, GoliveError


def _describe_target(entry: dict[str, Any]) -> str:
    params = entry.get("params")
    if isinstance(params, dict):
        return ", ".join(f"{k}={v}" for k, v in params.items())
    return "" if params is None else str(params)


def run_check(entry: dict[str, Any], ctx: CheckContext) -> CheckResult:
    kind = str(entry["kind"])
    check_type = registry.get(kind)
    if check_type is None:
        return CheckResult(kind, _describe_target(entry), Status.ERROR, f"golive has no check '{kind}'")
    try:
        params = registry.parse_params(kind, entry.get("params"))
    except ValidationError as exc:
        first = exc.errors()[0]
        return CheckResult(kind, _describe_target(entry), Status.ERROR, f"bad parameters: {first['msg']}")
    try:
        return check_type.run(ctx, params)
    except GoliveError as exc:
        return CheckResult(kind, check_type.describe(params), Status.ERROR, ctx.redact(str(exc)),
                           (Evidence(check_type.describe(params), {"error": ctx.redact(str(exc))}),),
                           unanswered=exc if isinstance(exc, ExternalError) else None)


def _not_checked(entry: dict[str, Any], account: CheckResult) -> CheckResult:
    kind = str(entry["kind"])
    check_type = registry.get(kind)
    try:
        target = check_type.describe(registry.parse_params(kind, entry.get("params"))) if check_type \
            else _describe_target(entry)
    except ValidationError:
        target = _describe_target(entry)
    return CheckResult(kind, target, Status.FAIL, f"not checked: {account.summary}",
                       (Evidence("aws_account failed first", {"aws_account": account.summary}),))


def run_checks(entries: Sequence[dict[str, Any]], context_for: Callable[[str | None], CheckContext],
               *, max_workers: int = 8) -> list[CheckResult]:
    """Results in the order of ``entries``; an entry may name its own ``env``.

    ``aws_account`` checks run first: where one fails (the credentials are another account's), the checks
    that read that environment's AWS are not run and fail saying why, rather than pass against the wrong account.
    """
    if not entries:
        return []
    results: dict[int, CheckResult] = {}
    wrong: dict[str | None, CheckResult] = {}
    for i, entry in enumerate(entries):
        if entry["kind"] == "aws_account":
            results[i] = run_check(entry, context_for(entry.get("env")))
            if results[i].status == Status.FAIL:
                wrong.setdefault(entry.get("env"), results[i])
    for i, entry in enumerate(entries):
        account = wrong.get(entry.get("env"))
        if i not in results and account is not None and registry.reads_aws(str(entry["kind"])):
            results[i] = _not_checked(entry, account)
    rest = [i for i in range(len(entries)) if i not in results]
    if rest:
        with ThreadPoolExecutor(max_workers=min(max_workers, len(rest))) as pool:
            futures = {i: pool.submit(run_check, entries[i], context_for(entries[i].get("env"))) for i in rest}
            results.update({i: f.result() for i, f in futures.items()})
    return [results[i] for i in range(len(entries))]
