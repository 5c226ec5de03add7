"""``golive report``: the evidence of a run (soak checkpoints x criteria, gate decisions, canaries, rollbacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from golive.cli.common import out, ws
from golive.textout import rich as esc


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
        o.info(esc(f"wrote {output}"))
    else:
        print(text)


def register(app: typer.Typer) -> None:
    app.command()(report)
