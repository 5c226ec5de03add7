"""``golive notify test`` and ``golive notify deliver``: try the plan's sinks, drain the outbox once."""

from __future__ import annotations

import typer

from golive.cli.common import out, ws
from golive.errors import ExternalError
from golive.textout import rich as esc

notify_app = typer.Typer(help="Notifications to Slack and JSON webhooks (the plan's notify: sinks).",
                         no_args_is_help=True)


@notify_app.command("test")
def notify_test(ctx: typer.Context) -> None:
    """Send one test message to every sink of the plan."""
    from golive.notify.deliver import send_test

    w, o = ws(ctx), out(ctx)
    results = send_test(w.plan, w.plan_path.absolute().parent, w.http, w.clock.now().isoformat())
    if o.json_mode:
        o.json({"sinks": {name: error or "delivered" for name, error in results.items()}})
    else:
        for name, error in results.items():
            o.print(f"{esc(name)}: {'[green]delivered[/green]' if error is None else '[red]' + esc(error) + '[/red]'}")
    failed = [error for error in results.values() if error is not None]
    if failed:
        raise ExternalError("notify test: " + "; ".join(failed))


@notify_app.command("deliver")
def notify_deliver(ctx: typer.Context) -> None:
    """Deliver what is due in the outbox once (serve and worker do this continuously)."""
    from golive.notify.deliver import deliver_due
    from golive.store.outbox import backlog

    w, o = ws(ctx), out(ctx)
    report = deliver_due(w.store, w.plan, w.plan_path.absolute().parent, w.http)
    with w.store.tx() as conn:
        left = backlog(conn)
    if o.json_mode:
        o.json({"sent": report.sent, "failed": report.failed, "errors": report.errors, "backlog": left})
        return
    o.print(f"sent {report.sent}, failed {report.failed}, {left} left in the outbox")
    for error in report.errors:
        o.print(f"  [yellow]retry later[/yellow] {esc(error)}")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
