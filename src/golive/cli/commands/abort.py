"""``golive abort``: stop a project's canary: its aliases go back to the stable versions at once."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import EnvOpt, ProjectArg, note_text, operator_action, title_text


def abort(ctx: typer.Context, project: ProjectArg, env: EnvOpt,
          by: Annotated[str | None, typer.Option("--by", help="who aborts (recorded)", callback=title_text)] = None,
          why: Annotated[str | None, typer.Option("--why", help="the reason, recorded", callback=note_text)] = None) -> None:
    """Stop a project's canary: its aliases go back to the stable versions now, recorded with who."""
    operator_action(ctx, project, env, "abort", by, why, "is rolled back now, and its step ends rolled back")


def register(app: typer.Typer) -> None:
    app.command()(abort)
