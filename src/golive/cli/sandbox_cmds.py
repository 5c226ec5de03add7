"""Commands around the sandbox: ``golive sandbox up|down|status``, ``golive rehearse``, ``golive report``.

The sandbox's emulator (moto) and simulator (numpy) are the ``golive[sandbox]`` extra, not the core:
these commands say how to install it rather than fail on an import.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from golive.cli.app import app, out, ws
from golive.cli.render import Output, progress, styled
from golive.errors import UsageError

sandbox_app = typer.Typer(help="A local AWS + GitHub built from the plan, for trying things by hand.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

SANDBOX_MODULES = ("moto", "werkzeug", "numpy")


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:
        return True


def require_sandbox(command: str) -> None:
    """Exit 2 with the install line when the ``sandbox`` extra is not installed."""
    missing = [m for m in SANDBOX_MODULES if _absent(m)]
    if missing:
        raise UsageError(f"golive {command} needs the sandbox extra ({', '.join(missing)} not installed): "
                         "pip install 'golive[sandbox]'")


@sandbox_app.callback()
def _sandbox_group() -> None:
    require_sandbox("sandbox")

if TYPE_CHECKING:
    from golive.plan.model import Plan
    from golive.sandbox.daemon import SandboxInfo

StateDir = Annotated[Path | None, typer.Option("--state-dir", help="where the sandbox keeps its files")]


def _state_dir(w: Any, given: Path | None) -> Path:
    return given or w.plan_path.absolute().parent / ".golive" / "sandbox"


@sandbox_app.command("up")
def sandbox_up(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", "-e", help="the environment the release targets")] = "prod",
    detach: Annotated[bool, typer.Option("--detach", "-d", help="run in the background")] = False,
    inject: Annotated[list[str] | None, typer.Option("--inject", help="a fault, e.g. product_lambda:error_rate=8%")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 7,
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


@app.command()
def rehearse(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", "-e")] = "prod",
    inject: Annotated[list[str] | None, typer.Option(
        "--inject", help="fault with a time, e.g. 'order_lambda:error_rate=8%@deploy'")] = None,
    until: Annotated[str | None, typer.Option("--until", help="stop after this phase (e.g. gate)")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    speed: Annotated[float | None, typer.Option("--speed", help="virtual seconds per wall second (to watch)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="where the report goes")] = None,
    sandbox: Annotated[Path | None, typer.Option(
        "--sandbox", help="drive a running sandbox daemon of this folder instead (resumable: run again to continue)")] = None,
) -> None:
    """Rehearse the whole release against the sandbox on a virtual clock (the bundled bbws plan by default)."""
    require_sandbox("rehearse")
    from golive.examples import example_path
    from golive.plan.validate import load_plan
    from golive.sandbox.from_plan import check_plan_faults

    w, o = ws(ctx), out(ctx)
    plan_path = w.plan_path if w.plan_path.exists() or w.plan_path != Path("golive.yaml") else example_path("bbws")
    plan = load_plan(plan_path)
    check_plan_faults(plan, inject or [])  # before the sandbox's heavy imports, and before anything starts
    from golive.rehearse import rehearse as run_rehearsal
    folder = out_dir or Path.cwd() / "golive-rehearsal"
    if not o.json_mode:
        o.info(f"rehearsing {plan.release} {plan.version} → {env} from {plan_path} (seed {seed})")
    if sandbox is not None:
        _rehearse_attached(o, plan_path, env, sandbox, inject or [], until)
    result = run_rehearsal(plan, plan_path.absolute().parent, env, faults=inject or [], seed=seed, until=until,
                           speed=speed, out_dir=folder, notify=None if o.json_mode else progress(o))
    if o.json_mode:
        o.json({**result.summary, "reports": result.reports})
    else:
        _summary(o, result.summary, result.reports)
    raise typer.Exit(result.exit_code)


def _rehearse_attached(o: Output, plan_path: Path, env: str, sandbox: Path, inject: list[str],
                       until: str | None) -> None:
    """The rehearsal runner against a daemon's world; its store lives beside the sandbox's files."""
    from golive.rehearse_remote import run_attached

    db = f"sqlite:///{sandbox.absolute() / 'rehearsal.db'}"
    status = run_attached(plan_path, env, sandbox, db, until=until, faults=inject,
                          notify=None if o.json_mode else progress(o))
    if o.json_mode:
        o.json({"status": status, "store": db})
    else:
        o.print(f"\n[bold]rehearsal: {styled(status)}[/bold] (store {db}; golive report reads it)")
    raise typer.Exit(0 if status in ("succeeded", "stopped") else 1)


def _summary(o: Output, s: dict[str, Any], reports: dict[str, str]) -> None:
    o.print(f"\n[bold]rehearsal: {styled(s['status'])}[/bold]" + (f" — {s['reason']}" if s.get("reason") else ""))
    o.print("phases: " + ", ".join(f"{p} {styled(v)}" for p, v in s["phases"].items()))
    cp = s["checkpoints"]
    o.print(f"checkpoints: {cp['passed']}/{cp['evaluated']} passed")
    for failed in cp["failed"]:
        o.print(f"  [red]✗ {failed}[/red]")
    for decision in s["decisions"]:
        o.print(f"decision: {decision}")
    for canary in s["canaries"]:
        o.print(f"canary: {canary}")
    for rb in s["rollbacks"]:
        o.print(f"[red]rollback: {rb['project']} ({rb['seconds']} s): {rb['reason']}[/red]")
    for a in s["availability"]:
        o.print(f"availability {a['url']}: {a.get('availability', 0):.2%} of {a.get('probes')} probes")
    if "dispatches" in s:
        d = s["dispatches"]
        twice = [repo for repo, n in d["per_repo"].items() if n > 1]
        o.print(f"dispatches: {d['workflows']} workflows, {d['runs']} runs"
                + (f" [red](more than one run: {', '.join(twice)})[/red]" if twice else ""))
    v = s["virtual"]
    o.print(f"virtual time: {v['start']} → {v['end']} ({v['hours']} h) in {s['wall_seconds']} s of wall time")
    for fmt, path in reports.items():
        o.print(f"report ({fmt}): {path}")


@app.command()
def report(
    ctx: typer.Context,
    run: Annotated[int | None, typer.Option("--run", help="run id (default: the latest)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md | html | json | junit")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
) -> None:
    """The evidence of a run: soak checkpoints x criteria, gate decisions, canaries, rollbacks."""
    from golive.report import render

    w, o = ws(ctx), out(ctx)
    text = render(w.store, run, w.plan.release, "json" if o.json_mode else fmt, redact=w.redact)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        o.info(f"wrote {output}")
    else:
        print(text)
