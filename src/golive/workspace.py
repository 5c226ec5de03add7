"""Everything a command needs, built from the global options, once.

The CLI's global flags (``-f/--plan``, ``--db``, ``--json``, ``--yes``,
``--profile``, ``--region``) and the process environment (``GOLIVE_DB``,
``AWS_PROFILE``, ``GOLIVE_GITHUB_API``/``GITHUB_API_URL``/``GH_HOST``, tokens) are
turned here into the objects the rest of golive takes as arguments: the
validated plan, the store, an ``Aws`` per environment, the GitHub client and
the clock. Commands never read the environment themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from golive import schedule
from golive.clock import Clock, SystemClock
from golive.errors import UnknownNameError
from golive.plan.model import Environment, Plan
from golive.plan.url_map import ENV_VAR, apply_url_map, parse_url_map
from golive.plan.validate import load_plan
from golive.redact import Redactor

if TYPE_CHECKING:
    # Imported where used: `golive check` and a usage error answer without loading SQLAlchemy, boto3 or httpx.
    import httpx

    from golive.engine.context import Services
    from golive.providers.aws import Aws, AwsTarget
    from golive.providers.github import GitHub
    from golive.store.store import Store


@dataclass
class Workspace:
    plan_path: Path
    db_url: str | None = None
    json: bool = False
    yes: bool = False
    profile: str | None = None  # --profile: beats AWS_PROFILE, which beats the plan's
    region: str | None = None  # --region: beats the plan's
    clock: Clock = field(default_factory=SystemClock)
    redact: Redactor = field(default_factory=Redactor)

    @cached_property
    def plan(self) -> Plan:
        plan = load_plan(self.plan_path)
        schedule.show_in(plan.tz)  # every time this command prints is in the team's zone
        url_map = os.environ.get(ENV_VAR)  # the sandbox's export: the plan's URLs answered by its world server
        return apply_url_map(plan, parse_url_map(url_map)) if url_map else plan

    @property
    def store_url(self) -> str:
        from golive.store.store import default_url

        return self.db_url or os.environ.get("GOLIVE_DB") or default_url(self.plan_path)

    @cached_property
    def store(self) -> Store:
        from golive.store.store import Store

        return Store.open(self.store_url)

    def store_location(self) -> str:
        """Where the state is, for people: the SQLite file, or the database URL without its password."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.store_url)
        except ArgumentError:
            return "the store"
        if url.get_backend_name() == "sqlite" and url.database:
            return url.database
        return url.render_as_string(hide_password=True)

    def env(self, name: str) -> str:
        if name not in self.plan.environments:
            raise UnknownNameError("environment", name, list(self.plan.environments))
        return name

    def aws_for(self, env: str, region: str | None = None) -> Aws:
        from golive.providers.aws import Aws

        e = self.plan.environments[self.env(env)]
        return Aws(aws_target(e, self.plan.release, env, profile=self.profile, region=self.region,
                              environ=os.environ, dr_region=region))

    @cached_property
    def http(self) -> httpx.Client:
        import httpx

        return httpx.Client(timeout=10.0)

    @cached_property
    def github(self) -> GitHub:
        from golive.providers.github import GitHub

        return GitHub.from_env(clock=self.clock, redactor=self.redact)

    def services(self, *, rehearsal: bool = False) -> Services:
        from golive.engine.approver import AutoApprover, StoreApprover
        from golive.engine.context import Services

        return Services(plan=self.plan, store=self.store, clock=self.clock, aws_for=self.aws_for,
                        github=self.github, http=self.http, redact=self.redact, rehearsal=rehearsal,
                        approver=AutoApprover() if rehearsal else StoreApprover(),
                        extras={"workdir": str(self.plan_path.absolute().parent)})


def aws_target(e: Environment, release: str, env: str, *, profile: str | None = None, region: str | None = None,
               environ: Mapping[str, str] | None = None, dr_region: str | None = None) -> AwsTarget:
    """An environment's ``AwsTarget``, with ``--profile`` / ``AWS_PROFILE`` / ``--region`` laid over the plan's values."""
    from golive.providers.aws import AwsTarget

    environ = os.environ if environ is None else environ
    overridden: list[str] = []
    chosen_profile = e.profile
    if profile:
        chosen_profile = profile
        overridden.append(f"profile {profile} from --profile")
    elif environ.get("AWS_PROFILE"):
        chosen_profile = environ["AWS_PROFILE"]
        overridden.append(f"profile {chosen_profile} from AWS_PROFILE")
    chosen_region = e.region
    if region:
        chosen_region = region
        overridden.append(f"region {region} from --region")
    duration = int(e.role_duration.total_seconds()) if e.role_duration else None
    return AwsTarget(region=dr_region or chosen_region, profile=chosen_profile, role_arn=e.role_arn,
                     endpoint_url=e.endpoint_url, account=e.account, session_name=session_name(release, env),
                     external_id=e.external_id, duration=duration, overridden=tuple(overridden))


def session_name(release: str, env: str) -> str:
    """``golive-<release>-<env>``, in the characters and length STS allows for a role session name."""
    name = re.sub(r"[^\w+=,.@-]", "-", f"golive-{release}-{env}")
    return name[:64]
