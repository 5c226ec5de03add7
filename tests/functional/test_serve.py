"""``golive serve`` over real HTTP: roles on approvals, CSRF, who and from where, closed reads, SSE, /metrics.

The server runs as a user starts it (``golive serve`` in a subprocess) on
the bundled bbws plan and a store prepared with the evidence a gate reads (a
passed SIT soak, a fresh preflight): only the approvals are missing, so the
gate's live verdict turns GO exactly when both roles approved.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from golive.examples import example_path
from golive.store.store import Store
from loopback import free_port
from serve_helpers import Served, login, users_file

PLAN = example_path("bbws")


def prepared(url: str) -> None:
    store = Store.open(url)
    now = datetime.now(UTC)
    store.append_event(release="bbws", env="prod", kind="soak", subject="sit soak", outcome="pass", at=now,
                       data={"env": "sit", "checkpoints": 8})
    store.append_event(release="bbws", env="prod", kind="preflight", subject="preflight prod", outcome="pass", at=now,
                       data={"blocking": [], "fixable": []})
    for project in ("dynamodb_schemas", "s3_schemas"):  # the schema plans the gate weighs: no data lost
        store.append_event(release="bbws", env="prod", kind="terraform_plan", subject=project,
                           outcome="no_data_changes", at=now,
                           data={"project": project, "sha256": "ab" * 32, "tag": "v1.0.0-prod", "creates": 3,
                                 "approver": "data_owner"})
    store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    prepared(url)
    server = Served(PLAN, url, free_port(), "--users", str(users_file(tmp_path)), log=tmp_path / "serve.log").start()
    try:
        yield server, url
    finally:
        server.stop()


def gate(base: str) -> dict[str, object]:
    doc = httpx.get(base + "/api/release/bbws", timeout=10).json()
    return next(g for g in doc["gates"] if g["gate"] == "go_no_go" and g["live"])


def test_tech_lead_approval_only_from_a_tech_lead_and_then_the_gate_is_go(served: tuple[Served, str]) -> None:
    server, url = served
    assert gate(server.url)["verdict"] == "NO-GO"
    dana, dana_csrf = login(server.url, "dana", "dana-pw")
    refused = dana.post("/api/actions/approve", json={"gate": "go_no_go", "env": "prod", "role": "tech_lead"},
                        headers={"X-CSRF-Token": dana_csrf})
    assert refused.status_code == 403
    assert "dana does not hold the role 'tech_lead'" in refused.json()["error"]
    no_csrf = dana.post("/api/actions/approve", json={"gate": "go_no_go", "env": "prod", "role": "devops"})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]
    ok = dana.post("/api/actions/approve", json={"gate": "go_no_go", "env": "prod", "role": "devops"},
                   headers={"X-CSRF-Token": dana_csrf})
    assert ok.status_code == 200, ok.text
    still = gate(server.url)
    assert still["verdict"] == "NO-GO"
    assert any("no approval by role tech_lead" in r for r in still["reasons"])  # type: ignore[attr-defined]

    tom, tom_csrf = login(server.url, "tom", "tom-pw")
    ok = tom.post("/api/actions/approve", json={"gate": "go_no_go", "env": "prod", "role": "tech_lead", "note": "on standby"},
                  headers={"X-CSRF-Token": tom_csrf})
    assert ok.status_code == 200, ok.text
    assert gate(server.url)["verdict"] == "GO"

    store = Store.open(url)
    approvals = [(a.by, a.role) for a in store.approvals("bbws", "prod", "go_no_go")]
    assert approvals == [("dana", "devops"), ("tom", "tech_lead")]
    actions = [(e.data["by"], e.data["from"], e.outcome, e.data.get("role")) for e in store.events(kind="web_action")]
    assert actions == [("dana", "127.0.0.1", "refused", "tech_lead"), ("dana", "127.0.0.1", "recorded", "devops"),
                       ("tom", "127.0.0.1", "recorded", "tech_lead")]
    store.close()
    assert httpx.post(server.url + "/api/actions/approve", json={"gate": "go_no_go", "role": "devops"}).status_code == 401
    bad = httpx.post(server.url + "/login", json={"user": "tom", "password": "wrong"})
    assert bad.status_code == 401


def test_metrics_and_the_event_stream_follow_the_store(served: tuple[Served, str]) -> None:
    server, url = served
    store = Store.open(url)
    store.append_event(release="bbws", env="prod", kind="canary", subject="product_lambda", outcome="shifted",
                       at=datetime.now(UTC), data={"project": "product_lambda", "weight": 10.0})
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'golive_canary_weight_percent{env="prod",project="product_lambda",release="bbws"} 10.0' in metrics
    assert "golive_outbox_backlog" in metrics
    with httpx.stream("GET", server.url + "/api/stream", timeout=10) as stream:
        lines = stream.iter_lines()
        cursors = []
        for line in lines:
            if line.startswith("data:"):
                cursors.append(line)
                if len(cursors) == 1:
                    store.append_event(release="bbws", env="prod", kind="canary", subject="product_lambda",
                                       outcome="shifted", at=datetime.now(UTC),
                                       data={"project": "product_lambda", "weight": 50.0})
                else:
                    break
    assert cursors[0] != cursors[1], "a new event moves the stream"
    assert 'project="product_lambda",release="bbws"} 50.0' in httpx.get(server.url + "/metrics", timeout=10).text
    store.close()


def test_behind_a_proxy_reads_need_a_login_or_token_and_the_forwarded_client_is_recorded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    prepared(url)
    server = Served(PLAN, url, free_port(), "--users", str(users_file(tmp_path, token="tok-123")), "--behind-proxy",
                    log=tmp_path / "serve.log").start()
    try:
        assert httpx.get(server.url + "/api/release/bbws").status_code == 401
        assert httpx.get(server.url + "/metrics").status_code == 401
        assert httpx.get(server.url + "/api/release/bbws", headers={"Authorization": "Bearer nope"}).status_code == 401
        bearer = {"Authorization": "Bearer tok-123", "X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # the proxy appended the last
        assert httpx.get(server.url + "/api/release/bbws", headers=bearer).status_code == 200
        ok = httpx.post(server.url + "/api/actions/incident_open", headers=bearer,
                        json={"severity": "P2", "title": "slow search", "env": "prod"})
        assert ok.status_code == 200, ok.text
        bad = httpx.post(server.url + "/api/actions/incident_open", headers=bearer, json={"severity": "P9", "title": "x"})
        assert bad.status_code == 400 and "severity" in bad.json()["error"]
    finally:
        server.stop()
    store = Store.open(url)
    assert [i.title for i in store.incidents("bbws")] == ["slow search"]
    assert [(e.data["by"], e.data["from"]) for e in store.events(kind="web_action")] == [("ci", "203.0.113.9")] * 2
    store.close()
    assert "warning" not in (tmp_path / "serve.log").read_text()


def test_a_rehearsal_store_is_judged_on_its_own_clock_not_the_servers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rehearsal.db'}"
    virtual = datetime(2026, 1, 7, 18, 40, tzinfo=UTC)  # a rehearsal's world starts months from the wall clock
    store = Store.open(url)
    run = store.create_run("bbws", "prod", "release", "x", [], virtual)
    store.append_event(release="bbws", env="prod", run_id=run.id, kind="soak", subject="sit soak", outcome="pass",
                       at=virtual, data={"env": "sit", "checkpoints": 8})
    store.append_event(release="bbws", env="prod", run_id=run.id, kind="preflight", subject="preflight prod",
                       outcome="pass", at=virtual + timedelta(minutes=5), data={"blocking": [], "fixable": []})
    store.close()
    server = Served(PLAN, url, free_port(), "--users", str(users_file(tmp_path)), log=tmp_path / "serve.log").start()
    try:
        tom, csrf = login(server.url, "tom", "tom-pw")  # stamped with the wall clock: must not move the run's clock
        assert tom.post("/api/actions/approve", json={"gate": "go_no_go", "role": "tech_lead"},
                        headers={"X-CSRF-Token": csrf}).status_code == 200
        doc = httpx.get(server.url + "/api/release/bbws", timeout=10).json()
    finally:
        server.stop()
    assert doc["now"] == (virtual + timedelta(minutes=5)).isoformat()
    live = next(g for g in doc["gates"] if g["gate"] == "go_no_go" and g["live"])
    preflight = next(i for i in live["items"] if i["name"] == "preflight")
    assert preflight["ok"], preflight
    assert not any("preflight" in r for r in live["reasons"]), live["reasons"]


def test_the_page_gets_canary_against_stable_and_checkpoint_series_from_the_recorded_analyses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    t0 = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
    run = store.create_run("bbws", "prod", "release", "x", [], t0)
    for i, (errors_ratio, p95_shift, error_rate) in enumerate([(1.2, 0.05, 0.4), (0.9, -0.02, 0.3)]):
        store.append_event(release="bbws", env="prod", run_id=run.id, step_key="canary.order_lambda", kind="canary",
                           subject="order_lambda", outcome="analysis", at=t0 + timedelta(minutes=i), data={
                               "verdict": "ok", "reason": "judge: no worse", "weight": 10.0,
                               "triggers": [{"criterion": "error_rate > 5%", "value": error_rate, "threshold": 5.0}],
                               "judgement": {"outcome": "successful", "results": [
                                   {"metric": "errors", "scope": "fn", "test": "conditional binomial test of two "
                                    "Poisson rates", "effect": errors_ratio, "low": None, "high": None,
                                    "n_canary": 100, "n_stable": 900, "outcome": "successful"},
                                   {"metric": "errors", "scope": "fn2", "test": "conditional binomial test of two "
                                    "Poisson rates", "effect": errors_ratio - 0.5, "outcome": "successful"},
                                   {"metric": "p95_duration", "scope": "fn", "test": "Mann-Whitney", "effect": p95_shift,
                                    "low": -0.1, "high": 0.1, "outcome": "successful"}]}})
        store.append_event(release="bbws", env="prod", run_id=run.id, kind="checkpoint", subject=f"sit checkpoint {i}",
                           outcome="pass", at=t0 + timedelta(hours=i),
                           data={"criteria": [{"criterion": "p95 < 800ms", "value": 500.0 + i, "outcome": "pass"}]})
    # As the soak step stores a criterion now: parsed under "criterion", measured over the window under "overall".
    store.append_event(release="bbws", env="prod", run_id=run.id, kind="checkpoint", subject="sit checkpoint 2",
                       outcome="pass", at=t0 + timedelta(hours=2), data={"env": "sit", "criteria": [
                           {"criterion": {"text": "p95 < 800ms", "unit": "seconds", "threshold": 0.8},
                            "overall": {"criterion": "p95 < 800ms", "value": 0.502, "threshold": 0.8,
                                        "outcome": "Successful"}}]})
    store.close()
    server = Served(PLAN, url, free_port(), log=tmp_path / "serve.log").start()
    try:
        doc = httpx.get(server.url + "/api/release/bbws", timeout=10).json()
    finally:
        server.stop()
    canary = next(c for c in doc["canaries"] if c["step"] == "canary.order_lambda")
    assert [(p["value"], p["threshold"]) for p in canary["triggers"]["error_rate > 5%"]] == [(0.4, 5.0), (0.3, 5.0)]
    errors = [round(p["value"], 6) for p in canary["versus"]["errors"]]
    assert errors == [20.0, -10.0], "the worst function's rate ratio, as canary against stable in percent"
    p95 = canary["versus"]["p95_duration"]
    assert [(round(p["value"], 6), round(p["low"], 6), round(p["high"], 6)) for p in p95] == \
        [(5.0, -10.0, 10.0), (-2.0, -10.0, 10.0)]
    assert [p["value"] for p in doc["checkpoint_series"]["prod: p95 < 800ms"]] == [500.0, 501.0]
    assert [(p["value"], p["threshold"], p["unit"]) for p in doc["checkpoint_series"]["sit: p95 < 800ms"]] == \
        [(0.502, 0.8, "seconds")]
    assert doc["checkpoints"][-1]["criteria"][0]["value"] == 0.502


def test_a_run_keeps_what_the_page_needs_of_its_plan_so_serve_needs_no_plan_file(tmp_path: Path) -> None:
    """A run started as ``golive run`` starts one carries the zone and the batches with their windows: a server
    started without ``-f`` shows them, the windows shaded on the timeline and the gate weighed from its step."""
    import yaml

    from golive.clock import VirtualClock
    from golive.plan.validate import load_plan_text
    from golive.runs.release import start_or_resume
    from golive.steps import planner

    data = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    data["timezone"] = "Africa/Johannesburg"
    data["batches"][0]["window"] = {"start": "2026-01-10 09:00", "end": "10:00"}
    plan = load_plan_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    start = datetime(2026, 1, 10, 5, 0, tzinfo=UTC)
    start_or_resume(store, plan, "prod", "release", lambda: planner.build_release(plan, "prod"), VirtualClock(start))
    store.close()
    server = Served(None, url, free_port(), log=tmp_path / "serve.log").start()
    try:
        doc = httpx.get(server.url + "/api/release/bbws", timeout=10).json()
    finally:
        server.stop()
    assert doc["timezone"] == "Africa/Johannesburg" and doc["abbreviations"] == {"120": "SAST"}
    assert [(b["name"], b["window"]) for b in doc["batches"]] == [
        ("foundation", {"start": "2026-01-10 09:00", "end": "10:00"}), ("backend", None), ("apis", None)]
    (timeline,) = doc["timelines"]
    assert [(w["label"], w["start"]) for w in timeline["windows"]] == [("batch foundation", "2026-01-10T07:00:00+00:00")]
    assert [b["label"] for b in timeline["bars"]][:3] == ["prerequisites", "soak", "gate"]
    # the run has not reached its gate: it is weighed now, from the gate step's frozen parameters
    assert [(g["gate"], g["live"], g["state"]) for g in doc["gates"]] == [("go_no_go", True, "NO-GO")]
