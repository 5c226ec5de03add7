"""``golive sandbox up|down|status``: a local AWS + GitHub built from the plan, for trying things by hand.

The sandbox's emulator (moto) and simulator (numpy) are the ``golive[sandbox]`` extra, not the core:
these commands say how to install it rather than fail on an import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from golive.cli.common import out, require_sandbox, ws
from golive.workspace import Workspace

sandbox_app = typer.Typer(help="A local AWS + GitHub built from the plan, for trying things by hand.",
                          no_args_is_help=True)


@sandbox_app.callback()
def _sandbox_group() -> None:
    require_sandbox("sandbox")


if TYPE_CHECKING:
    from golive.plan.model import Plan
    from golive.sandbox.daemon import SandboxInfo

StateDir = Annotated[Path | None, typer.Option("--state-dir", help="where the sandbox keeps its files")]


def _state_dir(w: Workspace, given: Path | None) -> Path:
    return given or w.plan_path.absolute().parent / ".golive" / "sandbox"


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
    lines = _exports(info, load_plan(w.plan_path))  # the file's URLs, whatever an older GOLIVE_URL_MAP says
    if o.json_mode:
        o.json({**info.to_dict(), "exports": lines})
    else:
        o.info(f"sandbox pid {info.pid} from {folder}; paste these lines:")
        for line in lines:
            print(line)
    if not detach:
        import time

        o.info("running in the foreground; Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stop(folder)


def _exports(info: SandboxInfo, plan: Plan) -> list[str]:
    """AWS's exports, the local GitHub's address and its token (a fixed local one, not a secret), and the plan's
    URLs mapped to the world server (so ``golive verify`` and the health checks reach the sandbox, not production)."""
    import shlex

    from golive.plan.url_map import ENV_VAR, format_url_map, world_url_map
    from golive.sandbox.daemon import exports
    from golive.sandbox.world import SANDBOX_TOKEN

    github = [f"export GOLIVE_GITHUB_API={info.services['github']}",
              f"export GITHUB_TOKEN={SANDBOX_TOKEN}"] if "github" in info.services else []
    world = [f"export {ENV_VAR}={shlex.quote(format_url_map(world_url_map(plan, info.services['world'])))}"
             ] if "world" in info.services else []
    return [*exports(info), *github, *world]


@sandbox_app.command("down")
def sandbox_down(ctx: typer.Context, state_dir: StateDir = None) -> None:
    """Stop the sandbox; no process is left behind."""
    from golive.sandbox.daemon import stop

    w, o = ws(ctx), out(ctx)
    stopped = stop(_state_dir(w, state_dir))
    if o.json_mode:
        o.json({"stopped": stopped})
    else:
        o.print("sandbox stopped" if stopped else "no sandbox was running")


@sandbox_app.command("status")
def sandbox_status(ctx: typer.Context, state_dir: StateDir = None) -> None:
    """Whether a sandbox runs, and where."""
    from golive.plan.validate import load_plan
    from golive.sandbox.daemon import status

    w, o = ws(ctx), out(ctx)
    info = status(_state_dir(w, state_dir))
    if o.json_mode:
        o.json(info.to_dict() if info else {"running": False})
    elif info is None:
        o.print("no sandbox running (golive sandbox up --detach)")
    else:
        o.print(f"sandbox pid {info.pid}: AWS at {info.endpoint}; " +
                ", ".join(f"{k} at {v}" for k, v in info.services.items()))
        for line in _exports(info, load_plan(w.plan_path)):
            o.print(f"  {line}")
    if info is None:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
