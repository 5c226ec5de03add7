"""Soak checkpoints, incidents and the go/no-go gate against the sandbox, on the virtual clock.

Every soak here runs the real engine (``golive.runs.session``) against an
in-process ``SandboxWorld``: Lambda traffic is simulated minute by minute
into a moto CloudWatch, checkpoints read it back through GetMetricData, the
soak's checks read Lambda and CloudWatch alarms, and the gate reads what the
store recorded. One world per scenario is shared by its tests (starting one
costs seconds); each test has its own store. The healthy 48-hour soak runs
on the full bbws example (SIT's 20 functions), once per session even under
pytest-xdist; the others on a variant with two functions per API project
(``soak_plans.small_text``) for speed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from soak_plans import EXAMPLE, example_text, load, small_text, with_freeze
from soak_world import (
    HOUR,
    Soaked,
    after_checkpoint,
    alarm,
    alarms_in,
    checkpoints,
    copy_store,
    next_checkpoint,
    once_per_session,
    open_store,
    services_for,
    soak_through,
    soak_until,
    start_world,
    stop_world,
)

from golive.analysis.criteria import Unit, format_value
from golive.clock import parse_instant
from golive.engine.runner import Engine, lease_name
from golive.errors import UsageError
from golive.evidence.gates import GateItem
from golive.evidence.terraform import TerraformPlanSummary
from golive.plan.model import Plan
from golive.report import render
from golive.runs import session
from golive.runs.incidents import IncidentInput, open_incident, parse_incident_json, resolve_incident
from golive.runs.soak_status import soak_summary
from golive.steps.gate import Decision, evaluate_gate, record_approval
from golive.steps.registry import all_handlers
from golive.steps.soak import METRIC_DELAY
from golive.store.store import Event, Store

RELEASE = "bbws"
SPIKE = "product_lambda:error_rate=2%@30h..31h"
GOLIVE = Path(sys.executable).with_name("golive")
PRODUCT = "2-1-bbws-tf-product-"
# Under ``--dist loadgroup`` (CI) each world's tests should run on one worker, building each world once. With
# pytest 9.2 the groups are silently ignored (pytest-dev/pytest-xdist#1386), so ``once_per_session`` guards
# the expensive healthy soak anyway; a split small group costs one more small world.
HEALTHY = pytest.mark.xdist_group("soak_gate_healthy")
SMALL = pytest.mark.xdist_group("soak_gate_small")
USES = {"error_rate": {("Invocations", "Sum"), ("Errors", "Sum")},
        "p95_duration": {("Invocations", "Sum"), ("Duration", "p95")},
        "throttles": {("Invocations", "Sum"), ("Throttles", "Sum")}}


def _approve(store: Store, soaked: Soaked, roles: tuple[str, ...] = ("devops", "tech_lead")) -> None:
    for role in roles:
        record_approval(store, soaked.plan, "go_no_go", "prod", f"{role}-person", role, None, soaked.now)


def _planned(store: Store, soaked: Soaked) -> None:
    """The schema projects' Terraform plans as a release run records them before the gate: nothing that holds data
    is deleted or replaced (the gate's terraform requirement; its own tests are test_terraform_gate.py)."""
    if store.records(TerraformPlanSummary, release=RELEASE, env="prod"):
        return
    for project in ("dynamodb_schemas", "s3_schemas"):
        store.append_record(TerraformPlanSummary(subject=project, outcome="no_data_changes", project=project,
                                                 sha256=project[:2] * 32, tag=soaked.plan.version,
                                                 format_version="1.2", creates=3,
                                                 approver="data_owner"),
                            release=RELEASE, env="prod", at=soaked.now)


def _gate(store: Store, soaked: Soaked, plan: Plan | None = None) -> Decision:
    _planned(store, soaked)
    return evaluate_gate(store, plan or soaked.plan, "go_no_go", "prod", soaked.now)


def _copy(db: Path, tmp_path: Path) -> Store:
    """A soaked store as it stands, copied for one check (the gate tests add approvals and incidents)."""
    return copy_store(db, tmp_path / f"copy-{len(list(tmp_path.glob('copy-*')))}.db")


def _item(decision: Decision, name: str) -> GateItem:
    return next(i for i in decision.items if i.name == name)


def _metric(checkpoint: Event, metric: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in checkpoint.data["criteria"] if c["criterion"]["metric"] == metric)
    return found


# -- worlds ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Soaked]:
    """The full example: a 48 h SIT soak of healthy traffic, then a PROD preflight, once per test session.

    Only SIT's traffic is simulated (``follow_release`` with the soak anchored at the start): the soak reads
    nothing else, and PROD's 40 functions would triple the simulation. The world is stopped once the soak
    is stored; the tests read (copies of) the store.
    """
    def produce(directory: Path) -> dict[str, Any]:
        world = start_world(load(example_text()), sit_only=True)
        try:
            store = open_store(directory / "store.db")
            services = services_for(world, store)
            driven = soak_through(services)
            session.preflight(services, "prod")
            store.close()
            return {"run_id": driven.run.id, "now": world.clock.now().isoformat(),
                    "sit_alarms": alarms_in(world, "sit")}
        finally:
            stop_world(world)

    shared, info = once_per_session(tmp_path_factory, worker_id, "soak-gate-healthy", produce)
    db = tmp_path_factory.mktemp("healthy") / "store.db"
    store = copy_store(shared / "store.db", db)
    yield Soaked(load(example_text()), store, info["run_id"], db, parse_instant(info["now"]),
                 sit_alarms=tuple(info["sit_alarms"]))
    store.close()


@pytest.fixture(scope="module")
def spiked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Soaked]:
    """The small plan with product's error rate at 2% in hours 30-31: a SIT soak started with the world.

    The world stays up: the other small-world tests start their soaks later in it, after the spike.
    """
    world = start_world(load(small_text()), faults=(SPIKE,))
    try:
        db = tmp_path_factory.mktemp("spiked") / "store.db"
        store = open_store(db)
        services = services_for(world, store)
        driven = soak_through(services)
        session.preflight(services, "prod")
        yield Soaked(world.plan, store, driven.run.id, db, world.clock.now(), world=world)
        store.close()
    finally:
        stop_world(world)


# -- 48 h healthy ---------------------------------------------------------------------------------------------
@HEALTHY
def test_healthy_48h_soak_passes_eight_checkpoints_and_the_gate_is_go(healthy: Soaked, tmp_path: Path) -> None:
    store = healthy.store
    run = store.get_run(healthy.run_id)
    assert run.status == "succeeded"
    start = parse_instant(run.meta["soak"]["sit"]["start"])
    cps = checkpoints(store)
    assert [c.data["index"] for c in cps] == list(range(1, 9))
    assert all(c.outcome == "pass" and not c.data["failures"] and not c.data["late"] for c in cps)
    for i, cp in enumerate(cps, start=1):
        assert parse_instant(cp.data["window"]["start"]) == start + (i - 1) * 6 * HOUR
        assert parse_instant(cp.data["window"]["end"]) == start + i * 6 * HOUR
        error_rate = _metric(cp, "error_rate")
        assert len(error_rate["per_scope"]) == 20
        assert all(m["outcome"] == "Successful" and 0 < m["value"] < 0.001 for m in error_rate["per_scope"])
    verdict = [e for e in store.events(kind="soak") if e.data.get("env") == "sit"]
    assert [v.outcome for v in verdict] == ["pass"]
    assert healthy.now - start >= 48 * HOUR

    # The order DLQ alarm fired before the soak and is allow-listed: it never failed a checkpoint.
    assert "bbws-order-dlq" in healthy.sit_alarms
    assert "bbws-order-dlq" in run.meta["alarms_at_start"]["sit"]
    for cp in cps:
        [alarms_check] = [c for c in cp.data["checks"] if c["check"] == "alarms"]
        assert alarms_check["status"] == "pass"

    # The sandbox's PROD is the Jan-8 world: secrets missing, which prep sets. Fixable only, so still GO.
    preflight = store.events(env="prod", kind="preflight")[-1]
    assert preflight.data["blocking"] == []
    assert preflight.data["fixable"] and all("github_secrets" in line for line in preflight.data["fixable"])

    gate_store = _copy(healthy.db, tmp_path)
    _approve(gate_store, healthy)
    decision = _gate(gate_store, healthy)
    assert decision.verdict == "GO", decision.reasons
    assert _item(decision, "soak.sit").ok and "8 of 8" in _item(decision, "soak.sit").detail
    assert _item(decision, "preflight").ok and "left to prep" in _item(decision, "preflight").detail


@HEALTHY
def test_gate_no_go_names_the_missing_role_the_open_incident_and_the_freeze(healthy: Soaked, tmp_path: Path) -> None:
    """After the healthy soak, each gate requirement on its own turns GO into NO-GO, and the reason names it."""
    plan, now = healthy.plan, healthy.now

    # Missing approval: NO-GO naming the role, and only that.
    store = _copy(healthy.db, tmp_path)
    _approve(store, healthy, ("devops",))
    decision = _gate(store, healthy)
    assert decision.verdict == "NO-GO" and decision.only_approvals_missing
    [reason] = decision.reasons
    assert "tech_lead" in reason and "devops" not in reason
    _approve(store, healthy, ("tech_lead",))
    assert _gate(store, healthy).verdict == "GO"

    # An open P1 incident: NO-GO naming it until it is resolved; a P3 does not block.
    store = _copy(healthy.db, tmp_path)
    _approve(store, healthy)
    open_incident(store, plan, IncidentInput(severity="P3", title="typo on the about page"), now)
    assert _gate(store, healthy).verdict == "GO"
    p1 = open_incident(store, plan, IncidentInput(severity="P1", title="checkout returns 502", env="sit"), now)
    decision = _gate(store, healthy)
    assert decision.verdict == "NO-GO"
    assert decision.reasons == [f"incidents: open P1 #{p1}: checkout returns 502"]
    resolve_incident(store, plan, p1, now)
    assert _gate(store, healthy).verdict == "GO"

    # A freeze window in force (a plan variant): NO-GO naming it; one already over does not block.
    store = _copy(healthy.db, tmp_path)
    _approve(store, healthy)
    frozen = load(with_freeze(example_text(), now - HOUR, now + 2 * HOUR, "year-end trading freeze"))
    decision = _gate(store, healthy, frozen)
    assert decision.verdict == "NO-GO"
    [reason] = decision.reasons
    assert reason.startswith("freeze: ") and "year-end trading freeze" in reason
    past = load(with_freeze(example_text(), now - 3 * HOUR, now - HOUR, "over already"))
    assert _gate(store, healthy, past).verdict == "GO"


# -- error-rate spike -----------------------------------------------------------------------------------------
@SMALL
def test_error_rate_spike_fails_checkpoint_6_and_the_gate_says_no_go(spiked: Soaked, tmp_path: Path) -> None:
    store = spiked.store
    assert store.get_run(spiked.run_id).status == "failed"
    cps = checkpoints(store)
    assert [(c.data["index"], c.outcome) for c in cps] == [(1, "pass"), (2, "pass"), (3, "pass"), (4, "pass"),
                                                            (5, "pass"), (6, "fail")]
    six = cps[-1]
    error_rate = _metric(six, "error_rate")
    per_scope = error_rate["per_scope"]
    worst = max(per_scope, key=lambda m: m["value"])
    assert error_rate["overall"]["raw"]["worst"] == worst["scope"]
    # Only product's functions failed; 60 minutes at 2% in a 6 h window is about a sixth of 2%.
    assert [m["scope"] for m in per_scope if m["outcome"] == "Failed"] == \
        [m["scope"] for m in per_scope if m["scope"].startswith(PRODUCT)]
    assert 0.002 < worst["value"] < 0.006
    [failure] = six.data["failures"]
    assert failure.startswith("error_rate < 0.1%")
    assert worst["scope"] in failure and format_value(worst["value"], Unit.FRACTION) in failure
    assert "+30h..+36h" in failure
    verdict = [e for e in store.events(kind="soak") if e.data.get("env") == "sit"]
    assert [(v.outcome, v.data["failed_at"]) for v in verdict] == [("fail", 6)]

    gate_store = _copy(spiked.db, tmp_path)
    _approve(gate_store, spiked)
    decision = _gate(gate_store, spiked)
    assert decision.verdict == "NO-GO"
    [reason] = decision.reasons
    assert reason.startswith("soak.sit: failed at checkpoint 6 of 8") and "error_rate" in reason
    assert worst["scope"] in reason and "+30h..+36h" in reason


@SMALL
def test_report_shows_the_failing_checkpoint_in_every_format(spiked: Soaked) -> None:
    store, run_id = spiked.store, spiked.run_id
    [six] = [c for c in checkpoints(store) if c.outcome == "fail"]
    worst = _metric(six, "error_rate")["overall"]["raw"]["worst"]
    md = render(store, run_id, RELEASE, "md")
    [row] = [line for line in md.splitlines() if line.startswith("| 6 of 8 |")]
    assert "✗ fail" in row and worst in row
    soaks = json.loads(render(store, run_id, RELEASE, "json"))["soaks"]
    [cell] = [c for s in soaks for cp in s["checkpoints"] if cp["index"] == 6 for c in cp["cells"]
              if c["criterion"] == "error_rate < 0.1%"]
    assert (cell["outcome"], cell["scope"]) == ("Failed", worst)
    junit = ET.fromstring(render(store, run_id, RELEASE, "junit"))
    cases = {tc.get("name", ""): tc.find("failure") is not None for tc in junit.iter("testcase")}
    assert cases["checkpoint 6 of 8: error_rate < 0.1%"] is True
    assert not any(failed for name, failed in cases.items() if name.startswith("checkpoint 5 of 8"))
    html = render(store, run_id, RELEASE, "html")
    assert "<svg" in html and worst in html


# -- alarms and incidents during a soak -----------------------------------------------------------------------
@SMALL
def test_new_alarm_during_the_soak_fails_the_next_checkpoint(spiked: Soaked, tmp_path: Path) -> None:
    world, db = spiked.live, tmp_path / "alarm.db"
    store = open_store(db)
    services = services_for(world, store)
    run_id = soak_until(services, 1)
    name = "bbws-product-5xx-sit"
    alarm(world, "sit", name, "ALARM")
    try:
        next_checkpoint(services)
    finally:
        alarm(world, "sit", name, "OK")
    assert store.get_run(run_id).status == "failed"
    cps = checkpoints(store)
    assert [(c.data["index"], c.outcome) for c in cps] == [(1, "pass"), (2, "fail")]
    [failure] = cps[1].data["failures"]
    assert name in failure and "bbws-order-dlq" not in failure
    decision = evaluate_gate(store, world.plan, "go_no_go", "prod", world.clock.now())
    soak = _item(decision, "soak.sit")
    assert decision.verdict == "NO-GO" and not soak.ok
    assert "checkpoint 2" in soak.detail and name in soak.detail
    store.close()


@SMALL
def test_open_p1_incident_fails_the_next_checkpoint(spiked: Soaked, tmp_path: Path) -> None:
    world, store = spiked.live, open_store(tmp_path / "incident.db")
    services = services_for(world, store)
    run_id = soak_until(services, 1)
    p1 = open_incident(store, world.plan, IncidentInput(severity="P1", title="orders stuck"), world.clock.now())
    next_checkpoint(services)
    cps = checkpoints(store)
    assert [(c.data["index"], c.outcome) for c in cps] == [(1, "pass"), (2, "fail")]
    [failure] = cps[1].data["failures"]
    assert "orders stuck" in failure and "P1" in failure, failure
    [incidents_check] = [c for c in cps[1].data["checks"] if c["check"] == "incidents"]
    assert incidents_check["status"] == "fail" and f"#{p1}" in json.dumps(incidents_check)
    assert store.get_run(run_id).status == "failed"
    store.close()


# -- the soak commands ---------------------------------------------------------------------------------------
@SMALL
def test_soak_start_and_checkpoint_evaluate_what_is_due_and_return(spiked: Soaked, tmp_path: Path) -> None:
    """``golive soak start`` lays the checkpoints out and returns; ``golive soak checkpoint`` never waits."""
    world, store = spiked.live, open_store(tmp_path / "commands.db")
    services = services_for(world, store)
    started = world.clock.now()
    driven = session.soak_start(services, "sit")
    assert world.clock.now() == started and driven.run.status == "waiting" and not checkpoints(store)
    assert driven.result.next_due == started + 6 * HOUR + METRIC_DELAY
    summary = soak_summary(store, world.plan, "sit", world.clock.now())
    text = summary["text"]
    assert "0/8 checkpoints complete; next #1" in text and "all passing" not in text and "(in 6 h" in text
    assert re.search(r"next #1 at \d\d:\d\d UTC .*; soak ends \w{3} \d\d \d\d:\d\d UTC", text), text
    # JSON carries instants, with their offset, that read back to the laid-out due times.
    dues = [datetime.fromisoformat(cp["due"]) for cp in summary["checkpoints"]]
    assert all(due.utcoffset() == timedelta(0) for due in dues)
    assert dues[1] - dues[0] == 6 * HOUR

    world.clock.advance(3 * HOUR)
    assert session.soak_checkpoint(services, "sit").result.progressed is False and not checkpoints(store)
    world.clock.sleep_until(started + 6 * HOUR + METRIC_DELAY)
    at = world.clock.now()
    driven = session.soak_checkpoint(services, "sit")
    assert world.clock.now() == at
    assert [c.data["index"] for c in checkpoints(store)] == [1]
    assert driven.result.next_due == started + 12 * HOUR + METRIC_DELAY
    text = soak_summary(store, world.plan, "sit", world.clock.now())["text"]
    assert "1/8 checkpoints complete, all passing; next #2" in text
    store.close()


# -- killed and restarted -------------------------------------------------------------------------------------
@SMALL
def test_soak_killed_after_checkpoint_3_evaluates_4_and_5_late_once(spiked: Soaked, tmp_path: Path) -> None:
    world, db = spiked.live, tmp_path / "kill.db"
    first = open_store(db)
    run_id = soak_until(services_for(world, first), 3)
    run = first.get_run(run_id)
    start = parse_instant(run.meta["soak"]["sit"]["start"])
    # The process dies holding its lease; nothing runs for 13 virtual hours.
    first.acquire_lease(lease_name(run), "dead-host:4242", timedelta(seconds=60), world.clock.now())
    first.close()
    world.clock.advance(13 * HOUR)

    second = open_store(db)
    result = Engine(services_for(world, second), all_handlers()).drive(run_id)
    assert result.finished and second.get_run(run_id).status == "succeeded"
    cps = checkpoints(second)
    assert [c.data["index"] for c in cps] == list(range(1, 9))
    assert all(c.outcome == "pass" for c in cps)
    assert [c.data["late"] for c in cps] == [False, False, False, True, True, False, False, False]
    for cp in cps[3:5]:
        i = cp.data["index"]
        assert parse_instant(cp.data["window"]["start"]) == start + (i - 1) * 6 * HOUR
        assert parse_instant(cp.data["window"]["end"]) == start + i * 6 * HOUR
        assert f"+{6 * (i - 1)}h..+{6 * i}h" not in " ".join(cp.data["failures"])
        assert parse_instant(cp.data["evaluated_at"]) >= start + 31 * HOUR
        for c in cp.data["criteria"]:
            assert c["overall"]["late"] is True
            for m in c["per_scope"]:
                assert m["late"] is True
                assert m["start"] == cp.data["window"]["start"] and m["end"] == cp.data["window"]["end"]
    attempts = {s.params["index"]: s.attempts for s in second.steps(run_id) if s.kind == "soak_checkpoint"}
    assert attempts == {i: 1 for i in range(1, 9)}
    second.close()


@SMALL
def test_late_checkpoint_evidence_is_stored(spiked: Soaked, tmp_path: Path) -> None:
    """A late checkpoint keeps the evidence an on-time one does: criteria with their queries, and the checks
    (here an incident opened while nothing ran, and an alarm that went off and came back in the meantime)."""
    world, store = spiked.live, open_store(tmp_path / "late.db")
    services = services_for(world, store)
    run_id = soak_until(services, 1)
    p1 = open_incident(store, world.plan, IncidentInput(severity="P1", title="payments timing out", env="sit"),
                       world.clock.now())
    alarm(world, "sit", "bbws-payments-latency-sit", "ALARM")
    world.clock.advance(4 * HOUR)
    alarm(world, "sit", "bbws-payments-latency-sit", "OK")
    world.clock.advance(3 * HOUR)
    Engine(services_for(world, store), all_handlers()).drive(run_id, stop_when=after_checkpoint(store, 2))
    one, two = checkpoints(store)
    assert (one.outcome, one.data["late"]) == ("pass", False)
    assert (two.outcome, two.data["late"]) == ("fail", True)
    [failure] = two.data["failures"]
    assert f"#{p1}" in failure or "payments timing out" in failure
    for cp in (one, two):
        assert {c["criterion"]["metric"] for c in cp.data["criteria"]} == {"error_rate", "p95_duration", "throttles"}
        for c in cp.data["criteria"]:
            assert c["overall"]["outcome"] == "Successful"
            for m in c["per_scope"]:
                assert m["raw"] and m["start"] == cp.data["window"]["start"] and m["late"] is cp.data["late"]
                # The query evidence is this criterion's own: the series it was computed from, for this function.
                assert all(q["api"] == "cloudwatch:GetMetricData" and q["start"] == m["start"] and
                           q["dimensions"] == {"FunctionName": m["scope"]} for q in m["query"])
                assert {(q["metric"], q["stat"]) for q in m["query"]} == USES[c["criterion"]["metric"]]
        checks = {c["check"]: c for c in cp.data["checks"]}
        assert {"lambda_active", "alarms", "incidents"} <= set(checks) <= {"lambda_active", "alarms", "incidents", "http"}
        assert all(c["evidence"] for c in checks.values())
        assert checks["alarms"]["status"] == "pass"  # the alarm was back to OK when the checkpoint looked
    incidents = {c["check"]: c for c in two.data["checks"]}["incidents"]
    assert incidents["status"] == "fail" and "payments timing out" in json.dumps(incidents["evidence"])
    store.close()


# -- the command line -----------------------------------------------------------------------------------------
def _golive(args: list[str], db: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOLIVE_DB", "GOLIVE_PLAN")}
    return subprocess.run([str(GOLIVE), *args, "-f", str(EXAMPLE), "--db", db], input=stdin, text=True,
                          capture_output=True, env={**env, "COLUMNS": "200"}, timeout=60, check=False)


def test_cli_incidents_open_list_resolve(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    opened = _golive(["incident", "open", "--severity", "P1", "--title", "x"], db)
    assert opened.returncode == 0, opened.stderr
    assert "P1" in opened.stdout
    piped = _golive(["incident", "open"], db, stdin='{"severity":"P0","title":"db down","env":"prod"}')
    assert piped.returncode == 0, piped.stderr
    listed = _golive(["--json", "incident", "list"], db)
    assert listed.returncode == 0, listed.stderr
    incidents = json.loads(listed.stdout)
    assert [(i["severity"], i["title"], i["env"]) for i in incidents] == [("P1", "x", None), ("P0", "db down", "prod")]
    resolved = _golive(["incident", "resolve", str(incidents[1]["id"])], db)
    assert resolved.returncode == 0, resolved.stderr
    store = open_store(tmp_path / "cli.db")
    assert [(i.title, i.status) for i in store.incidents(RELEASE)] == [("x", "open"), ("db down", "resolved")]
    assert [e.outcome for e in store.events(kind="incident")] == ["opened", "opened", "resolved"]
    store.close()


def test_cli_approve_and_gate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    approved = _golive(["approve", "go_no_go", "--env", "prod", "--role", "devops", "--by", "alice"], db)
    assert approved.returncode == 0, approved.stderr
    wrong = _golive(["approve", "go_no_go", "--env", "prod", "--role", "cto", "--by", "bob"], db)
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1 and "cto" in wrong.stderr and "tech_lead" in wrong.stderr
    gate = _golive(["gate", "go_no_go", "--env", "prod"], db)
    assert gate.returncode == 1, gate.stderr
    lines = gate.stdout.splitlines()
    assert "NO-GO" in lines[0]
    failing = [line for line in lines if "✗" in line]
    assert any("soak.sit" in line for line in failing) and any("preflight" in line for line in failing)
    assert any("tech_lead" in line for line in failing)
    assert any("approval devops: alice" in line and "✓" in line for line in lines)
    store = open_store(tmp_path / "cli.db")
    [decision] = store.events(kind="gate")
    assert decision.outcome == "NO-GO" and decision.data["asked_by"] == "golive gate"
    assert [a.by for a in store.approvals(RELEASE, "prod", "go_no_go")] == ["alice"]
    store.close()


def test_incident_json_errors_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="severity"):
        parse_incident_json('{"severity": "high", "title": "x"}')
    with pytest.raises(UsageError, match="not JSON"):
        parse_incident_json("severity=P0")
