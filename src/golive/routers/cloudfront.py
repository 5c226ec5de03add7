"""The CloudFront router: a site's primary distribution split with a staging copy serving the new build.

CloudFront's continuous deployment (Amazon CloudFront Developer Guide, "Use CloudFront continuous deployment
to safely test CDN configuration changes") as a ``TrafficRouter`` (``routers/base.py``):

- ``discover``: the staging distribution, copied from the primary if there is none (``CopyDistribution``
  with ``Staging: true``, a ``CallerReference`` golive can find again), given the primary's configuration
  with the new build's origin path (``UpdateDistribution``); the primary already serving that path is
  ``NothingNew`` (did the deploy upload the build?);
- ``route_header``: a continuous deployment policy of type ``SingleHeader`` (a header named ``aws-cf-cd-...``),
  attached to the primary (``UpdateDistribution`` with ``ContinuousDeploymentPolicyId``): only requests that
  carry the header (the smoke tests, the health probes) reach the staging site, no viewer does;
- ``set_weight``: the policy as ``SingleWeight``, at most 15% (CloudFront's quota; ``max_weight``);
- ``promote``: ``UpdateDistributionWithStagingConfig`` (the primary takes the staging configuration, keeps
  its aliases and policy id; CloudFront disables the policy);
- ``restore``: the policy disabled (``Enabled: false``), the primary's configuration untouched.

Every write is read back (``GetContinuousDeploymentPolicy``, ``GetDistribution``) before it counts. The two
variants are distribution ids (stable: the primary, canary: the staging copy); their metrics are
AWS/CloudFront's in us-east-1 (``analysis/cloudfront_metrics.py``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from golive.analysis.cloudfront_metrics import CloudFrontSource
from golive.analysis.metrics import MetricSource, Scope
from golive.clock import Clock
from golive.errors import GoliveError, UsageError
from golive.providers.aws import Aws
from golive.providers.cloudfront import MAX_STAGING_WEIGHT, REGION, distribution_by_comment, distributions
from golive.routers.base import Discovery, NothingNew, Split, Variants, connected

KIND = "cloudfront"
MAX_WEIGHT = MAX_STAGING_WEIGHT
HEADER_PREFIX = "aws-cf-cd-"
DEFAULT_HEADER = "aws-cf-cd-golive"
CLOUDFRONT_REGION = REGION


class ReadBackMismatch(GoliveError):
    """CloudFront accepted a write but reads back something else: never counted as done."""


class Promoted(GoliveError):
    """A promoted site cannot be restored by its policy: the primary itself serves the new build."""


def staging_reference(primary: str) -> str:
    """The ``CallerReference`` golive copies a primary with, so a later run finds the same staging copy."""
    return f"golive-staging-{primary}"


@dataclass(frozen=True)
class CloudFrontRouter:
    """One site's primary distribution and the staging copy golive canaries its new build on.

    ``connect`` gives the environment's ``Aws`` when a call is made (``golive plan`` describes without any);
    ``distribution`` is the primary's id, or the name of the project's variable whose ``source`` finds it (the
    plan's ``CLOUDFRONT_DISTRIBUTION_ID_PROD: {cloudfront_comment: PROD Frontend}``), resolved by ``discover``.
    """

    connect: Callable[[], Aws] | None
    distribution: str
    origin_path: str  # the new build's path on the origin, e.g. /releases/v1.0.0
    origin: str | None = None  # the origin's Id; default the default cache behaviour's target
    header: str = DEFAULT_HEADER
    header_value: str = "smoke"
    source: Mapping[str, Any] | None = None  # where the variable's value comes from (None: ``distribution`` is an id)

    def __post_init__(self) -> None:
        if not self.header.lower().startswith(HEADER_PREFIX):
            raise UsageError(f"the staging header '{self.header}' must start with {HEADER_PREFIX} (CloudFront's rule)")

    @property
    def kind(self) -> str:
        return KIND

    @property
    def max_weight(self) -> float | None:
        return MAX_WEIGHT

    @property
    def restores_promoted(self) -> bool:
        return False

    @property
    def aws(self) -> Aws:
        return connected(self.connect)

    @property
    def _client(self) -> Any:
        return self.aws.client("cloudfront", region=CLOUDFRONT_REGION)

    def _call(self, what: str, **kwargs: Any) -> Any:
        client = self._client
        method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", what).lower())
        return self.aws.call(f"cloudfront:{what}", lambda: method(**kwargs), region=CLOUDFRONT_REGION)

    # -- reads ------------------------------------------------------------------
    def _config(self, distribution: str) -> tuple[dict[str, Any], str]:
        answer = self._call("GetDistributionConfig", Id=distribution)
        return dict(answer["DistributionConfig"]), str(answer["ETag"])

    def _distribution(self, distribution: str) -> tuple[dict[str, Any], str]:
        answer = self._call("GetDistribution", Id=distribution)
        return dict(answer["Distribution"]), str(answer["ETag"])

    def _policy(self, policy_id: str) -> tuple[dict[str, Any], str]:
        answer = self._call("GetContinuousDeploymentPolicy", Id=policy_id)
        return dict(answer["ContinuousDeploymentPolicy"]["ContinuousDeploymentPolicyConfig"]), str(answer["ETag"])

    def _origin_id(self, config: Mapping[str, Any]) -> str:
        return self.origin or str(config["DefaultCacheBehavior"]["TargetOriginId"])

    def _origin_path(self, config: Mapping[str, Any]) -> str:
        wanted = self._origin_id(config)
        for origin in config["Origins"].get("Items") or []:
            if origin["Id"] == wanted:
                return str(origin.get("OriginPath") or "")
        raise UsageError(f"distribution has no origin '{wanted}' (origins: "
                         f"{', '.join(o['Id'] for o in config['Origins'].get('Items') or [])})")

    def _find_staging(self, first: str, primary: Mapping[str, Any]) -> str | None:
        """The staging copy: the one the primary's policy names, else the one golive copied earlier."""
        policy_id = primary["DistributionConfig"].get("ContinuousDeploymentPolicyId")
        items = list(distributions(self.aws))  # every page: the copy may be past the first hundred
        if policy_id:
            policy, _ = self._policy(policy_id)
            names = set(policy.get("StagingDistributionDnsNames", {}).get("Items") or [])
            for item in items:
                if item.get("DomainName") in names:
                    return str(item["Id"])
        for item in items:
            if item.get("Staging") and item["Id"] != primary["Id"]:
                config, _ = self._config(item["Id"])
                if config.get("CallerReference") == staging_reference(first):
                    return str(item["Id"])
        return None

    # -- the protocol -----------------------------------------------------------
    def primary_id(self) -> str:
        """The primary distribution's id: the plan's literal id, or its variable's value found now."""
        return resolve_distribution(self.aws, self.distribution, self.source)

    def discover(self) -> Discovery:
        first = self.primary_id()
        primary, etag = self._distribution(first)
        if primary["DistributionConfig"].get("Staging"):
            raise UsageError(f"{first} is a staging distribution; name the primary (the site's own)")
        serving = self._origin_path(primary["DistributionConfig"])
        if serving == self.origin_path:
            raise NothingNew(f"distribution {first} already serves {self.origin_path or '/'} from origin "
                             f"'{self._origin_id(primary['DistributionConfig'])}'; did the deploy upload the new build?")
        staging = self._find_staging(first, primary)
        if staging is None:
            copied = self._call("CopyDistribution", PrimaryDistributionId=first, Staging=True,
                                IfMatch=etag, CallerReference=staging_reference(first), Enabled=True)
            staging = str(copied["Distribution"]["Id"])
        self._stage_build(first, staging)
        return Discovery(changed=(Variants(first, first, staging),))

    def _stage_build(self, first: str, staging: str) -> None:
        """The staging copy made the primary's configuration again, with the new build's origin path."""
        primary, _ = self._config(first)
        current, etag = self._config(staging)
        config = {**primary, "CallerReference": current["CallerReference"], "Staging": True,
                  "Aliases": current.get("Aliases") or {"Quantity": 0}, "ContinuousDeploymentPolicyId": ""}
        wanted = self._origin_id(config)
        config["Origins"] = {**config["Origins"], "Items": [
            {**o, "OriginPath": self.origin_path} if o["Id"] == wanted else o for o in config["Origins"]["Items"]]}
        self._call("UpdateDistribution", Id=staging, IfMatch=etag, DistributionConfig=config)
        read, _ = self._distribution(staging)
        if self._origin_path(read["DistributionConfig"]) != self.origin_path:
            raise ReadBackMismatch(f"staging distribution {staging} reads back origin path "
                                   f"{self._origin_path(read['DistributionConfig'])!r}, not {self.origin_path!r}")

    def split(self, variants: Sequence[Variants]) -> list[Split]:
        return [self._split(v) for v in variants]

    def _split(self, v: Variants) -> Split:
        primary, _ = self._distribution(v.stable)
        staging, _ = self._distribution(v.canary)
        primary_path = self._origin_path(primary["DistributionConfig"])
        staging_path = self._origin_path(staging["DistributionConfig"])
        policy_id = primary["DistributionConfig"].get("ContinuousDeploymentPolicyId") or None
        detail: dict[str, Any] = {"name": v.stable, "distribution": v.stable, "staging_distribution": v.canary,
                                  "policy": policy_id,
                                  "primary_origin_path": primary_path, "staging_origin_path": staging_path}
        weight = 0.0
        if policy_id:
            policy, _ = self._policy(policy_id)
            traffic = policy.get("TrafficConfig") or {}
            detail.update(enabled=bool(policy.get("Enabled")), type=traffic.get("Type"))
            if traffic.get("Type") == "SingleHeader":
                detail["header"] = traffic.get("SingleHeaderConfig", {}).get("Header")
            if policy.get("Enabled") and traffic.get("Type") == "SingleWeight":
                weight = round(100 * float(traffic.get("SingleWeightConfig", {}).get("Weight", 0.0)), 4)
        if not detail.get("enabled") and primary_path == staging_path:
            weight = 100.0  # promoted: the primary serves the staging configuration
        return Split(target=v.target, stable=v.stable, canary=v.canary, weight=weight, detail=detail)

    def route_header(self, variants: Sequence[Variants]) -> list[Split]:
        """Only requests with the staging header reach the staging site (the smoke tests and health probes)."""
        traffic = {"Type": "SingleHeader", "SingleHeaderConfig": {"Header": self.header, "Value": self.header_value}}
        out = []
        for v in variants:
            split = self._apply(v, traffic)
            if not split.detail.get("enabled") or split.detail.get("type") != "SingleHeader" or split.weight:
                raise ReadBackMismatch(f"distribution {v.stable}'s policy reads back {split.to_dict()}, "
                                       f"not an enabled SingleHeader policy")
            out.append(split)
        return out

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        if not 0 < weight <= MAX_WEIGHT:
            raise UsageError(f"CloudFront sends at most {MAX_WEIGHT:g}% of a distribution's requests to its staging "
                             f"distribution (SingleWeight 0..0.15): {weight:g}% cannot be set; promote instead")
        traffic = {"Type": "SingleWeight", "SingleWeightConfig": {"Weight": round(weight / 100, 4)}}
        out = []
        for v in variants:
            split = self._apply(v, traffic)
            if abs(split.weight - weight) > 1e-6:
                raise ReadBackMismatch(f"distribution {v.stable}'s policy reads back {split.weight:g}%, not {weight:g}%")
            out.append(split)
        return out

    def _apply(self, v: Variants, traffic: dict[str, Any]) -> Split:
        """The primary's policy set to ``traffic`` and enabled: created and attached if it has none."""
        staging, _ = self._distribution(v.canary)
        config = {"StagingDistributionDnsNames": {"Quantity": 1, "Items": [staging["DomainName"]]},
                  "Enabled": True, "TrafficConfig": traffic}
        primary, etag = self._config(v.stable)
        policy_id = primary.get("ContinuousDeploymentPolicyId")
        if policy_id:
            _, policy_etag = self._policy(policy_id)
            self._call("UpdateContinuousDeploymentPolicy", Id=policy_id, IfMatch=policy_etag,
                       ContinuousDeploymentPolicyConfig=config)
        else:
            created = self._call("CreateContinuousDeploymentPolicy", ContinuousDeploymentPolicyConfig=config)
            policy_id = created["ContinuousDeploymentPolicy"]["Id"]
            self._call("UpdateDistribution", Id=v.stable, IfMatch=etag,
                       DistributionConfig={**primary, "ContinuousDeploymentPolicyId": policy_id})
        split = self._split(v)
        if split.detail.get("policy") != policy_id:
            raise ReadBackMismatch(f"distribution {v.stable} reads back policy {split.detail.get('policy')}, "
                                   f"not {policy_id}")
        return split

    def promote(self, variants: Sequence[Variants]) -> list[Split]:
        out = []
        for v in variants:
            _, primary_etag = self._distribution(v.stable)
            _, staging_etag = self._distribution(v.canary)
            self._call("UpdateDistributionWithStagingConfig", Id=v.stable, StagingDistributionId=v.canary,
                       IfMatch=f"{primary_etag}, {staging_etag}")
            split = self._split(v)
            if split.detail.get("enabled"):  # CloudFront disables the policy as it promotes; make sure it did
                self._disable(v)
                split = self._split(v)
            if split.weight != 100.0:
                raise ReadBackMismatch(f"distribution {v.stable} reads back origin path "
                                       f"{split.detail.get('primary_origin_path')!r} after promotion, not the staging "
                                       f"distribution's {split.detail.get('staging_origin_path')!r}")
            out.append(split)
        return out

    def _disable(self, v: Variants) -> None:
        primary, _ = self._config(v.stable)
        policy_id = primary.get("ContinuousDeploymentPolicyId")
        if not policy_id:
            return
        config, etag = self._policy(policy_id)
        if config.get("Enabled"):
            self._call("UpdateContinuousDeploymentPolicy", Id=policy_id, IfMatch=etag,
                       ContinuousDeploymentPolicyConfig={**config, "Enabled": False})

    def restore(self, variants: Sequence[Variants]) -> tuple[float, list[Split]]:
        """The policy disabled: every viewer on the primary, whose configuration is not touched."""
        started = time.monotonic()
        out = []
        for v in variants:
            self._disable(v)
            split = self._split(v)
            if split.detail.get("enabled"):
                raise ReadBackMismatch(f"distribution {v.stable}'s policy {split.detail.get('policy')} still reads "
                                       f"back enabled")
            if split.weight == 100.0:
                raise Promoted(f"distribution {v.stable} was promoted: it serves {split.detail['primary_origin_path']} "
                               f"itself, so disabling the policy puts nothing back; deploy the previous build again")
            out.append(split)
        return time.monotonic() - started, out

    def scopes(self, variants: Sequence[Variants]) -> list[tuple[Scope, Scope]]:
        return [(Scope.distribution(v.canary, "staging"), Scope.distribution(v.stable, "primary")) for v in variants]

    def metrics(self, clock: Clock, delay: timedelta) -> MetricSource:
        return CloudFrontSource(self.aws, clock, delay=delay)

    def describe(self, weights: Sequence[float]) -> list[str]:
        """No weights: what ``discover`` does; 0: the header smoke; below 100: a weight; 100: the promotion."""
        if not weights:
            return [f"cloudfront:GetDistribution {self.distribution}; cloudfront:CopyDistribution Staging=true "
                    f"CallerReference=golive-staging-PRIMARY (unless golive's staging copy exists); "
                    f"cloudfront:UpdateDistribution STAGING (the primary's configuration, "
                    f"OriginPath={self.origin_path or '/'})"]
        out = []
        for weight in weights:
            if weight == 0:
                out.append(f"cloudfront:Create/UpdateContinuousDeploymentPolicy SingleHeader {self.header}: "
                           f"{self.header_value} (attached to {self.distribution} with UpdateDistribution)")
            elif weight < 100:
                out.append(f"cloudfront:Create/UpdateContinuousDeploymentPolicy SingleWeight "
                           f"Weight={weight / 100:.2f}")
            else:
                out.append(f"cloudfront:UpdateDistributionWithStagingConfig {self.distribution} "
                           f"StagingDistributionId=STAGING (the policy is disabled as it promotes)")
        return out


def resolve_distribution(aws: Aws, name: str, source: Mapping[str, Any] | None) -> str:
    """The primary's id from the plan: a literal id (no ``source``), or the project's variable's value (``value``,
    ``cloudfront_comment``: the distribution with that comment, or ``from_env``)."""
    if source is None:
        return name
    if source.get("value"):
        return str(source["value"])
    if source.get("cloudfront_comment"):
        found = distribution_by_comment(aws, str(source["cloudfront_comment"]))
        if found is None:
            raise UsageError(f"no CloudFront distribution has the comment '{source['cloudfront_comment']}' ({name})")
        return found
    if source.get("from_env"):
        import os

        value = os.environ.get(str(source["from_env"]))
        if value:
            return value
    raise UsageError(f"{name}: no value to find the CloudFront distribution by")
