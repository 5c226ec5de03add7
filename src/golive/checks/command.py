"""``command``: a program the plan names (a smoke test script) exits 0 within its time limit.

The runbook's ``./smoke_test_products.sh prod`` becomes an argv list (never
a shell string) with a timeout. The output is kept as evidence, redacted
(smoke scripts print tokens more often than anyone admits) and trimmed to
its last few kilobytes, where the failure usually is. A program that
cannot be started is an ``error``; one that fails or hangs is a ``fail``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from golive.analysis.units import format_duration
from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Duration, Probe, guarded, trim
from golive.providers import shell

NAME = "command"
OUTPUT_TAIL = 4096


class CommandParams(CheckParams):
    """``- command: [./smoke_test_products.sh, "{env}"]`` or ``{argv: [...], timeout: 300s, cwd: DIR, env: {K: V}}``.

    Plan variables (``{env}``, ``{api_base}``) are expanded in ``argv``, ``cwd`` and ``env`` values.
    """

    argv: list[str] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=300)
    cwd: str | None = None
    env: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"argv": data} if isinstance(data, list) else data


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def run(ctx: CheckContext, params: CommandParams) -> CheckResult:
    argv = [ctx.expand(a) for a in params.argv]
    # Relative paths in a plan are relative to the plan's folder, as in the runbook's scripts/ folder.
    cwd = str(Path(ctx.workdir or ".") / ctx.expand(params.cwd)) if params.cwd else ctx.workdir
    env = {k: ctx.expand(v) for k, v in params.env.items()} if params.env else None
    limit = format_duration(params.timeout)

    def body(probe: Probe) -> CheckResult:
        outcome = shell.run(argv, timeout=params.timeout.total_seconds(), cwd=cwd, env=env)
        where = f" in {cwd}" if cwd else ""
        probe.note(
            f"run {argv}{where} (timeout {limit}{', env ' + ','.join(sorted(env)) if env else ''})",
            {
                "argv": argv,
                "exit_code": outcome.exit_code,
                "timed_out": outcome.timed_out,
                "duration_s": round(outcome.duration_s, 3),
                "stdout": trim(outcome.stdout, OUTPUT_TAIL),
                "stderr": trim(outcome.stderr, OUTPUT_TAIL),
            },
        )
        shown = " ".join(argv)
        if outcome.timed_out:
            return probe.failed(f"{shown}: timed out after {limit} (killed)")
        if outcome.exit_code != 0:
            said = _last_line(outcome.stderr) or _last_line(outcome.stdout)
            return probe.failed(f"{shown}: exit {outcome.exit_code}{f': {said}' if said else ''}")
        return probe.passed(f"{shown}: exit 0 in {format_duration(timedelta(seconds=round(outcome.duration_s, 3)))}")

    return guarded(ctx, NAME, " ".join(argv), body)


def describe(params: CommandParams) -> str:
    where = f" in {params.cwd}" if params.cwd else ""
    return f"run {params.argv}{where}, expect exit 0 within {format_duration(params.timeout)}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, CommandParams, run, describe, doc="A command (argv list) exits 0 within its timeout; output kept, redacted."),
]
