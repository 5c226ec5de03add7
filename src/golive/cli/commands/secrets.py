"""``golive secrets set``: write a repository secret, sealed with each repository's key; values never printed."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import out, ws
from golive.cli.prompt import confirm
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
) -> None:
    """Write a secret to repositories, sealed with each repository's key."""
    from golive.evidence.runs import SecretSet
    from golive.steps.prep import cloudfront_id
    from golive.steps.secrets import resolve_value, set_secret

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
    for item in written:  # evidence a gate reads: a preflight older than this no longer holds
        w.store.append_record(SecretSet(subject=f"{item['repo']} {name}", repo=str(item["repo"]), name=name,
                                        origin=value_from.split(":", 1)[0]), release=w.plan.release, env=env or "",
                              at=w.clock.now())
    if o.json_mode:
        o.json({"written": written})
    else:
        for item in written:
            o.print(esc(f"  {item['repo']}: {name} {'created' if item['created'] else 'updated'}"))


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
