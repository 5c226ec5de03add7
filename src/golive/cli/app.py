"""The ``golive`` command line: parse, call one function, render.

No logic lives here. Each command turns its flags into arguments, calls one
function of the library, and renders the answer (Rich tables for people,
``--json`` for machines). ``main`` is the one boundary where golive's
exceptions become a one-line message and an exit code: 2 for bad input, 3
for an unreachable outside system, 1 for a failed check, NO-GO or rollback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from golive.cli.github_actions import GitHubActions
from golive.cli.render import Output, styled
from golive.errors import GoliveError
from golive.redact import scrub
from golive.workspace import Workspace

app = typer.Typer(
    name="golive", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn a release runbook into an executable, gated, resumable release.",
)

PlanOpt = Annotated[Path, typer.Option("-f", "--plan", help="the plan file", envvar="GOLIVE_PLAN")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="environment from the plan")]


_started: list[Workspace] = []  # the command's workspace, for the Ctrl-C message after its context is gone


def ws(ctx: typer.Context) -> Workspace:
    obj: Workspace = ctx.obj
    return obj


def out(ctx: typer.Context) -> Output:
    return Output(ws(ctx).json, GitHubActions.detect(os.environ, ws(ctx).redact))


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


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate the plan; print a summary; lint known pitfalls."""
    from golive.plan.summary import summarize

    w, o = ws(ctx), out(ctx)
    summary = summarize(w.plan, w.plan_path.absolute().parent)
    if o.json_mode:
        o.json({"valid": True, "file": str(w.plan_path), **summary})
        return
    o.print(f"[green]✓[/green] {w.plan_path} is valid: release [bold]{summary['release']}[/bold] "
            f"{summary['version']}, {summary['projects']} projects in {len(summary['batches'])} batches")
    for name, e in summary["environments"].items():
        dr = f", DR {e['dr_region']}" if e["dr_region"] else ""
        o.print(f"  env {name}: account {e['account']}, {e['region']}{dr}, profile {e['profile'] or '-'}")
    for i, batch in enumerate(summary["batches"], 1):
        parts = [p["name"] + (" (canary " + "→".join(f"{w:g}%" for w in p["canary"]) + ")" if p["canary"] else "")
                 for p in batch["projects"]]
        o.print(f"  batch {i} {batch['name']}: {', '.join(parts)}")
    for env, soak in summary["soaks"].items():
        smoke = f", smoke every {soak['smoke_every']}" if soak["smoke_every"] else ""
        o.print(f"  soak {env}: {soak['duration']}, {soak['checkpoints']} checkpoints every {soak['every']}{smoke}; "
                f"{'; '.join(soak['criteria'])}")
    for name, gate in summary["gates"].items():
        o.print(f"  gate {name}: requires {', '.join(gate['requires'])}; approvals {', '.join(gate['approvals'])}; "
                f"{gate['checklist']} checklist items")
    for warning in summary["lint"]:
        o.print(f"  [yellow]lint[/yellow] {warning}")


@app.command()
def schema(ctx: typer.Context) -> None:
    """Print the plan's JSON Schema (for editor completion)."""
    from golive.plan.model import plan_json_schema

    Output(True).json(plan_json_schema())


@app.command("plan")
def plan_cmd(ctx: typer.Context, env: EnvOpt) -> None:
    """Dry run: every step in order, and the call it will make. Calls nothing outside."""
    from golive.engine.planner import build_release

    w, o = ws(ctx), out(ctx)
    steps = build_release(w.plan, w.env(env))
    if o.json_mode:
        o.json({"env": env, "steps": [{"key": s.key, "phase": s.phase, "kind": s.kind, "title": s.title,
                                        "group": s.group, "lane": s.lane, "calls": s.params.get("calls", [])}
                                       for s in steps]})
        return
    phase = group = None
    for n, step in enumerate(steps, 1):
        if step.phase != phase:
            phase = step.phase
            o.print(f"\n[bold]{phase}[/bold]")
        if step.group != group:
            group = step.group
            lanes = {s.lane for s in steps if s.group == group}
            if step.group.startswith(("batch.", "dr.")):
                o.print(f"  [cyan]{group}[/cyan] ({len(lanes)} projects side by side)")
        o.print(f"  {n:3}. {step.title}  [dim]({step.kind})[/dim]")
        for call in step.params.get("calls", []):
            o.print(f"        [dim]→ {call}[/dim]")


@app.command()
def status(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="refresh every 2 s until Ctrl-C (piped: print only what changed, with the time)")] = False,
) -> None:
    """Where the release stands, and what is due when."""
    import time

    from golive.engine.status import release_status

    w, o = ws(ctx), out(ctx)
    shown: list[str] = []
    while True:
        data = release_status(w.store, w.plan.release, w.clock.now(), env)
        if o.json_mode:
            o.json(data)
            return
        lines = _status_lines(data)
        if not watch:
            for line in lines:
                o.print(line)
            return
        if o.terminal:
            o.out.clear()
            for line in lines:
                o.print(line)
        elif lines != shown:
            # A log gets only what changed since the last look, under the time it was seen.
            o.print(f"[dim]— {w.clock.now():%Y-%m-%d %H:%M:%S %Z}[/dim]")
            for line in [line for line in lines if line not in shown] or lines:
                o.print(line)
        shown = lines
        time.sleep(2)


def _status_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    if not data["runs"]:
        lines.append(f"no runs of {data['release']} yet (start one with golive run --env ENV)")
    for run in data["runs"]:
        lines.append(f"[bold]{run['kind']} {run['env']}[/bold] run {run['run']}: {styled(run['status'])} "
                     f"({run['steps_done']}/{run['steps_total']} steps)" + (f" — {run['reason']}" if run["reason"] else ""))
        lines += [f"  {phase['phase']:<14} {styled(phase['status'])}" for phase in run["phases"]]
        for c in run["canaries"]:
            verdict = f"last verdict {styled(c['verdict'])}" + (f": {c['reason']}" if c["reason"] else "") \
                if c["verdict"] else "no analysis yet"
            lines.append(f"  canary {c['project']} at {c['weight']:g}%, {verdict}")
        lines += [f"  [yellow]next[/yellow] {due}" for due in run["due"]]
    lines += [f"[red]open incident {inc['id']} {inc['severity']}[/red] {inc['title']}" for inc in data["open_incidents"]]
    return lines


@app.command()
def init(
    ctx: typer.Context,
    example: Annotated[str, typer.Option("--example", help="start from a bundled example")] = "bbws",
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing plan")] = False,
) -> None:
    """Scaffold a plan file from a bundled example, with its scripts and rehearsal scenarios beside it."""
    from golive.examples import write_example

    w, o = ws(ctx), out(ctx)
    written = write_example(example, w.plan_path, force=force)
    if o.json_mode:
        o.json({"written": [str(path) for path in written], "example": example})
        return
    o.print(f"wrote {w.plan_path} and {len(written) - 1} files beside it from the '{example}' example")
    o.print(f"next: golive check -f {w.plan_path}, then golive rehearse -f {w.plan_path}")


@app.command()
def approve(
    ctx: typer.Context,
    gate: Annotated[str, typer.Argument(help="gate name (or signoff)")],
    by: Annotated[str, typer.Option("--by", help="who approves")],
    env: EnvOpt,
    role: Annotated[str | None, typer.Option("--role", help="the role approving")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
) -> None:
    """Record an approval for a gate."""
    from golive.engine.gates import record_approval

    w, o = ws(ctx), out(ctx)
    approval_id = record_approval(w.store, w.plan, gate, w.env(env), by, role, note, w.clock.now())
    if o.json_mode:
        o.json({"approval": approval_id, "gate": gate, "env": env, "by": by, "role": role})
    else:
        o.print(f"approval {approval_id}: {by}{' as ' + role if role else ''} approved {gate} for {env}")


def _fail_json(err: GoliveError) -> dict[str, Any]:
    return {"error": scrub(str(err)), "type": type(err).__name__, "exit_code": err.exit_code}


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
    if type(exc).__name__ == "NoArgsIsHelpError":  # bare ``golive`` or ``golive soak``: the help is the answer
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
    try:
        code = app(args=args, standalone_mode=False, prog_name="golive")
    except GoliveError as err:
        if json_mode:
            sys.stdout.write(json.dumps(_fail_json(err)) + "\n")
        sys.stderr.write(f"golive: error: {scrub(str(err))}\n")
        sys.exit(err.exit_code)
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
    """Ctrl-C: every step's state is already in the store, so say where, and how to go on."""
    where = _started[-1].store_location() if _started else "the store"
    sys.stderr.write(f"\nstopped; the state is kept in {where}; run the same command to resume\n")
    sys.exit(130)
import golive.cli.notify_cmds  # noqa: E402  (registers the commands)
import golive.cli.ops  # noqa: E402  (registers the commands)
import golive.cli.release_ops  # noqa: E402  (registers the commands)
import golive.cli.sandbox_cmds  # noqa: E402  (registers the commands)
import golive.cli.serve_cmds  # noqa: F401,E402  (registers the commands)
