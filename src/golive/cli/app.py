"""The ``golive`` command line: parse, call one function, render.

No logic lives here. Each command turns its flags into arguments, calls one
function of the library, and renders the answer (Rich tables for people,
``--json`` for machines). ``main`` is the one boundary where golive's
exceptions become a one-line message and an exit code: 2 for bad input, 3
for an unreachable outside system, 1 for a failed check, NO-GO or rollback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from golive.cli.render import Output, styled
from golive.errors import GoliveError, UsageError
from golive.workspace import Workspace

app = typer.Typer(
    name="golive", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn a release runbook into an executable, gated, resumable release.",
)

PlanOpt = Annotated[Path, typer.Option("-f", "--plan", help="the plan file", envvar="GOLIVE_PLAN")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="environment from the plan")]


def ws(ctx: typer.Context) -> Workspace:
    obj: Workspace = ctx.obj
    return obj


def out(ctx: typer.Context) -> Output:
    return Output(ws(ctx).json)


@app.callback()
def _global(
    ctx: typer.Context,
    plan: PlanOpt = Path("golive.yaml"),
    db: Annotated[str | None, typer.Option("--db", envvar="GOLIVE_DB", help="store URL (default .golive/state.db)")] = None,
    json_: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout, nothing else")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="no prompts")] = False,
) -> None:
    ctx.obj = Workspace(plan_path=plan, db_url=db, json=json_, yes=yes)


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate the plan; print a summary; lint known pitfalls."""
    from golive.plan.summary import summarize

    w, o = ws(ctx), out(ctx)
    summary = summarize(w.plan)
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
    watch: Annotated[bool, typer.Option("--watch", help="refresh every 2 s until Ctrl-C")] = False,
) -> None:
    """Where the release stands, and what is due when."""
    import time

    from golive.engine.status import release_status

    w, o = ws(ctx), out(ctx)
    while True:
        data = release_status(w.store, w.plan.release, w.clock.now(), env)
        if o.json_mode:
            o.json(data)
            return
        if watch:
            o.out.clear()
        if not data["runs"]:
            o.print(f"no runs of {data['release']} yet (start one with golive run --env ENV)")
        for run in data["runs"]:
            o.print(f"[bold]{run['kind']} {run['env']}[/bold] run {run['run']}: {styled(run['status'])} "
                    f"({run['steps_done']}/{run['steps_total']} steps)" + (f" — {run['reason']}" if run["reason"] else ""))
            for phase in run["phases"]:
                o.print(f"  {phase['phase']:<14} {styled(phase['status'])}")
            for due in run["due"]:
                o.print(f"  [yellow]next[/yellow] {due}")
        for inc in data["open_incidents"]:
            o.print(f"[red]open incident {inc['id']} {inc['severity']}[/red] {inc['title']}")
        if not watch:
            return
        time.sleep(2)


@app.command()
def init(
    ctx: typer.Context,
    example: Annotated[str, typer.Option("--example", help="start from a bundled example")] = "bbws",
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing plan")] = False,
) -> None:
    """Scaffold a plan file from a bundled example."""
    from golive.examples import example_plan

    w, o = ws(ctx), out(ctx)
    text = example_plan(example)
    if w.plan_path.exists() and not force:
        raise UsageError(f"{w.plan_path} exists (use --force to overwrite)")
    w.plan_path.write_text(text, encoding="utf-8")
    o.print(f"wrote {w.plan_path} from the '{example}' example; next: golive check -f {w.plan_path}")
    if o.json_mode:
        o.json({"written": str(w.plan_path), "example": example})


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
    return {"error": str(err), "type": type(err).__name__, "exit_code": err.exit_code}


_GLOBAL_WITH_VALUE = ("-f", "--plan", "--db")
_GLOBAL_FLAGS = ("--json", "--yes", "-y")


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
        if arg in _GLOBAL_WITH_VALUE and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if any(arg.startswith(opt + "=") for opt in ("--plan", "--db")) or arg in _GLOBAL_FLAGS:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, map every error to one line and an exit code."""
    args = hoist_globals(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    try:
        code = app(args=args, standalone_mode=False, prog_name="golive")
    except GoliveError as err:
        if json_mode:
            sys.stdout.write(json.dumps(_fail_json(err)) + "\n")
        sys.stderr.write(f"golive: error: {err}\n")
        sys.exit(err.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("golive: aborted\n")
        sys.exit(130)
    except click.ClickException as exc:
        sys.stderr.write(f"golive: error: {exc.format_message()}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("golive: interrupted; the run's state is stored, run the same command to resume\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
import golive.cli.notify_cmds  # noqa: E402  (registers the commands)
import golive.cli.ops  # noqa: E402  (registers the commands)
import golive.cli.release_ops  # noqa: E402  (registers the commands)
import golive.cli.sandbox_cmds  # noqa: E402  (registers the commands)
import golive.cli.serve_cmds  # noqa: F401,E402  (registers the commands)
