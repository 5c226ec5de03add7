"""Events as golive wrote them before typed evidence: (kind, outcome, subject, data), one per writer.

Copied from the writers on main before records existed (lambda_canary, rollback, basic, gates, soak,
release, runner, session, incidents, prep, deploy, uptime, alarm_baseline, serve/actions, dispatch_doubt),
so a test can show that each still reads back as its record, and writes back the same dict.
"""

from __future__ import annotations

from typing import Any

VERSIONS = {"order_fn": {"stable": "3", "canary": "4"}}
FUNCTION = {"function": "order_fn", "version": "3", "weights": {}, "seconds": 0.4}
CHECK = {"check": "github_secrets", "target": "org/orders", "status": "fail", "summary": "1 missing",
         "evidence": [{"asked": "GET secrets", "answered": {"secrets": [{"name": "DEPLOY_KEY", "status": "missing"},
                                                                      {"name": "TOKEN", "status": "present"}]}}]}
MEASUREMENT = {"criterion": "error_rate < 5%", "outcome": "Failed", "value": 0.08, "threshold": 0.05}

STORED: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("canary", "versions", "orders", {"project": "orders", "versions": VERSIONS, "region": None}),
    ("canary", "gate_blocked", "orders", {"project": "orders", "weight": 10.0, "next_weight": 25.0,
                                          "reason": "alarm orders-5xx fired"}),
    ("canary", "shifted", "orders", {"project": "orders", "weight": 10.0, "bake_s": 300.0, "versions": VERSIONS}),
    ("canary", "sample", "orders", {"project": "orders", "weight": 10.0,
                                    "lines": ["orders at 10%: trigger error_rate > 5% immediately: decides after 5m "
                                              "of the step's traffic (within the bake): 60 calls per minute"],
                                    "cannot_decide": []}),
    ("canary", "sample", "orders", {"project": "orders", "weight": 10.0, "lines": [], "cannot_decide": [],
                                    "error": "cloudwatch:GetMetricData: no answer"}),
    ("canary", "inconclusive", "orders", {"project": "orders", "weight": 10.0, "choice": "pause",
                                          "reason": "still inconclusive after extending the bake by 10 min",
                                          "until": "2026-01-10T12:30:00+00:00"}),
    ("canary", "inconclusive", "orders", {"project": "orders", "weight": 50.0, "choice": "promote",
                                          "reason": "AWS did not answer mid-bake"}),
    ("canary", "promoted", "orders", {"project": "orders", "weight": 100.0, "versions": VERSIONS}),
    ("canary", "analysis", "orders", {"project": "orders", "weight": 10.0, "window": {"start": "a", "end": "b"},
                                      "measurements": [MEASUREMENT], "judgement": {"outcome": "Failed"},
                                      "verdict": "fail", "reason": "judge: error rate 8% > 5%"}),
    ("canary", "analysis", "orders", {"project": "orders", "weight": 25.0, "triggers": [MEASUREMENT],
                                      "verdict": "fail", "reason": "alarm"}),
    ("canary", "analysis", "orders", {"project": "orders", "weight": 10.0, "triggers": [MEASUREMENT],
                                      "verdict": "inconclusive", "reason": "trigger error_rate < 5% has 128 of 300 calls",
                                      "line": "orders at 10%: waiting for data — trigger error_rate < 5% has 128 of "
                                              "300 calls (window grows to 5m)"}),
    ("canary", "promote_forced", "orders", {"project": "orders", "by": "ana", "why": "the judge is wrong"}),
    ("canary", "pass", "orders", {"summary": "orders promoted", "project": "orders", "versions": VERSIONS}),
    ("operator", "abort", "orders", {"by": None, "why": "golive rollback"}),
    ("operator", "promote", "orders", {"by": "ana", "why": "known noise"}),
    ("rollback", "rolled_back", "orders", {"project": "orders", "reason": "judge: error rate", "seconds": 0.41,
                                           "functions": [FUNCTION], "region": "eu-west-1", "from_weight": 25.0}),
    ("rollback", "rolled_back", "orders", {"project": "orders", "env": "prod", "functions": [FUNCTION],
                                           "alias_seconds": 0.4, "seconds": 1.2, "reason": "golive rollback"}),
    ("rollback", "rollback_failed", "orders", {"project": "orders", "reason": "batch failed",
                                               "error": "AWS did not answer"}),
    # One rollback (issue 23): every asker writes the same shape.
    ("rollback", "rolled_back", "orders", {"project": "orders", "reason": "canary.users failed", "region": "eu-west-1",
                                           "from_weight": 50.0, "versions": VERSIONS, "asked_by": "compensation",
                                           "seconds": 0.3, "functions": [FUNCTION]}),
    ("rollback", "rollback_failed", "orders", {"project": "orders", "reason": "golive rollback", "region": "eu-west-1",
                                               "from_weight": 10.0, "versions": VERSIONS, "asked_by": "operator",
                                               "error": "rollback not confirmed for order_fn"}),
    ("plan_change", "accepted", "release", {"why": "bake 10m was a typo", "from_digest": "ab12", "to_digest": "cd34",
                                            "refrozen": ["canary.orders"], "kept": ["gate.go_no_go"]}),
    ("rollback_command", None, "orders", {"project": "orders", "argv": ["./rollback.sh", "orders"], "exit_code": 0,
                                          "output": "done", "seconds": 2.5}),
    ("check", "fail", "github_secrets org/orders", {**CHECK, "project": "orders"}),
    ("check", "pass", "http https://x/health", {"check": "http", "target": "https://x/health", "status": "pass",
                                                "summary": "200", "evidence": []}),
    ("preflight", "warn", "preflight prod", {"summary": "action required", "total": 2, "passed": 1, "blocking": [],
                                             "fixable": ["github_secrets org/orders: 1 missing"], "unreachable": [],
                                             "results": [CHECK], "action": ["github_secrets org/orders: 1 missing"]}),
    ("gate", "NO-GO", "go_no_go", {"gate": "go_no_go", "env": "prod", "verdict": "NO-GO",
                                   "items": [{"name": "freeze", "ok": False, "detail": "frozen", "evidence": None}],
                                   "reasons": ["freeze: frozen"], "asked_by": "golive gate"}),
    ("gate", "GO", "go_no_go", {"summary": "go_no_go: GO", "gate": "go_no_go", "env": "prod", "verdict": "GO",
                                "items": [], "reasons": []}),
    ("approval", "approved", "go_no_go", {"by": "ana", "role": "qa", "note": None, "approval": 3}),
    ("override", "recorded", "skip-gate", {"why": "hotfix"}),
    ("override", "recorded", "freeze", {"why": "hotfix", "window": {"start": "a", "end": "b"}}),
    ("override", "recorded", "redispatch", {"project": "orders", "why": "lost", "correlation_id": "c1"}),
    ("run", "started", "release", {"version": "1.4.0", "steps": 12}),
    ("run", "failed", "release", {"reason": "canary.orders: rolled back"}),
    ("step", "fail", "deploy orders", {"reason": "workflow failed", "run_id": 7}),
    ("step", "pass", "uptime", {"summary": "availability 100%", "availability": {}}),
    ("checkpoint", "pass", "sit checkpoint 1 of 8", {
        "summary": "checkpoint 1 of 8: pass", "env": "sit", "index": 1, "of": 8, "due_at": "2026-01-09T19:00:00+00:00",
        "evaluated_at": "2026-01-09T19:00:05+00:00", "late": False, "window": {"start": "a", "end": "b"},
        "criteria": [{"criterion": {"text": "error_rate < 1%"}, "overall": MEASUREMENT}], "checks": [CHECK],
        "smoke": [], "failures": []}),
    ("soak", "fail", "sit soak", {"env": "sit", "checkpoints": 8, "passed": 2, "failed_at": 3,
                                  "reasons": ["error_rate: 8%"]}),
    ("deploy", "dispatched", "orders", {"project": "orders", "repo": "org/orders", "workflow": "deploy.yml",
                                        "ref": "main", "run_id": 41, "url": None}),
    ("deploy", "pass", "orders", {"summary": "deploy.yml run 41 succeeded", "project": "orders", "run_id": 41,
                                  "url": "https://github.com/org/orders/actions/runs/41", "status": "completed"}),
    ("secret", "set", "org/orders DEPLOY_KEY", {"repo": "org/orders", "name": "DEPLOY_KEY", "from": "env:DEPLOY_KEY"}),
    ("availability", None, "https://x/health", {"url": "https://x/health", "probes": 60, "up": 59,
                                                "availability": 0.9833, "observed_since": "2026-01-09T18:00:00"}),
    ("incident", "opened", "checkout down", {"id": 4, "severity": "P0", "title": "checkout down", "env": "prod",
                                             "scope": None, "source": None}),
    ("incident", "resolved", "checkout down", {"id": 4, "severity": "P0"}),
    ("alarms_at_start", "recorded", "release", {"alarms": {"prod": ["orders-5xx"]}}),
    ("web_action", "done", "approve", {"gate": "go_no_go", "by": "ana", "from": "127.0.0.1"}),
    ("terraform_plan", "data_changes", "schemas", {
        "project": "schemas", "sha256": "ab" * 32, "tag": "v1.0.0", "source": "plan-prod.yml run 7",
        "format_version": "1.2", "terraform_version": "1.9.8", "creates": 1, "updates": 0, "deletes": 0,
        "replaces": 1, "data_changes": [{"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table",
                                         "action": "replace"}], "approver": "data_owner"}),
    ("terraform_plan", "no_data_changes", "schemas", {
        "project": "schemas", "sha256": "cd" * 32, "source": "terraform show -json", "format_version": "1.0",
        "creates": 3, "updates": 0, "deletes": 0, "replaces": 0, "data_changes": [], "approver": "data_owner"}),
    ("plan_approval", "approved", "schemas", {"sha256": "ab" * 32, "role": "data_owner", "by": "dana",
                                              "gate": "go_no_go", "note": "tenants is empty in prod"}),
]
