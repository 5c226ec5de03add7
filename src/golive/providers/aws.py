"""The only door to AWS: one typed client per service, one error mapping.

Nothing else in golive imports boto3. An ``Aws`` is built for one
environment of the plan (profile, region, optional role, optional endpoint)
and hands out typed clients; ``call`` runs one API call and turns botocore's
exceptions into golive's tree: a wrong or missing profile is a usage error
(exit 2), an endpoint that does not answer after retries is ``AwsUnreachable``
(exit 3, naming the call, the region and the endpoint), and an AWS "no"
(AccessDenied, ResourceNotFound) is ``AwsRequestError`` for the caller to
read. Retries use botocore's standard mode with a bounded number of attempts.

The endpoint comes from the plan's override, else boto3's own
``AWS_ENDPOINT_URL`` convention, so the AWS CLI and golive can be pointed at
the same emulator with one export.

Credentials follow the AWS CLI's rules: the plan's profile when this machine
has it, else botocore's standard chain (environment, web identity as GitHub's
OIDC role gives it, container, instance), so a CI runner with no config file
works. Which source answered is kept for the ``aws_account`` evidence. An
assumed role's credentials are botocore refreshing credentials, fetched again
before they expire, so a release that runs for days outlives a one-hour session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import boto3
import botocore.exceptions as bx
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
    create_assume_role_refresher,
)
from botocore.loaders import Loader, create_loader

from golive.errors import AwsError, AwsRequestError, AwsUnreachable, ConfigError
from golive.redact import scrub

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

T = TypeVar("T")

Service = Literal["sts", "ec2", "iam", "s3", "dynamodb", "lambda", "cloudwatch", "route53", "acm", "cloudfront",
                  "apigateway"]

_UNREACHABLE = (
    bx.EndpointConnectionError,
    bx.ConnectTimeoutError,
    bx.ReadTimeoutError,
    bx.ConnectionClosedError,
)
_RETRYABLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                    "ServiceUnavailable", "InternalFailure", "InternalError"}


@dataclass(frozen=True)
class AwsTarget:
    """Where an environment's AWS is: the plan's environment, minus everything else."""

    region: str
    profile: str | None = None
    role_arn: str | None = None
    endpoint_url: str | None = None
    account: str | None = None
    static_keys: tuple[str, str] | None = None  # (access key id, secret): the sandbox's emulator-only keys
    session_name: str = "golive"
    external_id: str | None = None
    duration: int | None = None  # seconds an assumed role's credentials last (AWS default: one hour)
    overridden: tuple[str, ...] = ()  # what the command line or AWS_PROFILE changed, e.g. "profile from --profile"


class _Fixed(CredentialProvider):
    """A credential provider that hands out one (refreshing) credentials object."""

    def __init__(self, credentials: Credentials, method: str) -> None:
        super().__init__()
        self._credentials = credentials
        self.METHOD = method

    def load(self) -> Credentials:
        return self._credentials


_loaders: dict[str, Loader] = {}
_loaders_lock = threading.Lock()


def _session(*, profile_name: str | None = None, botocore_session: botocore.session.Session | None = None,
             **kwargs: Any) -> boto3.Session:
    """A boto3 session whose service models come through the process's one loader (per data path).

    Each session would otherwise read and parse its own copy of every model it touches (``endpoints.json``,
    each service's ``service-2.json``): a tenth of a second or more each, for every environment and region.
    """
    core = botocore_session or botocore.session.get_session()
    if profile_name is not None:
        core.set_config_variable("profile", profile_name)
    # Reads the profile, so a missing one is ProfileNotFound here, where boto3 itself would raise it.
    data_path = str(core.get_config_variable("data_path") or "")
    with _loaders_lock:
        loader = _loaders.get(data_path)
        if loader is None:
            loader = _loaders[data_path] = create_loader(data_path or None)
        core.register_component("data_loader", loader)
        session = boto3.Session(botocore_session=core, **kwargs)
        # boto3 adds its own data folder to the loader of every session it wraps: once is enough.
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


class Aws:
    """Typed boto3 clients for one environment, created lazily and cached."""

    def __init__(
        self,
        target: AwsTarget,
        *,
        session: boto3.Session | None = None,
        max_attempts: int = 3,
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.target = target
        self._base_session = session
        self._session: boto3.Session | None = None
        self._source: str | None = None
        # Credentials expire in wall time, never on a rehearsal's virtual clock; tests pass their own.
        self._now = now or (lambda: datetime.now(UTC))
        self._clients: dict[tuple[str, str], Any] = {}
        self._config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def endpoint(self) -> str | None:
        """The endpoint every client talks to, or None for AWS itself."""
        return self.target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def _chain_session(self) -> boto3.Session:
        """The profile when it is configured here, else botocore's standard chain when that has credentials."""
        profile = self.target.profile
        if self.target.static_keys is not None:
            key_id, secret = self.target.static_keys
            return _session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=self.region)
        try:
            return _session(profile_name=profile, region_name=self.region)
        except bx.ProfileNotFound as exc:
            explicit = next((o for o in self.target.overridden if o.startswith("profile")), None)
            if explicit is not None:
                raise ConfigError(f"AWS {explicit} is not configured on this machine "
                                  f"(run 'aws configure sso --profile {profile}' or choose another)") from exc
            chain = _session(region_name=self.region)
            creds = chain.get_credentials()
            if creds is None:
                raise ConfigError(
                    f"AWS profile '{profile}' is not configured on this machine and no other AWS credentials were found "
                    f"(run 'aws configure sso --profile {profile}', fix environments.*.profile, or set AWS_ACCESS_KEY_ID)"
                ) from exc
            self._source = f"{creds.method} (profile '{profile}' is not configured here)"
            return chain

    def _assumed(self, base: boto3.Session) -> boto3.Session:
        """``base`` assuming the target's role through botocore's refreshing credentials."""
        params: dict[str, Any] = {"RoleArn": self.target.role_arn, "RoleSessionName": self.target.session_name}
        if self.target.external_id:
            params["ExternalId"] = self.target.external_id
        if self.target.duration:
            params["DurationSeconds"] = self.target.duration
        sts = base.client("sts", region_name=self.region, endpoint_url=self.endpoint, config=self._config)
        fetch = create_assume_role_refresher(sts, params)

        def refresh() -> dict[str, Any]:
            answer: dict[str, Any] = self.call("sts:AssumeRole", fetch)
            return answer

        creds = DeferredRefreshableCredentials(refresh, "assume-role", time_fetcher=self._now)
        core = botocore.session.get_session()
        core.register_component("credential_provider", CredentialResolver([_Fixed(creds, "assume-role")]))
        return _session(botocore_session=core, region_name=self.region)

    def _make_session(self) -> boto3.Session:
        if self._session is not None:
            return self._session
        base = self._base_session if self._base_session is not None else self._chain_session()
        if self._source is None:
            found = base.get_credentials()
            self._source = found.method if found is not None else "none"
        if self.target.role_arn:
            self._source = f"assume-role {self.target.role_arn} as {self.target.session_name}, from {self._source}"
            base = self._assumed(base)
        self._session = base
        return base

    def credentials(self) -> Credentials | None:
        """The session's credentials (refreshing ones for an assumed role): read ``expiry_time`` or freeze them."""
        return self._make_session().get_credentials()

    def credential_source(self) -> str:
        """Where the credentials came from, in botocore's words (``env``, ``sso``, ``assume-role-with-web-identity``…)."""
        self._make_session()
        overridden = f"; {', '.join(self.target.overridden)}" if self.target.overridden else ""
        return f"{self._source}{overridden}"

    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
    @overload
    def client(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...
    @overload
    def client(self, service: Literal["s3"], region: str | None = None) -> S3Client: ...
    @overload
    def client(self, service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["cloudwatch"], region: str | None = None) -> CloudWatchClient: ...
    @overload
    def client(self, service: Literal["route53"], region: str | None = None) -> Route53Client: ...
    @overload
    def client(self, service: Literal["acm"], region: str | None = None) -> ACMClient: ...
    @overload
    def client(self, service: Literal["cloudfront"], region: str | None = None) -> CloudFrontClient: ...
    @overload
    def client(self, service: Literal["apigateway"], region: str | None = None) -> Any: ...  # no stubs installed
    def client(self, service: Service, region: str | None = None) -> Any:
        """A boto3 client for ``service`` in ``region`` (default: the environment's)."""
        where = region or self.region
        key = (service, where)
        if key not in self._clients:
            session = self._make_session()
            try:
                self._clients[key] = session.client(
                    service, region_name=where, endpoint_url=self.endpoint, config=self._config
                )
            except bx.NoRegionError as exc:
                raise ConfigError(f"no AWS region for {service}: set environments.*.region") from exc
        return self._clients[key]

    def call(self, what: str, fn: Callable[[], T], *, region: str | None = None) -> T:
        """Run one AWS call; map botocore's failures to golive's errors."""
        where = region or self.region
        try:
            return fn()
        except _UNREACHABLE as exc:
            raise AwsUnreachable(what, where, f"no answer ({type(exc).__name__})", self._shown_endpoint) from exc
        except bx.ProfileNotFound as exc:
            raise ConfigError(f"AWS profile '{self.target.profile}' is not configured on this machine") from exc
        except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
            profile = self.target.profile or "default"
            raise ConfigError(f"no AWS credentials for profile '{profile}' (for SSO: aws sso login --profile {profile})") from exc
        except (bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError, bx.TokenRetrievalError) as exc:
            raise ConfigError(
                f"the SSO session of profile '{self.target.profile}' has expired: aws sso login --profile {self.target.profile}"
            ) from exc
        except bx.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", ""))
            if code in _RETRYABLE_CODES:
                raise AwsError(what, where, f"{code}: {message} (after retries)", self._shown_endpoint) from exc
            raise AwsRequestError(what, where, code, message) from exc
        except bx.BotoCoreError as exc:
            raise AwsError(what, where, scrub(str(exc)), self._shown_endpoint) from exc

    @property
    def _shown_endpoint(self) -> str | None:
        """The endpoint as an error may quote it: credentials in the URL masked."""
        return scrub(self.endpoint) if self.endpoint else None

    def caller_account(self) -> str:
        """The account the credentials belong to (``sts get-caller-identity``)."""
        sts = self.client("sts")
        return self.call("sts:GetCallerIdentity", lambda: sts.get_caller_identity()["Account"])

    def caller_arn(self) -> str:
        """The ARN of the user or role the credentials belong to (``sts get-caller-identity``)."""
        sts = self.client("sts")
        return self.call("sts:GetCallerIdentity", lambda: sts.get_caller_identity()["Arn"])


def error_code(exc: BaseException) -> str | None:
    """The AWS error code behind a mapped error, if there is one."""
    return exc.code if isinstance(exc, AwsRequestError) else None
