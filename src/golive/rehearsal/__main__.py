"""``python -m golive.rehearsal``: the remote rehearsal runner as a process of its own.

The chaos test kills this process at random points and starts it again; ``golive rehearse --sandbox D`` is the
same runner inside the CLI (its store beside the sandbox). Prints ``DONE <status>`` when the run stands still.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from golive.errors import GoliveError
from golive.rehearsal.remote import run_attached
from golive.store.statuses import exit_code_of


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the runner's flags, drive the release, and return the exit code (2 bad input, 3 unreachable, 1 failed)."""
    parser = argparse.ArgumentParser(prog="python -m golive.rehearsal",
                                     description="drive a rehearsal against a running sandbox daemon")
    parser.add_argument("--sandbox", type=Path, required=True, help="the sandbox daemon's state folder")
    parser.add_argument("--db", required=True, help="the store URL (sqlite:///... or postgresql://...)")
    parser.add_argument("-f", "--plan", type=Path, required=True)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--until", help="stop after this phase")
    parser.add_argument("--inject", action="append", default=[], help="the faults the daemon was started with")
    args = parser.parse_args(argv)
    try:
        status = run_attached(args.plan, args.env, args.sandbox, args.db, until=args.until, faults=args.inject)
    except GoliveError as exc:
        print(f"golive rehearse: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"DONE {status}", flush=True)
    return exit_code_of(status)


sys.exit(main())
