"""``golive schema``: the plan's JSON Schema, for editor completion."""

from __future__ import annotations

import typer

from golive.cli.output import Output


def schema(ctx: typer.Context) -> None:
    """Print the plan's JSON Schema (for editor completion)."""
    from golive.plan.model import plan_json_schema

    Output(True).json(plan_json_schema())


def register(app: typer.Typer) -> None:
    app.command()(schema)
