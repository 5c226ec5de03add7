"""``golive abort``: stop a project's canary; it rolls back on its next analysis pass."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, ProjectArg, operator_action


def abort(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
          by: Annotated[str | None, typer.Option("--by", help="who aborts (recorded)")] = None,
          why: Annotated[str | None, typer.Option("--why", help="the reason, recorded")] = None) -> None:
    """Stop a project's canary: it rolls back on its next analysis pass."""
    operator_action(ctx, project, env, "abort", by, why, "rolls back")


def register(app: typer.Typer) -> None:
    app.command()(abort)
