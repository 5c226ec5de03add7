"""``golive init``: scaffold a plan from a bundled example, with its scripts and scenarios beside it."""

from __future__ import annotations

from typing import Annotated

import typer

from golive.cli.common import out, ws
from golive.textout import rich as esc


def init(
    ctx: typer.Context,
    example: Annotated[str, typer.Option("--example", help="start from a bundled example")] = "bbws",
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing plan")] = False,
) -> None:
    """Scaffold a plan file from a bundled example, with its scripts and rehearsal scenarios beside it."""
    from golive.examples import write_example

    w, o = ws(ctx), out(ctx)
    written = write_example(example, w.plan_path, force=force)
    if o.json_mode:
        o.json({"written": [str(path) for path in written], "example": example})
        return
    o.print(esc(f"wrote {w.plan_path} and {len(written) - 1} files beside it from the '{example}' example"))
    o.print(esc(f"next: golive check -f {w.plan_path}, then golive rehearse -f {w.plan_path}"))


def register(app: typer.Typer) -> None:
    app.command()(init)
