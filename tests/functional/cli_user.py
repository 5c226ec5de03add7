"""golive as a new user runs it: real ``golive`` processes, a copy of the example plan, a detached sandbox.

The end-to-end tests of the issues' "Done when" items start the sandbox the
way the README tells a user to (``golive sandbox up --detach``), paste the
printed ``export`` lines into the environment of every later command (and
no other AWS or GitHub setting), and read what golive prints. Every command
run is kept, so a test can check that no secret ever reached an output.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from golive.providers.aws import Aws, AwsTarget

ROOT = Path(__file__).parents[2]
EXAMPLE_DIR = ROOT / "examples" / "bbws"
GOLIVE = Path(sys.executable).with_name("golive")
PROD_ACCOUNT = "093646564004"
PROD_PROFILE = "Tebogo-prod"
PROD_REGION = "af-south-1"
OWNER = "BigBeardWebSolutions"
# Settings a developer's shell may hold that would point golive elsewhere than the sandbox.
_FOREIGN = ("AWS_", "GOLIVE_", "MOTO_")
_FOREIGN_NAMES = ("GITHUB_TOKEN", "GH_TOKEN")


@dataclass(frozen=True)
class Ran:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return self.out + self.err

    def explain(self) -> str:
        return (f"golive {' '.join(self.argv)} exited {self.code} after {self.seconds:.1f} s\n"
                f"--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}")


def user_env(exports: dict[str, str] | None = None) -> dict[str, str]:
    """A clean shell: nothing of AWS, GitHub or golive but the pasted exports; wide, so tables do not fold."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_FOREIGN) and k not in _FOREIGN_NAMES}
    env.update(COLUMNS="250", NO_COLOR="1", **(exports or {}))
    return env


def parse_exports(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0] if value else ""
    return found


def copy_example(folder: Path) -> Path:
    """The example plan and its scripts/ folder, as a user copies them to start."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE_DIR / "golive.yaml", folder / "golive.yaml")
    shutil.copytree(EXAMPLE_DIR / "scripts", folder / "scripts")
    return folder / "golive.yaml"


@dataclass
class UserSandbox:
    """One detached sandbox and the shell of the user who started it."""

    plan: Path
    exports: dict[str, str] = field(default_factory=dict)
    ran: list[Ran] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return user_env(self.exports)

    @property
    def state_dir(self) -> Path:
        return self.plan.parent / ".golive" / "sandbox"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.plan.parent / '.golive' / 'state.db'}"

    def golive(self, *args: str, timeout: float = 180.0) -> Ran:
        argv = (*args, "-f", str(self.plan))
        started = time.monotonic()
        done = subprocess.run([str(GOLIVE), *argv], capture_output=True, text=True, env=self.env,
                              cwd=self.plan.parent, timeout=timeout, check=False)
        ran = Ran(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.ran.append(ran)
        return ran

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """A golive command in the background, its output in ``log`` (kept for the leak check)."""
        handle = log.open("wb")
        return subprocess.Popen([str(GOLIVE), *args, "-f", str(self.plan)], stdout=handle, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.plan.parent)

    def status(self) -> dict[str, Any]:
        ran = self.golive("sandbox", "status", "--json")
        assert ran.code == 0, ran.explain()
        data: dict[str, Any] = json.loads(ran.out)
        return data

    def service(self, name: str) -> str:
        """A URL of the sandbox's services ("github", "world"), asked once of ``golive sandbox status``."""
        if name not in self.services:
            self.services.update(self.status()["services"])
        return self.services[name]

    def counts(self) -> dict[str, Any]:
        """The world's tally: workflow dispatches per repository, deploys applied."""
        answer: dict[str, Any] = httpx.get(f"{self.service('world')}/_world/counts", timeout=10).json()
        return answer

    def github_get(self, path: str) -> httpx.Response:
        """The local GitHub, asked directly with the exported token (as ``gh api`` would)."""
        return httpx.get(self.exports["GOLIVE_GITHUB_API"] + path, timeout=10,
                         headers={"Authorization": f"Bearer {self.exports['GITHUB_TOKEN']}"})

    @contextlib.contextmanager
    def aws(self, region: str = PROD_REGION) -> Iterator[Aws]:
        """golive's own ``Aws`` reaching the sandbox through the exported files and the plan's profile."""
        with pytest.MonkeyPatch.context() as mp:
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
                mp.delenv(name, raising=False)
            for name in ("AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
                mp.setenv(name, self.exports[name])
            yield Aws(AwsTarget(region=region, profile=PROD_PROFILE))


def sandbox_up(folder: Path, *extra: str, edit: Callable[[dict[str, Any]], None] | None = None) -> UserSandbox:
    """``golive sandbox up --detach`` from a fresh copy of the example (``edit`` changes its plan first); the
    printed exports kept."""
    box = UserSandbox(copy_example(folder))
    if edit is not None:
        plan = yaml.safe_load(box.plan.read_text(encoding="utf-8"))
        edit(plan)
        box.plan.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    up = subprocess.run([str(GOLIVE), "sandbox", "up", "-f", str(box.plan), "--env", "prod", "--detach", *extra],
                        capture_output=True, text=True, env=user_env(), cwd=folder, timeout=180, check=False)
    box.ran.append(Ran(("sandbox", "up", *extra), up.returncode, up.stdout, up.stderr))
    assert up.returncode == 0, box.ran[-1].explain()
    box.exports = parse_exports(up.stdout)
    return box


def sandbox_down(box: UserSandbox) -> Ran:
    return box.golive("sandbox", "down")


def running_sandbox(folder: Path, *extra: str,
                    edit: Callable[[dict[str, Any]], None] | None = None) -> Iterator[UserSandbox]:
    """A module's sandbox (``yield from`` it in a fixture): up in ``folder``, down afterwards even if up failed
    half-way (whatever it left is stopped by the plan's state folder)."""
    box: UserSandbox | None = None
    try:
        box = sandbox_up(folder, *extra, edit=edit)
        yield box
    finally:
        if box is not None:
            sandbox_down(box)
        else:
            UserSandbox(folder / "golive.yaml").golive("sandbox", "down")


def process_running(pid: int) -> bool:
    """A live process (a zombie awaiting its reaper is not running anything)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def processes_mentioning(text: str) -> list[int]:
    """Running processes whose command line contains ``text`` (e.g. the sandbox's state folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and process_running(int(proc.name)):
            found.append(int(proc.name))
    return found


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
