"""``golive worker``: advance the store's due runs under row leases, and deliver the outbox; as many as you like."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from golive.cli.common import out, ws


def worker(
    ctx: typer.Context,
    sandbox: Annotated[Path | None, typer.Option("--sandbox", help="rehearse on this running sandbox daemon")] = None,
    submit: Annotated[str | None, typer.Option("--submit", help="create the release run for ENV, leave it to workers")] = None,
    lease_ttl: Annotated[float, typer.Option("--lease-ttl", min=1.0, help="seconds a killed worker's run waits")] = 30.0,
    exit_when_idle: Annotated[bool, typer.Option("--exit-when-idle", help="stop once no run is active")] = False,
) -> None:
    """Advance the store's due runs, with leases; start as many as you like, on any machine."""
    import os
    from datetime import timedelta

    from golive.store.store import default_url
    from golive.worker import delivering, due_runs, sandbox_services, work
    from golive.worker import submit as submit_run

    w, o = ws(ctx), out(ctx)
    if sandbox is not None:
        url = w.db_url or os.environ.get("GOLIVE_DB") or default_url(w.plan_path)
        services = sandbox_services(w.plan_path, sandbox, url)
    else:
        services = w.services()
    if submit is not None:
        run = submit_run(services, submit)
        o.print(f"run {run.id} ({run.kind} {run.env}) is {run.status}: workers will take it")
        if o.json_mode:
            o.json({"run": run.id, "status": run.status})
        return
    o.info(f"golive worker {os.getpid()}: advancing the due runs of {services.plan.release}")
    sys.stdout.flush()
    with delivering(services, w.plan_path.absolute().parent):
        report = work(services, lease_ttl=timedelta(seconds=lease_ttl),
                      until=(lambda _r: not due_runs(services)) if exit_when_idle else None)
    if o.json_mode:
        o.json({"passes": report.passes, "advanced": report.advanced, "finished": report.finished})
    else:
        o.print(f"worker done: {report.advanced} turns, runs finished {report.finished}")


def register(app: typer.Typer) -> None:
    app.command()(worker)
