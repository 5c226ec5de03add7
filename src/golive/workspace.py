"""Everything a command needs, built from the global options, once.

The CLI's global flags (``-f/--plan``, ``--db``, ``--json``, ``--yes``) and
the process environment (``GOLIVE_DB``, ``GOLIVE_GITHUB_API``, tokens) are
turned here into the objects the rest of golive takes as arguments: the
validated plan, the store, an ``Aws`` per environment, the GitHub client and
the clock. Commands never read the environment themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import httpx

from golive.clock import Clock, SystemClock
from golive.engine.context import Services
from golive.errors import UnknownNameError
from golive.plan.model import Plan
from golive.plan.url_map import ENV_VAR, apply_url_map, parse_url_map
from golive.plan.validate import load_plan
from golive.providers.aws import Aws, AwsTarget
from golive.providers.github import GitHub
from golive.redact import Redactor
from golive.store.store import Store, default_url


@dataclass
class Workspace:
    plan_path: Path
    db_url: str | None = None
    json: bool = False
    yes: bool = False
    clock: Clock = field(default_factory=SystemClock)
    redact: Redactor = field(default_factory=Redactor)

    @cached_property
    def plan(self) -> Plan:
        plan = load_plan(self.plan_path)
        url_map = os.environ.get(ENV_VAR)  # the sandbox's export: the plan's URLs answered by its world server
        return apply_url_map(plan, parse_url_map(url_map)) if url_map else plan

    @cached_property
    def store(self) -> Store:
        url = self.db_url or os.environ.get("GOLIVE_DB") or default_url(self.plan_path)
        return Store.open(url)

    def env(self, name: str) -> str:
        if name not in self.plan.environments:
            raise UnknownNameError("environment", name, list(self.plan.environments))
        return name

    def aws_for(self, env: str, region: str | None = None) -> Aws:
        e = self.plan.environments[self.env(env)]
        return Aws(AwsTarget(region=region or e.region, profile=e.profile, role_arn=e.role_arn,
                             endpoint_url=e.endpoint_url, account=e.account))

    @cached_property
    def http(self) -> httpx.Client:
        return httpx.Client(timeout=10.0)

    @cached_property
    def github(self) -> GitHub:
        return GitHub.from_env(clock=self.clock, redactor=self.redact)

    def services(self, *, rehearsal: bool = False) -> Services:
        return Services(plan=self.plan, store=self.store, clock=self.clock, aws_for=self.aws_for,
                        github=self.github, http=self.http, redact=self.redact, rehearsal=rehearsal,
                        extras={"workdir": str(self.plan_path.absolute().parent)})
