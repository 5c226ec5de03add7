"""The report over a real SQLite store filled with the events of a release that went wrong.

The SIT soak (recorded by its own soak run) fails at checkpoint 6 on
product-get's error rate, the go/no-go gate says NO-GO, the release run goes
on with a skipped gate and order's canary is rolled back. Checkpoint data is
made by the real analysis code (``evaluate`` over a metric source passed in),
the canary judgement by the real judge, so the report is tested against the
shapes the writers produce.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, evaluate
from golive.analysis.judge import VersionSeries, judge
from golive.analysis.metrics import Fetch, Scope, Series, SeriesRequest, parse_metric_def
from golive.checks.base import CheckResult, Evidence, Status
from golive.errors import UnknownNameError, UsageError
from golive.redact import Redactor
from golive.report import build, render
from golive.store.store import StepSpec, Store

RELEASE = "bbws"
VERSION = "v1.0.0-prod"
T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
FUNCTIONS = ["2-1-bbws-tf-product-get-sit", "2-1-bbws-tf-product-list-sit", "2-1-bbws-tf-order-create-sit"]
BAD_FUNCTION = FUNCTIONS[0]
CRITERIA = ["error_rate < 0.1%", "p95_duration < 2s", "throttles == 0"]
METRICS = {"error_rate": "errors / invocations", "p95_duration": "p95(duration)", "throttles": "sum(throttles)"}
FAILING_CHECKPOINT = 6
LATE = {4, 5}
GATE_ITEMS = [("soak.sit", False, "sit soak failed at checkpoint 6"), ("preflight", True, "passed 2 h ago"),
              ("approval devops", True, "alice (devops)"), ("approval tech_lead", False, "no approval by role tech_lead"),
              ("freeze", True, "no freeze window in force")]


class WindowSource:
    """A metric source answering one value per series for the whole window; product-get errors at 2.1% in window 6."""

    def __init__(self, checkpoint: int) -> None:
        self.checkpoint = checkpoint

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        series = {}
        for request in requests:
            value = {"invocations": 6000.0, "errors": 3.0 + request.scope.function.count("list"), "duration": 840.0,
                     "throttles": None}[request.metric]
            if request.metric == "errors" and request.scope.function == BAD_FUNCTION and self.checkpoint == FAILING_CHECKPOINT:
                value = 126.0
            if request.metric == "duration":
                value += 40.0 * self.checkpoint
            points = () if value is None else ((start, value),)
            series[request] = Series(request, points)
        return Fetch(series=series, queries=({"id": "q0", "stat": "Sum"},), calls=1)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        raise NotImplementedError


def _specs() -> list[CriterionSpec]:
    out = []
    for text in CRITERIA:
        criterion = parse_criterion(text)
        out.append(CriterionSpec(criterion, parse_metric_def(METRICS[criterion.metric], criterion.metric)))
    return out


def _fill(store: Store) -> tuple[int, int]:
    soak = store.create_run(RELEASE, "sit", "soak", "d", [], T0, meta={})
    store.append_event(release=RELEASE, env="sit", run_id=soak.id, kind="run", subject="soak", outcome="started",
                       at=T0, data={"version": VERSION})
    specs = _specs()
    for i in range(1, 9):
        due = T0 + timedelta(hours=6 * i)
        start = due - timedelta(hours=6)
        evaluated = T0 + timedelta(hours=37) if i in LATE else due + timedelta(minutes=1)
        evaluations = evaluate(specs, WindowSource(i), [Scope(f) for f in FUNCTIONS], start, due, resolution=None)
        checks = [CheckResult("lambda_active", "3 functions", Status.PASS, "3 of 3 Active",
                              (Evidence("lambda:GetFunction x3", {"Active": 3}),)).to_dict(),
                  CheckResult("incidents", "sit", Status.PASS, "no open P0/P1").to_dict()]
        failures = [e.overall.message for e in evaluations if e.outcome.value == "Failed"]
        store.append_event(
            release=RELEASE, env="sit", run_id=soak.id, step_key=f"soak.sit.checkpoint.{i}", at=evaluated,
            kind="checkpoint", subject=f"sit checkpoint {i} of 8", outcome="fail" if failures else "pass",
            data={"env": "sit", "index": i, "of": 8, "due_at": due.isoformat(), "evaluated_at": evaluated.isoformat(),
                  "late": i in LATE, "window": {"start": start.isoformat(), "end": due.isoformat()},
                  "criteria": [e.to_dict() for e in evaluations], "checks": checks, "failures": failures,
                  "added_by_a_newer_writer": {"ignored": True}})
    store.append_event(release=RELEASE, env="sit", run_id=soak.id, kind="soak", subject="sit soak", outcome="fail",
                       at=T0 + timedelta(hours=48),
                       data={"env": "sit", "checkpoints": 8, "passed": 5, "failed_at": FAILING_CHECKPOINT,
                             "reasons": ["checkpoint 6 failed: error_rate on product-get"]})
    store.set_run(soak.id, T0 + timedelta(hours=48), status="failed", reason="checkpoint 6 failed", ended=True)

    store.open_incident(RELEASE, "sit", "P1", "product-get 5xx burst", T0 + timedelta(hours=30))
    store.resolve_incident(1, T0 + timedelta(hours=33))
    store.add_approval(RELEASE, "prod", "go_no_go", "alice", "devops", "soak reviewed", T0 + timedelta(hours=47))
    # `golive gate go_no_go --env prod` run on its own, outside any run.
    store.append_event(release=RELEASE, env="prod", kind="gate", subject="go_no_go", outcome="NO-GO",
                       at=T0 + timedelta(hours=48, minutes=5),
                       data={"gate": "go_no_go", "env": "prod",
                             "items": [{"name": n, "ok": ok, "detail": d, "evidence": {"n": k}}
                                       for k, (n, ok, d) in enumerate(GATE_ITEMS)],
                             "reasons": [d for _, ok, d in GATE_ITEMS if not ok]})

    start = T0 + timedelta(hours=49)
    specs_ = [StepSpec("prerequisites", "prerequisites", "checks", "prerequisites in prod (report only)", "pre", "pre", {}),
              StepSpec("deploy.product_lambda", "deploy", "deploy", "deploy product_lambda", "batch.apis", "p", {}),
              StepSpec("canary.product_lambda", "deploy", "canary", "canary product_lambda: 10% → 50% → 100%",
                       "batch.apis", "p", {}),
              StepSpec("canary.order_lambda", "deploy", "canary", "canary order_lambda: 10% → 50% → 100%",
                       "batch.apis", "o", {}),
              StepSpec("validation", "validation", "checks", "post-deployment validation", "validation", "v", {"env": "prod"})]
    run = store.create_run(RELEASE, "prod", "release", "d", specs_, start, meta={})
    store.append_event(release=RELEASE, env="prod", run_id=run.id, kind="run", subject="release", outcome="started",
                       at=start, data={"version": VERSION, "skip_gate": "hotfix window agreed"})
    steps = {s.key: s for s in store.steps(run.id)}

    def event(kind: str, subject: str, outcome: str, minutes: float, data: dict[str, object],
              step: str | None = None) -> None:
        store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key=step, kind=kind, subject=subject,
                           outcome=outcome, at=start + timedelta(minutes=minutes), data=data)

    for check, status in (("vpc", Status.PASS), ("github_secrets", Status.WARN)):
        event("check", f"{check} prod", status.value, 1,
              CheckResult(check, "prod", status, f"{check}: {status.value}").to_dict(), "prerequisites")
    store.update_step(steps["prerequisites"].id, status="done", result={"summary": "1 warning (action required)"})
    event("step", "prerequisites in prod (report only)", "warn", 2, {"summary": "1 warning (action required)"},
          "prerequisites")
    # The shapes golive.steps.canary writes: versions per function, shifts, analyses, a rollback event.
    product_versions = {f: {"stable": "6", "canary": "7"} for f in FUNCTIONS[:2]}
    event("canary", "product_lambda", "versions", 9, {"project": "product_lambda", "versions": product_versions},
          "canary.product_lambda")
    for w, minutes in ((10, 10), (50, 21), (100, 27)):
        event("canary", "product_lambda", "promoted" if w == 100 else "shifted", minutes,
              {"project": "product_lambda", "weight": float(w), "versions": product_versions}, "canary.product_lambda")
    event("canary", "product_lambda", "pass", 27, {"summary": "product_lambda promoted", "project": "product_lambda",
                                                   "versions": product_versions}, "canary.product_lambda")
    quiet = VersionSeries("order:live@3", [200.0] * 10, counts={"errors": [0.0] * 10})
    bad = VersionSeries("order:live@4", [22.0] * 10, counts={"errors": [2.0] * 10})
    judgement = judge(bad, quiet, final=False).to_dict()
    order_versions = {"2-1-bbws-tf-order-create": {"stable": "3", "canary": "4"}}
    event("canary", "order_lambda", "shifted", 30, {"project": "order_lambda", "weight": 10.0, "bake_s": 600.0,
                                                    "versions": order_versions}, "canary.order_lambda")
    reason = "judge: critical metric errors failed on order:live@4"
    event("canary", "order_lambda", "analysis", 32, {"project": "order_lambda", "judgement": judgement, "verdict": "fail",
                                                     "reason": reason, "triggers": []}, "canary.order_lambda")
    event("rollback", "order_lambda", "rolled_back", 33,
          {"project": "order_lambda", "reason": reason, "seconds": 4.2, "from_weight": 10.0, "region": "af-south-1",
           "functions": [{"function": "2-1-bbws-tf-order-create", "alias": "live", "version": "3", "weights": {}}]},
          "canary.order_lambda")
    for url, status in (("https://api.example.test/v1.0/products/health", Status.PASS),
                        ("https://api.example.test/v1.0/orders/health", Status.FAIL)):
        event("check", f"http {url}", status.value, 34, CheckResult("http", url, status, f"GET {url}: "
                                                                   f"{'200' if status is Status.PASS else '503'}").to_dict(),
              "validation")
    event("availability", "https://api.example.test/v1.0/orders/health", "measured", 35,
          {"url": "https://api.example.test/v1.0/orders/health", "probes": 200, "up": 197, "availability": 0.985})
    store.update_step(steps["canary.order_lambda"].id, status="failed", result={"reason": reason})
    event("step", "canary order_lambda: 10% → 50% → 100%", "fail", 33, {"reason": reason}, "canary.order_lambda")
    store.set_run(run.id, start + timedelta(minutes=36), status="rolled_back",
                  reason=f"canary order_lambda: {reason}", ended=True)
    return soak.id, run.id


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int, int]:
    path: Path = tmp_path_factory.mktemp("report") / "state.db"
    store = Store.open(f"sqlite:///{path}")
    soak_id, run_id = _fill(store)
    return store, soak_id, run_id


def test_the_latest_run_is_reported_with_the_separate_soak(filled: tuple[Store, int, int]) -> None:
    store, soak_id, run_id = filled
    report = build(store, None, RELEASE)
    assert report.run_id == run_id
    assert report.version == VERSION
    assert report.status == "rolled_back"
    assert [s.run_id for s in report.soaks] == [soak_id]
    soak = report.soaks[0]
    assert [c.index for c in soak.checkpoints] == list(range(1, 9))
    assert {c.index for c in soak.checkpoints if c.late} == LATE
    assert soak.verdict == "fail" and soak.failed_at == FAILING_CHECKPOINT
    failing = [(c.index, cell.criterion, cell.scope) for c in soak.checkpoints for cell in c.cells if cell.failed]
    assert failing == [(FAILING_CHECKPOINT, "error_rate < 0.1%", BAD_FUNCTION)]
    assert report.duration_s == 36 * 60


def test_markdown_has_the_checkpoint_table_with_the_failing_value_and_threshold(filled: tuple[Store, int, int]) -> None:
    store, _, _ = filled
    text = render(store, None, RELEASE, "md")
    header = next(line for line in text.splitlines() if line.startswith("| checkpoint |"))
    assert all(c in header for c in CRITERIA)
    row6 = next(line for line in text.splitlines() if line.startswith(f"| {FAILING_CHECKPOINT} of 8 |"))
    assert "**2.1% (< 0.1%) ✗ Failed, worst 2-1-bbws-tf-product-get-sit**" in row6
    row4 = next(line for line in text.splitlines() if line.startswith("| 4 of 8 |"))
    assert "| late, evaluated Tue 13:00 |" in row4 and "✗" not in row4
    assert "**NO-GO**" in text and "no approval by role tech_lead" in text
    assert "alice" in text and "product-get 5xx burst" in text
    assert "4.2 s" in text and "order_lambda (af-south-1): rolled_back" in text
    assert "98.5%" in text


def test_json_round_trips_and_carries_the_gate_reasons(filled: tuple[Store, int, int]) -> None:
    store, _, run_id = filled
    text = render(store, run_id, RELEASE, "json")
    data = json.loads(text)
    assert data == build(store, run_id, RELEASE).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    gate = data["gates"][0]
    assert gate["decision"] == "NO-GO"
    assert gate["reasons"] == [d for _, ok, d in GATE_ITEMS if not ok]
    cell = data["soaks"][0]["checkpoints"][FAILING_CHECKPOINT - 1]["cells"][0]
    assert cell["value"] == pytest.approx(0.021) and cell["threshold"] == pytest.approx(0.001)
    order = data["canaries"][1]
    assert [s["outcome"] for s in order["steps"]] == ["shifted", "analysis", "rolled_back"]
    assert order["steps"][1]["judgement"]["outcome"] == "Failed"
    assert order["steps"][0]["stable"] == "3" and order["steps"][0]["canary"] == "4"
    assert data["rollbacks"][0]["functions"] == ["2-1-bbws-tf-order-create"]
    product = data["canaries"][0]
    assert [s["outcome"] for s in product["steps"]] == ["versions", "shifted", "shifted", "promoted"]


def test_junit_is_valid_with_one_case_per_checkpoint_criterion_gate_item_decision_and_check(
        filled: tuple[Store, int, int]) -> None:
    store, _, _ = filled
    root = ET.fromstring(render(store, None, RELEASE, "junit"))
    cases = root.findall(".//testcase")
    # canary decisions: promoted, rolled back; 2 prerequisite checks; 2 validation checks
    expected = 8 * len(CRITERIA) + len(GATE_ITEMS) + 2 + 2 + 2
    assert len(cases) == expected
    assert root.get("tests") == str(expected)
    failed = {c.get("name"): c.find("failure").get("message") for c in cases if c.find("failure") is not None}
    rolled_back = "order_lambda (af-south-1): rolled_back at 10%"  # at the weight it had reached, not 0%
    assert set(failed) == {f"checkpoint {FAILING_CHECKPOINT} of 8: error_rate < 0.1%", "go_no_go: soak.sit",
                           "go_no_go: approval tech_lead", rolled_back,
                           "http https://api.example.test/v1.0/orders/health"}
    assert root.get("failures") == str(len(failed))
    assert "2.1%" in failed[f"checkpoint {FAILING_CHECKPOINT} of 8: error_rate < 0.1%"]
    assert BAD_FUNCTION in failed[f"checkpoint {FAILING_CHECKPOINT} of 8: error_rate < 0.1%"]
    assert "critical metric errors failed" in failed[rolled_back]
    assert {s.get("name") for s in root.findall("testsuite")} >= {"checks prerequisites", "validation", "canary"}


def test_html_is_self_contained_with_a_chart_per_criterion(filled: tuple[Store, int, int]) -> None:
    store, _, _ = filled
    text = render(store, None, RELEASE, "html")
    assert re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text) is None
    assert "<script" not in text and "<link" not in text and "url(" not in text and "@import" not in text
    assert "http://www.w3.org" not in text
    svgs = re.findall(r'<svg class="soak-chart".*?</svg>', text, flags=re.S)  # the canary charts come after
    assert len(svgs) == len(CRITERIA)
    for svg, criterion in zip(svgs, CRITERIA, strict=True):
        assert criterion.replace("<", "&lt;") in svg
        assert svg.count('class="threshold"') == 1
        assert svg.count('class="point') == 8
    error_chart = svgs[0]
    assert error_chart.count('class="point failed') == 1
    assert "2.1%" in error_chart
    assert all('class="point failed' not in svg for svg in svgs[1:])
    assert text.count('<td class="fail"') >= 1


def test_an_older_soak_of_the_same_env_is_kept_and_marked_superseded(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    ids = []
    for n in range(2):
        run = store.create_run(RELEASE, "sit", "soak", "d", [], T0 + timedelta(days=n), meta={"version": VERSION})
        store.append_event(release=RELEASE, env="sit", run_id=run.id, kind="checkpoint", subject="sit checkpoint 1 of 8",
                           outcome="pass", at=T0 + timedelta(days=n, hours=6), data={"env": "sit", "index": 1, "of": 8})
        # One active soak per environment (the store's constraint): each ends before the next starts.
        store.set_run(run.id, T0 + timedelta(days=n, hours=7), status="aborted", reason="restarted", ended=True)
        ids.append(run.id)
    other = store.create_run(RELEASE, "sit", "soak", "d", [], T0 + timedelta(days=3), meta={"version": "v0.9"})
    store.append_event(release=RELEASE, env="sit", run_id=other.id, kind="checkpoint", subject="sit checkpoint 1 of 8",
                       outcome="fail", at=T0 + timedelta(days=3), data={"env": "sit"})
    report = build(store, ids[1], RELEASE)
    assert [(s.run_id, s.superseded_by) for s in report.soaks] == [(ids[0], ids[1]), (ids[1], None)]
    root = ET.fromstring(render(store, ids[1], RELEASE, "junit"))
    assert len(root.findall(".//testcase")) == 0  # checkpoints without criteria yield no case


def test_unknown_release_run_and_format_are_usage_errors(filled: tuple[Store, int, int]) -> None:
    store, _, _ = filled
    with pytest.raises(UnknownNameError, match="release 'nope'"):
        render(store, None, "nope", "md")
    with pytest.raises(UnknownNameError, match="run '999'"):
        render(store, 999, RELEASE, "md")
    with pytest.raises(UsageError, match="unknown report format"):
        render(store, None, RELEASE, "pdf")


def test_odd_outcomes_become_errors_skips_and_a_checks_case_never_a_green_failed_checkpoint(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "sit", "soak", "d", [], T0, meta={})
    criteria = [
        {"criterion": {"text": "error_rate < 0.1%", "unit": "fraction", "op": "<"},
         "overall": {"outcome": "Error", "value": None, "threshold": 0.001, "message": "metrics unavailable: timeout"}},
        {"criterion": {"text": "p95_duration < 2s"},
         "overall": {"outcome": "Inconclusive", "value": None, "message": "no Duration datapoints in the window"}},
        {"criterion": {"text": "throttles == 0", "unit": "number", "op": "=="},
         "overall": {"outcome": "Failed", "value": 3.0, "threshold": 0.0, "dry_run": True, "message": "throttles = 3"}},
        "concurrent < 900",
    ]
    store.append_event(release=RELEASE, env="sit", run_id=run.id, kind="checkpoint", subject="sit checkpoint 2 of 8",
                       outcome="fail", at=T0, data={"env": "sit", "criteria": criteria, "late": "yes",
                                                    "failures": ["incident 7 (P1) is open"], "window": "garbage"})
    store.append_event(release=RELEASE, env="sit", run_id=run.id, kind="checkpoint", subject="sit checkpoint 3 of 8",
                       outcome="skip", at=T0 + timedelta(hours=18),
                       data={"summary": "skipped: the soak failed at checkpoint 2", "skipped": True})
    report = build(store, None, RELEASE)
    checkpoint = report.soaks[0].checkpoints[0]
    assert (checkpoint.index, checkpoint.of, checkpoint.late) == (2, 8, True)
    root = ET.fromstring(render(store, None, RELEASE, "junit"))
    assert (root.get("tests"), root.get("errors"), root.get("skipped"), root.get("failures")) == ("5", "1", "2", "1")
    failure = root.find(".//testcase[@name='checkpoint 2 of 8: checks']/failure")
    assert failure is not None and failure.get("message") == "incident 7 (P1) is open"
    page = render(store, None, RELEASE, "html")
    assert page.count("<svg") == 4
    assert 'class="point error"' in page and 'class="point inconclusive"' in page
    row = next(line for line in render(store, None, RELEASE, "md").splitlines() if line.startswith("| 2 of 8 |"))
    assert "| 3 (== 0) ✗ Failed (dry run)" in row and "**" not in row  # shown, not flagged as failing
    skipped = next(line for line in render(store, None, RELEASE, "md").splitlines() if line.startswith("| 3 of 8 |"))
    assert "| skip |" in skipped and "pass" not in skipped


def test_a_run_without_events_still_renders_every_format(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "prod", "release", "d", [], T0, meta={"version": VERSION})
    for fmt in ("md", "html", "json", "junit"):
        text = render(store, run.id, RELEASE, fmt)
        assert RELEASE in text
    assert json.loads(render(store, run.id, RELEASE, "json"))["ended_at"] is None
    assert ET.fromstring(render(store, run.id, RELEASE, "junit")).get("tests") == "0"


def test_secrets_never_reach_the_report(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "prod", "release", "d", [], T0, meta={})
    token = "ghp_" + "a1B2c3D4e5" * 4
    store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key="validation", kind="check",
                       subject="command smoke", outcome="fail", at=T0,
                       data={"check": "command", "target": "smoke", "status": "fail",
                             "summary": f"exit 1: token {token} rejected, db password hunter22x"})
    redactor = Redactor(["hunter22x"])
    for fmt in ("md", "html", "json", "junit"):
        text = render(store, run.id, RELEASE, fmt, redact=redactor)
        assert token not in text and "hunter22x" not in text
        assert "***" in text


def test_a_preflight_run_counts_its_failed_checks_in_junit(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "prod", "preflight", "d",
                           [StepSpec("prerequisites", "prerequisites", "checks", "prerequisites in prod", "pre", "pre", {})],
                           T0, meta={"version": VERSION})
    results = [CheckResult("vpc", "10.3.0.0/16", Status.PASS, "found"),
               CheckResult("iam_role", "deploy-role", Status.FAIL, "no role deploy-role"),
               CheckResult("github_secrets", "order", Status.FAIL, "AWS_ROLE_PROD missing")]
    for result in results:
        store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key="prerequisites", kind="check",
                           subject=f"{result.check} {result.target}", outcome=result.status.value, at=T0,
                           data=result.to_dict())
    step = store.steps(run.id)[0]
    store.update_step(step.id, status="failed", result={"reason": "2 checks failed"})
    store.set_run(run.id, T0 + timedelta(minutes=1), status="failed", reason="2 checks failed", ended=True)
    root = ET.fromstring(render(store, run.id, RELEASE, "junit"))
    assert (root.get("tests"), root.get("failures")) == ("3", "2")
    failed = {c.get("name") for c in root.findall(".//testcase") if c.find("failure") is not None}
    assert failed == {"iam_role deploy-role", "github_secrets order"}


def test_a_failed_step_no_check_tells_of_is_a_failure_case(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "prod", "deploy", "d",
                           [StepSpec("deploy.order_lambda", "deploy", "deploy", "deploy order_lambda", "batch.apis", "o", {})],
                           T0, meta={"version": VERSION})
    store.update_step(store.steps(run.id)[0].id, status="failed", result={"reason": "sam deploy exited 1: no stack"})
    root = ET.fromstring(render(store, run.id, RELEASE, "junit"))
    assert (root.get("tests"), root.get("failures")) == ("1", "1")
    failure = root.find(".//testcase[@name='deploy order_lambda']/failure")
    assert failure is not None and "sam deploy exited 1" in (failure.get("message") or "")


def test_dr_canaries_are_their_own_rows_with_their_region(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    keys = [f"canary.{p}{s}" for s in ("", "@dr") for p in ("product_lambda", "order_lambda", "campaigns_lambda")]
    run = store.create_run(RELEASE, "prod", "release", "d",
                           [StepSpec(k, "dr" if "@dr" in k else "deploy", "canary", k, "g", k, {}) for k in keys],
                           T0, meta={"version": VERSION})
    for n, key in enumerate(keys):
        project = key.removeprefix("canary.").removesuffix("@dr")
        region = "eu-west-1" if "@dr" in key else "af-south-1"
        at = T0 + timedelta(minutes=10 * n)
        store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key=key, kind="canary", subject=project,
                           outcome="versions", at=at, data={"project": project, "region": region,
                                                            "versions": {"f": {"stable": "1", "canary": "2"}}})
        store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key=key, kind="canary", subject=project,
                           outcome="promoted", at=at + timedelta(minutes=5), data={"project": project, "weight": 100.0})
    report = build(store, run.id, RELEASE)
    assert [(c.project, c.region) for c in report.canaries] == [
        ("product_lambda", "af-south-1"), ("order_lambda", "af-south-1"), ("campaigns_lambda", "af-south-1"),
        ("product_lambda", "eu-west-1"), ("order_lambda", "eu-west-1"), ("campaigns_lambda", "eu-west-1")]
    headings = [line for line in render(store, run.id, RELEASE, "md").splitlines() if line.startswith("### ")]
    assert len(headings) == 6 and "### order_lambda (eu-west-1): promoted" in headings
    assert render(store, run.id, RELEASE, "html").count("<h3>order_lambda (eu-west-1)") == 1
    names = {c.get("name") for c in ET.fromstring(render(store, run.id, RELEASE, "junit")).findall(".//testcase")}
    assert "campaigns_lambda (eu-west-1): promoted at 100%" in names and len(names) == 6


def test_a_rollback_before_any_shift_is_at_0_and_one_mid_bake_at_its_weight(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run = store.create_run(RELEASE, "prod", "release", "d", [], T0, meta={"version": VERSION})

    def event(key: str, kind: str, outcome: str, data: dict[str, object]) -> None:
        store.append_event(release=RELEASE, env="prod", run_id=run.id, step_key=key, kind=kind,
                           subject=str(data["project"]), outcome=outcome, at=T0, data=data)

    event("canary.order_lambda", "canary", "shifted", {"project": "order_lambda", "weight": 50.0})
    event("canary.order_lambda", "rollback", "rolled_back", {"project": "order_lambda", "reason": "trigger"})
    event("canary.product_lambda", "rollback", "rolled_back",
          {"project": "product_lambda", "reason": "P0 open", "from_weight": None})
    weights = {c.project: c.steps[-1].weight for c in build(store, run.id, RELEASE).canaries}
    assert weights == {"order_lambda": 50.0, "product_lambda": 0.0}


def test_a_soak_that_failed_inside_a_release_run_is_a_failed_phase(tmp_path: Path) -> None:
    from golive.runs.status import run_status

    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    specs = [StepSpec("soak.sit.checkpoint.1", "soak", "soak_checkpoint", "sit checkpoint 1", "soak.sit", "s", {}),
             StepSpec("soak.sit.end", "soak", "soak_end", "sit soak verdict", "soak.sit", "s", {}),
             StepSpec("gate.go_no_go", "gate", "gate", "go_no_go", "gate.go_no_go", "g", {})]
    run = store.create_run(RELEASE, "prod", "release", "d", specs, T0, meta={})
    steps = {s.key: s for s in store.steps(run.id)}
    # What golive.steps.soak records: both steps done (the run goes on to its gate), their verdict failing.
    store.update_step(steps["soak.sit.checkpoint.1"].id, status="done",
                      result={"summary": "checkpoint 1 of 1: FAIL: error_rate", "failures": ["error_rate"]})
    store.update_step(steps["soak.sit.end"].id, status="done",
                      result={"summary": "sit soak FAILED at checkpoint 1 of 1", "failed_at": 1, "reasons": []})
    store.update_step(steps["gate.go_no_go"].id, status="done", result={"summary": "NO-GO"})
    phases = {p["phase"]: p["status"] for p in run_status(store, store.get_run(run.id), T0)["phases"]}
    assert phases == {"soak": "failed", "gate": "done"}

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("report")
