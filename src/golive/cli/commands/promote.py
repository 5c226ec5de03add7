"""``golive promote``: skip a canary's remaining steps to 100%, recorded with the reason."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, ProjectArg, note_text, operator_action, title_text


def promote(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
            why: Annotated[str, typer.Option("--why", help="the reason, recorded", callback=note_text)],
            by: Annotated[str | None, typer.Option("--by", help="who promotes (recorded)", callback=title_text)] = None) -> None:
    """Skip a canary's remaining steps to 100% (recorded with the reason)."""
    operator_action(ctx, project, env, "promote", by, why, "goes to 100%")


def register(app: typer.Typer) -> None:
    app.command()(promote)
