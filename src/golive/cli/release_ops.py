"""Commands that change the world: tag, secrets, deploy.

Thin as the rest: parse, call one function, render, exit 1 on failure.
"""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.app import EnvOpt, app, out, ws
from golive.cli.ops import _exit_for, _render_driven
from golive.cli.prompt import confirm, where
from golive.cli.render import progress
from golive.plan.model import Plan

secrets_app = typer.Typer(help="Repository secrets, written sealed; values never printed.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@app.command()
def tag(ctx: typer.Context, env: EnvOpt) -> None:
    """Annotated release tags in every repository (idempotent)."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    repos = sorted({p.repo for p in w.plan.projects.values()})
    confirm(w.yes, "tag", where(w.plan, w.env(env)),
            [f"create the annotated tag {w.plan.version} in {len(repos)} repositories: {', '.join(repos)}"])
    services = w.services()
    services.notify = progress(o, w.clock)
    driven = session.tag(services, w.env(env))
    step = w.store.steps(driven.run.id)[0]
    if o.json_mode:
        o.json({"status": driven.run.status, **(step.result or {})})
    else:
        for item in (step.result or {}).get("tagged", []):
            what = "created" if item["created"] else "already there"
            o.print(f"  {item['repo']} {item['tag']} → {item['commit'][:12]} ({what})")
        if driven.run.reason:
            o.print(f"[red]{driven.run.reason}[/red]")
    _exit_for(driven)


@secrets_app.command("set")
def secrets_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="secret name, e.g. AWS_ROLE_PROD")],
    repo: Annotated[list[str], typer.Option("--repo", help="owner/name; repeat for several")],
    value_from: Annotated[str, typer.Option("--value-from", help="env:VAR | file:PATH | plan:NAME")],
    env: Annotated[str | None, typer.Option("--env", "-e", help="environment, for plan: lookups in AWS")] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="GitHub environment secret")] = None,
) -> None:
    """Write a secret to repositories, sealed with each repository's key."""
    from golive.errors import UsageError
    from golive.rollout.prep import cloudfront_id
    from golive.rollout.secrets import resolve_value, set_secret

    w, o = ws(ctx), out(ctx)
    value, source = resolve_value(value_from, w.plan, name)
    if not value and source is not None and source.cloudfront_comment:
        if env is None:
            raise UsageError("this secret comes from an AWS lookup: give --env")
        value = cloudfront_id(w.aws_for(w.env(env)), source.cloudfront_comment) or ""
    confirm(w.yes, "secrets set", f"{len(repo)} repositories",
            [f"write the secret {name}{' of GitHub environment ' + environment if environment else ''} "
             f"(sealed; its value is not shown) to {', '.join(repo)}"])
    written = set_secret(w.github, repo, name, value, w.redact, environment)
    if o.json_mode:
        o.json({"written": written})
    else:
        for item in written:
            o.print(f"  {item['repo']}: {name} {'created' if item['created'] else 'updated'}")


@app.command()
def deploy(
    ctx: typer.Context,
    env: EnvOpt,
    batch: Annotated[str | None, typer.Option("--batch", help="only this batch")] = None,
    project: Annotated[str | None, typer.Option("--project", help="only this project")] = None,
    skip_gate: Annotated[bool, typer.Option("--skip-gate", help="deploy without a GO (needs --why)")] = False,
    override_freeze: Annotated[bool, typer.Option("--override-freeze", help="deploy in a freeze (needs --why)")] = False,
    why: Annotated[str | None, typer.Option("--why", help="the reason, recorded")] = None,
    restart: Annotated[bool, typer.Option("--restart")] = False,
    confirm_run: Annotated[int | None, typer.Option(
        "--confirm-run", help="the run of --project's doubtful dispatch (golive named the candidates)")] = None,
    redispatch: Annotated[bool, typer.Option(
        "--redispatch", help="dispatch --project's workflow anew after a doubtful dispatch (needs --why)")] = False,
) -> None:
    """Deploy the batches in order (projects of a batch side by side), verify, roll out."""
    from golive.engine import session
    from golive.errors import UsageError

    w, o = ws(ctx), out(ctx)
    if (skip_gate or override_freeze or redispatch) and not why:
        raise UsageError("--skip-gate, --override-freeze and --redispatch need --why \"...\" (it is recorded)")
    if (confirm_run is not None or redispatch) and project is None:
        raise UsageError("--confirm-run and --redispatch need --project (the deploy whose dispatch is in doubt)")
    confirm(w.yes, "deploy", where(w.plan, w.env(env), with_dr=True),
            _deploy_changes(w.plan, batch, project, skip_gate, override_freeze, why))
    services = w.services()
    if confirm_run is not None or redispatch:
        from golive.rollout.dispatch_doubt import settle_dispatch

        assert project is not None
        settle_dispatch(w.store, services.require_github(), w.plan.release, w.env(env), project, w.clock.now(),
                        confirm_run=confirm_run, redispatch_why=why if redispatch else None)
    services.notify = progress(o, w.clock)
    driven = session.deploy(services, w.env(env), batch, project, restart=restart,
                            skip_gate_why=why if skip_gate else None, override_freeze_why=why if override_freeze else None)
    _render_driven(o, driven, w)
    _exit_for(driven)


def _deploy_changes(plan: Plan, batch: str | None, project: str | None, skip_gate: bool, override_freeze: bool,
                    why: str | None) -> list[str]:
    chosen = [b for b in plan.batches if batch in (None, b.name) and (project is None or project in b.projects)]
    lines = [f"batch {b.name}: deploy {', '.join(p for p in b.projects if project in (None, p))} "
             f"({plan.version}), canaries as the plan says" for b in chosen]
    if skip_gate:
        lines.append(f"without a GO decision (--skip-gate: {why})")
    if override_freeze:
        lines.append(f"inside a freeze window (--override-freeze: {why})")
    return lines


ProjectArg = Annotated[str, typer.Argument(help="project from the plan")]


def _operator(ctx: typer.Context, project: str, env: str, action: str, by: str | None, why: str | None,
              effect: str) -> None:
    from golive.rollout.rollback import operator

    w, o = ws(ctx), out(ctx)
    confirm(w.yes, action, where(w.plan, w.env(env)), [f"the running canary of {project} {effect} on its next pass"])
    event = operator(w.services(), w.env(env), project, action, by, why)
    if o.json_mode:
        o.json({"event": event, "project": project, "action": action})
    else:
        o.print(f"{action} recorded (event {event}); the running canary of {project} {effect} on its next pass")


@app.command()
def abort(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
          by: Annotated[str | None, typer.Option("--by")] = None,
          why: Annotated[str | None, typer.Option("--why")] = None) -> None:
    """Stop a project's canary: it rolls back on its next analysis pass."""
    _operator(ctx, project, env, "abort", by, why, "rolls back")


@app.command()
def promote(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
            why: Annotated[str, typer.Option("--why", help="the reason, recorded")],
            by: Annotated[str | None, typer.Option("--by")] = None) -> None:
    """Skip a canary's remaining steps to 100% (recorded with the reason)."""
    _operator(ctx, project, env, "promote", by, why, "goes to 100%")


@app.command()
def rollback(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
             full: Annotated[bool, typer.Option("--full", help="also run the plan's full-rollback command")] = False,
             region: Annotated[str | None, typer.Option("--region", help="e.g. the DR region")] = None,
             why: Annotated[str, typer.Option("--why")] = "golive rollback") -> None:
    """Alias back to the previous stable version, routing cleared; measured and confirmed."""
    from golive.rollout.rollback import rollback as do_rollback

    w, o = ws(ctx), out(ctx)
    confirm(w.yes, "rollback", where(w.plan, w.env(env), region),
            [f"{project}: every alias back to its previous stable version, routing cleared"]
            + (["then run the plan's full-rollback command"] if full else []))
    result = do_rollback(w.services(), w.env(env), project, full=full, region=region, why=why)
    if o.json_mode:
        o.json(result)
        return
    for f in result.get("functions", []):
        o.print(f"  {f['function']}:{f['alias']} → version {f['version']} (no routing)")
    if "full" in result:
        o.print(f"  full rollback {' '.join(result['full']['argv'])}: exit {result['full']['exit_code']}")
    o.print(f"{project} rolled back in {result['seconds']:.2f} s (alias confirmed in {result.get('alias_seconds', 0):.2f} s)")


@app.command()
def verify(ctx: typer.Context, env: EnvOpt) -> None:
    """Post-deploy validation: health URLs, smoke tests, alarms, function counts."""
    from golive.engine import session

    w, o = ws(ctx), out(ctx)
    driven = session.verify(w.services(), w.env(env))
    events = w.store.events(run_id=driven.run.id, kind="check")
    if o.json_mode:
        o.json({"status": driven.run.status, "checks": [e.data for e in events]})
    else:
        for e in events:
            o.print(f"  {e.outcome:<5} {e.data.get('check')} {e.data.get('target')}: {e.data.get('summary')}")
        o.print(f"verify {env}: {driven.run.status}" + (f" — {driven.run.reason}" if driven.run.reason else ""))
    _exit_for(driven)
