"""The whole sandbox in one object: local AWS, local GitHub, endpoints, traffic, faults, virtual time.

``SandboxWorld`` starts a moto server (with golive's percentile support),
provisions every environment of the plan in its own account, seeds the
local GitHub with the projects' repositories as the plan's ``sandbox:``
section describes them, serves the site and API health endpoints, and
attaches a traffic simulator per environment and region to a virtual clock.
Faults (``--inject``) are placed as their anchors become known (the run
start, a phase, a batch). The plan it hands back points the site and API
URLs at the local endpoints.

It runs inside ``golive rehearse``'s process, or in the sandbox daemon
(``golive sandbox up``; ``golive.sandbox.daemon``) so a rehearsal runner in another
process can be killed and restarted against the same world (the chaos
test); that runner reaches the world's clock over HTTP (``RemoteClock``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from golive.clock import VirtualClock, parse_instant
from golive.plan.model import Plan
from golive.providers.aws import Aws
from golive.providers.cloudfront import distributions
from golive.providers.github import GitHub
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.apigw_traffic import StageTraffic, moto_stage_reader
from golive.sandbox.faults import Fault, ResolvedFault, aws_down_at, github_faults_at, parse_faults
from golive.sandbox.from_plan import project_functions, specs_from_plan
from golive.sandbox.github_seed import DeployEffects, seed
from golive.sandbox.github_server import SANDBOX_CLIENT_TIMEOUT, GitHubServer
from golive.sandbox.moto_lambda import LambdaWriter
from golive.sandbox.moto_server import TOKEN_HEADER, SandboxServer
from golive.sandbox.percentiles import on_read
from golive.sandbox.provision import provision
from golive.sandbox.site_traffic import Site, SiteTrafficSimulator, sites_by_comment
from golive.sandbox.spec import SandboxSpec
from golive.sandbox.terraform_plans import TerraformPlans
from golive.sandbox.traffic import InProcessSink, TrafficSimulator, moto_alias_reader
from golive.sandbox.world_server import WorldControls, WorldServer

DEFAULT_START = datetime(2026, 1, 7, 18, 40, tzinfo=UTC)
SANDBOX_TOKEN = "ghs_sandboxtoken000000000000000000000000"  # noqa: S105 - the local GitHub's own token


class SandboxWorld(WorldControls):
    def __init__(self, plan: Plan, target_env: str, *, start: datetime | None = None, seed_value: int = 7,
                 faults: Sequence[str] = (), github_running_s: float = 240.0, github_queued_s: float = 10.0,
                 follow_release: bool = False, history: timedelta = timedelta(0)) -> None:
        self.source_plan = plan
        self.target_env = target_env
        self.clock = VirtualClock(start or plan.sandbox.start or DEFAULT_START)
        self.seed = seed_value
        self.faults: list[Fault] = parse_faults(list(faults))
        self.anchors: dict[str, datetime] = {"run": self.clock.now()}
        self.github_running_s = github_running_s
        self.github_queued_s = github_queued_s
        self.moto = SandboxServer()
        self.world_server = WorldServer(self, token=self.moto.token)
        self.github_server: GitHubServer | None = None
        self.simulators: list[TrafficSimulator] = []
        self.stages: list[tuple[SandboxSpec, StageTraffic]] = []  # each environment's REST APIs' traffic
        self.site: SiteTrafficSimulator | None = None  # the target environment's CloudFront viewers
        self.effects: DeployEffects | None = None
        self.specs: list[SandboxSpec] = []
        self.plan = plan
        self._aws: dict[tuple[str, str], Aws] = {}
        self._lock = threading.RLock()
        self.publishes = 0
        # With follow_release, an environment has traffic only once the release reaches it (the SIT soak,
        # the PROD deploy, the DR phase): 72 virtual hours of three environments would be mostly unread.
        self.follow_release = follow_release
        self.active: set[tuple[str, str]] = set()
        self._project_functions: tuple[Plan, dict[str, list[str]]] | None = None
        self._unhook: list[Callable[[], None]] = []
        # Traffic already served before the world's first instant (the stable versions' last hour that
        # ``golive plan`` and the canary's sample read): an environment in production has a past.
        self.history = history

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> SandboxWorld:
        self.moto.start()
        url = self.world_server.start()
        self.plan = self._local_plan(url)
        self.specs = specs_from_plan(self.plan, self.target_env)
        # Each environment is its own account: accounts are provisioned side by side, the regions of one account
        # (a DR region) one after the other, as IAM roles and bucket names are the account's, not the region's.
        by_account: dict[str, list[SandboxSpec]] = {}
        for spec in self.specs:
            by_account.setdefault(spec.account_id, []).append(spec)

        def provision_account(specs: list[SandboxSpec]) -> None:
            for spec in specs:
                provision(self.aws(spec.environment, spec.region), spec,
                          lambdas=LambdaWriter(spec.account_id, spec.region))

        with ThreadPoolExecutor(max_workers=len(by_account) or 1) as pool:
            list(pool.map(provision_account, by_account.values()))
        self._cloudfront()
        accounts = {(spec.environment, spec.region): spec.account_id for spec in self.specs}
        self.effects = DeployEffects(self.plan, self.target_env, self.aws, self.plan.sandbox.templates,
                                     lambdas=lambda env, region: LambdaWriter(
                                         accounts.get((env, region), self.plan.environments[env].account), region))
        self.github_server = GitHubServer(self.clock, token=SANDBOX_TOKEN, on_completed=self._completed,
                                          queued_s=self.github_queued_s, running_s=self.github_running_s,
                                          faults=lambda at: github_faults_at(self._resolved(), at))
        seed(self.github_server, self.plan, self.target_env)
        plans = TerraformPlans(self.plan, self.target_env, self.aws, self.faults)
        for project in self.plan.projects.values():
            if project.terraform is not None and project.terraform.plan_workflow:
                self.github_server.set_artifacts(project.repo, project.terraform.plan_workflow, plans.artifacts)
        self.github_server.start()
        readers: dict[tuple[str, str], list[TrafficSimulator]] = {}
        for spec in self.specs:
            aws = self.aws(spec.environment, spec.region)
            # Deferred: a function's minutes are drawn when somebody reads its metrics (most are read by a
            # checkpoint hours later, a few every minute by a canary), the same numbers as drawn at once.
            simulator = TrafficSimulator(aws, spec.functions, self.seed, sink=InProcessSink(spec.account_id, spec.region),
                                         read_alias=moto_alias_reader(spec.account_id, spec.region), deferred=True)
            self.simulators.append(simulator)
            readers.setdefault((spec.account_id, spec.region), []).append(simulator)
        self.stages = [(spec, StageTraffic(spec.apis, self.seed, sink=InProcessSink(spec.account_id, spec.region),
                                           read_stage=moto_stage_reader(spec.account_id, spec.region)))
                       for spec in self.specs if spec.apis]
        for (account_id, region), simulators in readers.items():
            self._unhook.append(on_read(account_id, region, _flusher(simulators)))
        self.site = self._site_traffic()
        self._place_faults()
        if self.history > timedelta(0):
            now = self.clock.now()
            for spec, simulator in zip(self.specs, self.simulators, strict=True):
                if not self.follow_release or (spec.environment, spec.region) in self.active:
                    simulator.simulate(now - self.history, now)
        self.clock.on_advance(self._on_advance)
        return self

    def stop(self) -> None:
        for unhook in self._unhook:
            unhook()
        self._unhook.clear()
        if self.github_server is not None:
            self.github_server.stop()
        self.world_server.stop()
        self.moto.stop()

    def __enter__(self) -> SandboxWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _local_plan(self, url: str) -> Plan:
        return plan_for_world(self.source_plan, url)

    def _cloudfront(self) -> None:
        """The PROD frontend distribution whose id the runbook looks up by its comment."""
        comments = {source.cloudfront_comment for project in self.plan.projects.values()
                    for source in project.secrets.values() if source is not None and source.cloudfront_comment}
        if not comments:
            return
        aws = self.aws(self.target_env)
        client = aws.client("cloudfront", region="us-east-1")
        have = {i.get("Comment") for i in distributions(aws)}
        for comment in sorted(comments - have):
            config: Any = {
                "CallerReference": f"golive-sandbox-{comment}", "Comment": comment, "Enabled": True,
                "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "site.s3.amazonaws.com",
                                                      "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
                "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                         "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                         "TrustedSigners": {"Enabled": False, "Quantity": 0}},
            }
            aws.call("cloudfront:CreateDistribution", lambda c=config: client.create_distribution(DistributionConfig=c))  # type: ignore[misc]

    def _site_traffic(self) -> SiteTrafficSimulator | None:
        """Viewers of the target environment's distributions, found by the comments the plan's secrets name.

        A site's viewers are its project's ``sandbox.function_traffic`` (requests a minute), else the plan's traffic.
        """
        from golive.analysis.units import parse_percent

        projects: dict[str, list[str]] = {}
        for name, project in self.plan.projects.items():
            for source in project.secrets.values():
                if source is not None and source.cloudfront_comment:
                    projects.setdefault(source.cloudfront_comment, []).append(name)
        if not projects:
            return None
        sites = {}
        for comment, names in projects.items():
            traffic = self.plan.sandbox.function_traffic.get(names[0], self.plan.sandbox.traffic)
            sites[comment] = Site(frozenset(names), traffic.rpm, parse_percent(traffic.error_rate))
        return SiteTrafficSimulator(self.plan.environments[self.target_env].account, sites=sites_by_comment(sites),
                                    seed=self.seed)

    # -- access ---------------------------------------------------------------
    def aws(self, env: str, region: str | None = None) -> Aws:
        e = self.plan.environments[env]
        key = (env, region or e.region)
        with self._lock:
            if key not in self._aws:
                self._aws[key] = sandbox_aws(self.moto.endpoint, e.account, region or e.region)
            return self._aws[key]

    def github(self) -> GitHub:
        assert self.github_server is not None
        return GitHub(self.github_server.url, SANDBOX_TOKEN, clock=self.clock, timeout=SANDBOX_CLIENT_TIMEOUT)

    # -- time, anchors, faults -------------------------------------------------
    def _on_advance(self, old: datetime, new: datetime) -> None:
        with self._lock:
            for spec, simulator in zip(self.specs, self.simulators, strict=True):
                if not self.follow_release or (spec.environment, spec.region) in self.active:
                    simulator.simulate(old, new)
            for spec, stages in self.stages:
                if not self.follow_release or (spec.environment, spec.region) in self.active:
                    stages.simulate(old, new)
            target = (self.target_env, self.plan.environments[self.target_env].region)
            if self.site is not None and (not self.follow_release or target in self.active):
                self.site.simulate(old, new)
            resolved = self._resolved()
            self.moto.set_down(aws_down_at(resolved, new))

    def _resolved(self) -> list[ResolvedFault]:
        # A project's fault hits its functions in every environment; the window says when (30h lands in the
        # SIT soak, @deploy in PROD).
        known = self._project_functions
        if known is not None and known[0] is self.plan:
            projects = known[1]
        else:  # the plan's selectors, expanded once per plan rather than at every clock advance
            projects = {}
            for env in self.plan.environments:
                for project, names in project_functions(self.plan, env).items():
                    projects.setdefault(project, []).extend(names)
            self._project_functions = (self.plan, projects)
        out = []
        for fault in self.faults:
            r = fault.resolve(self.anchors, projects)
            if r is not None:
                out.append(r)
        return out

    def _place_faults(self) -> None:
        resolved = self._resolved()
        for simulator in self.simulators:
            simulator.set_faults(resolved)
        for _, stages in self.stages:
            stages.set_faults(resolved)
        if self.site is not None:
            self.site.set_faults(resolved)

    def resolved_faults(self) -> list[ResolvedFault]:
        return self._resolved()

    def now(self) -> datetime:
        return self.clock.now()

    def advance_to(self, when: datetime) -> datetime:
        self.clock.sleep_until(when)
        return self.clock.now()

    def anchor(self, name: str, at: datetime) -> None:
        with self._lock:
            if name in self.anchors:
                return
            self.anchors[name] = at
            self._place_faults()
            for env, region in self._reached_by(name):
                self.activate(env, region, at)

    def _reached_by(self, phase: str) -> list[tuple[str, str]]:
        target = self.plan.environments[self.target_env]
        if phase == "soak":
            return [(env, self.plan.environments[env].region) for env in self.plan.preprod_envs(self.target_env)]
        if phase in ("deploy", "validation", "prod_soak"):
            return [(self.target_env, target.region)]
        if phase == "dr" and target.dr_region:
            return [(self.target_env, target.dr_region)]
        return []

    def activate(self, env: str, region: str, at: datetime) -> None:
        """Traffic in ``env``/``region`` from ``at`` on."""
        key = (env, region)
        if key in self.active:
            return
        self.active.add(key)
        for spec, simulator in zip(self.specs, self.simulators, strict=True):
            if (spec.environment, spec.region) == key:
                simulator.skip_until(at)
        for spec, stages in self.stages:
            if (spec.environment, spec.region) == key:
                stages.skip_until(at)
        if self.site is not None and key == (self.target_env, self.plan.environments[self.target_env].region):
            self.site.skip_until(at)

    def api_down(self, env: str, api: str) -> bool:
        now = self.clock.now()
        for r in self._resolved():
            if r.kind == "api_down" and r.active(now) and (r.fault.target is None or api in (r.fault.target or "")
                                                            or (r.fault.target or "").startswith(api.rstrip("s"))):
                return True
        return False

    def _completed(self, repo: str, workflow: str, ref: str, inputs: dict[str, str], conclusion: str) -> None:
        if self.effects is not None:
            before = len(self.effects.applied)
            self.effects(repo, workflow, ref, inputs, conclusion)
            self.publishes += len(self.effects.applied) - before

    def command_deployed(self, project: str) -> None:
        """A project's deploy command succeeded in the rehearsal: do in AWS what it would have done."""
        if self.effects is not None:
            with self._lock:
                self.effects.apply(project)
                self.publishes += 1

    def counts(self) -> dict[str, Any]:
        dispatches: dict[str, int] = {}
        if self.github_server is not None:
            for project in self.plan.projects.values():
                workflow = project.deploy.github_workflow
                if workflow:
                    dispatches[project.repo] = self.github_server.dispatch_count(project.repo, workflow)
        applied = list(self.effects.applied) if self.effects else []
        plans = {p.repo: self.github_server.dispatch_count(p.repo, p.terraform.plan_workflow)
                 for p in self.plan.projects.values() if p.terraform is not None and p.terraform.plan_workflow} \
            if self.github_server is not None else {}
        # Each deploy workflow's runs by the ref dispatched: a redeploy at the previous tag shows beside the release's.
        refs: dict[str, dict[str, int]] = {}
        if self.github_server is not None:
            for p in self.plan.projects.values():
                for r in self.github_server.runs(p.repo) if p.deploy.github_workflow else []:
                    if r["path"] == f".github/workflows/{p.deploy.github_workflow}":
                        counted = refs.setdefault(p.repo, {})
                        counted[r["head_branch"]] = counted.get(r["head_branch"], 0) + 1
        runs = sum(n for by_ref in refs.values() for n in by_ref.values())
        return {"dispatches": dispatches, "runs": runs, "deploys_applied": applied, "now": self.clock.now().isoformat(),
                "plan_dispatches": plans, "refs": refs}


def _flusher(simulators: list[TrafficSimulator]) -> Callable[[frozenset[str] | None], None]:
    def flush(names: frozenset[str] | None) -> None:
        for simulator in simulators:
            simulator.flush(names)
    return flush


class RemoteClock:
    """The virtual clock of a world in another process, moved over HTTP."""

    def __init__(self, world_url: str, token: str) -> None:
        self.url = world_url.rstrip("/")
        self._http = httpx.Client(timeout=300.0, headers={TOKEN_HEADER: token})
        self._now = parse_instant(self._http.get(f"{self.url}/_world/clock").json()["now"])

    def now(self) -> datetime:
        return self._now

    def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            return
        answer = self._http.post(f"{self.url}/_world/clock", json={"until": when.isoformat()})
        answer.raise_for_status()
        self._now = parse_instant(answer.json()["now"])

    def advance(self, delta: timedelta) -> None:
        self.sleep_until(self._now + delta)

    def anchor(self, name: str, at: datetime) -> None:
        self._http.post(f"{self.url}/_world/anchor", json={"name": name, "at": at.isoformat()}).raise_for_status()


def plan_for_world(plan: Plan, world_url: str) -> Plan:
    """The plan as a runner in another process must see it: URLs on the world's server."""
    envs = {name: e.model_copy(update={"api_base": f"{world_url}/{name}/api", "site_url": f"{world_url}/{name}/site",
                                       "endpoint_url": None})
            for name, e in plan.environments.items()}
    return plan.model_copy(update={"environments": envs})


