"""Run ``golive serve`` as a user does (a subprocess on a free loopback port) and talk to it over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from golive.serve.auth import hash_password


def users_file(folder: Path, token: str | None = None) -> Path:
    import hashlib

    import yaml

    data: dict[str, object] = {"users": {
        "dana": {"password": hash_password("dana-pw"), "roles": ["devops"]},
        "tom": {"password": hash_password("tom-pw"), "roles": ["tech_lead"]},
    }}
    if token:
        data["tokens"] = {"ci": {"sha256": hashlib.sha256(token.encode()).hexdigest(), "roles": ["devops"]}}
    path = folder / "users.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class Served:
    def __init__(self, plan: Path | None, db_url: str, port: int, *extra: str, log: Path,
                 env: dict[str, str] | None = None) -> None:
        self.url = f"http://127.0.0.1:{port}"
        plan_args = ["-f", str(plan)] if plan is not None else []  # without: the page reads the store alone
        self.args = [sys.executable, "-m", "golive", *plan_args, "--db", db_url, "serve", "--port", str(port), *extra]
        self.log = log
        self.env = env if env is not None else dict(os.environ)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Served:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/me", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"golive serve exited {self.proc.returncode}: {self.log.read_text()}")
            time.sleep(0.2)
        raise AssertionError("golive serve did not answer in 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def login(base: str, user: str, password: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10)
    answer = client.post("/login", json={"user": user, "password": password})
    assert answer.status_code == 200, answer.text
    return client, str(answer.json()["csrf"])
