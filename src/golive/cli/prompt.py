"""Asking before a command changes an environment, as ``terraform apply`` does.

``deploy``, ``run``, ``rollback``, ``promote``, ``abort``, ``secrets set`` and
``tag`` change what users of an environment see. On a terminal they show what
they are about to change and ask; ``--yes`` skips the question. Without a
terminal (CI, a pipe, ``< /dev/null``) there is nobody to ask, so they stop
with exit 2 unless ``--yes`` was given: silence is never taken as consent.
Rehearsals and the sandbox's own commands change nothing real and never ask.
"""

from __future__ import annotations

import sys
from typing import TextIO

from golive.errors import GoliveError, UsageError
from golive.plan.model import Plan
from golive.textout import visible


class NotConfirmed(GoliveError):
    """The person at the terminal said no: nothing was changed (exit 1)."""


def where(plan: Plan, env: str, region: str | None = None, *, with_dr: bool = False) -> str:
    """``prod (account 093646564004, af-south-1)``: the environment a change lands in (and its DR region)."""
    e = plan.environments[env]
    dr = f", then DR {e.dr_region}" if e.dr_region and with_dr else ""
    return f"{env} (account {e.account}, {region or e.region}{dr})"


def able_to_ask(yes: bool, command: str, target: str, *, stdin: TextIO | None = None) -> None:
    """Raise ``UsageError`` when ``confirm`` would have nobody to ask: checked first by a command that must ask
    an outside system something before its question, so a run without a terminal changes and asks nothing."""
    if not yes and not (stdin or sys.stdin).isatty():
        raise UsageError(f"golive {command} changes {target} and there is no terminal to ask: pass --yes to go ahead")


def confirm(yes: bool, command: str, target: str, changes: list[str], *, stdin: TextIO | None = None,
            stderr: TextIO | None = None) -> None:
    """Return when the change may go ahead; raise ``UsageError`` (no terminal) or ``NotConfirmed`` (answered no)."""
    if yes:
        return
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    able_to_ask(yes, command, target, stdin=stdin)
    stderr.write(visible(f"golive {command} will change {target}:\n" + "".join(f"  - {line}\n" for line in changes)))
    stderr.write("Go ahead? [y/N] ")
    stderr.flush()
    answer = stdin.readline().strip().lower()
    if answer not in ("yes", "y"):
        raise NotConfirmed(f"golive {command} not confirmed; nothing was changed")
