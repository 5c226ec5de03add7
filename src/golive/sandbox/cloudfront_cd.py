"""CloudFront continuous deployment in the sandbox's moto: staging distributions and their policies.

moto 5.2 serves CloudFront distributions but not continuous deployment: no ``CopyDistribution`` (a staging
copy of a primary), no continuous deployment policies, no ``UpdateDistributionWithStagingConfig`` (the
promotion). golive's CloudFront router (``golive.routers.cloudfront``) calls exactly those, so the sandbox
adds them to moto's CloudFront, in the sandbox process only, the way ``golive.sandbox.percentiles`` adds
percentiles to its CloudWatch: a backend subclass swapped into ``cloudfront_backends`` whose URL module
routes to a response class with the extra operations. Requests are parsed and answers serialized by moto
from botocore's own service model, so a request golive forms wrongly fails here as it would in AWS
(``tests/unit/test_sandbox_cloudfront_cd.py`` also holds each operation against that model).

What AWS documents and the sandbox keeps (the CloudFront API reference's pages for these operations):

- ``CopyDistribution`` needs ``Staging: true`` and the primary's current ETag in ``If-Match``; the copy has
  the primary's configuration, ``Staging`` true and a new domain name;
- a policy names the staging distribution by its domain name and routes by one header (``SingleHeader``,
  the header named ``aws-cf-cd-...``) or by weight (``SingleWeight``, at most 0.15: CloudFront's quota);
- ``UpdateDistributionWithStagingConfig`` takes ``If-Match: <primary ETag>, <staging ETag>``, copies the
  staging configuration onto the primary except its ``Aliases`` and ``ContinuousDeploymentPolicyId``, and
  disables the policy, so all traffic is back on the (now promoted) primary.

Where traffic goes is then read by the world's traffic simulator (``routing``), as CloudFront's edge would.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from moto.cloudfront import exceptions as cf_errors
from moto.cloudfront import models as cf_models
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.common_models import BaseModel
from moto.core.responses import ActionResult

from golive.providers.cloudfront import MAX_STAGING_WEIGHT

MAX_WEIGHT = MAX_STAGING_WEIGHT / 100  # CloudFront's quota, as SingleWeight's fraction
HEADER_PREFIX = "aws-cf-cd-"
_install_lock = threading.Lock()


class _Error(cf_errors.CloudFrontException):
    """An error named as in CloudFront's model (moto takes the HTTP status from the model's error shape)."""


def _invalid(message: str) -> _Error:
    return _Error("InvalidArgument", message)


def _if_match_missing() -> _Error:
    return _Error("InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")


def _precondition() -> _Error:
    return _Error("PreconditionFailed", "The precondition given in one or more of the request-header fields "
                                        "evaluated to false.")


def stable_id(*parts: str) -> str:
    """An id in CloudFront's shape (E + 13 of 0-9A-F) from what names the resource: the same world, the same ids.

    moto draws ids at random; a rehearsal's evidence names its distributions and policy, and its traffic is
    drawn per distribution, so the sandbox names them from their account and caller reference instead.
    """
    return "E" + hashlib.sha256("/".join(parts).encode()).hexdigest().upper()[:13]


class ContinuousDeploymentPolicy(BaseModel):
    def __init__(self, config: dict[str, Any], policy_id: str) -> None:
        self.id = policy_id
        self.etag = cf_models.random_id()
        self.config = config
        self.last_modified_time = datetime.now(UTC)

    def update(self, config: dict[str, Any]) -> None:
        self.config = config
        self.etag = cf_models.random_id()
        self.last_modified_time = datetime.now(UTC)

    def to_dict(self) -> dict[str, Any]:
        return {"Id": self.id, "LastModifiedTime": self.last_modified_time,
                "ContinuousDeploymentPolicyConfig": self.config}


@dataclass(frozen=True)
class Routing:
    """Where a primary distribution's requests go now: to staging by ``weight`` (0..0.15), or by a header."""

    staging_id: str | None
    weight: float = 0.0
    header: tuple[str, str] | None = None


def _check_policy(config: dict[str, Any]) -> None:
    names = config.get("StagingDistributionDnsNames") or {}
    items = names.get("Items") or []
    if int(names.get("Quantity", -1)) != len(items) or len(items) != 1:
        raise _invalid("StagingDistributionDnsNames must name exactly one staging distribution (Quantity 1)")
    traffic = config.get("TrafficConfig")
    if traffic is None:
        return
    kind = traffic.get("Type")
    if kind == "SingleWeight":
        weight = (traffic.get("SingleWeightConfig") or {}).get("Weight")
        if weight is None:
            raise _invalid("TrafficConfig of Type SingleWeight needs SingleWeightConfig.Weight")
        if not 0 <= float(weight) <= MAX_WEIGHT:
            raise _invalid(f"SingleWeightConfig.Weight {weight} is outside 0..{MAX_WEIGHT}")
    elif kind == "SingleHeader":
        header = traffic.get("SingleHeaderConfig") or {}
        if not str(header.get("Header", "")).lower().startswith(HEADER_PREFIX) or not header.get("Value"):
            raise _invalid(f"SingleHeaderConfig needs a Header with the prefix {HEADER_PREFIX} and a Value")
    else:
        raise _invalid(f"TrafficConfig.Type must be SingleWeight or SingleHeader, not {kind}")


class StagingCloudFrontBackend(cf_models.CloudFrontBackend):
    """moto's CloudFront backend with staging distributions and continuous deployment policies."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.policies: dict[str, ContinuousDeploymentPolicy] = {}

    @property
    def _url_module(self) -> Any:
        from moto.cloudfront import urls

        return SimpleNamespace(url_bases=urls.url_bases, url_paths={"{0}/.*$": StagingCloudFrontResponse.dispatch})

    def create_distribution_with_tags(self, distribution_config: dict[str, Any],
                                      tags: list[dict[str, str]]) -> tuple[cf_models.Distribution, str, str]:
        dist, _, etag = super().create_distribution_with_tags(distribution_config, tags)
        return self._rename(dist), self._rename(dist).location, etag

    def _rename(self, dist: cf_models.Distribution) -> cf_models.Distribution:
        """The distribution under its stable id (from the account and its caller reference) and domain name."""
        wanted = stable_id(self.account_id, dist.distribution_config.caller_reference)
        if dist.distribution_id != wanted:
            self.distributions.pop(dist.distribution_id, None)
            dist.distribution_id = dist.id = wanted
            dist.arn = dist.arn.rsplit("/", 1)[0] + "/" + wanted
            dist.domain_name = f"d{wanted[1:].lower()}.cloudfront.net"
            self.distributions[wanted] = dist
        return dist

    def _distribution(self, distribution_id: str) -> cf_models.Distribution:
        if distribution_id not in self.distributions:
            raise cf_errors.NoSuchDistribution
        return self.distributions[distribution_id]

    def copy_distribution(self, primary_id: str, staging: bool, if_match: str | None, caller_reference: str,
                          enabled: bool | None) -> cf_models.Distribution:
        primary = self._distribution(primary_id)
        if not staging:
            raise _invalid("CopyDistribution copies to a staging distribution only: Staging must be True")
        if not if_match:
            raise _if_match_missing()
        if if_match != primary.etag:
            raise _precondition()
        if getattr(primary.distribution_config, "Staging", False):
            raise _invalid("a staging distribution cannot be copied")
        if self._distribution_with_caller_reference(caller_reference) is not None:
            raise cf_errors.DistributionAlreadyExists(
                self._distribution_with_caller_reference(caller_reference).distribution_id)  # type: ignore[union-attr]
        config: Any = copy.deepcopy(primary.distribution_config)
        config.CallerReference = config.caller_reference = caller_reference
        config.Staging = True
        config.ContinuousDeploymentPolicyId = ""
        config.Aliases = {"Quantity": 0}  # a staging distribution has no alternate domain names
        if enabled is not None:
            config.Enabled = enabled
        minimal = {"CallerReference": caller_reference, "Comment": "", "Enabled": True,
                   "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "o.example.com"}]},
                   "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all"}}
        copy_ = cf_models.Distribution(self.account_id, self.region_name, minimal)
        copy_.distribution_config = config
        self.distributions[copy_.distribution_id] = copy_
        return self._rename(copy_)

    def update_distribution(self, dist_config: dict[str, Any], _id: str, if_match: Any) -> tuple[Any, str, str]:
        """moto's update, with what AWS checks for continuous deployment: the ETag, a policy that exists, and
        ``Staging`` kept as it is (a distribution does not turn into a staging one or back)."""
        existing = self._distribution(_id)
        if if_match and if_match != existing.etag:
            raise _precondition()
        was_staging = bool(getattr(existing.distribution_config, "Staging", False))
        if dist_config and bool(dist_config.get("Staging", False)) != was_staging:
            raise _Error("IllegalUpdate", "Staging cannot be changed on an existing distribution")
        policy_id = (dist_config or {}).get("ContinuousDeploymentPolicyId") or ""
        if policy_id and policy_id not in self.policies:
            raise _Error("NoSuchContinuousDeploymentPolicy", f"no continuous deployment policy {policy_id}")
        dist, location, _ = super().update_distribution(dist_config, _id, if_match)
        dist.etag = cf_models.random_id()
        return dist, location, dist.etag

    def promote(self, primary_id: str, staging_id: str | None, if_match: str | None) -> cf_models.Distribution:
        primary = self._distribution(primary_id)
        if not staging_id:
            raise _invalid("StagingDistributionId is required")
        staging = self._distribution(staging_id)
        if not getattr(staging.distribution_config, "Staging", False):
            raise _invalid(f"{staging_id} is not a staging distribution")
        if not if_match:
            raise _if_match_missing()
        tags = [part.strip() for part in if_match.split(",")]
        if tags != [primary.etag, staging.etag]:
            raise _precondition()
        kept: Any = primary.distribution_config
        config: Any = copy.deepcopy(staging.distribution_config)
        config.Staging = False
        config.Aliases = kept.Aliases
        config.ContinuousDeploymentPolicyId = getattr(kept, "ContinuousDeploymentPolicyId", "")
        config.CallerReference = config.caller_reference = kept.caller_reference
        primary.distribution_config = config
        primary.etag = cf_models.random_id()
        policy = self.policies.get(config.ContinuousDeploymentPolicyId or "")
        if policy is not None:
            policy.update({**policy.config, "Enabled": False})
        return primary

    def create_policy(self, config: dict[str, Any]) -> ContinuousDeploymentPolicy:
        _check_policy(config)
        policy = ContinuousDeploymentPolicy(config, stable_id(self.account_id, "policy", str(len(self.policies))))
        self.policies[policy.id] = policy
        return policy

    def get_policy(self, policy_id: str) -> ContinuousDeploymentPolicy:
        policy = self.policies.get(policy_id)
        if policy is None:
            raise _Error("NoSuchContinuousDeploymentPolicy", f"no continuous deployment policy {policy_id}")
        return policy

    def update_policy(self, policy_id: str, config: dict[str, Any], if_match: str | None) -> ContinuousDeploymentPolicy:
        policy = self.get_policy(policy_id)
        if not if_match:
            raise _if_match_missing()
        if if_match != policy.etag:
            raise _precondition()
        _check_policy(config)
        policy.update(config)
        return policy

    def routing(self, primary_id: str) -> Routing:
        """Where the primary's viewers go now: the staging distribution its enabled policy names, and how."""
        primary = self.distributions.get(primary_id)
        policy_id = getattr(primary.distribution_config, "ContinuousDeploymentPolicyId", "") if primary else ""
        policy = self.policies.get(policy_id or "")
        if policy is None or not policy.config.get("Enabled"):
            return Routing(None)
        dns = (policy.config.get("StagingDistributionDnsNames", {}).get("Items") or [None])[0]
        staging = next((d.distribution_id for d in self.distributions.values() if d.domain_name == dns), None)
        traffic = policy.config.get("TrafficConfig") or {}
        if traffic.get("Type") == "SingleWeight":
            return Routing(staging, weight=float(traffic.get("SingleWeightConfig", {}).get("Weight", 0.0)))
        header = traffic.get("SingleHeaderConfig") or {}
        return Routing(staging, header=(str(header.get("Header", "")), str(header.get("Value", ""))))


class StagingCloudFrontResponse(CloudFrontResponse):
    """moto's CloudFront answers plus the continuous deployment operations (parsed by botocore's model)."""

    @property
    def backend(self) -> StagingCloudFrontBackend:
        found = cf_models.cloudfront_backends[self.current_account][self.partition]
        assert isinstance(found, StagingCloudFrontBackend)
        return found

    def copy_distribution(self) -> ActionResult:
        dist = self.backend.copy_distribution(
            self._get_param("PrimaryDistributionId"), bool(self._get_param("Staging")), self._get_param("IfMatch"),
            self._get_param("CallerReference"), self._get_param("Enabled"))
        return ActionResult({"Distribution": dist, "ETag": dist.etag, "Location": dist.location})

    def update_distribution_with_staging_config(self) -> ActionResult:
        dist = self.backend.promote(self._get_param("Id"), self._get_param("StagingDistributionId"),
                                    self._get_param("IfMatch"))
        return ActionResult({"Distribution": dist, "ETag": dist.etag})

    def create_continuous_deployment_policy(self) -> ActionResult:
        policy = self.backend.create_policy(self._get_param("ContinuousDeploymentPolicyConfig", {}))
        location = f"https://cloudfront.amazonaws.com/2020-05-31/continuous-deployment-policy/{policy.id}"
        return ActionResult({"ContinuousDeploymentPolicy": policy.to_dict(), "ETag": policy.etag, "Location": location})

    def get_continuous_deployment_policy(self) -> ActionResult:
        policy = self.backend.get_policy(self._get_param("Id"))
        return ActionResult({"ContinuousDeploymentPolicy": policy.to_dict(), "ETag": policy.etag})

    def get_continuous_deployment_policy_config(self) -> ActionResult:
        policy = self.backend.get_policy(self._get_param("Id"))
        return ActionResult({"ContinuousDeploymentPolicyConfig": policy.config, "ETag": policy.etag})

    def update_continuous_deployment_policy(self) -> ActionResult:
        policy = self.backend.update_policy(self._get_param("Id"), self._get_param("ContinuousDeploymentPolicyConfig", {}),
                                            self._get_param("IfMatch"))
        return ActionResult({"ContinuousDeploymentPolicy": policy.to_dict(), "ETag": policy.etag})


OPERATIONS = ("CopyDistribution", "UpdateDistributionWithStagingConfig", "CreateContinuousDeploymentPolicy",
              "GetContinuousDeploymentPolicy", "GetContinuousDeploymentPolicyConfig", "UpdateContinuousDeploymentPolicy")
"""The operations the sandbox adds to moto's CloudFront (each one golive's router calls, or reads back with)."""


def install() -> None:
    """Make moto's CloudFront (in this process) use ``StagingCloudFrontBackend``; idempotent.

    Backends created before (by another in-process moto server) keep their distributions: their class is
    swapped in place and given an empty policy table.
    """
    with _install_lock:
        backends = cf_models.cloudfront_backends
        if backends.backend is StagingCloudFrontBackend:
            return
        backends.backend = StagingCloudFrontBackend
        if "Staging" not in cf_models.DISTRIBUTION_CONFIG_FIELDS:  # a distribution's summary says whether it stages
            cf_models.DISTRIBUTION_CONFIG_FIELDS.append("Staging")
        for account in list(backends.values()):
            account.backend = StagingCloudFrontBackend
            for backend in list(account.values()):
                backend.__class__ = StagingCloudFrontBackend
                cast(StagingCloudFrontBackend, backend).policies = {}


def routing(account_id: str, primary_id: str) -> Routing:
    """The primary distribution's routing now, read from the backend in this process (the world's view)."""
    backend = cf_models.cloudfront_backends[account_id]["aws"]
    if not isinstance(backend, StagingCloudFrontBackend):
        return Routing(None)
    return backend.routing(primary_id)
