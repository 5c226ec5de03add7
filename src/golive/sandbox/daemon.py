"""The sandbox as its own process, so it outlives the golive command that started it.

``golive sandbox up --detach`` must leave a local AWS running after golive
exits (and after golive is killed), and ``golive sandbox down`` must find and
stop it later. Everything about a running sandbox lives in one state folder:

- ``specs.json``       what to provision (written by ``start_detached``)
- ``sandbox.json``     pid, endpoint, services and, per environment, account,
                       region, profile and the role/key id reaching it (no secrets)
- ``aws-config`` and ``aws-credentials`` (mode 0600): one profile per
                       environment (the plan's profile name, e.g. ``Tebogo-prod``)
                       with static keys of that environment's account, so
                       ``exports(info)`` is all the AWS CLI and golive need;
                       kept after ``stop`` (they hold only the local emulator's
                       keys) so a shell with the exports gets "nothing answers
                       at the endpoint" rather than "no such profile"
- ``daemon.log``       the daemon's stderr

The daemon (``python -m golive.sandbox.daemon --state-dir DIR``) starts the
moto server, starts any extra services (the hook for the local GitHub
server: ``--service NAME=module:factory``, where ``factory(state_dir)``
returns an object with ``start() -> url`` and ``stop()``), mints credentials
and provisions each environment through golive's ``Aws``, writes the files,
then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

from golive.errors import GoliveError, UsageError
from golive.sandbox.accounts import Credentials, mint_credentials, sandbox_aws, sandbox_role_arn
from golive.sandbox.moto_server import CONTROL_PATH, TOKEN_ENV, SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import SandboxSpec

INFO_FILE = "sandbox.json"
SPECS_FILE = "specs.json"
CONFIG_FILE = "aws-config"
CREDENTIALS_FILE = "aws-credentials"
LOG_FILE = "daemon.log"
_BOOTSTRAP_KEY = "golive-sandbox-bootstrap"
REALTIME_HISTORY = timedelta(hours=1)


class ExtraService(Protocol):
    """A second server the daemon hosts beside AWS (e.g. the local GitHub API)."""

    def start(self) -> str: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class EnvironmentAccess:
    """How to reach one environment's account in the sandbox (no secret here)."""

    environment: str
    account_id: str
    region: str
    profile: str
    role_arn: str
    access_key_id: str


@dataclass(frozen=True)
class SandboxInfo:
    pid: int
    endpoint: str
    state_dir: Path
    environments: tuple[EnvironmentAccess, ...]
    services: dict[str, str] = field(default_factory=dict)
    token: str = ""  # for the sandbox's control writes (moto_server.TOKEN_HEADER)

    @property
    def config_file(self) -> Path:
        return self.state_dir / CONFIG_FILE

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / CREDENTIALS_FILE

    def environment(self, name: str) -> EnvironmentAccess:
        for env in self.environments:
            if env.environment == name:
                return env
        from golive.errors import UnknownNameError

        raise UnknownNameError("sandbox environment", name, [e.environment for e in self.environments])

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "endpoint": self.endpoint, "state_dir": str(self.state_dir),
                "environments": [asdict(e) for e in self.environments], "services": self.services,
                "token": self.token}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxInfo:
        return cls(int(data["pid"]), str(data["endpoint"]), Path(data["state_dir"]),
                   tuple(EnvironmentAccess(**e) for e in data["environments"]), dict(data.get("services", {})),
                   str(data.get("token", "")))


def profile_name(spec: SandboxSpec) -> str:
    return spec.profile or f"golive-{spec.environment}"


def export_values(info: SandboxInfo) -> dict[str, str]:
    """The environment that points the AWS CLI and golive at this sandbox (its control token included)."""
    return {
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_CONFIG_FILE": str(info.config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(info.credentials_file),
        TOKEN_ENV: info.token,
    }


def export_lines(values: dict[str, str]) -> list[str]:
    """``export NAME=VALUE`` lines a shell takes as they are (values quoted)."""
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def exports(info: SandboxInfo) -> list[str]:
    """The shell lines that point the AWS CLI and golive at this sandbox."""
    return export_lines(export_values(info))


def _pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_info(state_dir: Path) -> SandboxInfo | None:
    try:
        return SandboxInfo.from_dict(json.loads((state_dir / INFO_FILE).read_text()))
    except (FileNotFoundError, ValueError, KeyError):
        return None


def status(state_dir: Path) -> SandboxInfo | None:
    """The running sandbox of ``state_dir``, or None when there is none (a stale file is ignored)."""
    info = _read_info(state_dir)
    if info is None or not _pid_alive(info.pid):
        return None
    return info


def _answers(endpoint: str) -> bool:
    try:
        return httpx.get(endpoint + CONTROL_PATH, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")}
    env.update(
        AWS_ACCESS_KEY_ID=_BOOTSTRAP_KEY,
        AWS_SECRET_ACCESS_KEY=_BOOTSTRAP_KEY,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        # A pending certificate stays pending for the sandbox's lifetime.
        MOTO_ACM_VALIDATION_WAIT=str(10 * 365 * 86400),
    )
    return env


def start_detached(state_dir: Path, specs: Sequence[SandboxSpec], *, services: Sequence[str] = (),
                   timeout: float = 60.0) -> SandboxInfo:
    """Start the sandbox daemon for ``specs``; return once it answers and every environment is provisioned."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    running = status(state_dir)
    if running is not None:
        raise UsageError(f"a sandbox already runs from {state_dir} (pid {running.pid}); stop it first")
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    (state_dir / SPECS_FILE).write_text(json.dumps([s.to_dict() for s in specs], indent=2))
    argv = [sys.executable, "-m", "golive.sandbox.daemon", "--state-dir", str(state_dir)]
    for service in services:
        argv += ["--service", service]
    return _spawn(argv, state_dir, timeout)


def _spawn(argv: list[str], state_dir: Path, timeout: float) -> SandboxInfo:
    """Start the daemon process detached; return once it has written its info and answers."""
    with open(state_dir / LOG_FILE, "ab") as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_child_env(),
                                 start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = (state_dir / LOG_FILE).read_text(errors="replace").strip().splitlines()[-1:]
            raise GoliveError(f"the sandbox daemon exited with {child.returncode}: {' '.join(tail) or 'no output'} "
                              f"(see {state_dir / LOG_FILE})")
        info = _read_info(state_dir)
        if info is not None and info.pid == child.pid and _answers(info.endpoint):
            return info
        time.sleep(0.05)
    child.kill()
    child.wait()
    raise GoliveError(f"the sandbox daemon did not answer within {timeout:.0f} s (see {state_dir / LOG_FILE})")


def stop(state_dir: Path, *, timeout: float = 10.0) -> bool:
    """Stop the sandbox of ``state_dir`` (SIGTERM, then SIGKILL); False if none was running."""
    state_dir = state_dir.resolve()
    info = _read_info(state_dir)
    stopped = False
    if info is not None and _pid_alive(info.pid):
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(info.pid):
            os.kill(info.pid, signal.SIGKILL)
            while _pid_alive(info.pid):
                time.sleep(0.05)
        stopped = True
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    return stopped


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def _write_info(state_dir: Path, info: SandboxInfo) -> None:
    """Atomically, readable by its owner only: the file holds the sandbox's control token."""
    _write_private(state_dir / INFO_FILE, json.dumps(info.to_dict(), indent=2))


def write_aws_files(state_dir: Path, specs: Sequence[SandboxSpec], credentials: Sequence[Credentials]) -> None:
    """The AWS config and credentials files: one profile per environment, keys of its account."""
    config: list[str] = []
    creds: list[str] = []
    for spec, key in zip(specs, credentials, strict=True):
        name = profile_name(spec)
        config += [f"[profile {name}]", f"region = {spec.region}", "output = json", ""]
        creds += [f"[{name}]", f"aws_access_key_id = {key.access_key_id}",
                  f"aws_secret_access_key = {key.secret_access_key}", ""]
    _write_private(state_dir / CONFIG_FILE, "\n".join(config))
    _write_private(state_dir / CREDENTIALS_FILE, "\n".join(creds))


def _load_service(text: str, state_dir: Path) -> tuple[str, ExtraService]:
    name, eq, target = text.partition("=")
    module, colon, attr = target.partition(":")
    if not eq or not colon:
        raise UsageError(f"bad --service '{text}': expected NAME=module:factory")
    factory = getattr(importlib.import_module(module), attr)
    return name, factory(state_dir)


def serve(state_dir: Path, services: Sequence[str] = (), port: int = 0) -> int:
    """The daemon's body: start, provision, record, then serve until told to stop."""
    state_dir = state_dir.resolve()
    specs = [SandboxSpec.from_dict(d) for d in json.loads((state_dir / SPECS_FILE).read_text())]
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    server = SandboxServer(port=port)
    endpoint = server.start()
    started: list[tuple[str, ExtraService]] = []
    try:
        urls: dict[str, str] = {}
        for text in services:
            name, service = _load_service(text, state_dir)
            urls[name] = service.start()
            started.append((name, service))
        keys: list[Credentials] = []
        access: list[EnvironmentAccess] = []
        for spec in specs:
            provision(sandbox_aws(endpoint, spec.account_id, spec.region), spec)
            key = mint_credentials(endpoint, spec.account_id, spec.region)
            keys.append(key)
            access.append(EnvironmentAccess(spec.environment, spec.account_id, spec.region, profile_name(spec),
                                            sandbox_role_arn(spec.account_id), key.access_key_id))
        write_aws_files(state_dir, specs, keys)
        info = SandboxInfo(os.getpid(), endpoint, state_dir, tuple(access), urls, server.token)
        _write_info(state_dir, info)
        stop_event.wait()
    finally:
        for _, service in reversed(started):
            with contextlib.suppress(Exception):
                service.stop()
        server.stop()
        info_now = _read_info(state_dir)
        if info_now is not None and info_now.pid == os.getpid():
            (state_dir / INFO_FILE).unlink(missing_ok=True)
    return 0


def start_world_detached(state_dir: Path, plan_path: Path, env: str, *, seed: int = 7, faults: Sequence[str] = (),
                         realtime: bool = False, github_run_seconds: float | None = None,
                         follow_release: bool = False, timeout: float = 90.0) -> SandboxInfo:
    """Start a whole ``SandboxWorld`` (AWS, GitHub, endpoints, traffic) for ``plan_path`` as a daemon.

    ``follow_release``: an environment has traffic only once a rehearsal runner anchors its phase (as
    in-process rehearsals do), instead of always.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    running = status(state_dir)
    if running is not None:
        raise UsageError(f"a sandbox already runs from {state_dir} (pid {running.pid}); golive sandbox down first")
    (state_dir / INFO_FILE).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "golive.sandbox.daemon", "--state-dir", str(state_dir),
            "--plan", str(plan_path.resolve()), "--env", env, "--seed", str(seed)]
    argv += [f"--inject={f}" for f in faults]
    if realtime:
        argv.append("--realtime")
    if github_run_seconds is not None:
        argv.append(f"--github-run-seconds={github_run_seconds:g}")
    if follow_release:
        argv.append("--follow-release")
    return _spawn(argv, state_dir, timeout)


def serve_world(state_dir: Path, plan_path: Path, env: str, *, seed: int, faults: Sequence[str],
                realtime: bool, github_run_seconds: float | None = None, follow_release: bool = False) -> int:
    """The daemon's body in world mode: the plan's whole sandbox, until told to stop."""
    from golive.plan.validate import load_plan
    from golive.sandbox.world import SandboxWorld

    state_dir = state_dir.resolve()
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    running_s = 240.0 if github_run_seconds is None else github_run_seconds
    # A world that follows the wall clock is one golive's commands reach by hand, on the system clock: its time is
    # now (not the plan's ``sandbox.start``, where a rehearsal begins), and it has served an hour already, so the
    # CloudWatch a canary's sample reads holds the stable versions' last hour as production's would.
    world = SandboxWorld(load_plan(plan_path), env, seed_value=seed, faults=faults, github_running_s=running_s,
                         github_queued_s=min(10.0, running_s), follow_release=follow_release,
                         start=datetime.now(UTC) if realtime else None,
                         history=REALTIME_HISTORY if realtime else timedelta(0)).start()
    try:
        endpoint = world.moto.endpoint
        primary = [s for s in world.specs if s.region == world.plan.environments[s.environment].region]
        keys = [mint_credentials(endpoint, s.account_id, s.region) for s in primary]
        write_aws_files(state_dir, primary, keys)
        access = tuple(EnvironmentAccess(s.environment, s.account_id, s.region, profile_name(s),
                                         sandbox_role_arn(s.account_id), k.access_key_id)
                       for s, k in zip(primary, keys, strict=True))
        assert world.github_server is not None
        urls = {"github": world.github_server.url, "world": world.world_server.url}
        info = SandboxInfo(os.getpid(), endpoint, state_dir, access, urls, world.moto.token)
        _write_info(state_dir, info)
        if realtime:
            origin_virtual, origin_wall = world.clock.now(), time.monotonic()
            while not stop_event.wait(1.0):
                world.advance_to(origin_virtual + timedelta(seconds=time.monotonic() - origin_wall))
        else:
            stop_event.wait()
    finally:
        world.stop()
        info_now = _read_info(state_dir)
        if info_now is not None and info_now.pid == os.getpid():
            (state_dir / INFO_FILE).unlink(missing_ok=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m golive.sandbox.daemon")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--service", action="append", default=[])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--plan", type=Path, help="world mode: the plan whose sandbox to run")
    parser.add_argument("--env", help="world mode: the environment the release targets")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inject", action="append", default=[])
    parser.add_argument("--realtime", action="store_true", help="world mode: virtual time follows the wall clock")
    parser.add_argument("--github-run-seconds", type=float,
                        help="world mode: a dispatched workflow runs this long (queued at most 10 s before)")
    parser.add_argument("--follow-release", action="store_true",
                        help="world mode: an environment has traffic once the release reaches it")
    args = parser.parse_args(argv)
    try:
        if args.plan is not None:
            return serve_world(args.state_dir, args.plan, args.env, seed=args.seed, faults=args.inject,
                               realtime=args.realtime, github_run_seconds=args.github_run_seconds,
                               follow_release=args.follow_release)
        return serve(args.state_dir, args.service, args.port)
    except GoliveError as exc:
        print(f"golive sandbox: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
