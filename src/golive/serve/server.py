"""Run ``golive serve``: uvicorn on the app, the outbox delivery loop, and ``--workers N`` worker processes."""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
import uvicorn

from golive.notify.deliver import DeliveryLoop
from golive.serve.app import ServeConfig, create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8377
    tls_cert: Path | None = None
    tls_key: Path | None = None
    behind_proxy: bool = False
    plan_dir: Path | None = None
    worker_argv: Sequence[str] = field(default_factory=list)  # golive worker ... (its global options included)
    workers: int = 0


def exposure_warning(options: ServeOptions) -> str | None:
    if is_loopback(options.host) or options.tls_cert is not None or options.behind_proxy:
        return None
    return (f"serving on {options.host} without TLS: logins and session cookies cross the network in clear "
            "(give --tls-cert/--tls-key, or --behind-proxy when a TLS proxy is in front)")


def serve(config: ServeConfig, options: ServeOptions) -> None:
    """Block serving until interrupted; the delivery loop and workers stop with it."""
    loop: DeliveryLoop | None = None
    if config.plan is not None and config.plan.notify and options.plan_dir is not None:
        loop = DeliveryLoop(config.store, config.plan, options.plan_dir, httpx.Client(timeout=10.0)).start()
    workers = [subprocess.Popen([sys.executable, "-m", "golive", *options.worker_argv]) for _ in range(options.workers)]
    # uvicorn re-raises the SIGTERM it shut down on; by default that kills this process before ``finally``
    # stops the workers (they lived on as orphans). As SystemExit it unwinds through it.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(create_app(config), host=options.host, port=options.port, log_level="warning",
                    ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
                    ssl_keyfile=str(options.tls_key) if options.tls_key else None,
                    proxy_headers=False, timeout_graceful_shutdown=2)  # X-Forwarded-For: app.client_address
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if loop is not None:
            loop.stop()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
