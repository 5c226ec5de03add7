"""The canary tests' sandbox: a lean variant of the bbws plan, and a harness over one world.

The reference plan provisions SIT, PROD and PROD's DR region, and the
sandbox simulates traffic for all of them every virtual minute; the canary
tests only need PROD. ``canary_plan`` keeps the three Lambda APIs (batch
``apis``) and the site as a later batch (``site``), so a failed canary can be
shown to stop the release there, and drops what the canary never reads
(soaks, gates, preflight, the DR region). ``Harness`` holds one world and a
fresh store per test, and the few operations the tests share: publishing a
new version the way the deploy workflow does, building canary-only runs,
reading aliases back, and the events of a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from golive.engine.approver import AutoApprover
from golive.engine.context import Services
from golive.engine.runner import AdvanceResult, Engine
from golive.plan.model import Plan
from golive.plan.validate import load_plan_text
from golive.providers.lambdas import AliasState, LambdaClient
from golive.runs.release import group_concurrency, start_or_resume
from golive.sandbox.provision import function_zip
from golive.sandbox.world import SandboxWorld
from golive.steps import planner
from golive.steps.registry import all_handlers
from golive.store.store import Event, Run, Step, Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bbws"
ENV = "prod"
APIS = ("product_lambda", "order_lambda", "campaigns_lambda")


def canary_plan(*, traffic: dict[str, Any] | None = None,
                function_traffic: dict[str, dict[str, Any]] | None = None) -> Plan:
    """The bbws plan narrowed to PROD: batch ``apis`` (the three Lambda APIs), then batch ``site``."""
    data = yaml.safe_load((EXAMPLE / "golive.yaml").read_text())
    data["environments"].pop("sit")
    data["environments"][ENV].pop("dr_region")
    for key in ("soak", "gates", "signoff", "risks"):
        data.pop(key, None)
    data["preflight"] = []
    for project in ("dynamodb_schemas", "s3_schemas"):
        data["projects"].pop(project)
    for spec in data["projects"].values():  # the APIs' dependency on the tables, gone with them
        spec["depends_on"] = [d for d in spec.get("depends_on", []) if d in data["projects"]]
    data["batches"] = [{"name": "apis", "projects": list(APIS), "rollback_shifted": True},
                       {"name": "site", "projects": ["web_public"]}]
    data["sandbox"]["missing_secrets"] = {}
    data["sandbox"]["release_tags"] = {k: v for k, v in data["sandbox"].get("release_tags", {}).items()
                                       if k in data["projects"]}
    if traffic:
        data["sandbox"]["traffic"].update(traffic)
    if function_traffic:
        data["sandbox"]["function_traffic"] = function_traffic
    return load_plan_text(yaml.safe_dump(data, sort_keys=False), "canary-test-plan.yaml")


def with_canary(plan: Plan, project: str, *, steps: Sequence[dict[str, Any]] | None = None,
                analysis: dict[str, Any] | None = None) -> Plan:
    """``plan`` with one project's canary steps or analysis settings replaced (names and URLs kept)."""
    spec = plan.projects[project]
    assert spec.rollout is not None and spec.rollout.lambda_canary is not None
    canary = spec.rollout.lambda_canary
    update: dict[str, Any] = {}
    if steps is not None:
        update["steps"] = [type(canary.steps[0]).model_validate(s) for s in steps]
    if analysis is not None:
        update["analysis"] = canary.analysis.model_validate({**canary.analysis.model_dump(), **analysis})
    rollout = spec.rollout.model_copy(update={"lambda_canary": canary.model_copy(update=update)})
    projects = {**plan.projects, project: spec.model_copy(update={"rollout": rollout})}
    return plan.model_copy(update={"projects": projects})


def next_minute(at: datetime, plus: int = 0) -> datetime:
    """The first whole minute after ``at`` (plus ``plus`` minutes): where a minute-grained fault starts."""
    at = at.astimezone(UTC)
    floor = at.replace(second=0, microsecond=0)
    return floor + timedelta(minutes=1 + plus)


@dataclass
class Harness:
    """One test's view of the shared world: its own store and services; the world's clock and AWS."""

    world: SandboxWorld
    store: Store
    plan: Plan
    notes: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)

    @classmethod
    def open(cls, world: SandboxWorld, db: Path, plan: Plan | None = None) -> Harness:
        return cls(world, Store.open(f"sqlite:///{db}"), plan or world.plan)

    def services(self, store: Store | None = None, plan: Plan | None = None) -> Services:
        def notify(kind: str, data: dict[str, Any]) -> None:
            self.notes.append((self.world.clock.now(), kind, data))
            for listener in list(self.listeners):
                listener(kind, data)

        return Services(plan=plan or self.plan, store=store or self.store, clock=self.world.clock,
                        aws_for=self.world.aws, github=self.world.github(), http=httpx.Client(timeout=5.0),
                        rehearsal=True, approver=AutoApprover(), notify=notify, extras={"workdir": str(EXAMPLE)})

    # -- AWS ------------------------------------------------------------------
    def functions(self, project: str) -> list[str]:
        step = next(s for s in planner.build_deploy(self.plan, ENV, project=project) if s.kind == "canary")
        return LambdaClient(self.world.aws(ENV)).select(step.params["functions"])

    def publish(self, project: str) -> dict[str, str]:
        """What the project's deploy workflow does: new code, a new published version per function."""
        aws = self.world.aws(ENV)
        client = aws.client("lambda")
        out = {}
        for fn in self.functions(project):
            version = max(LambdaClient(aws).published_versions(fn)) + 1
            client.update_function_code(FunctionName=fn, ZipFile=function_zip(fn, version))
            out[fn] = client.publish_version(FunctionName=fn, Description=f"release v{version}")["Version"]
        return out

    def aliases(self, project: str) -> dict[str, AliasState]:
        aws = self.world.aws(ENV)
        return {fn: LambdaClient(aws).get_alias_routing(fn, "live") for fn in self.functions(project)}

    def dispatches(self, project: str) -> int:
        """How many times the project's deploy workflow was dispatched in the local GitHub."""
        spec = self.plan.projects[project]
        assert self.world.github_server is not None and spec.deploy.github_workflow is not None
        return self.world.github_server.dispatch_count(spec.repo, spec.deploy.github_workflow)

    def version_counts(self, project: str) -> dict[str, int]:
        aws = self.world.aws(ENV)
        return {fn: len(LambdaClient(aws).published_versions(fn)) for fn in self.functions(project)}

    # -- runs -----------------------------------------------------------------
    def canary_run(self, *projects: str, plan: Plan | None = None) -> Run:
        """A deploy run of only the canary steps of ``projects`` (their versions already published)."""
        plan = plan or self.plan

        def build() -> list[Any]:
            return [s for p in projects for s in planner.build_deploy(plan, ENV, project=p) if s.kind == "canary"]

        run, _ = start_or_resume(self.store, plan, ENV, "deploy", build, self.world.clock)
        return run

    def deploy_run(self, *, project: str | None = None, batch: str | None = None) -> Run:
        """A deploy run of the batches (workflow dispatch, verify, canary), as ``golive deploy`` builds it."""
        run, _ = start_or_resume(self.store, self.plan, ENV, "deploy",
                                 lambda: planner.build_deploy(self.plan, ENV, batch, project), self.world.clock)
        return run

    def engine(self, services: Services | None = None) -> Engine:
        services = services or self.services()
        return Engine(services, all_handlers(), concurrency=group_concurrency(services.plan))

    def drive(self, run: Run, *, until: Callable[[], bool] | None = None, services: Services | None = None,
              ) -> AdvanceResult:
        stop = (lambda _r: until()) if until is not None else None
        return self.engine(services).drive(run.id, stop_when=stop)

    def step(self, run: Run, key: str) -> Step:
        return next(s for s in self.store.steps(run.id) if s.key == key)

    def events(self, run: Run, kind: str | None = None, subject: str | None = None,
               outcome: str | None = None) -> list[Event]:
        return [e for e in self.store.events(run_id=run.id, kind=kind)
                if (subject is None or e.subject == subject) and (outcome is None or e.outcome == outcome)]

    def at_weight(self, run: Run, project: str, weight: float) -> Callable[[], bool]:
        """A stop condition: the project's canary is baking at ``weight`` percent."""
        key = f"canary.{project}"

        def check() -> bool:
            state = self.step(run, key).state
            return state.get("phase") == "bake" and math.isclose(float(state.get("weight", 0.0)), weight)
        return check

    def when_shifted(self, project: str, weight: float, action: Callable[[datetime], None]) -> None:
        """Call ``action(now)`` once, as the project's canary reports having shifted to ``weight``."""
        done: list[bool] = []

        def listener(kind: str, data: dict[str, Any]) -> None:
            if done or kind != "canary" or data.get("subject") != project or data.get("outcome") != "shifted":
                return
            if math.isclose(float(data.get("weight", -1)), weight):
                done.append(True)
                action(self.world.clock.now())
        self.listeners.append(listener)

