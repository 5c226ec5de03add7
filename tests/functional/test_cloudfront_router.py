"""The CloudFront router against the sandbox's moto server over HTTP: staging copy, header, weights, promotion, restore."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from golive.analysis.metrics import Scope, SeriesRequest
from golive.clock import VirtualClock
from golive.errors import UsageError
from golive.providers.aws import Aws
from golive.providers.cloudfront import distribution_by_comment, distributions
from golive.routers.base import NothingNew, Variants
from golive.routers.cloudfront import CloudFrontRouter, Promoted, resolve_distribution
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.faults import parse_fault
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.site_traffic import Site, SiteTrafficSimulator, sites_by_comment

_accounts = itertools.count(230000000001)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = SandboxServer()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def aws(endpoint: str) -> Aws:
    return sandbox_aws(endpoint, str(next(_accounts)), "af-south-1")  # a fresh account: its own distributions


def _primary(aws: Aws, path: str = "/releases/v0.9.0", comment: str = "PROD Frontend", reference: str = "site") -> str:
    client = aws.client("cloudfront", region="us-east-1")
    config: Any = {
        "CallerReference": reference, "Comment": comment, "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": ["kimmyai.io"]},
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "site.s3.amazonaws.com", "OriginPath": path,
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    }
    return str(client.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def _config(aws: Aws, distribution: str) -> tuple[dict[str, Any], str]:
    answer = aws.client("cloudfront", region="us-east-1").get_distribution_config(Id=distribution)
    return answer["DistributionConfig"], answer["ETag"]


def _router(aws: Aws, primary: str) -> CloudFrontRouter:
    return CloudFrontRouter(lambda: aws, primary, "/releases/v1.0.0")


def test_discover_copies_a_staging_distribution_with_the_new_build_and_leaves_the_primary_alone(aws: Aws) -> None:
    primary = _primary(aws)
    before = _config(aws, primary)
    found = _router(aws, primary).discover()
    (v,) = found.changed
    assert (v.target, v.stable) == (primary, primary) and v.canary != primary
    staging, _ = _config(aws, v.canary)
    assert staging["Staging"] is True
    assert staging["Origins"]["Items"][0]["OriginPath"] == "/releases/v1.0.0"
    assert _config(aws, primary) == before
    again = _router(aws, primary).discover()  # a second run finds the same copy, makes no other
    assert again.changed == found.changed
    items = aws.client("cloudfront", region="us-east-1").list_distributions()["DistributionList"]["Items"]
    assert sorted(i["Id"] for i in items) == sorted([primary, v.canary])


def test_header_then_weights_then_promotion_each_read_back(aws: Aws) -> None:
    primary = _primary(aws)
    router = _router(aws, primary)
    variants = router.discover().changed
    (header,) = router.route_header(variants)
    assert header.weight == 0 and header.detail["type"] == "SingleHeader" and header.detail["enabled"]
    assert header.detail["header"] == "aws-cf-cd-golive"
    for weight in (5.0, 15.0):
        (split,) = router.set_weight(variants, weight)
        assert split.weight == weight and split.detail["type"] == "SingleWeight"
        assert router.split(variants)[0].weight == weight
    (done,) = router.promote(variants)
    assert done.weight == 100.0 and done.detail["enabled"] is False
    config, _ = _config(aws, primary)
    assert config["Origins"]["Items"][0]["OriginPath"] == "/releases/v1.0.0"
    assert config["Aliases"]["Items"] == ["kimmyai.io"] and config["Staging"] is False
    assert config["ContinuousDeploymentPolicyId"] == done.detail["policy"]


def test_a_weight_above_15_percent_is_refused_before_any_call(aws: Aws) -> None:
    primary = _primary(aws)
    router = _router(aws, primary)
    variants = router.discover().changed
    with pytest.raises(UsageError, match=r"at most 15% .*20% cannot be set"):
        router.set_weight(variants, 20.0)
    assert router.split(variants)[0].detail["policy"] is None
    assert router.max_weight == 15.0


def test_restore_disables_the_policy_and_leaves_the_primary_untouched(aws: Aws) -> None:
    primary = _primary(aws)
    router = _router(aws, primary)
    variants = router.discover().changed
    router.set_weight(variants, 5.0)
    before = _config(aws, primary)
    seconds, (split,) = router.restore(variants)
    assert seconds >= 0 and split.weight == 0.0 and split.detail["enabled"] is False
    assert _config(aws, primary) == before  # same configuration, same ETag: only the policy changed
    assert split.detail["primary_origin_path"] == "/releases/v0.9.0"
    assert router.restore(variants)[1][0].weight == 0.0  # idempotent


def test_a_promoted_site_is_not_said_restored(aws: Aws) -> None:
    primary = _primary(aws)
    router = _router(aws, primary)
    variants = router.discover().changed
    router.set_weight(variants, 5.0)
    router.promote(variants)
    with pytest.raises(Promoted, match=r"was promoted: it serves /releases/v1\.0\.0 itself"):
        router.restore(variants)


def test_nothing_new_when_the_primary_already_serves_the_build(aws: Aws) -> None:
    primary = _primary(aws, path="/releases/v1.0.0")
    with pytest.raises(NothingNew, match=r"already serves /releases/v1\.0\.0"):
        _router(aws, primary).discover()


def test_the_primary_is_found_by_its_comment_not_its_staging_copy(aws: Aws) -> None:
    primary = _primary(aws, comment="PROD Frontend")
    _router(aws, primary).discover()
    assert resolve_distribution(aws, "CLOUDFRONT_DISTRIBUTION_ID_PROD", {"cloudfront_comment": "PROD Frontend"}) == primary
    with pytest.raises(UsageError, match="no CloudFront distribution has the comment 'Staging Frontend'"):
        resolve_distribution(aws, "CLOUDFRONT_DISTRIBUTION_ID_PROD", {"cloudfront_comment": "Staging Frontend"})


def test_metrics_are_the_two_distributions_requests_and_errors_from_their_rates(aws: Aws) -> None:
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    cw = aws.client("cloudwatch", region="us-east-1")
    data = []
    for minute in range(3):
        at = t0 + timedelta(minutes=minute)
        for dist, requests, rate in (("STAGE1", 50.0, 4.0), ("PRIME1", 950.0, 0.2)):
            dims = [{"Name": "Region", "Value": "Global"}, {"Name": "DistributionId", "Value": dist}]
            data += [{"MetricName": "Requests", "Dimensions": dims, "Timestamp": at, "Value": requests},
                     {"MetricName": "5xxErrorRate", "Dimensions": dims, "Timestamp": at, "Value": rate, "Unit": "Percent"}]
    cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=data)
    router = _router(aws, "PRIME1")
    ((canary, stable),) = router.scopes([Variants("PRIME1", "PRIME1", "STAGE1")])
    assert canary == Scope.distribution("STAGE1", "staging") and canary.label == "staging distribution STAGE1"
    source = router.metrics(VirtualClock(t0 + timedelta(minutes=5)), timedelta(minutes=1))
    wanted = [SeriesRequest(s, m, "Sum") for s in (canary, stable) for m in ("invocations", "errors")]
    fetched = source.fetch(wanted, t0, t0 + timedelta(minutes=3))
    assert fetched.error is None
    assert fetched.get(wanted[0]).total == 150.0
    assert fetched.get(wanted[1]).total == pytest.approx(6.0)  # 50 requests x 4% each minute
    assert fetched.get(wanted[3]).total == pytest.approx(5.7)  # 950 x 0.2% x 3
    assert {q["namespace"] for q in fetched.queries} == {"AWS/CloudFront"}
    assert {q["dimensions"]["Region"] for q in fetched.queries} == {"Global"}


def _site(account: str) -> SiteTrafficSimulator:
    return SiteTrafficSimulator(account, seed=7, sites=sites_by_comment(
        {"PROD Frontend": Site(frozenset({"web_public"}), rpm=600, error_rate=0.0002)}))


def _figures(router: CloudFrontRouter, variants: Sequence[Variants], start: datetime,
             end: datetime) -> dict[str, tuple[float, float]]:
    ((canary, stable),) = router.scopes(variants)
    source = router.metrics(VirtualClock(end + timedelta(minutes=5)), timedelta(minutes=1))
    wanted = {s.role or "": (SeriesRequest(s, "invocations", "Sum"), SeriesRequest(s, "errors", "Sum"))
              for s in (canary, stable)}
    fetched = source.fetch([r for pair in wanted.values() for r in pair], start, end)
    assert fetched.error is None
    return {role: (fetched.get(calls).total, fetched.get(errors).total) for role, (calls, errors) in wanted.items()}


def test_the_sites_viewers_follow_the_policy_and_a_deploy_fault_hurts_staging_only(aws: Aws) -> None:
    account = aws.target.account or ""
    primary = _primary(aws)
    router = _router(aws, primary)
    variants = router.discover().changed
    site = _site(account)
    t0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
    site.set_faults([parse_fault("web_public:error_rate=5%@deploy").resolve({"deploy": t0}) or _never()])
    router.route_header(variants)
    site.simulate(t0, t0 + timedelta(minutes=10))
    header = _figures(router, variants, t0, t0 + timedelta(minutes=10))
    assert 10 <= header["staging"][0] <= 80  # the smoke tests and probes only: a few requests a minute
    assert 5000 <= header["primary"][0] <= 7000  # every viewer
    router.set_weight(variants, 15.0)
    t1 = t0 + timedelta(minutes=10)
    site.simulate(t1, t1 + timedelta(minutes=20))
    weighted = _figures(router, variants, t1, t1 + timedelta(minutes=20))
    (staging_calls, staging_errors), (primary_calls, primary_errors) = weighted["staging"], weighted["primary"]
    assert staging_calls / (staging_calls + primary_calls) == pytest.approx(0.15, abs=0.01)
    assert staging_errors / staging_calls == pytest.approx(0.05, abs=0.01)
    assert primary_errors / primary_calls < 0.002
    router.restore(variants)
    t2 = t1 + timedelta(minutes=20)
    site.simulate(t2, t2 + timedelta(minutes=5))
    after = _figures(router, variants, t2, t2 + timedelta(minutes=5))
    assert after["staging"] == (0.0, 0.0) and after["primary"][0] > 2500


def _never() -> Any:
    raise AssertionError("the fault's anchor is known")


def _fillers(aws: Aws, count: int) -> list[str]:
    """``count`` other distributions of the account: a full first page of ``ListDistributions`` (100)."""
    return [_primary(aws, comment=f"other site {n}", reference=f"other-{n}") for n in range(count)]


def test_every_page_of_distributions_is_listed_and_the_site_is_found_on_the_second(aws: Aws) -> None:
    others = _fillers(aws, 100)
    site = _primary(aws, comment="PROD Frontend")  # the 101st: past CloudFront's first page
    first = aws.client("cloudfront", region="us-east-1").list_distributions()["DistributionList"]
    assert first["IsTruncated"] and site not in {i["Id"] for i in first.get("Items", [])}  # the premise
    assert [i["Id"] for i in distributions(aws)] == [*others, site]
    assert [i["Id"] for i in distributions(aws, page_size=7)] == [*others, site]  # 15 pages, same order
    assert distribution_by_comment(aws, "PROD Frontend") == site
    assert resolve_distribution(aws, "CLOUDFRONT_DISTRIBUTION_ID_PROD", {"cloudfront_comment": "PROD Frontend"}) == site
    assert distribution_by_comment(aws, "Staging Frontend") is None  # every page read, none has it


def test_a_staging_copy_past_the_first_page_is_found_again_not_copied_twice(aws: Aws) -> None:
    primary = _primary(aws)
    _fillers(aws, 100)
    router = _router(aws, primary)
    found = router.discover()  # the copy is the 102nd distribution
    (v,) = found.changed
    again = _router(aws, primary).discover()
    assert again.changed == found.changed
    router.route_header(found.changed)  # now found by the policy's staging DNS name, on the second page
    assert _router(aws, primary).discover().changed == found.changed
    assert sum(1 for i in distributions(aws) if i.get("Staging")) == 1
    assert sum(1 for _ in distributions(aws)) == 102 and v.canary != primary
