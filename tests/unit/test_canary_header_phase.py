"""A site's canary phases with a fake router (no AWS): the header smoke before any weight, and its restore.

Reuses the phase tests' harness (``test_canary_phases``): the engine's step context over a real SQLite store,
a virtual clock, a fake router whose split lives in memory. The router here also routes by header, as
CloudFront's ``SingleHeader`` policy does: only the probes reach the canary, a few calls a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from test_canary_phases import ONE, FakeRouter, make, params  # noqa: F401  (make: the harness fixture)

from golive.analysis.metrics import Scope
from golive.engine.outcome import Done, Fail
from golive.routers.base import Split, Variants
from golive.steps import canary

SITE: dict[str, Any] = {"distribution": "CLOUDFRONT_DISTRIBUTION_ID_PROD", "origin_path": "/releases/v2",
                        "source": {"cloudfront_comment": "PROD Frontend"}}
STEPS = [{"weight": 0, "header": True, "bake_s": 120}, {"weight": 5, "bake_s": 120}, {"weight": 15, "bake_s": 120},
         {"weight": 100}]


@dataclass
class FakeSite(FakeRouter):
    header: bool = False

    @property
    def kind(self) -> str:
        return "cloudfront"

    def route_header(self, variants: Sequence[Variants]) -> list[Split]:
        self.header = True
        self.calls.append(("route_header", 0.0))
        return self._splits(variants)

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        self.header = False
        return super().set_weight(variants, weight)

    def per_minute(self, scope: Scope, metric: str, stat: str) -> float:
        if self.header and scope.version == "8":  # only requests with the header: the smoke tests and probes
            return 4.0 if metric == "invocations" else 0.0
        return super().per_minute(scope, metric, stat)


def site_params(**changes: Any) -> Any:
    return params(steps=STEPS, cloudfront=SITE, alias="", functions={},
                  analysis={"judge": True, "interval": 60, "delay": 60, "max_extension": 120}, **changes)


def test_the_header_step_comes_first_and_passes_on_the_probes_alone(make: Any) -> None:  # noqa: F811
    h = make(site_params())
    router = FakeSite(ONE)
    outcome = h.drive(router)
    assert isinstance(outcome, Done), outcome
    assert router.calls == [("route_header", 0.0), ("set_weight", 5.0), ("set_weight", 15.0), ("promote", 100.0)]
    header_looks = [a for a in h.records("analysis") if a["weight"] == 0.0]
    assert header_looks and all(a["verdict"] == "ok" and "judgement" not in a for a in header_looks)
    assert [r["weight"] for r in h.records("shifted")] == [0.0, 5.0, 15.0]
    assert [r["weight"] for r in h.records("sample")] == [5.0, 15.0]  # nothing sampled at the header step


def test_a_site_is_judged_on_errors_and_rolled_back_from_its_first_weight(make: Any) -> None:  # noqa: F811
    h = make(site_params(triggers=[]))
    router = FakeSite(ONE, canary_error_rate=0.05)
    outcome = h.drive(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back, outcome
    assert router.calls == [("route_header", 0.0), ("set_weight", 5.0), ("restore", 0.0)]
    assert "critical metric errors failed" in h.state["rollback_reason"]
    judged = [a for a in h.records("analysis") if a.get("judgement")]
    assert judged and {r["metric"] for a in judged for r in a["judgement"]["results"]} == {"errors"}


def test_a_compensation_after_the_header_step_restores(make: Any) -> None:  # noqa: F811
    h = make(site_params())
    router = FakeSite(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    canary.compensate(h.context(), h.p, "another lane failed", router)
    assert router.calls == [("route_header", 0.0), ("restore", 0.0)] and h.state["phase"] == "rolled_back"


def test_a_router_without_a_header_route_refuses_the_header_step(make: Any) -> None:  # noqa: F811
    h = make(site_params())
    outcome = h.drive(FakeRouter(ONE))
    assert isinstance(outcome, Fail) and "has no header step" in outcome.reason
