"""``golive report``: the evidence of a run (soak checkpoints x criteria, gate decisions, canaries, rollbacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from golive.cli.common import out, ws
from golive.errors import UsageError
from golive.textout import rich as esc


def report(
    ctx: typer.Context,
    run: Annotated[int | None, typer.Option("--run", help="run id (default: the latest)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md | html | json | junit")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
    release: Annotated[bool, typer.Option("--release", help="every run of the release and every command outside a "
                                                           "run, in order, with its overrides (md, html, json)")] = False,
) -> None:
    """The evidence of a run, or with --release of every run of the release.

    Soak checkpoints x criteria, gate decisions, canaries, rollbacks, overrides."""
    from golive.report import render
    from golive.report.release import render_release

    w, o = ws(ctx), out(ctx)
    chosen = "json" if o.json_mode else fmt
    if release:
        if run is not None:
            raise UsageError("--release reports every run of the release: leave out --run")
        text = w.redact(render_release(w.store, w.plan.release, chosen))
    else:
        text = render(w.store, run, w.plan.release, chosen, redact=w.redact)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        o.info(esc(f"wrote {output}"))
    else:
        print(text)


def register(app: typer.Typer) -> None:
    app.command()(report)
