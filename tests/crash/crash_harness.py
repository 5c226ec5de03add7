"""Every crash point of a release: run a scenario once, then die at each point in turn, resume, and check.

A scenario is a small plan (three Lambda projects in one batch, a gate,
prep, validation), the faults its world is started with and what the store
holds before the run (an open P1 incident). ``Harness.reference`` runs it once
undisturbed (``crash_runner.py`` counting its commits and side effects) and
observes where it ended; ``Harness.point`` runs it again in a fresh world and
store, dies at one point (before the Nth commit, or before or after the Nth
side effect in AWS or at GitHub), resumes with the same command undisturbed,
observes, and lists the invariants the end breaks:

- the run's final status is the uninterrupted run's, and so is each step's;
- nothing after a failed step ran: no step of a later group started (after a
  NO-GO: no secret set, no tag, no dispatch, no shift);
- no Lambda alias is left with routing weights, and each is on the version
  the uninterrupted run left it on (every rollback owed is done);
- each workflow was dispatched at most once (the local GitHub's counts), and
  the world's tags, secrets and dispatches are the uninterrupted run's, and so are its deploys (in any order: a
  batch's projects deploy side by side);
- the failure's evidence is in the store: a failure event for each failed
  step, the rollbacks the uninterrupted run recorded, the run's reason.

The world outlives the runner: ``crash_world.py`` hosts it in a process of
its own and starts it afresh between points (about a second, against five
for a new sandbox daemon).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from golive.clock import SystemClock
from golive.plan.model import Plan
from golive.plan.validate import load_plan
from golive.providers.github import GitHub
from golive.runs.incidents import IncidentInput, open_incident
from golive.sandbox import daemon
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.daemon import SandboxInfo
from golive.sandbox.from_plan import project_functions
from golive.sandbox.world import SANDBOX_TOKEN
from golive.store.statuses import RUN_FINISHED, StepStatus
from golive.store.store import Store

HERE = Path(__file__).parent
RUNNER = HERE / "crash_runner.py"
WORLD = HERE / "crash_world.py"
SEED = 7
ENV = "prod"
TIMEOUT = 300

BASE_PLAN: dict[str, Any] = {
    "release": "crash",
    "version": "v1.0.0",
    "environments": {"prod": {"account": "093646564004", "region": "af-south-1"}},
    "metrics": {"error_rate": {"lambda": "errors / invocations"}},
    "projects": {
        name: {
            "repo": f"acme/{name}", "kind": "api", "deploy": {"github_workflow": "deploy.yml"},
            **({"secrets": {"AWS_ROLE": {"value": "arn:aws:iam::093646564004:role/deployer"}}} if name == "alpha" else {}),
            "rollout": {"lambda_canary": {"functions": {"prefix": f"{name}-", "suffix": "-{env}", "count": 1},
                                          "alias": "live", "steps": [{"weight": 50, "bake": "3m"}, {"weight": 100}]}},
        } for name in ("alpha", "beta", "gamma")},
    "batches": [{"name": "apis", "projects": ["alpha", "beta", "gamma"], "rollback_shifted": True}],
    "preflight": ["aws_account", "github_workflow", "github_secrets"],
    "gates": {"go_no_go": {"env": "prod", "requires": ["preflight"], "checklist": ["Rollback plan reviewed"]}},
    "rollback": {"triggers": ["error_rate > 5% immediately"]},
    "sandbox": {"start": "2026-01-07T18:40:00Z", "traffic": {"rpm": 600, "error_rate": "0.02%", "p50": "120ms",
                                                            "p95": "450ms"},
                "alarms": [], "missing_secrets": {"alpha": ["AWS_ROLE"]}},
}


def _open_p1(store: Store, plan: Plan) -> None:
    assert plan.sandbox.start is not None
    open_incident(store, plan, IncidentInput(severity="P1", title="payments degraded", env=ENV), plan.sandbox.start,
                  "on-call")


def _prod_soak(plan: dict[str, Any]) -> None:
    plan["soak"] = {"prod": {"duration": "2h", "every": "1h", "criteria": ["error_rate < 1%"]}}


def _failing_validation(plan: dict[str, Any]) -> None:
    # Validation expects a fourth function the release never created.
    plan["validation"] = [{"lambda_active": {"prefix": "", "suffix": "-{env}", "count": 4}}]
    plan["on_validation_failure"] = "rollback"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    status: str  # how the uninterrupted run ends (the harness checks the reference against it)
    faults: tuple[str, ...] = ()
    edit: Callable[[dict[str, Any]], None] | None = None
    before_run: Callable[[Store, Plan], None] | None = None

    def write_plan(self, folder: Path) -> Path:
        data = json.loads(json.dumps(BASE_PLAN))
        if self.edit is not None:
            self.edit(data)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "golive.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path


SCENARIOS = (
    Scenario("nogo", "NO-GO at the gate (an open P1 incident)", "no_go", before_run=_open_p1),
    Scenario("canary", "a canary failing in a batch of three", "rolled_back", faults=("beta:error_rate=10%@deploy",)),
    Scenario("soak", "a failed PROD soak checkpoint", "failed", faults=("alpha:error_rate=10%,version=all@prod_soak",),
             edit=_prod_soak),
    Scenario("validation", "a failed validation with on_validation_failure: rollback", "rolled_back",
             edit=_failing_validation),
    Scenario("dispatch", "a lost dispatch answer", "succeeded", faults=("github:dispatch=lost@deploy",)),
)


@dataclass(frozen=True)
class Point:
    """Where a process dies: before the Nth commit, or before/after the Nth side effect."""

    kind: str  # commit | before | after
    n: int
    effect: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.n}" + (f" ({self.effect})" if self.effect else "")


@dataclass(frozen=True)
class WorldState:
    """What a release changed in the world: dispatches, the release tag, secrets, Lambda aliases."""

    dispatches: dict[str, int]  # repository -> workflow dispatches (the local GitHub's count)
    deploys: list[str]  # the projects whose deploy took effect, in order
    tags: dict[str, bool]  # repository -> the release's tag exists
    secrets: dict[str, list[str]]
    aliases: dict[str, tuple[str, dict[str, float]]]  # region/function -> version, routing weights


def world_state(info: SandboxInfo, plan: Plan, env: str) -> WorldState:
    """Read over HTTP, as any client of the sandbox would."""
    github = GitHub(info.services["github"], SANDBOX_TOKEN, clock=SystemClock())
    try:
        repos = [p.repo for p in plan.projects.values()]
        tags = {repo: github.get_ref(repo, f"tags/{plan.version}") is not None for repo in repos}
        secrets = {repo: sorted(github.list_repo_secrets(repo)) for repo in repos}
    finally:
        github.close()
    counts = httpx.get(f"{info.services['world']}/_world/counts", timeout=30).json()
    e = plan.environments[env]
    aliases: dict[str, tuple[str, dict[str, float]]] = {}
    for region in (e.region, *([e.dr_region] if e.dr_region else [])):
        aws = sandbox_aws(info.endpoint, e.account, region)
        client = aws.client("lambda")
        for project, names in project_functions(plan, env).items():
            rollout = plan.projects[project].rollout
            assert rollout is not None and rollout.lambda_canary is not None
            for name in names:
                alias = aws.call("lambda:GetAlias", partial(client.get_alias, FunctionName=name,
                                                            Name=rollout.lambda_canary.alias))
                weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights") or {}
                aliases[f"{region}/{name}"] = (str(alias["FunctionVersion"]), dict(weights))
    return WorldState(dict(counts["dispatches"]), list(counts["deploys_applied"]), tags, secrets, aliases)


@dataclass
class Observation:
    """Where a run ended, in the store and in the world."""

    status: str
    reason: str | None
    steps: list[tuple[str, str, str, bool]]  # key, group, status, started
    fail_events: set[str]
    rollbacks: list[tuple[str, str]]  # each rollback recorded: project, outcome
    world: WorldState
    runner: list[str] = field(default_factory=list)  # what the runners said, for a violation's context


class ForkServer:
    """``crash_runner.py --serve`` as a child: each ``run`` a process of its own, forked once golive is imported."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.proc = subprocess.Popen([sys.executable, str(RUNNER), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, module: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        out, err = self.folder / "stdout", self.folder / "stderr"
        self.proc.stdin.write(json.dumps({"module": module, "args": args, "env": env, "stdout": str(out),
                                          "stderr": str(err)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server ended")
        answer = json.loads(line)
        return subprocess.CompletedProcess([module, *args], int(answer["returncode"]),
                                           out.read_text(encoding="utf-8", errors="replace"),
                                           err.read_text(encoding="utf-8", errors="replace"))

    def close(self) -> None:
        _end(self.proc)


def _end(proc: subprocess.Popen[str]) -> None:
    """A child that reads commands on stdin: its stdin closed, then waited for (killed if it will not end)."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class WorldHost:
    """``crash_world.py`` as a child: one world at a time in ``state_dir``."""

    def __init__(self, state_dir: Path, plan_path: Path, faults: tuple[str, ...]) -> None:
        self.state_dir = state_dir
        self.log = state_dir.parent / "world.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(WORLD), str(state_dir), str(plan_path), ENV, str(SEED),
                                          *faults], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.fresh = True
        self._ready()

    def _ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"the crash world did not start: {line!r} (see {self.log})")

    def fresh_world(self) -> SandboxInfo:
        """A world nobody touched yet: the current one if so, else a new one."""
        if not self.fresh:
            assert self.proc.stdin is not None
            self.proc.stdin.write("reset\n")
            self.proc.stdin.flush()
            self._ready()
        self.fresh = False
        info = daemon.status(self.state_dir)
        assert info is not None
        return info

    def close(self) -> None:
        _end(self.proc)


@dataclass
class Reference:
    observation: Observation
    commits: int
    effects: list[tuple[str, int]]  # each side effect and the number of commits before it
    failure: int | None  # the commit that first wrote a failed step

    def points(self) -> list[Point]:
        return ([Point("commit", n) for n in range(1, self.commits + 1)]
                + [Point(kind, n, name) for n, (name, _) in enumerate(self.effects, 1) for kind in ("before", "after")])

    def near_failure(self, point: Point) -> bool:
        """At or after the failure's commit: where a failure's consequences are written and acted on.

        Without a failure, the side effects (a lost dispatch answer is one).
        """
        if self.failure is None:
            return point.kind != "commit"
        if point.kind == "commit":
            return point.n >= self.failure
        return self.effects[point.n - 1][1] >= self.failure - 1

    def sample(self, count: int, rng: random.Random) -> list[Point]:
        """``count`` points, half of them (rounded up) near the failure, in the order of the run."""
        points = self.points()
        near = [p for p in points if self.near_failure(p)]
        chosen = rng.sample(near, min(len(near), (count + 1) // 2))
        rest = [p for p in points if p not in chosen]
        chosen += rng.sample(rest, min(len(rest), count - len(chosen)))
        return [p for p in points if p in chosen]


class Harness:
    """One scenario's world and plan; ``reference`` first, then any number of ``point``s."""

    def __init__(self, scenario: Scenario, folder: Path, store_url: Callable[[str], str] | None = None) -> None:
        self.scenario = scenario
        self.folder = folder
        self.plan_path = scenario.write_plan(folder / "plan")
        self.plan = load_plan(self.plan_path)
        self.world = WorldHost(folder / "sandbox", self.plan_path, scenario.faults)
        self.forks = ForkServer(folder / "runs")
        self.store_url = store_url or (lambda name: f"sqlite:///{folder / name}.db")
        self.reference_run: Reference | None = None

    def close(self) -> None:
        self.forks.close()
        self.world.close()

    def _runner(self, info: SandboxInfo, db: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        args = ["--sandbox", str(info.state_dir), "--db", db, "-f", str(self.plan_path), "--env", ENV,
                *(f"--inject={f}" for f in self.scenario.faults)]
        return self.forks.run("golive.rehearsal", args, env)

    def _prepare(self, name: str) -> tuple[SandboxInfo, str]:
        info = self.world.fresh_world()
        db = self.store_url(name)
        store = Store.open(db)  # the schema exists before the first kill
        try:
            if self.scenario.before_run is not None:
                self.scenario.before_run(store, self.plan)
        finally:
            store.close()
        return info, db

    def reference(self) -> Reference:
        info, db = self._prepare("reference")
        tally = self.folder / "tally.json"
        done = self._runner(info, db, {"GOLIVE_CRASH_TALLY": str(tally)})
        if not done.stdout.startswith("DONE ") or "Traceback" in done.stderr:
            raise AssertionError(f"the uninterrupted run did not finish: {done.stdout}{done.stderr}")
        counted = json.loads(tally.read_text(encoding="utf-8"))
        observation = self.observe(info, db, [done.stdout.strip()])
        self.reference_run = Reference(observation, int(counted["commits"]),
                                       [(str(name), int(n)) for name, n in counted["effects"]], counted["failure"])
        return self.reference_run

    def point(self, point: Point, index: int) -> tuple[Observation, list[str], bool]:
        """Die at ``point``, resume: the end, the invariants it breaks (empty: none), and whether the kill landed
        (a run that takes another path than the uninterrupted one may never reach the point)."""
        assert self.reference_run is not None
        info, db = self._prepare(f"point-{index}")
        killed = self._runner(info, db, {"GOLIVE_CRASH_AT": f"{point.kind}:{point.n}"})
        said = [f"killed run: exit {killed.returncode} {killed.stdout.strip()[-200:]} {killed.stderr.strip()[-400:]}"]
        resumed = self._runner(info, db, {})
        said.append(f"resumed run: exit {resumed.returncode} {resumed.stdout.strip()[-200:]} {resumed.stderr.strip()[-400:]}")
        problems: list[str] = []
        if killed.returncode not in (-9, 0, 1) or "Traceback" in killed.stderr:
            problems.append(f"the run to kill ended otherwise: {said[0]}")
        if not resumed.stdout.startswith("DONE ") or "Traceback" in resumed.stderr:
            problems.append(f"the resumed run did not finish: {said[1]}")
        observation = self.observe(info, db, said)
        return observation, problems + violations(observation, self.reference_run.observation), killed.returncode == -9

    def observe(self, info: SandboxInfo, db: str, said: list[str]) -> Observation:
        store = Store.open(db)
        try:
            run = store.latest_run(self.plan.release, ENV, "release")
            assert run is not None
            steps = store.steps(run.id)
            events = store.events(run_id=run.id)
            fails = {e.step_key or "" for e in events if e.kind == "step" and e.outcome == "fail"}
            rollbacks = sorted((e.subject, e.outcome or "") for e in events if e.kind == "rollback")
            status, reason = run.status, run.reason
        finally:
            store.close()
        return Observation(status, reason, [(s.key, s.group, s.status, s.started_at is not None) for s in steps],
                           fails, rollbacks, world_state(info, self.plan, ENV), said)


def violations(got: Observation, expected: Observation) -> list[str]:
    """The invariants ``got`` breaks, ``expected`` being the uninterrupted run's end."""
    out: list[str] = []
    if got.status != expected.status:
        out.append(f"the run ended {got.status}, the uninterrupted run {expected.status}")
    if got.status not in RUN_FINISHED:
        out.append(f"the resumed run did not end: {got.status}")
    failed = [i for i, (_, _, status, _) in enumerate(got.steps) if status == StepStatus.FAILED]
    if failed:
        first, group = failed[0], got.steps[failed[0]][1]
        ran = [key for key, g, _, started in got.steps[first + 1:] if started and g != group]
        if ran:
            out.append(f"steps ran after {got.steps[first][0]} failed: {', '.join(ran)}")
    if [(k, s) for k, _, s, _ in got.steps] != [(k, s) for k, _, s, _ in expected.steps]:
        differ = [f"{k} {s} (uninterrupted: {t})" for (k, _, s, _), (_, _, t, _) in zip(got.steps, expected.steps,
                                                                                          strict=False) if s != t]
        out.append(f"steps ended otherwise: {'; '.join(differ)}")
    world, expected_world = got.world, expected.world
    weighted = {name: weights for name, (_, weights) in world.aliases.items() if weights}
    if weighted:
        out.append(f"aliases left with routing weights: {weighted}")
    versions = {name: version for name, (version, _) in world.aliases.items()}
    expected_versions = {name: version for name, (version, _) in expected_world.aliases.items()}
    if versions != expected_versions:
        out.append(f"aliases on versions {versions}, the uninterrupted run left {expected_versions}")
    twice = {repo: n for repo, n in world.dispatches.items() if n > 1}
    if twice:
        out.append(f"workflows dispatched more than once: {twice}")
    for what in ("dispatches", "tags", "secrets"):
        if getattr(world, what) != getattr(expected_world, what):
            out.append(f"{what} {getattr(world, what)}, the uninterrupted run's {getattr(expected_world, what)}")
    # The projects of a batch deploy side by side: after a kill their order may differ, each still once.
    if sorted(world.deploys) != sorted(expected_world.deploys):
        out.append(f"deploys {world.deploys}, the uninterrupted run's {expected_world.deploys}")
    failed_keys = {got.steps[i][0] for i in failed}
    if failed_keys - got.fail_events:
        out.append(f"no failure recorded for {sorted(failed_keys - got.fail_events)}")
    if got.rollbacks != expected.rollbacks:
        out.append(f"rollbacks recorded {got.rollbacks}, the uninterrupted run's {expected.rollbacks}")
    if expected.reason and not got.reason:
        out.append("the run's reason is missing")
    return out


def main(argv: list[str]) -> int:
    """``python crash_harness.py SCENARIO [KIND:N]...``: one scenario's reference, then the points named (or all)."""
    (scenario,) = [s for s in SCENARIOS if s.name == argv[0]]
    import tempfile

    harness = Harness(scenario, Path(tempfile.mkdtemp(prefix=f"crash-{scenario.name}-")))
    try:
        reference = harness.reference()
        print(f"{scenario.title}: {reference.observation.status}, {reference.commits} commits, "
              f"{len(reference.effects)} side effects, the failure at commit {reference.failure} ({harness.folder})")
        named = [Point(kind, int(n)) for kind, _, n in (a.partition(":") for a in argv[1:])]
        for index, point in enumerate(named or reference.points()):
            observation, found, _ = harness.point(point, index)
            print(f"{point}: {' | '.join(found) or 'ok'}", *observation.runner, sep="\n  ")
    finally:
        harness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
