"""A site's CloudFront canary rehearsed end to end: the short bbws plan with web_public behind continuous deployment.

Header smoke, 5% → 15%, promotion; and ``web_public:error_rate=5%@deploy`` (the staging distribution serves a
bad build) rolled back by disabling the policy, the primary distribution untouched, the reason naming the
staging distribution's figures.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from golive.clock import parse_instant
from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse
from short_plan import write_short_plan

PROD_ACCOUNT = "093646564004"


def site_plan(folder: Path) -> Path:
    path = write_short_plan(folder)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["projects"]["web_public"]["rollout"] = {"cloudfront_canary": {
        "distribution": "CLOUDFRONT_DISTRIBUTION_ID_PROD", "origin_path": "/releases/{version}",
        "steps": [{"header": True, "bake": "3m"}, {"weight": 5, "bake": "3m"}, {"weight": 15, "bake": "3m"},
                  {"weight": 100}]}}
    data["sandbox"]["function_traffic"] = {"web_public": {"rpm": 6000, "error_rate": "0.02%"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _distributions() -> tuple[Any, dict[str, Any]]:
    """The sandbox's CloudFront in this process, after the rehearsal: (primary, {staging id: staging})."""
    from moto.cloudfront.models import cloudfront_backends

    backend = cloudfront_backends[PROD_ACCOUNT]["aws"]
    primaries = [d for d in backend.distributions.values() if not getattr(d.distribution_config, "Staging", False)]
    staging = {d.distribution_id: d for d in backend.distributions.values()
               if getattr(d.distribution_config, "Staging", False)}
    assert len(primaries) == 1 and len(staging) == 1
    return primaries[0], staging


def _policy(primary: Any) -> dict[str, Any]:
    from moto.cloudfront.models import cloudfront_backends

    backend = cloudfront_backends[PROD_ACCOUNT]["aws"]
    return dict(backend.policies[primary.distribution_config.ContinuousDeploymentPolicyId].config)


def _canary_steps(out: Path) -> list[dict[str, Any]]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (site,) = [c for c in report["canaries"] if c["project"] == "web_public"]
    return list(site["steps"])


def test_a_healthy_site_goes_header_then_5_then_15_then_promoted(tmp_path: Path) -> None:
    path = site_plan(tmp_path / "plan")
    result = rehearse(load_plan(path), path.parent, "prod", seed=7, out_dir=tmp_path / "out")
    assert result.status == "succeeded", result.reason
    shifted = [s["weight"] for s in _canary_steps(tmp_path / "out") if s["outcome"] in ("shifted", "promoted")]
    assert shifted == [0.0, 5.0, 15.0, 100.0]
    primary, _ = _distributions()
    assert primary.distribution_config.Origins["Items"][0].origin_path == "/releases/v1.0.0-prod"
    assert _policy(primary)["Enabled"] is False  # CloudFront disables the policy as it promotes
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "canary web_public (CloudFront): header → 5% → 15% → 100%" in markdown


def test_a_bad_build_on_staging_is_rolled_back_by_disabling_the_policy(tmp_path: Path) -> None:
    path = site_plan(tmp_path / "plan")
    result = rehearse(load_plan(path), path.parent, "prod", faults=["web_public:error_rate=5%@deploy"], seed=7,
                      out_dir=tmp_path / "out")
    assert result.status == "rolled_back", result.reason
    primary, staging = _distributions()
    (staging_id,) = staging
    assert f"critical metric errors failed on staging distribution {staging_id}: canary " in (result.reason or "")
    assert primary.distribution_config.Origins["Items"][0].origin_path == ""  # the primary serves what it served
    assert _policy(primary)["Enabled"] is False
    steps = _canary_steps(tmp_path / "out")
    first_weight = next(parse_instant(s["at"]) for s in steps if s["outcome"] == "shifted" and s["weight"] == 5.0)
    rolled = next(parse_instant(s["at"]) for s in steps if s["outcome"] == "rolled_back")
    assert rolled - first_weight <= timedelta(minutes=2), (first_weight, rolled)
