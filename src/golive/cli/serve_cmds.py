"""``golive serve``, ``golive worker`` and ``golive hash-password``: team mode."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from golive.cli.app import app, out, ws
from golive.errors import UsageError


def _need_serve_extra(command: str) -> None:
    """The page's web stack is an extra: without it, say how to install it (exit 2) instead of a traceback."""
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "prometheus_client", "argon2") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"golive {command} needs the serve extra ({', '.join(missing)} not installed): "
                         "pip install 'golive[serve]'")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback unless you open it)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8377,
    users: Annotated[Path | None, typer.Option("--users", help="users and roles file (passwords as Argon2 hashes)")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key")] = None,
    behind_proxy: Annotated[bool, typer.Option("--behind-proxy", help="a TLS proxy is in front (trust X-Forwarded-For)")] = False,
    workers: Annotated[int, typer.Option("--workers", min=0, help="also run N worker processes")] = 0,
    sandbox: Annotated[Path | None, typer.Option("--sandbox", help="workers rehearse on this sandbox daemon")] = None,
) -> None:
    """The team's page: releases, canaries, gates and their reasons, approvals, /metrics; live by SSE."""
    _need_serve_extra("serve")
    from golive.serve.app import ServeConfig
    from golive.serve.auth import Users
    from golive.serve.server import ServeOptions, exposure_warning, is_loopback
    from golive.serve.server import serve as run_server

    w, o = ws(ctx), out(ctx)
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    plan = w.plan if w.plan_path.exists() else None
    options = ServeOptions(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, behind_proxy=behind_proxy,
                           plan_dir=w.plan_path.absolute().parent, workers=workers,
                           worker_argv=_worker_argv(w.plan_path, w.db_url, sandbox))
    if workers and plan is None:
        raise UsageError(f"--workers needs a plan: {w.plan_path} does not exist")
    warning = exposure_warning(options)
    if warning:
        o.info(f"warning: {warning}")
    config = ServeConfig(store=w.store, plan=plan, clock=w.clock, users=Users.load(users) if users else Users(),
                         open_reads=is_loopback(host) and not behind_proxy,
                         secure_cookie=tls_cert is not None or behind_proxy, trust_proxy=behind_proxy)
    scheme = "https" if tls_cert else "http"
    o.info(f"golive serve on {scheme}://{host}:{port} ({workers} workers)")
    run_server(config, options)


def _worker_argv(plan_path: Path, db_url: str | None, sandbox: Path | None) -> list[str]:
    argv = ["-f", str(plan_path.absolute())] + (["--db", db_url] if db_url else []) + ["worker"]
    return argv + (["--sandbox", str(sandbox.absolute())] if sandbox else [])


@app.command()
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
    from golive.worker import due_runs, sandbox_services, work
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
    report = work(services, lease_ttl=timedelta(seconds=lease_ttl),
                  until=(lambda _r: not due_runs(services)) if exit_when_idle else None)
    if o.json_mode:
        o.json({"passes": report.passes, "advanced": report.advanced, "finished": report.finished})
    else:
        o.print(f"worker done: {report.advanced} turns, runs finished {report.finished}")


@app.command("hash-password")
def hash_password_cmd(ctx: typer.Context) -> None:
    """Read a password on stdin, print its Argon2 hash for the --users file."""
    _need_serve_extra("hash-password")
    from golive.serve.auth import hash_password

    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise UsageError("give the password on stdin")
    print(hash_password(password))
