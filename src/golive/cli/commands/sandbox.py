"""``golive sandbox up|down|status|env``: a local AWS + GitHub built from the plan, for trying things by hand.

The sandbox's emulator (moto) and simulator (numpy) are the ``golive[sandbox]`` extra, not the core:
these commands say how to install it rather than fail on an import.

Where a sandbox lives: ``--state-dir`` (or ``GOLIVE_SANDBOX``), else ``.golive/sandbox`` beside the plan
(``-f``, or ``GOLIVE_PLAN``, or ``./golive.yaml``). ``up`` exports both variables with the rest, so every
later command of that shell, ``down`` included, finds the plan and the sandbox without ``-f``.

Only the output meant for pasting carries the sandbox's tokens as they are: ``up``'s export lines and
``golive sandbox env`` (for ``eval "$(golive sandbox env)"``). ``status`` and every ``--json`` show them
masked, like any other credential golive prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from golive.cli.common import out, require_sandbox, ws
from golive.cli.output import Output
from golive.redact import MASK
from golive.textout import rich as esc
from golive.workspace import Workspace

sandbox_app = typer.Typer(help="A local AWS + GitHub built from the plan, for trying things by hand.",
                          no_args_is_help=True)


@sandbox_app.callback()
def _sandbox_group() -> None:
    require_sandbox("sandbox")


if TYPE_CHECKING:
    from golive.plan.model import Plan
    from golive.sandbox.daemon import SandboxInfo

StateDir = Annotated[Path | None, typer.Option(
    "--state-dir", envvar="GOLIVE_SANDBOX", help="where the sandbox keeps its files (default .golive/sandbox beside the plan)")]
SANDBOX_ENV = "GOLIVE_SANDBOX"
PLAN_ENV = "GOLIVE_PLAN"
_SECRET_EXPORTS = ("GITHUB_TOKEN", "GOLIVE_SANDBOX_TOKEN")  # pasteable only where the output is meant for pasting


def _state_dir(w: Workspace, given: Path | None) -> Path:
    return (given or w.plan_path.absolute().parent / ".golive" / "sandbox").absolute()


def _looked_in(ctx: typer.Context, w: Workspace, given: Path | None) -> str:
    """Where ``down`` and ``status`` looked for a sandbox, and why there (the option, a variable, the plan)."""
    folder = _state_dir(w, given)
    if given is not None:
        source = ctx.get_parameter_source("state_dir")
        why = f"from {SANDBOX_ENV}" if source is not None and source.name == "ENVIRONMENT" else "from --state-dir"
        return f"{folder} ({why})"
    source = ctx.find_root().get_parameter_source("plan")
    plan_from = {"ENVIRONMENT": f"{PLAN_ENV}", "COMMANDLINE": "-f"}.get(source.name if source else "", "the default")
    return (f"{folder} (beside the plan {w.plan_path.absolute()}, from {plan_from}; "
            f"give --state-dir, or paste the exports of golive sandbox up, which set {SANDBOX_ENV} and {PLAN_ENV})")


@sandbox_app.command("up")
def sandbox_up(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", "-e", help="the environment the release targets")] = "prod",
    detach: Annotated[bool, typer.Option("--detach", "-d", help="run in the background")] = False,
    inject: Annotated[list[str] | None, typer.Option("--inject", help="a fault, e.g. product_lambda:error_rate=8%")] = None,
    seed: Annotated[int, typer.Option("--seed", help="the traffic simulator's seed")] = 7,
    github_run_seconds: Annotated[float | None, typer.Option(
        "--github-run-seconds", min=0.1,
        help="how long a dispatched workflow runs (default 240; queued up to 10 s first)")] = None,
    state_dir: StateDir = None,
) -> None:
    """Start the sandbox and print the exports that point the AWS CLI and golive at it."""
    from golive.plan.validate import load_plan
    from golive.sandbox.daemon import start_world_detached, stop
    from golive.sandbox.from_plan import check_plan_faults

    w, o = ws(ctx), out(ctx)
    folder = _state_dir(w, state_dir)
    w.env(env)
    check_plan_faults(w.plan, inject or [])
    with o.err.status("starting the sandbox: local AWS, GitHub, endpoints; provisioning from the plan…"):
        info = start_world_detached(folder, w.plan_path, env, seed=seed, faults=inject or [], realtime=True,
                                    github_run_seconds=github_run_seconds)
    values = _exports(info, load_plan(w.plan_path), w.plan_path)  # the file's URLs, whatever an older GOLIVE_URL_MAP says
    if o.json_mode:
        o.json({**_masked_info(info), "exports": _lines(values, masked=True)})
    else:
        o.info(esc(f"sandbox pid {info.pid} from {folder}; paste these lines (or later: eval \"$(golive sandbox env)\"):"))
        for line in _lines(values, masked=False):
            print(line)
    if not detach:
        import time

        o.info("running in the foreground; Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stop(folder)


def _exports(info: SandboxInfo, plan: Plan, plan_path: Path) -> dict[str, str]:
    """AWS's variables, the local GitHub's address and its token (a fixed local one), the plan's URLs mapped to
    the world server (so ``golive verify`` and the health checks reach the sandbox, not production), and where
    the plan and the sandbox are (so later commands need no ``-f`` and ``down`` finds the sandbox)."""
    from golive.plan.url_map import ENV_VAR, format_url_map, world_url_map
    from golive.sandbox.daemon import export_values
    from golive.sandbox.world import SANDBOX_TOKEN

    values = export_values(info)
    if "github" in info.services:
        values.update(GOLIVE_GITHUB_API=info.services["github"], GITHUB_TOKEN=SANDBOX_TOKEN)
    if "world" in info.services:
        values[ENV_VAR] = format_url_map(world_url_map(plan, info.services["world"]))
    values[PLAN_ENV] = str(plan_path.absolute())
    values[SANDBOX_ENV] = str(info.state_dir)
    return values


def _lines(values: dict[str, str], *, masked: bool) -> list[str]:
    from golive.sandbox.daemon import export_lines

    if masked:
        return [line for line in export_lines({k: MASK if k in _SECRET_EXPORTS else v for k, v in values.items()})]
    return export_lines(values)


def _masked_info(info: SandboxInfo) -> dict[str, object]:
    return {**info.to_dict(), "token": MASK}


@sandbox_app.command("down")
def sandbox_down(ctx: typer.Context, state_dir: StateDir = None) -> None:
    """Stop the sandbox; no process is left behind. Says where it looked when none was running there."""
    from golive.sandbox.daemon import status, stop

    w, o = ws(ctx), out(ctx)
    folder = _state_dir(w, state_dir)
    info = status(folder)
    stopped = stop(folder)
    if o.json_mode:
        o.json({"stopped": stopped, "state_dir": str(folder), "pid": info.pid if info else None})
    elif stopped:
        o.print(f"sandbox stopped (pid {info.pid if info else '?'}, {folder})")
    else:
        o.print(f"no sandbox running in {_looked_in(ctx, w, state_dir)}; nothing to stop")


def _running(ctx: typer.Context, o: Output, w: Workspace, state_dir: Path | None) -> SandboxInfo:
    from golive.sandbox.daemon import status

    info = status(_state_dir(w, state_dir))
    if info is None:
        if o.json_mode:
            o.json({"running": False, "state_dir": str(_state_dir(w, state_dir))})
        else:
            o.print(f"no sandbox running in {_looked_in(ctx, w, state_dir)} (start one: golive sandbox up --detach)")
        raise typer.Exit(1)
    return info


@sandbox_app.command("status")
def sandbox_status(ctx: typer.Context, state_dir: StateDir = None) -> None:
    """Whether a sandbox runs, and where (its tokens masked: golive sandbox env prints them to paste)."""
    from golive.plan.validate import load_plan

    w, o = ws(ctx), out(ctx)
    info = _running(ctx, o, w, state_dir)
    values = _exports(info, load_plan(w.plan_path), w.plan_path)
    if o.json_mode:
        o.json({**_masked_info(info), "exports": _lines(values, masked=True)})
        return
    o.print(esc(f"sandbox pid {info.pid} from {info.state_dir}: AWS at {info.endpoint}; " +
                ", ".join(f"{k} at {v}" for k, v in info.services.items())))
    for line in _lines({k: v for k, v in values.items() if k not in _SECRET_EXPORTS}, masked=False):
        o.print(f"  {line}", markup=False)
    hidden = " and ".join(k for k in _SECRET_EXPORTS if k in values)
    o.print(f'  ({hidden} not shown here: eval "$(golive sandbox env)" exports every line, tokens included)')


@sandbox_app.command("env")
def sandbox_env(ctx: typer.Context, state_dir: StateDir = None) -> None:
    """The export lines of the running sandbox, tokens included, to paste or eval "$(golive sandbox env)"."""
    import json

    from golive.plan.validate import load_plan

    w, o = ws(ctx), out(ctx)
    info = _running(ctx, o, w, state_dir)
    values = _exports(info, load_plan(w.plan_path), w.plan_path)
    # Printed as they are, past the output's masking: these lines are meant to be pasted into a shell.
    sys.stdout.write(json.dumps(values, indent=2) + "\n" if o.json_mode else "\n".join(_lines(values, masked=False)) + "\n")


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
