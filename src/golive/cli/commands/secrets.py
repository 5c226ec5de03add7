"""``golive secrets set|list``: write a repository secret, sealed with each repository's key (values never printed);
list what each deploy workflow reads, and what of it is set or missing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from golive.analysis.units import counted
from golive.cli.common import EnvOpt, out, ws
from golive.cli.prompt import able_to_ask, confirm
from golive.errors import UsageError
from golive.textout import rich as esc

secrets_app = typer.Typer(help="Repository secrets, written sealed; values never printed.", no_args_is_help=True)


@secrets_app.command("set")
def secrets_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="secret name, e.g. AWS_ROLE_PROD")],
    repo: Annotated[list[str], typer.Option("--repo", help="owner/name; repeat for several")],
    value_from: Annotated[str, typer.Option("--value-from", help="env:VAR | file:PATH | plan:NAME")],
    env: Annotated[str | None, typer.Option("--env", "-e", help="environment, for plan: lookups in AWS")] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="GitHub environment secret")] = None,
    force: Annotated[bool, typer.Option("--force", help="write it even though no workflow of the repository reads it")] = False,
) -> None:
    """Write a secret to repositories, sealed with each repository's key (a name no workflow reads needs --force)."""
    from golive.evidence.runs import SecretSet
    from golive.steps.prep import cloudfront_id
    from golive.steps.secrets import refuse_unread, resolve_value, set_secret, workflow_secrets

    w, o = ws(ctx), out(ctx)
    if env is not None:
        w.env(env)
    target = counted(len(repo), "repository", "repositories")
    able_to_ask(w.yes, "secrets set", target)
    if not force:
        refuse_unread(name, repo, workflow_secrets(w.services(), env or next(iter(w.plan.environments)), set(repo)))
    value, source = resolve_value(value_from, w.plan, name)
    if not value and source is not None and source.cloudfront_comment:
        if env is None:
            raise UsageError("this secret comes from an AWS lookup: give --env")
        value = cloudfront_id(w.aws_for(w.env(env)), source.cloudfront_comment) or ""
    confirm(w.yes, "secrets set", target,
            [f"write the secret {name}{' of GitHub environment ' + environment if environment else ''} "
             f"(sealed; its value is not shown) to {', '.join(repo)}"])
    written = set_secret(w.github, repo, name, value, w.redact, environment)
    for item in written:  # evidence a gate reads: a preflight older than this no longer holds
        w.store.append_record(SecretSet(subject=f"{item['repo']} {name}", repo=str(item["repo"]), name=name,
                                        origin=value_from.split(":", 1)[0]), release=w.plan.release, env=env or "",
                              at=w.clock.now())
    if o.json_mode:
        o.json({"written": written})
    else:
        for item in written:
            o.print(esc(f"  {item['repo']}: {name} {'created' if item['created'] else 'updated'}"))


@secrets_app.command("list")
def secrets_list(ctx: typer.Context, env: EnvOpt) -> None:
    """What each project's deploy workflow reads, and whether it is set (repository or environment) or missing."""
    from golive.steps.secrets import workflow_secrets

    w, o = ws(ctx), out(ctx)
    read = workflow_secrets(w.services(), w.env(env))
    if o.json_mode:
        o.json({"env": env, "workflows": [r.to_dict() for r in read]})
        return
    table = Table(title=f"secrets the deploy workflows of {w.plan.release} read ({env})")
    for col in ("project", "repository", "workflow", "secret", "read at", "status"):
        table.add_column(col, overflow="fold")
    for item in read:
        if not item.rows:
            table.add_row(item.project, item.repo, item.workflow, "-", "-", f"{item.status}: {item.summary}")
        for row in item.rows:
            lines = row.get("lines") or []
            at = f"line {', '.join(map(str, lines))}" if row.get("source") == "workflow" else "the plan"
            status = f"[green]set[/green] ({row['scope']})" if row.get("status") == "configured" else "[red]missing[/red]"
            table.add_row(item.project, item.repo, item.workflow, str(row["name"]), at, status)
    o.print(table)
    missing = sum(row.get("status") == "missing" for item in read for row in item.rows)
    total = sum(len(item.rows) for item in read)
    o.print(f"{total - missing} of {total} set; {missing} missing (golive secrets set NAME --repo R --value-from ...)"
            if missing else f"all {total} set")


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
