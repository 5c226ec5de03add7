"""``golive serve``: the team's page (releases, canaries, gates, approvals, /metrics), with workers if asked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from golive.cli.common import SERVE_MODULES, out, require_extra, ws
from golive.errors import UsageError


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback unless you open it)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8377,
    users: Annotated[Path | None, typer.Option("--users", help="users and roles file (passwords as Argon2 hashes)")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key")] = None,
    behind_proxy: Annotated[bool, typer.Option("--behind-proxy", help="a TLS proxy is in front (trust X-Forwarded-For)")] = False,
    proxy_hops: Annotated[int, typer.Option("--proxy-hops", min=1,
                                            help="trusted proxies in front: the client is this many X-Forwarded-For "
                                                 "entries from the right")] = 1,
    allowed_host: Annotated[list[str] | None, typer.Option("--allowed-host",
                                                           help="a Host name to answer for (repeat; loopback names "
                                                                "and --host always)")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="also run N worker processes")] = 0,
    sandbox: Annotated[Path | None, typer.Option("--sandbox", help="workers rehearse on this sandbox daemon")] = None,
) -> None:
    """The team's page: releases, canaries, gates and their reasons, approvals, /metrics; live by SSE."""
    require_extra("serve", "serve", SERVE_MODULES)
    from golive.serve.app import ServeConfig
    from golive.serve.auth import Users
    from golive.serve.guard import allowed_hosts
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
                         secure_cookie=tls_cert is not None or behind_proxy, trust_proxy=behind_proxy,
                         proxy_hops=proxy_hops, hosts=allowed_hosts(host, allowed_host or []))
    if not is_loopback(host) and not allowed_host:
        o.info(f"warning: answering only Host {', '.join(sorted(config.hosts))}: give --allowed-host NAME for the "
               "name people reach this server by")
    scheme = "https" if tls_cert else "http"
    o.info(f"golive serve on {scheme}://{host}:{port} ({workers} workers)")
    run_server(config, options)


def _worker_argv(plan_path: Path, db_url: str | None, sandbox: Path | None) -> list[str]:
    argv = ["-f", str(plan_path.absolute())] + (["--db", db_url] if db_url else []) + ["worker"]
    return argv + (["--sandbox", str(sandbox.absolute())] if sandbox else [])


def register(app: typer.Typer) -> None:
    app.command()(serve)
