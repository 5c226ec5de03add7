"""``golive check``: validate the plan, print its summary, lint known pitfalls."""

from __future__ import annotations

import typer

from golive.analysis.units import counted
from golive.cli.common import out, ws
from golive.textout import rich as esc


def check(ctx: typer.Context) -> None:
    """Validate the plan; print a summary; lint known pitfalls."""
    from golive.plan.summary import summarize

    w, o = ws(ctx), out(ctx)
    summary = summarize(w.plan, w.plan_path.absolute().parent)
    if o.json_mode:
        o.json({"valid": True, "file": str(w.plan_path), **summary})
        return
    o.print(f"[green]✓[/green] {esc(w.plan_path)} is valid: release [bold]{esc(summary['release'])}[/bold] "
            f"{esc(summary['version'])}, {counted(summary['projects'], 'project')} in "
            f"{counted(len(summary['batches']), 'batch', 'batches')}")
    for name, e in summary["environments"].items():
        dr = f", DR {e['dr_region']}" if e["dr_region"] else ""
        o.print(esc(f"  env {name}: account {e['account']}, {e['region']}{dr}, profile {e['profile'] or '-'}"))
    for i, batch in enumerate(summary["batches"], 1):
        parts = [p["name"] + (" (canary " + "→".join(f"{w:g}%" for w in p["canary"]) + ")" if p["canary"] else "")
                 + (" (CloudFront canary " + "→".join(w if isinstance(w, str) else f"{w:g}%"
                                                      for w in p["cloudfront_canary"]) + ")"
                    if p.get("cloudfront_canary") else "")
                 for p in batch["projects"]]
        o.print(esc(f"  batch {i} {batch['name']}: {', '.join(parts)}"))
    for env, soak in summary["soaks"].items():
        smoke = f", smoke every {soak['smoke_every']}" if soak["smoke_every"] else ""
        o.print(esc(f"  soak {env}: {soak['duration']}, {counted(soak['checkpoints'], 'checkpoint')} every "
                    f"{soak['every']}{smoke}; {'; '.join(soak['criteria'])}"))
    for name, gate in summary["gates"].items():
        o.print(esc(f"  gate {name}: requires {', '.join(gate['requires'])}; approvals {', '.join(gate['approvals'])}; "
                    f"{gate['checklist']} checklist items"))
    for warning in summary["lint"]:
        o.print(f"  [yellow]lint[/yellow] {esc(warning)}")


def register(app: typer.Typer) -> None:
    app.command()(check)
