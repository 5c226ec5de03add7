"""The ``golive`` command line: the app, its global options, and the one error boundary.

No logic lives here and no command either: each command is a module of ``golive.cli.commands`` (listed in
its ``commands_dict``) that registers itself on the app. ``main`` is the one place where golive's exceptions
become a one-line message and an exit code, read from the error tree (``errors.exit_code_for``: 2 for bad
input, 3 for an outside system that did not answer after retries, 1 for a failed check, NO-GO or rollback).
It is also where SIGTERM becomes the stop Ctrl-C is: raised where golive is, so a running command's process
group is ended (``golive.providers.shell``), the state is kept, and golive exits 143 (130 for Ctrl-C).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from click.exceptions import NoArgsIsHelpError

from golive.cli.commands import command_modules
from golive.errors import GoliveError, exit_code_for
from golive.redact import scrub
from golive.workspace import Workspace

app = typer.Typer(
    name="golive", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn a release runbook into an executable, gated, resumable release.",
)

PlanOpt = Annotated[Path, typer.Option("-f", "--plan", help="the plan file", envvar="GOLIVE_PLAN")]

_started: list[Workspace] = []  # the command's workspace, for the Ctrl-C message after its context is gone
_signalled: list[int] = []  # SIGTERM, once received: the exit code says which stop it was


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: golive stops as it does on Ctrl-C."""


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    if _signalled:  # already stopping: a second SIGTERM must not break off the clean-up
        return
    _signalled.append(signum)
    raise Terminated


@app.callback()
def _global(
    ctx: typer.Context,
    plan: PlanOpt = Path("golive.yaml"),
    db: Annotated[str | None, typer.Option("--db", envvar="GOLIVE_DB", help="store URL (default .golive/state.db)")] = None,
    json_: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout, nothing else")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="no prompts")] = False,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile for every environment (beats AWS_PROFILE "
                                                "and the plan)")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region for every environment (beats the plan)")] = None,
) -> None:
    ctx.obj = Workspace(plan_path=plan, db_url=db, json=json_, yes=yes, profile=profile, region=region)
    _started.append(ctx.obj)


for _module in command_modules():
    _module.register(app)


def _fail_json(err: GoliveError) -> dict[str, Any]:
    return {"error": scrub(str(err)), "type": type(err).__name__, "exit_code": exit_code_for(err)}


_GLOBAL_WITH_VALUE = ("-f", "--plan", "--db", "--profile", "--region")
_GLOBAL_FLAGS = ("--json", "--yes", "-y")
_COMMAND_OWNS = {"rollback": ("--region",)}  # rollback --region names the region to roll back (the DR one)


def hoist_globals(args: list[str]) -> list[str]:
    """Let global options stand anywhere (``golive check -f plan.yaml`` as well as ``golive -f plan.yaml check``)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg.split("=", 1)[0] in _COMMAND_OWNS.get(next(iter(rest), ""), ()):
            rest.append(arg)
            i += 1
            continue
        if arg in _GLOBAL_WITH_VALUE and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if any(arg.startswith(opt + "=") for opt in _GLOBAL_WITH_VALUE if opt.startswith("--")) or arg in _GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _usage_error(exc: typer.TyperException) -> int:
    """A flag, command or value the parser refused: one line naming the command, exit 2."""
    if isinstance(exc, NoArgsIsHelpError):  # bare ``golive`` or ``golive soak``: the help is the answer
        help_text = exc.format_message().strip()  # Rich help has printed itself already and left this empty
        if help_text:
            sys.stderr.write(help_text + "\n")
        return 2
    context = getattr(exc, "ctx", None)
    where = f"{context.command_path}: " if context is not None else ""
    message = " ".join(exc.format_message().split())
    sys.stderr.write(f"golive: error: {where}{message} (see {context.command_path if context else 'golive'} --help)\n")
    return 2


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, map every error to one line and an exit code."""
    args = hoist_globals(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    _signalled.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = app(args=args, standalone_mode=False, prog_name="golive")
    except GoliveError as err:
        if json_mode:
            sys.stdout.write(json.dumps(_fail_json(err)) + "\n")
        sys.stderr.write(f"golive: error: {scrub(str(err))}\n")
        sys.exit(exit_code_for(err))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("golive: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:
        # typer >= 0.29 raises its own click's exceptions (typer._click), which all derive from TyperException.
        if json_mode:
            sys.stdout.write(json.dumps({"error": exc.format_message(), "type": "UsageError", "exit_code": 2}) + "\n")
        sys.exit(_usage_error(exc))
    except KeyboardInterrupt:
        _stopped()
    except BrokenPipeError:
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into Exit(130), returned as the code when not standalone
        _stopped()
    sys.exit(code if isinstance(code, int) else 0)


def _stopped() -> None:
    """Ctrl-C or SIGTERM: every step's state is already in the store, so say where, and how to go on."""
    where = _started[-1].store_location() if _started else "the store"
    why = "stopped by SIGTERM" if _signalled else "stopped"
    sys.stderr.write(f"\n{why}; the state is kept in {where}; run the same command to resume\n")
    sys.exit(128 + _signalled[0] if _signalled else 130)
